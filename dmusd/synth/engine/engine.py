"""Engine: the Python object that owns the voice tables and drives the compiled block call.

The glue (synth stream, channel logic) calls start / release / quick_stop / controller ... with a
sample offset into the next block; each call only fills a table row and appends a timed command.
`render(frames)` makes one numba call that applies every command at its exact sample while it
renders all voices, the send effects and the master stage, and returns float32 stereo.

Threading: the command calls and render() must come from one thread (the audio thread, or a
thread that hands work to it), as with the DDK sample synth's event queue under its spinlock.
"""

from __future__ import annotations

import math

import numpy as np

from dmusd.errors import BankError, ConfigError, StateError
from dmusd.synth.effects.chorus import Chorus
from dmusd.synth.effects.limiter import limiter_settings
from dmusd.synth.effects.reverb import Reverb
from dmusd.synth.engine import connections as C
from dmusd.synth.engine import layout as L
from dmusd.synth.engine.interpolation import LOOP_WINDOW, make_table
from dmusd.synth.engine.render import render_block
from dmusd.synth.engine.sample_pool import SamplePool
from dmusd.synth.engine.voice_setup import free_slot, setup_voice
from dmusd.synth.engine.voice_spec import VoiceSpec

_PREPARE_CACHE = 4096  # converted connection lists kept (one per region in use)
_DEFAULT_CC = {7: 100, 10: 64, 11: 127}  # GM power-on controller values
EFFECT_MIX = {"reverb": 0.25, "chorus": 0.5}  # the wet mixes an engine starts with


def key_pitch_rows(rows: np.ndarray) -> np.ndarray:
    """Which rows are plain KEYNUMBER -> PITCH connections (their scales sum to the cents 128
    keys add to the pitch)."""
    return (
        (rows[:, L.C_SOURCE] == C.CONN_SRC_KEYNUMBER)
        & (rows[:, L.C_CONTROL] == C.CONN_SRC_NONE)
        & (rows[:, L.C_DEST] == L.D_PITCH)
        & (rows[:, L.C_SRC_TRANSFORM] == 0)
    )


def key_cents(rows: np.ndarray, scale: np.ndarray) -> float:
    """Cents a key adds to the pitch: the sum of the plain KEYNUMBER -> PITCH rows."""
    return float(scale[key_pitch_rows(rows)].sum()) / 128.0


