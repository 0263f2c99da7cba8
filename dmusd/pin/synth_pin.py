"""SynthPin: one virtual synthesizer put together, the same way for the daemon and for render.

A SynthPin is a PortDMus around a SynthMiniport with one render pin (MIDI in) and one wave pin
(PCM out), which together are one SynthStream. Everything reaches it the DirectMusic way: banks
are turned into DMUS_DOWNLOADINFO buffers (waves first) and each goes through
KSPROPERTY_SYNTH_DLS_DOWNLOAD; volume is KSPROPERTY_SYNTH_VOLUME, effects GUID_DMUS_PROP_Effects,
raw MIDI goes into the render pin's unpacker. The pin keeps an ordered list of its banks with
their handles. The DownloadManager lets GM-flagged instruments yield and otherwise lets the
newest download of a patch win, so downloading banks in order makes a later bank override an
earlier one.

The daemon's SynthService holds one per configured pin and renders them live; `dmusd render`
holds one on a sample-count clock and lets a FileSink pull it, with idle detection off
(idle.py says why).

Threads:
- the audio thread (or the file sink) calls render() and sleep_through(); it takes no lock any
  other thread holds for long (the stream's own, which only re-opening the synth takes);
- the MIDI input thread calls put(); a lock keeps its bytes and a panic's from interleaving
  inside the unpacker (the audio thread never takes it);
- control threads call the rest, serialised by their caller (SynthService's control lock).
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Collection, Iterable
from dataclasses import replace

import numpy as np

from dmusd.banks.download import bank_download_count, build_bank_downloads
from dmusd.banks.memory_budget import budget_bytes
from dmusd.config import PinConfig
from dmusd.kernel.clock import IMasterClock
from dmusd.kernel.ks import PropertyRequest, PropertyResult
from dmusd.kernel.mxf import KSSTATE
from dmusd.kernel.port import PortDMus
from dmusd.kernel.synth_props import (
    KSPROPERTY_SYNTH,
    KSPROPERTY_SYNTH_DLS,
    SYNTH_EFFECT_CHORUS,
    SYNTH_EFFECT_REVERB,
    SYNTH_PORTPARAMS,
    SYNTH_PORTPARAMS_VOICES,
    SYNTH_STATS,
    SYNTHDOWNLOAD,
    GUID_DMUS_PROP_Effects,
    KSPROPSETID_Synth,
    KSPROPSETID_Synth_Dls,
)
from dmusd.pin.banks import LoadedBank, ParsedBank
from dmusd.pin.idle import IdleRender
from dmusd.pin.pin_output import PinOutput
from dmusd.synth.engine import layout as L
from dmusd.synth.engine.engine import EFFECT_MIX
from dmusd.synth.engine.native_pin import PinDescriptor
from dmusd.synth.miniport import PIN_RENDER, PIN_WAVE, SynthMiniport
from dmusd.synth.stream import INTERPOLATION, SynthConfig, SynthStream

PANIC_WAIT = 0.1  # seconds a panic waits for the voices to stop before clearing the tails
# All sound off, then all notes off (pedals and held keys too), on the 16 channels.
_PANIC = b"".join(bytes((0xB0 | ch, cc, 0)) for cc in (120, 123) for ch in range(16))


def synth_config(pin: PinConfig, rate: int, output: PinOutput | None = None) -> SynthConfig:
    """The SynthConfig a pin's synth opens with (`output`: the stems it renders, if any)."""
    return SynthConfig(
        effect_outputs=output is not None and output.effects,
        channel_outputs=output is not None and output.channels,
        rate=rate,
        voices=pin.voices,
        channel_groups=pin.channel_groups,
        interpolation=INTERPOLATION[pin.interpolation],
        reverb=pin.reverb,
        chorus=pin.chorus,
        name=pin.name,
        sample_budget=budget_bytes(pin.sample_memory_mb),
    )


