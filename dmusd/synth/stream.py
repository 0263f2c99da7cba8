"""SynthStream: one pin's synthesizer, the IMXF the port feeds and the ISynthSinkDMus it pulls.

The DDK sample synth's CDmSynthStream. Events come in by PutMessage, complete and all at once
(the stream asks for DONT_HOLD_FOR_SEQUENCING and schedules them itself), on whatever thread
feeds the pin: each becomes a fixed-size record in the pin's event ring, its presentation time
turned into a sample position with RefTimeToSample, SysEx pieces joined and decoded
(stream_input.py), and goes back to the allocator at once. Render calls the pin's one compiled
function (engine/native_pin.py; the native audio callback calls the same one by address),
which plays every record due before the end of the block at its own sample: a note stamped
inside a block starts at its own sample, whatever the block size. Channel group 0 means every
group.

States (DDI): outside RUN nothing is played and events wait; leaving RUN releases every note;
in STOP everything held goes back to the allocator. Render keeps rendering in any state, so
release tails and effects die away naturally.

Instruments: each stream has its own DownloadManager (KSPROPERTY_SYNTH_DLS_DOWNLOAD / UNLOAD);
each change builds the compiled call's instrument tables on the control thread that made it
(instrument_tables.py) and publishes them for the next block; Render tells the manager which
generation the engine now uses, so sample data is freed only when nothing can reach it.
The manager keeps the samples in the engine's pool (their one copy), placed at download time,
within the pin's sample budget (SynthConfig.sample_budget, SYNTH_STATS.FreeMemory is what is
left), and moves them to a new engine when the synth is re-opened. A stream may instead be given a
fixed instrument source (a loaded Bank), which then takes the place of the downloads.

Settings are per stream, read and written by the miniport's property handlers: volume and boost
(1/100 dB; the DDI's default boost is +6 dB; a fixed mix headroom and the master limiter keep a
busy mix off the rail), voices, channel groups, sample rate and effects
(PORTPARAMETERS), voice priorities, latency clock, running stats.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np

from dmusd.banks.download_manager import DownloadManager, InstrumentTable
from dmusd.banks.memory_budget import default_budget
from dmusd.errors import ConfigError
from dmusd.kernel.allocator import AllocatorMXF
from dmusd.kernel.clock import IMasterClock, LatencyClock, SampleClock
from dmusd.kernel.event import DMUS_KERNEL_EVENT
from dmusd.kernel.mxf import KSSTATE, MXF
from dmusd.synth.engine import Engine
from dmusd.synth.engine import layout as L
from dmusd.synth.engine import pin_layout as P
from dmusd.synth.engine.jit import interpreted
from dmusd.synth.engine.native_pin import PinDescriptor
from dmusd.synth.engine.note_logic import master_gain
from dmusd.synth.event_ring import EventRing
from dmusd.synth.instrument_tables import InstrumentSource, InstrumentTables, TableBuilder
from dmusd.synth.pin_state import PinState, VoiceInfo
from dmusd.synth.stream_input import StreamInput

DEFAULT_BOOST = 600  # 1/100 dB: the DDI's default VOLUMEBOOST (+6 dB)
# 1/100 dB: room left on the mix bus for many voices. One GM note at full velocity and volume
# peaks near full scale on its own (TimGM6mb: +7 dB with the boost), so without it a busy
# song would live in the master limiter; with it, dense GM files peak near -5 dBFS.
MIX_HEADROOM = 1200
VOLUME_FLOOR = P.VOLUME_FLOOR  # 1/100 dB: silence
COLLECT_EVERY = 0.1  # seconds between tries to free unloaded waves a block or a voice still holds
INTERPOLATION = {"linear": L.INTERP_LINEAR, "cubic": L.INTERP_CUBIC, "sinc": L.INTERP_SINC}


@dataclass(slots=True, frozen=True)
class SynthConfig:
    """How a stream's synthesizer is opened (the granted SYNTH_PORTPARAMS, plus ours)."""

    rate: int = 48000
    voices: int = 256
    channel_groups: int = 1
    interpolation: int = L.INTERP_CUBIC
    reverb: bool = True
    chorus: bool = True
    max_block: int = 4096
    effect_outputs: bool = False  # the block has the reverb and chorus returns apart too
    channel_outputs: bool = False  # and each MIDI channel's dry pair (Engine's columns)
    name: str = "synth"  # the pin's, for messages
    sample_budget: int = field(default_factory=default_budget)  # bytes the downloads may hold

    def __post_init__(self) -> None:
        if not 8000 <= self.rate <= 192000:
            raise ConfigError(f"sample rate {self.rate} is outside 8000..192000", key="rate")
        if not 1 <= self.voices <= 4096:
            raise ConfigError(f"voice count {self.voices} is outside 1..4096", key="voices")
        if not 1 <= self.channel_groups <= 1000:
            raise ConfigError(
                f"channel group count {self.channel_groups} is outside 1..1000",
                key="channel_groups",
            )
        if self.interpolation not in INTERPOLATION.values():
            raise ConfigError(f"unknown interpolation mode {self.interpolation}")
        if self.sample_budget < 0:
            raise ConfigError(
                f"sample memory budget {self.sample_budget} is negative", key="sample_budget"
            )

    @property
    def engine_voices(self) -> int:
        """Engine slots: the budget plus spares for voices fading out after a quick-stop."""
        return self.voices + max(self.voices // 2, 16)


@dataclass(slots=True)
class _Stats:
    frames: int = 0
    voice_frames: int = 0  # sum of sounding voices x frames
    cpu: float = 0.0  # seconds spent in Render
    lost_base: int = 0  # lost notes counted before the last entry into RUN


_NO_TABLES = TableBuilder.empty()
# what a re-opened synth carries over: lost-note counts, and the events not yet played
_KEPT_COUNTERS = (P.ST_STOLEN, P.ST_REFUSED, P.ST_STARTED, P.ST_NOTES, P.ST_UNPLAYABLE,
                  P.ST_MISSED, P.ST_LATE, P.ST_STRAY, P.ST_PENDING, P.ST_PEND_HEAD)  # fmt: skip


class SynthStream(MXF):
    """IMXF + ISynthSinkDMus for one pin instance: a whole virtual synthesizer."""

    def __init__(
        self,
        allocator: AllocatorMXF,
        master_clock: IMasterClock,
        config: SynthConfig | None = None,
        instruments: InstrumentSource | None = None,
    ) -> None:
        super().__init__(allocator)
        self.master_clock = master_clock
        self.config = config or SynthConfig()
        self.downloads = DownloadManager(
            self.config.name, self.config.sample_budget, collect_every=COLLECT_EVERY
        )
        self.downloads.on_publish = self._downloads_published
        self._source = instruments  # a fixed source, or None: the downloads
        self._tables = _NO_TABLES  # what the compiled call plays now
        self._tables_lock = threading.Lock()  # control threads building tables
        self._volume = 0
        self._boost = DEFAULT_BOOST
        self.share = 0
        self.has_render = False  # the miniport pairs one render pin and one wave pin per stream
        self.has_sink = False
        self.ring = EventRing()
        self.input = StreamInput(self.ring)
        self._lock = threading.RLock()  # Render vs. re-opening the synthesizer and publishing
        self._stats = _Stats()
        self._open(self.config)

    # -- the synthesizer --------------------------------------------------------------------
    def _open(self, config: SynthConfig) -> None:
        """Build engine, voices and channel groups for `config` (the DDK's CSynth::Open)."""
        old = getattr(self, "state_arrays", None)
        self.config = config
        self.engine = Engine(
            sample_rate=config.rate,
            max_voices=config.engine_voices,
            channels=16 * config.channel_groups,
            max_block=config.max_block,
            effect_outputs=config.effect_outputs,
            channel_outputs=config.channel_outputs,
        )
        self.engine.set_reverb(enabled=config.reverb)
        self.engine.set_chorus(enabled=config.chorus)
        self.engine.set_limiter(enabled=True)
        # downloaded samples live in its pool, once, within the pin's budget
        self.downloads.budget = config.sample_budget
        self.downloads.attach(self.engine)
        pin = PinState(
            self.engine, config.channel_groups, config.voices, config.interpolation, self.ring
        )
        if old is not None:  # keep the priorities a client has set, and the counters
            keep = min(old.priorities.size, pin.priorities.size)
            pin.priorities[:keep] = old.priorities[:keep]
            for i in _KEPT_COUNTERS:
                pin.stats[i] = old.stats[i]
            pin.pending[:] = old.pending
            pin.pending_values[:] = old.pending_values
        self.state_arrays = pin
        self.input.groups = config.channel_groups
        self.builder = TableBuilder(self.engine)
        self.sample_clock = SampleClock(config.rate, self.master_clock)
        self.input.to_sample = self.sample_clock.RefTimeToSample
        self.latency_clock = LatencyClock(self.sample_clock)
        self.native = PinDescriptor(
            pin.arrays, self.engine.pin_arrays(), self._tables.arrays, self.engine.pool.array
        )
        self.engine.pool.on_grow = lambda array: self._publish(self._tables)
        self._rebuild_tables()
        self._apply_gain()

    def reopen(self, **changes) -> SynthConfig:
        """Re-open the synthesizer with some settings changed. Switching effects keeps the
        voices playing; any other change cuts them."""
        config = replace(self.config, **changes)
        effects_only = replace(config, reverb=self.config.reverb, chorus=self.config.chorus)
        if effects_only == self.config:
            self.config = config
            self.engine.set_reverb(enabled=config.reverb)
            self.engine.set_chorus(enabled=config.chorus)
        elif config != self.config:
            with self._lock:
                self._open(config)
        return self.config

    # -- instruments ------------------------------------------------------------------------
    @property
    def instruments(self) -> InstrumentSource | None:
        """What the channels play: the fixed source, else the downloads' current table."""
        return self._source if self._source is not None else self.downloads.table

    @instruments.setter
    def instruments(self, source: InstrumentSource | None) -> None:
        """Play a fixed instrument set (a Bank); None goes back to the downloads."""
        self._source = source
        self._rebuild_tables()

    @property
    def tables(self) -> InstrumentTables:
        """The instrument tables the compiled call plays now."""
        return self._tables

    def _rebuild_tables(self) -> None:
        source = self._source
        if source is None:
            self._downloads_published(self.downloads.table)
            return
        with self._tables_lock:
            generation = self._tables.generation + 1
            self._publish(self.builder.build(source.instruments, generation))

    def _downloads_published(self, table: InstrumentTable) -> None:
        """A download or unload made a new table (on its control thread): prepare what the
        compiled call needs and publish it; the next block picks it up."""
        if self._source is not None:
            return
        with self._tables_lock:
            self._publish(self.builder.build(table.instruments, table.generation))

    def _publish(self, tables: InstrumentTables) -> None:
        """The compiled call renders with these tables and the engine's pool from the next
        block on (between two renders: the render lock keeps them apart)."""

        def published() -> None:
            self._tables = tables

        self.native.publish(tables.arrays, self.engine.pool.array, self._lock, published)

    # -- volume (KSPROPERTY_SYNTH_VOLUME / VOLUMEBOOST, 1/100 dB) ------------------------------
    @property
    def volume(self) -> int:
        return self._volume

    @volume.setter
    def volume(self, value: int) -> None:
        self._volume = int(value)
        self._apply_gain()

    @property
    def boost(self) -> int:
        return self._boost

    @boost.setter
    def boost(self, value: int) -> None:
        self._boost = int(value)
        self._apply_gain()

    def _apply_gain(self) -> None:
        """Volume + boost - the mix headroom, with the SysEx master volume, into the engine's
        master stage (the compiled call redoes it when a SysEx changes the master volume)."""
        pf = self.state_arrays.pf
        pf[P.PF_GAIN_CB] = self._volume + self._boost - MIX_HEADROOM
        interpreted(master_gain, pf, self.engine.params)

    # -- IMXF -------------------------------------------------------------------------------
    def PutMessage(self, chain: DMUS_KERNEL_EVENT | None) -> None:
        """Write a chain's events to the event ring (any thread); they go back to the
        allocator at once. In STOP they go straight back."""
        if chain is None:
            return
        if self.state == KSSTATE.STOP:
            self.allocator.PutMessage(chain)
            return
        self.allocator.PutMessage(self.input.put(chain))

    def on_state(self, old: KSSTATE, new: KSSTATE) -> None:
        if old == KSSTATE.RUN:
            self.state_arrays.stats[P.ST_NOTES_OFF] = 1  # done by the next Render
        if new == KSSTATE.RUN:
            self._stats = _Stats(lost_base=self.lost_notes)
            self.engine.peak(reset=True)
        elif new == KSSTATE.STOP:
            with self._lock:
                self.ring.clear()
                self.state_arrays.clear_pending()
                self.input.clear()

    # -- ISynthSinkDMus ---------------------------------------------------------------------
    def Render(self, buffer: np.ndarray, length: int, position: int) -> None:
        """Mix `length` frames from stream position `position` into `buffer` ((n, columns)
        float32: the mix, then the stems the synth was opened with; added to, as the DDK synth
        does)."""
        started = time.perf_counter()
        with self._lock:
            tables = self._tables
            if self._source is None:
                # from this block on the engine looks only at this table
                self.downloads.engine_uses(tables.generation)
            self.native.render(buffer, length, position, self.state == KSSTATE.RUN)
        self.latency_clock.rendered(position + length)
        self._count(length, time.perf_counter() - started)

    def native_rendered(self, frames: int, position: int) -> None:
        """The bookkeeping of a block the native audio callback rendered (NativeMode): what
        Render does around the compiled call."""
        native = self.native
        if self._source is None and native.uses_latest():
            self.downloads.engine_uses(self._tables.generation)
        self.latency_clock.rendered(position + frames)
        self._count(frames, 0.0)

    def skip(self, frames: int, position: int) -> None:
        """A silent block its caller did not render (no voice, nothing queued, the effect tails
        cleared): keep the latency clock, the running stats and the effects' time as Render
        would have."""
        self.latency_clock.rendered(position + frames)
        self.engine.advance_effects(frames)
        self._count(frames, 0.0)

    def clear_effects(self) -> None:
        """The effect tails to exact zeros (audio thread, between blocks)."""
        self.engine.clear_effects()

    def SyncToMaster(self, t: int, fStart: bool) -> None:
        self.sample_clock.SyncToMaster(t, fStart)

    def SampleToRefTime(self, sample: int) -> int:
        return self.sample_clock.SampleToRefTime(sample)

    def RefTimeToSample(self, ref: int) -> int:
        return self.sample_clock.RefTimeToSample(ref)

    # -- what the property handlers, the service and the render command read -------------------
    def priority(self, group: int, channel: int) -> int:
        """The DirectMusic voice priority of a 0-based group's channel."""
        return self.state_arrays.priority(group, channel)

    def set_priority(self, group: int, channel: int, priority: int) -> None:
        self.state_arrays.set_priority(group, channel, priority)

    @property
    def pending(self) -> int:
        """Events queued and not yet played."""
        return len(self.ring) + self.state_arrays.counter(P.ST_PENDING)

    @property
    def busy(self) -> bool:
        """Something is queued: events, or engine commands for a later block."""
        return bool(self.pending or self.engine.counts[0])

    @property
    def active_voices(self) -> int:
        return self.engine.active_count

    def voices(self) -> list[VoiceInfo]:
        """The note logic's live voices, oldest first (status and tests)."""
        tables = self._tables
        return self.state_arrays.voices(tables.regions, tables.generation)

    def held(self, group: int, channel: int) -> list[VoiceInfo]:
        """The live voices of a 0-based group's channel that are not being stopped."""
        return [
            v for v in self.voices() if v.group == group and v.channel == channel and not v.stopping
        ]

    def mode(self, group: int) -> str:
        """GM, GS or XG: the last reset a 0-based channel group had."""
        return self.state_arrays.mode(group)

    @property
    def limited(self) -> int:
        """Samples the master limiter has turned down since the synth was opened."""
        return self.engine.limited

    @property
    def missed_patches(self) -> int:
        return self.state_arrays.counter(P.ST_MISSED)

    @property
    def notes(self) -> int:
        """Note-ons that started at least one voice."""
        return self.state_arrays.counter(P.ST_NOTES)

    @property
    def errors(self) -> int:
        """Regions the synth could not play (the other layers of the note still sound)."""
        return self.state_arrays.counter(P.ST_UNPLAYABLE)

    @property
    def late(self) -> int:
        """Events that came after their sample had been rendered."""
        return self.state_arrays.counter(P.ST_LATE)

    @property
    def stray(self) -> int:
        """Events for a channel group the synth does not have."""
        return self.input.stray + self.state_arrays.counter(P.ST_STRAY)

    @property
    def sysex_dropped(self) -> int:
        return self.input.sysex_dropped

    @property
    def lost_events(self) -> int:
        """Events the ring had no room for."""
        return self.ring.lost

    @property
    def lost_notes(self) -> int:
        """Voices stolen or refused, and events lost to a full ring (SYNTH_STATS.LostNotes)."""
        stats = self.state_arrays.stats
        return int(stats[P.ST_STOLEN] + stats[P.ST_REFUSED]) + self.ring.lost

    @property
    def stolen(self) -> int:
        return self.state_arrays.counter(P.ST_STOLEN)

    @property
    def refused(self) -> int:
        return self.state_arrays.counter(P.ST_REFUSED)

    def _count(self, frames: int, seconds: float) -> None:
        stats = self._stats
        stats.frames += frames
        stats.voice_frames += self.state_arrays.counter(P.ST_SOUNDING) * frames
        stats.cpu += seconds

    def running_stats(self) -> dict[str, float]:
        """Since the last entry into RUN: average voices and CPU % (x100 as SYNTH_STATS
        wants), lost notes, and the peak level (1/100 dB, the mix before the limiter; reading
        it does not reset it, so every reader sees the same figure); free memory: bytes of the
        sample budget downloads can still take (a DWORD)."""
        stats = self._stats
        seconds = stats.frames / self.config.rate
        voices = stats.voice_frames / stats.frames if stats.frames else 0.0
        cpu = 100.0 * stats.cpu / seconds if seconds else 0.0
        peak = self.engine.peak(reset=False)
        return {
            "voices": voices,
            "total_cpu": 100.0 * cpu,
            "cpu_per_voice": 100.0 * cpu / voices if voices else 0.0,
            "lost_notes": self.lost_notes - stats.lost_base,
            "peak_volume": VOLUME_FLOOR if peak <= 0.0 else 2000.0 * math.log10(peak),
            "free_memory": min(self.downloads.free_memory, 0xFFFFFFFF),
        }