class Engine:
    """The voice engine of one pin."""

    def __init__(
        self,
        sample_rate: int = 48000,
        max_voices: int = 256,
        channels: int = 16,
        max_block: int = 4096,
        control_interval: int = L.CONTROL_INTERVAL,
        max_commands: int = 8192,
        pool_samples: int = 1 << 20,
        quick_stop_ms: float = 5.0,
        effect_outputs: bool = False,
        channel_outputs: bool = False,
    ) -> None:
        if not 8000 <= sample_rate <= 192000:
            raise ConfigError(f"sample rate {sample_rate} is outside 8000..192000", key="rate")
        if not 1 <= max_voices <= 65536:
            raise ConfigError(f"voice count {max_voices} is outside 1..65536", key="voices")
        if not 1 <= control_interval <= L.MAX_CONTROL_INTERVAL:
            raise ConfigError(
                f"control interval {control_interval} is outside 1..{L.MAX_CONTROL_INTERVAL}"
            )
        self.sample_rate = sample_rate
        self.max_voices = max_voices
        self.channels = channels
        self.max_block = max_block
        self.vi = np.zeros((max_voices, L.VI_N), dtype=np.int64)
        self.vf = np.zeros((max_voices, L.VF_N), dtype=np.float64)
        self.conn = np.zeros((max_voices, L.MAX_CONNECTIONS, L.C_N), dtype=np.int64)
        # [..., 0] lScale / 65536; [..., 1] for modulator rows, scale x the control's value
        self.cscale = np.zeros((max_voices, L.MAX_CONNECTIONS, 2), dtype=np.float64)
        self.chan = np.zeros((channels, L.N_SOURCES), dtype=np.float64)
        self.poly = np.zeros((channels, 128), dtype=np.float64)
        self.pool = SamplePool(pool_samples)  # the waves its voices read
        self.interp_table = make_table()
        self.cmd_i = np.zeros((max_commands, L.CMD_NI), dtype=np.int64)
        self.cmd_f = np.zeros(max_commands, dtype=np.float64)
        self.counts = np.zeros(2, dtype=np.int64)
        self._fin_block = np.zeros(max_voices, dtype=np.int64)  # written by the block call
        self._finished = np.zeros(max_voices, dtype=np.int64)  # over a whole render() call
        self._n_finished = 0
        self.params = np.zeros(L.P_N, dtype=np.float64)
        self.params[L.P_OUT_RATE] = sample_rate
        self.params[L.P_CONTROL_INTERVAL] = control_interval
        self.params[L.P_INV_CONTROL_INTERVAL] = 1.0 / control_interval
        self.params[L.P_QS_SAMPLES] = quick_stop_ms * 1e-3 * sample_rate
        self.params[L.P_MASTER_GAIN] = 1.0
        self._acc = np.zeros(L.N_DEST, dtype=np.float64)
        self._has = np.zeros(L.N_DEST, dtype=np.float64)
        # the output columns: the mix, then the stems asked for (layout: STEM_ROW_OFFSET)
        self.columns = 2 + L.EFFECT_STEMS * effect_outputs + L.CHANNEL_STEMS * channel_outputs
        if effect_outputs:
            self.params[L.P_EFFECT_ROW] = 2 + L.STEM_ROW_OFFSET
        if channel_outputs:
            self.params[L.P_CHANNEL_ROW] = self.columns - L.CHANNEL_STEMS + L.STEM_ROW_OFFSET
        self._bus = np.zeros((self.columns + L.STEM_ROW_OFFSET, max_block), dtype=np.float32)
        # a control interval of one voice's samples, then the window a loop is laid out in
        self._vbuf = np.zeros(control_interval + LOOP_WINDOW, dtype=np.float32)
        self._out = np.zeros((max_block, self.columns), dtype=np.float32)
        self.reverb = Reverb(sample_rate)
        self.chorus = Chorus(sample_rate)
        self.set_reverb(enabled=True, in_gain_db=0.0, mix=EFFECT_MIX["reverb"])
        self.set_chorus(enabled=True, in_gain_db=0.0, mix=EFFECT_MIX["chorus"])
        self._prepare_cache: dict[int, tuple[object, np.ndarray, np.ndarray, float]] = {}
        self._scratch = np.zeros((max_block, self.columns), dtype=np.float32)  # the pin call's
        self._serial = 0
        self.master_volume = 0
        limiter_settings(self.params, sample_rate, enabled=False)
        for ch in range(channels):
            self._reset_channel_now(ch)

    # --- voices ----------------------------------------------------------------------------------
    def start(self, spec: VoiceSpec, offset: int = 0) -> int:
        """Fill a free voice slot from spec; it starts sounding at sample `offset`. Returns the
        voice number the other calls take."""
        v = free_slot(self.vi)
        if v < 0:
            raise StateError(f"no free voice: all {self.max_voices} are in use")
        if not 0 <= spec.channel < self.channels:
            raise StateError(f"channel {spec.channel} is outside 0..{self.channels - 1}")
        end = spec.wave_offset + spec.wave_length
        if spec.wave_offset < L.GUARD or spec.wave_length < 1 or end > self.pool.used:
            raise BankError(
                f"wave [{spec.wave_offset}, {end}) is not in the sample pool",
                chunk="wave",
                offset=spec.wave_offset,
            )
        rows, scale, cents = self._prepared(spec.connections)
        self._serial += 1
        setup_voice(
            v,
            self.vi,
            self.vf,
            self.conn,
            self.cscale,
            rows,
            scale,
            0,
            rows.shape[0],
            spec.channel,
            int(spec.key),
            int(spec.velocity),
            spec.wave_offset,
            spec.wave_length,
            spec.loop_type,
            spec.loop_start,
            spec.loop_start + spec.loop_length,
            spec.interpolation,
            self._serial,
            spec.sample_rate / self.sample_rate,
            # The key tracking (KEYNUMBER -> PITCH, 100 cents a key by default; SF2 scaleTuning
            # may say 50 or 0) places the key in cents: the unity note must sit at the same scale.
            spec.fine_tune - spec.unity_note * cents,
            spec.attenuation / 655360.0,
        )
        self._command(offset, L.CMD_START, v, self._serial)
        return v

    def _prepared(self, conns) -> tuple[np.ndarray, np.ndarray, float]:
        """The engine's rows for a connection list and its key tracking (cents a key),
        converted once per list object: the glue hands the same array for every note of a
        region, and start() runs on the audio path."""
        key = id(conns)
        hit = self._prepare_cache.get(key)
        if hit is not None and hit[0] is conns:
            return hit[1], hit[2], hit[3]
        array = conns if isinstance(conns, np.ndarray) else C.connections_array(conns)
        if array.shape[0] > L.MAX_CONNECTIONS:
            raise BankError(
                f"{array.shape[0]} connection blocks, at most {L.MAX_CONNECTIONS} per voice",
                chunk="art2",
            )
        rows, scale = C.engine_rows(array)
        if len(self._prepare_cache) >= _PREPARE_CACHE:
            self._prepare_cache.clear()
        cents = key_cents(rows, scale)
        self._prepare_cache[key] = (conns, rows, scale, cents)  # conns keeps its id unique
        return rows, scale, cents

    def release(self, voice: int, offset: int = 0) -> None:
        """Note-off: EG1 and EG2 go to release at sample `offset`."""
        self._command(offset, L.CMD_RELEASE, voice, int(self.vi[voice, L.VI_SERIAL]))

    def quick_stop(self, voice: int, offset: int = 0) -> None:
        """Fade the voice out in a few ms (stealing, exclusive class, same-key retrigger)."""
        self._command(offset, L.CMD_QUICK_STOP, voice, int(self.vi[voice, L.VI_SERIAL]))

    # --- channel sources -------------------------------------------------------------------------
    def set_source(self, channel: int, source: int, value: float, offset: int = 0) -> None:
        """Set a channel's DLS source (CONN_SRC_*) to a normalized value 0..1 at `offset`."""
        if not 0 <= source < L.N_SOURCES:
            raise StateError(f"source 0x{source:x} is not a channel source")
        self._command(offset, L.CMD_SOURCE, channel, source, value)

    def controller(self, channel: int, cc: int, value: int, offset: int = 0) -> None:
        """MIDI control change (7-bit value) as the source CONN_SRC_CC(cc)."""
        self.set_source(channel, 0x80 + (cc & 0x7F), (value & 0x7F) / 128.0, offset)

    def pitch_wheel(self, channel: int, value: int, offset: int = 0) -> None:
        """Pitch wheel, 14-bit (8192 = centre)."""
        self.set_source(channel, C.CONN_SRC_PITCHWHEEL, (value & 0x3FFF) / 16384.0, offset)

    def channel_pressure(self, channel: int, value: int, offset: int = 0) -> None:
        self.set_source(channel, C.CONN_SRC_CHANNELPRESSURE, (value & 0x7F) / 128.0, offset)

    def poly_pressure(self, channel: int, key: int, value: int, offset: int = 0) -> None:
        self._command(offset, L.CMD_POLY_PRESSURE, channel, key & 0x7F, (value & 0x7F) / 128.0)

    def rpn(self, channel: int, number: int, value: int, offset: int = 0) -> None:
        """RPN 0 (bend range), 1 (fine tune) or 2 (coarse tune) as the 14-bit data entry value
        (MSB << 7 | LSB). RPN 0's MSB is semitones and its LSB cents (2 semitones: 2 << 7);
        centred tunings are 8192."""
        if number not in (0, 1, 2):
            raise StateError(f"RPN {number} is not a connection source")
        value &= 0x3FFF
        if number == 0:
            # the DLS scale for RPN0 is 12800 cents full scale: u = semitones / 128
            u = ((value >> 7) + min(value & 0x7F, 99) / 100.0) / 128.0
        else:
            u = value / 16384.0
        self.set_source(channel, C.CONN_SRC_RPN0 + number, u, offset)

    def all_sound_off(self, channel: int = -1, offset: int = 0) -> None:
        """Quick-stop every voice of a channel (-1: of every channel)."""
        self._command(offset, L.CMD_SOUND_OFF, channel, 0)

    def all_notes_off(self, channel: int = -1, offset: int = 0) -> None:
        """Release every voice of a channel (-1: of every channel)."""
        self._command(offset, L.CMD_NOTES_OFF, channel, 0)

    def reset_channel(self, channel: int, offset: int = 0) -> None:
        """GM power-on values for every source of the channel, at `offset`."""
        for src in range(L.N_SOURCES):
            value = self._default_source(src)
            if self.chan[channel, src] != value:
                self.set_source(channel, src, value, offset)

    def _reset_channel_now(self, channel: int) -> None:
        for src in range(L.N_SOURCES):
            self.chan[channel, src] = self._default_source(src)
        self.poly[channel] = 0.0

    @staticmethod
    def _default_source(src: int) -> float:
        if src == C.CONN_SRC_PITCHWHEEL or src in (C.CONN_SRC_RPN1, C.CONN_SRC_RPN2):
            return 0.5
        if src == C.CONN_SRC_RPN0:
            return 2.0 / 128.0  # 2 semitones
        if 0x80 <= src < 0x100:
            return _DEFAULT_CC.get(src - 0x80, 0) / 128.0
        return 0.0

    def _command(self, offset: int, kind: int, a: int, b: int, value: float = 0.0) -> None:
        k = int(self.counts[0])
        if k >= self.cmd_i.shape[0]:
            raise StateError(f"command queue full ({k} commands): render before adding more")
        row = self.cmd_i[k]
        row[L.CMD_OFFSET] = offset
        row[L.CMD_KIND] = kind
        row[L.CMD_A] = a
        row[L.CMD_B] = b
        self.cmd_f[k] = value
        self.counts[0] = k + 1

    # --- rendering -------------------------------------------------------------------------------
    def render(self, frames: int) -> np.ndarray:
        """Render the next `frames` samples; returns a (frames, columns) float32 view of an
        internal buffer that the next call overwrites (copy it to keep it)."""
        if frames > self._out.shape[0]:
            self._out = np.zeros((frames, self.columns), dtype=np.float32)
        out = self._out[:frames]
        self._n_finished = 0
        done = 0
        while done < frames:
            n = min(self.max_block, frames - done)
            self._render_block(out[done : done + n])
            done += n
        return out

    def render_into(self, out: np.ndarray) -> None:
        """Render len(out) <= max_block samples into the (n, columns) float32 array `out`."""
        self._n_finished = 0
        self._render_block(out)

    def _render_block(self, out: np.ndarray) -> None:
        frames = out.shape[0]
        if frames > self.max_block:
            raise StateError(f"block of {frames} frames is larger than max_block {self.max_block}")
        arrays = self.pin_arrays()  # the block call's order, less the pool, then the scratch
        render_block(frames, out, *arrays[:6], self.pool.array, *arrays[6:-1])
        n = int(self.counts[1])
        self._finished[self._n_finished : self._n_finished + n] = self._fin_block[:n]
        self._n_finished += n

    # --- what the glue reads ---------------------------------------------------------------------
    @property
    def finished(self) -> np.ndarray:
        """The voices that went silent during the last render() (their slots are free again)."""
        return self._finished[: self._n_finished]

    @property
    def states(self) -> np.ndarray:
        """Per-voice state (layout.VOICE_*), a live view."""
        return self.vi[:, L.VI_STATE]

    @property
    def levels(self) -> np.ndarray:
        """Per-voice amplitude at the last control point (EG1 x gains), a live view."""
        return self.vf[:, L.VF_LEVEL]

    @property
    def serials(self) -> np.ndarray:
        """Per-voice start order (bigger = newer), a live view."""
        return self.vi[:, L.VI_SERIAL]

    @property
    def active_count(self) -> int:
        """Voices started and not yet finished."""
        return int(np.count_nonzero(self.vi[:, L.VI_STATE] != L.VOICE_FREE))

    @property
    def free_count(self) -> int:
        return self.max_voices - self.active_count

    def plays(self, offset: int) -> bool:
        """Whether a voice started and not yet finished reads the wave at pool `offset`."""
        vi = self.vi
        busy = vi[:, L.VI_STATE] != L.VOICE_FREE
        return bool(np.any(busy & (vi[:, L.VI_WAVE_OFFSET] == offset)))

    def pin_arrays(self) -> tuple:
        """The arrays of the block call in its order, less the sample pool (which a growth
        replaces: see SamplePool.on_grow), then a scratch block: what a pin's compiled call
        renders with."""
        rv, ch = self.reverb, self.chorus
        return (
            self.vi,
            self.vf,
            self.conn,
            self.cscale,
            self.chan,
            self.poly,
            self.interp_table,
            self.cmd_i,
            self.cmd_f,
            self.counts,
            self._fin_block,
            self.params,
            self._acc,
            self._has,
            self._bus,
            self._vbuf,
            rv.buf,
            rv.ints,
            rv.flts,
            ch.buf,
            ch.ints,
            ch.flts,
            self._scratch,
        )

    # --- master and effects ----------------------------------------------------------------------
    @property
    def master_volume(self) -> int:
        """Master volume in 1/100 dB (0 = unity), as KSPROPERTY_SYNTH_VOLUME."""
        return self._master_volume

    @master_volume.setter
    def master_volume(self, centibel_hundredths: int) -> None:
        self._master_volume = int(centibel_hundredths)
        self.params[L.P_MASTER_GAIN] = 10.0 ** (self._master_volume / 2000.0)

    def set_limiter(self, enabled: bool) -> None:
        """Switch the master limiter (effects/limiter.py). Off in a bare engine, whose tests
        measure voices above full scale; a synth stream switches it on."""
        limiter_settings(self.params, self.sample_rate, enabled)

    @property
    def limited(self) -> int:
        """Samples the master limiter has turned down since the engine was made."""
        return int(self.params[L.P_LIMITED])

    def peak(self, reset: bool = True) -> float:
        """Largest |sample| of the mix before the limiter since the last reset (linear; 1.0 =
        full scale): above 1 means the limiter worked."""
        value = float(self.params[L.P_PEAK])
        if reset:
            self.params[L.P_PEAK] = 0.0
        return value

    def clear_effects(self) -> None:
        """The reverb and chorus tails to exact zeros (a panic, a pin gone quiet)."""
        self.reverb.clear()
        self.chorus.clear()

    def advance_effects(self, frames: int) -> None:
        """Time for the effects over `frames` of silence that were not rendered: the chorus LFO
        moves on (the reverb, once cleared, has no clock to keep)."""
        self.chorus.advance(frames)

    def set_reverb(
        self,
        enabled: bool | None = None,
        in_gain_db: float | None = None,
        mix: float | None = None,
        time: float | None = None,
        hf_ratio: float | None = None,
    ) -> None:
        """Tune the reverb: input gain (dB), wet mix (0..1), RT60 (s), HF ratio (0.05..1)."""
        if time is not None:
            self.reverb.time = time
        if hf_ratio is not None:
            self.reverb.hf_ratio = hf_ratio
        if time is not None or hf_ratio is not None:
            self.reverb.update()
        if in_gain_db is not None:
            self.params[L.P_REVERB_IN_GAIN] = _db_gain(in_gain_db, "reverb.in_gain")
        if mix is not None:
            self.params[L.P_REVERB_MIX] = _unit(mix, "reverb.mix")
        if enabled is not None:
            if not enabled:
                self.reverb.clear()  # switched back on later, it starts from silence
            self.params[L.P_REVERB_ON] = 1.0 if enabled else 0.0

    def set_chorus(
        self,
        enabled: bool | None = None,
        in_gain_db: float | None = None,
        mix: float | None = None,
        rate: float | None = None,
        depth_ms: float | None = None,
    ) -> None:
        """Tune the chorus: input gain (dB), wet mix (0..1), LFO rate (Hz), depth (ms)."""
        if rate is not None:
            self.chorus.lfo_hz = rate
        if depth_ms is not None:
            self.chorus.depth_ms = depth_ms
        if rate is not None or depth_ms is not None:
            self.chorus.update()
        if in_gain_db is not None:
            self.params[L.P_CHORUS_IN_GAIN] = _db_gain(in_gain_db, "chorus.in_gain")
        if mix is not None:
            self.params[L.P_CHORUS_MIX] = _unit(mix, "chorus.mix")
        if enabled is not None:
            if not enabled:
                self.chorus.clear()
            self.params[L.P_CHORUS_ON] = 1.0 if enabled else 0.0


def _db_gain(db: float, key: str) -> float:
    if not -96.0 <= db <= 24.0:
        raise ConfigError(f"gain {db} dB is outside -96..24", key=key)
    return 10.0 ** (db / 20.0)


def _unit(x: float, key: str) -> float:
    if not 0.0 <= x <= 1.0 or math.isnan(x):
        raise ConfigError(f"{x} is outside 0..1", key=key)
    return float(x)