class SynthPin:
    """A port with a render pin and a wave pin, opened and running, and the banks on it."""

    def __init__(
        self,
        config: PinConfig,
        rate: int,
        master_clock: IMasterClock,
        *,
        idle: bool = True,
        output: PinOutput | None = None,
    ) -> None:
        """Open the pin as `config` says (banks apart: see download) and set it to RUN.
        `idle`: skip the voice engine while the pin is silent (live; off for offline);
        `output`: its own outputs (pin_output.py; None: the main mix only)."""
        self.name = config.name
        self.config = config
        self.rate = rate
        self.output = output or PinOutput(config.name)
        synth = SynthMiniport(synth_config(config, rate, self.output))
        self.port = PortDMus(synth, master_clock)
        self.midi = self.port.open_pin(PIN_RENDER)
        self.wave = self.port.open_pin(PIN_WAVE)
        self.stream: SynthStream = self.midi.stream
        self.banks: list[LoadedBank] = []
        self._next_dl_id = 1  # dwDLIds are unique per pin, over every bank it ever held
        self._feed = threading.Lock()  # MIDI thread vs. a panic, both into the unpacker
        self._blocks = IdleRender(self.stream, rate, enabled=idle)
        self._panic = -1  # frames since a panic asked for the tails to be cleared; -1: none
        self._fresh = True  # the next SyncToMaster anchors the stream (fStart)
        try:
            self.set_volume(config.volume_db)  # refused out of range: no pin then
        except BaseException:
            self.port.close()
            raise
        self.wave.SetState(KSSTATE.RUN)
        self.midi.SetState(KSSTATE.RUN)

    def close(self) -> None:
        """Every pin to STOP (notes released, held events returned) and the port closed."""
        self.port.close()

    @property
    def groups(self) -> int:
        return self.stream.config.channel_groups

    @property
    def active_voices(self) -> int:
        return self.stream.active_voices

    @property
    def idle(self) -> bool:
        return self._blocks.idle

    @property
    def asleep(self) -> bool:
        """Idle with nothing queued, held or about to happen: blocks need no Python at all."""
        stream = self.stream
        sequencer = self.midi.sequencer
        return (
            self.idle
            and self._panic < 0
            and not self._fresh
            and not stream.busy
            and (sequencer is None or not sequencer.held)
        )

    # -- properties ---------------------------------------------------------------------------
    def request(self, request: PropertyRequest) -> PropertyResult:
        """A KS property request aimed at this pin's render pin."""
        request.pin = self.midi.id
        return self.port.property_request(request)

    def set_volume(self, db: float) -> None:
        value = struct.pack("<i", round(100 * db))
        self.request(PropertyRequest.set(KSPROPSETID_Synth, KSPROPERTY_SYNTH.VOLUME, value))

    def set_effects(self, reverb: bool, chorus: bool) -> None:
        flags = (SYNTH_EFFECT_REVERB if reverb else 0) | (SYNTH_EFFECT_CHORUS if chorus else 0)
        self.request(PropertyRequest.set(GUID_DMUS_PROP_Effects, 0, struct.pack("<I", flags)))

    def set_effect_level(self, effect: str, mix: float | None = None) -> None:
        """The wet mix (0..1) of "reverb" or "chorus"; None: the engine's default, which a
        re-opened synth starts from again too."""
        engine = self.stream.engine
        mix = EFFECT_MIX[effect] if mix is None else mix
        (engine.set_reverb if effect == "reverb" else engine.set_chorus)(mix=mix)

    def set_voices(self, voices: int) -> None:
        """A new voice budget, asked the DirectMusic way (KSPROPERTY_SYNTH_PORTPARAMETERS): the
        synth re-opens and the notes sounding are cut. The pin's config follows, so a reload
        to the file's budget re-opens it again."""
        asked = SYNTH_PORTPARAMS(ValidParams=SYNTH_PORTPARAMS_VOICES, Voices=voices)
        request = PropertyRequest.get(
            KSPROPSETID_Synth,
            KSPROPERTY_SYNTH.PORTPARAMETERS,
            SYNTH_PORTPARAMS.SIZE,
            instance=asked.pack(),
        )
        self.request(request)
        self.config = replace(self.config, voices=self.stream.config.voices)

    # -- banks --------------------------------------------------------------------------------
    def download(
        self, parsed: ParsedBank, bank_id: int, programs: Collection[int] | None = None
    ) -> LoadedBank:
        """Download a parsed bank's instruments on top of the pin's banks and add it to them;
        on any failure nothing of it stays loaded. `programs`: only the instruments of these
        program numbers (a render's song_programs), with the waves they use."""
        instruments = [
            inst
            for inst in parsed.bank.instruments.values()
            if programs is None or inst.patch & 0x7F in programs
        ]
        waves = {id(r.wave): r.wave.frames for inst in instruments for r in inst.regions}
        self.stream.downloads.reserve(len(waves), sum(waves.values()))
        # one buffer at a time: each is parsed into the engine's pool and dropped before the next
        buffers = build_bank_downloads(instruments, self._next_dl_id, parsed.gm)
        self._next_dl_id += bank_download_count(instruments)
        handles: list[int] = []
        # the bank reaches the engine whole, its tables prepared once
        with self.stream.downloads.batch():
            try:
                for buffer in buffers:
                    request = PropertyRequest.get(
                        KSPROPSETID_Synth_Dls,
                        KSPROPERTY_SYNTH_DLS.DOWNLOAD,
                        SYNTHDOWNLOAD.SIZE,
                        instance=buffer,
                    )
                    reply = self.request(request).value
                    handles.append(SYNTHDOWNLOAD.unpack(reply).DownloadHandle)
            except BaseException:
                self._unload(handles)
                raise
        names = tuple(sorted((inst.patch, inst.name) for inst in instruments))
        loaded = LoadedBank(
            bank_id, parsed.path, tuple(handles), len(instruments), parsed.signature, names
        )
        self.banks.append(loaded)
        return loaded

    def unload(self, bank: LoadedBank) -> None:
        """Give a bank's handles back and drop it from the pin's banks. Voices playing its
        waves play on to their end: the download manager frees sample data only when no voice
        and no table reaches it."""
        self._unload(bank.handles)
        self.banks.remove(bank)

    def _unload(self, handles: Iterable[int]) -> None:
        # instruments before the waves they use (the reverse of download order), published once
        with self.stream.downloads.batch():
            for handle in reversed(list(handles)):
                unload = struct.pack("<Q", handle)
                self.request(
                    PropertyRequest.set(KSPROPSETID_Synth_Dls, KSPROPERTY_SYNTH_DLS.UNLOAD, unload)
                )

    # -- MIDI and panic -----------------------------------------------------------------------
    def put(self, data: bytes, time: int, group: int) -> None:
        """Raw MIDI bytes for a 1-based channel group (0: every group) to play at `time`
        (100 ns, master clock; 0: the next block)."""
        with self._feed:
            self.midi.put_bytes(data, time, group)

    def put_many(self, messages: Iterable[tuple[int, bytes]], group: int) -> None:
        """Like put for each (time, bytes) pair in turn, sent down the chain as one chain."""
        with self._feed:
            self.midi.put_messages(messages, group)

    def panic(self) -> None:
        """All sound off on every channel of every group in the next block; the effect tails
        are cleared then, and again once the voices' quick-stop fades are over."""
        self.put(_PANIC, 0, 0)
        self._panic = 0

    # -- the audio thread ---------------------------------------------------------------------
    def render(self, buffer: np.ndarray, frames: int, position: int, t: int, start: bool) -> None:
        """Mix this pin's next `frames` frames into buffer[:frames]; `position` is the output
        stream's frame count at the block's start, `t` its master time, `start` whether the
        output stream (re)starts here. A pin with an area of its own renders there instead
        (PinOutput)."""
        area = self.output.area
        if area is not None:
            buffer = area[:frames]
            buffer.fill(0.0)
        elif self.output.columns != 2:  # stems with nowhere to go: a bug, never a silent overrun
            raise ValueError(f"pin {self.name!r} renders stems but has no output area")
        stream = self.stream
        stream.SyncToMaster(t, start or self._fresh)
        self._fresh = False
        if self._panic == 0:
            stream.clear_effects()  # a panic's first block: the tails go now
        self._blocks.render(buffer, frames, position)
        if self._panic >= 0:
            # and once more when the voices' quick-stop fades are over
            self._panic += frames
            if stream.active_voices == 0 or self._panic >= PANIC_WAIT * self.rate:
                self._panic = -1
                stream.clear_effects()

    def native_ready(self) -> tuple[PinDescriptor, bool, np.ndarray | None] | None:
        """The stream's descriptor and RUN flag when the native callback may render it (no
        first block or panic to handle, which are Python's work), else None. An idle pin is
        rendered in full there: its cleared effects give the same zeros, and the chorus LFO
        moves on as the idle path moves it."""
        if self._fresh or self._panic >= 0:
            return None
        return self.stream.native, self.stream.state == KSSTATE.RUN, self.output.area

    def bookkeep(self, frames: int, position: int, t: int) -> None:
        """render()'s bookkeeping for a block the native callback rendered."""
        self.stream.SyncToMaster(t, False)
        self.stream.native_rendered(frames, position)
        self._blocks.rendered_natively()

    def sleep_through(self, frames: int, position: int) -> None:
        """Frames played while asleep, as the idle path of render() would have counted them."""
        self.stream.skip(frames, position)

    # -- reports ------------------------------------------------------------------------------
    def status(self) -> dict:
        config = self.stream.config
        return {
            "name": self.name,
            "channel_groups": config.channel_groups,
            "voices": config.voices,
            "active_voices": self.stream.active_voices,
            "volume_db": self.stream.volume / 100.0,
            "interpolation": self.config.interpolation,
            "reverb": config.reverb,
            "chorus": config.chorus,
            "reverb_level": float(self.stream.engine.params[L.P_REVERB_MIX]),
            "chorus_level": float(self.stream.engine.params[L.P_CHORUS_MIX]),
            "idle": self.idle,
            "banks": [bank.describe() for bank in self.banks],
        }

    def stats(self) -> dict:
        """KSPROPERTY_SYNTH_RUNNINGSTATS (averages and the peak since the pin started), and the
        counters of what went wrong."""
        request = PropertyRequest.get(
            KSPROPSETID_Synth, KSPROPERTY_SYNTH.RUNNINGSTATS, SYNTH_STATS.SIZE
        )
        stats = SYNTH_STATS.unpack(self.request(request).value)
        stream = self.stream
        return {
            "voices": stats.Voices,
            "cpu_percent": stats.TotalCPU / 100.0,
            "cpu_per_voice_percent": stats.CPUPerVoice / 100.0,
            "lost_notes": stats.LostNotes,
            "peak_db": stats.PeakVolume / 100.0,
            "active_voices": stream.active_voices,
            "late_events": stream.late,
            "lost_events": (
                self.midi.allocator.exhausted + self.midi.unpacker.lost + stream.lost_events
            ),
            "missed_patches": stream.missed_patches,
            "errors": stream.errors,
            "sample_memory": stream.downloads.sample_memory,
        }
