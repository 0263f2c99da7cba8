"""SynthStream: one pin's synthesizer, the IMXF the port feeds and the ISynthSinkDMus it pulls.

The DDK sample synth's CDmSynthStream. Events come in by PutMessage, complete and all at once
(the stream asks for DONT_HOLD_FOR_SEQUENCING and schedules them itself); PutMessage only appends
the chain to a queue, since it runs on whatever thread feeds the pin. Render, on the audio
thread, takes the queue, converts each event's presentation time to a sample position with
RefTimeToSample, and hands every event due before the end of the block to its channel group's
ControlLogic with its exact offset inside the block: a note stamped inside a block starts at its
own sample, whatever the block size. Events due later stay queued; each consumed event goes back
to the allocator when its block has been prepared. SysEx pieces flagged INCOMPLETE are joined per
channel group before they are decoded. Channel group 0 means every group.

States (DDI): outside RUN nothing is played and events wait; leaving RUN releases every note;
in STOP everything held goes back to the allocator. Render keeps rendering in any state, so
release tails and effects die away naturally.

Instruments: each stream has its own DownloadManager (KSPROPERTY_SYNTH_DLS_DOWNLOAD / UNLOAD);
Render picks up its newest instrument table at the start of each block and tells the manager
which generation the engine now uses, so sample data is freed only when nothing can reach it.
The manager keeps the samples in the engine's pool (their one copy), placed at download time,
and moves them to a new engine when the synth is re-opened. A stream may instead be given a
fixed instrument source (a loaded Bank), which then takes the place of the downloads.

Settings are per stream, read and written by the miniport's property handlers: volume and boost
(1/100 dB; the DDI's default boost is +6 dB; a fixed mix headroom and the master limiter keep a
busy mix off the rail), voices, channel groups, sample rate and effects
(PORTPARAMETERS), voice priorities, latency clock, running stats.
"""

from __future__ import annotations

import heapq
import math
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from dmusd.banks.download_manager import DownloadManager
from dmusd.errors import ConfigError, DmusdError
from dmusd.kernel.allocator import AllocatorMXF
from dmusd.kernel.clock import IMasterClock, LatencyClock, SampleClock
from dmusd.kernel.event import (
    DMUS_KEF_EVENT_INCOMPLETE,
    DMUS_KEF_PACKAGE_EVENT,
    DMUS_KERNEL_EVENT,
    chain_length,
)
from dmusd.kernel.mxf import KSSTATE, MXF
from dmusd.synth.control_logic import ControlLogic, InstrumentSource, MasterControls
from dmusd.synth.engine import Engine
from dmusd.synth.engine import layout as L
from dmusd.synth.voice_allocator import VoiceAllocator
from dmusd.synth.voice_builder import VoiceBuilder

DEFAULT_BOOST = 600  # 1/100 dB: the DDI's default VOLUMEBOOST (+6 dB)
# 1/100 dB: room left on the mix bus for many voices. One GM note at full velocity and volume
# peaks near full scale on its own (TimGM6mb: +7 dB with the boost), so without it a busy
# song would live in the master limiter; with it, dense GM files peak near -5 dBFS.
MIX_HEADROOM = 1200
VOLUME_FLOOR = -9600  # 1/100 dB: silence
MAX_SYSEX = 65536  # bytes a joined SysEx may reach; longer ones are dropped
INTERPOLATION = {"linear": L.INTERP_LINEAR, "cubic": L.INTERP_CUBIC, "sinc": L.INTERP_SINC}
# Leave this much room in the engine's command queue before preparing more of a block.
_COMMAND_HEADROOM = 4096


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

    @property
    def engine_voices(self) -> int:
        """Engine slots: the budget plus spares for voices fading out after a quick-stop."""
        return self.voices + max(self.voices // 2, 16)


def free_memory() -> int:
    """Bytes downloads can still take (SYNTH_STATS.FreeMemory, a DWORD): the sample pool grows
    on demand, so this is the memory the system has available, capped at 4 GiB - 1."""
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0
    return min(available, 0xFFFFFFFF)


@dataclass(slots=True)
class _Stats:
    frames: int = 0
    voice_frames: int = 0  # sum of sounding voices x frames
    cpu: float = 0.0  # seconds spent in Render
    lost_base: int = 0  # lost notes counted before the last entry into RUN


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
        self.downloads = DownloadManager()
        self._instruments = instruments  # a fixed source, or None: the downloads
        self._table = None  # the downloads table the control logic uses
        self._volume = 0
        self._boost = DEFAULT_BOOST
        self.share = 0
        self.has_render = False  # the miniport pairs one render pin and one wave pin per stream
        self.has_sink = False
        self._incoming: deque[DMUS_KERNEL_EVENT] = deque()  # chains from PutMessage
        self._queue: list[tuple[int, int, DMUS_KERNEL_EVENT]] = []  # (sample, arrival, event)
        self._arrivals = 0
        self._sysex: dict[int, bytearray] = {}  # INCOMPLETE pieces by channel group
        self._lock = threading.Lock()  # Render vs. re-opening the synthesizer
        self._notes_off = False  # set by a state change, done by the next Render
        self._stats = _Stats()
        self.late = 0  # events that came after their sample had been rendered
        self.stray = 0  # events for a channel group the synth does not have
        self.sysex_dropped = 0  # SysEx cut short or longer than MAX_SYSEX
        self.errors = 0  # messages the synth could not act on (e.g. a region it cannot play)
        self._open(self.config)

    # -- the synthesizer --------------------------------------------------------------------
    def _open(self, config: SynthConfig) -> None:
        """Build engine, voices and channel groups for `config` (the DDK's CSynth::Open)."""
        self.config = config
        self.engine = Engine(
            sample_rate=config.rate,
            max_voices=config.engine_voices,
            channels=16 * config.channel_groups,
            max_block=config.max_block,
        )
        self.engine.set_reverb(enabled=config.reverb)
        self.engine.set_chorus(enabled=config.chorus)
        self.engine.set_limiter(enabled=True)
        self.downloads.attach(self.engine)  # downloaded samples live in its pool, once
        old = getattr(self, "voices", None)
        self.voices = VoiceAllocator(self.engine, config.voices)
        if old is not None:  # keep the priorities a client has set
            old.clear()
            self.voices.priorities.update(old.priorities)
        self.builder = VoiceBuilder(self.engine, config.interpolation)
        self.master = MasterControls()
        self.groups = [
            ControlLogic(g, self.engine, self.voices, self.builder, self._instruments, self.master)
            for g in range(config.channel_groups)
        ]
        self._table = None
        self.sample_clock = SampleClock(config.rate, self.master_clock)
        self.latency_clock = LatencyClock(self.sample_clock)
        self._applied_gain = None
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

    @property
    def instruments(self) -> InstrumentSource | None:
        """What the channels play: the fixed source, else the downloads' current table."""
        return self._instruments if self._instruments is not None else self._table

    @instruments.setter
    def instruments(self, source: InstrumentSource | None) -> None:
        """Play a fixed instrument set (a Bank); None goes back to the downloads."""
        self._instruments = source
        self._table = None
        for logic in self.groups:
            logic.instruments = source

    def _pick_up_downloads(self) -> None:
        """At a block boundary: use the newest downloads table and say so to the manager."""
        if self._instruments is not None:
            return
        table = self.downloads.table
        if table is not self._table:
            self._table = table
            for logic in self.groups:
                logic.instruments = table
        self.downloads.engine_uses(table.generation)

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
        """Volume + boost + the SysEx master volume - the mix headroom, into the engine's
        master stage."""
        v = self.master.volume
        sysex = VOLUME_FLOOR if v <= 0.0 else max(VOLUME_FLOOR, round(2000.0 * math.log10(v)))
        gain = max(VOLUME_FLOOR, self._volume + self._boost + sysex - MIX_HEADROOM)
        if gain != self._applied_gain:
            self._applied_gain = gain
            self.engine.master_volume = gain

    # -- IMXF -------------------------------------------------------------------------------
    def PutMessage(self, chain: DMUS_KERNEL_EVENT | None) -> None:
        """Queue a chain for the next Render (any thread). In STOP it goes straight back."""
        if chain is None:
            return
        if self.state == KSSTATE.STOP:
            self.allocator.PutMessage(chain)
            return
        self._incoming.append(chain)

    def on_state(self, old: KSSTATE, new: KSSTATE) -> None:
        if old == KSSTATE.RUN:
            self._notes_off = True
        if new == KSSTATE.RUN:
            self._stats = _Stats(lost_base=self.voices.lost_notes)
        elif new == KSSTATE.STOP:
            with self._lock:
                self._return_held()

    def _return_held(self) -> None:
        while self._incoming:
            self.allocator.PutMessage(self._incoming.popleft())
        for _, _, ev in self._queue:
            ev.pNextEvt = None
            self.allocator.PutMessage(ev)
        self._queue.clear()
        self._arrivals = 0
        self._sysex.clear()

    def _take_incoming(self, position: int) -> None:
        """Move PutMessage's chains into the time-ordered queue, times now in samples."""
        incoming, queue = self._incoming, self._queue
        to_sample = self.sample_clock.RefTimeToSample
        while incoming:
            ev = incoming.popleft()
            while ev is not None:
                nxt = ev.pNextEvt
                ev.pNextEvt = None
                if ev.usFlags & DMUS_KEF_PACKAGE_EVENT:
                    # unwrap, and clear the pointer before the wrapper goes home (DDI rule)
                    sub, ev.pPackageEvt, ev.cbEvent = ev.pPackageEvt, None, 0
                    self.allocator.PutMessage(ev)
                    if sub is not None:
                        incoming.appendleft(sub)
                else:
                    t = ev.ullPresTime100ns
                    sample = position if t == 0 else to_sample(t)  # 0 = as soon as possible
                    heapq.heappush(queue, (sample, self._arrivals, ev))
                    self._arrivals += 1
                ev = nxt

    # -- ISynthSinkDMus ---------------------------------------------------------------------
    def Render(self, buffer: np.ndarray, length: int, position: int) -> None:
        """Mix `length` frames from stream position `position` into `buffer` ((n, 2) float32,
        added to, as the DDK synth does)."""
        started = time.perf_counter()
        with self._lock:
            self._render(buffer, length, position)
        self._count(length, time.perf_counter() - started)

    def _render(self, buffer: np.ndarray, length: int, position: int) -> None:
        self._pick_up_downloads()
        self._take_incoming(position)
        cursor = 0  # frames of this block already rendered
        done: DMUS_KERNEL_EVENT | None = None
        if self._notes_off:  # the pin left RUN: every note is released
            self._notes_off = False
            for record in self.voices.records():
                record.key_down = False
                self.voices.release(record, 0)
        if self.state == KSSTATE.RUN:
            queue, end = self._queue, position + length
            engine_counts = self.engine.counts
            room = self.engine.cmd_i.shape[0] - _COMMAND_HEADROOM
            while queue and queue[0][0] < end:
                sample, _, ev = heapq.heappop(queue)
                at = sample - position
                if at < cursor:
                    self.late += at < 0
                    at = cursor
                first = ev.abData[0] if ev.SHORT_EVT() else ev.pbData[0]
                sysex = first >= 0xF0 or first < 0x80  # SysEx or one of its later pieces
                if sysex:  # it may change the master stage: render up to its sample first
                    cursor = self._render_into(buffer, cursor, at)
                data, targets = self._message(ev)
                for logic in targets:
                    if engine_counts[0] > room:
                        # the engine's command queue is filling: render what is due first
                        # (an overload of one sample's events moves the rest one sample on)
                        cursor = self._render_into(buffer, cursor, max(at, cursor + 1))
                        at = max(at, cursor)
                    try:
                        logic.message(data, at - cursor)
                    except DmusdError:
                        self.errors += 1  # never raise on the audio thread
                ev.pNextEvt = done
                done = ev
                if sysex:
                    self._apply_gain()
        self._render_into(buffer, cursor, length)
        self.latency_clock.rendered(position + length)
        if done is not None:
            self.allocator.PutMessage(done)

    def skip(self, frames: int, position: int) -> None:
        """A silent block its caller did not render (nothing sounds, nothing is queued): keep
        the latency clock and the running stats as Render would have."""
        self.latency_clock.rendered(position + frames)
        self._count(frames, 0.0)

    def _render_into(self, buffer: np.ndarray, cursor: int, until: int) -> int:
        until = min(until, buffer.shape[0])
        if until > cursor:
            buffer[cursor:until] += self.engine.render(until - cursor)
            self.voices.retire(self.engine.finished)
        return max(cursor, until)

    def _message(self, ev: DMUS_KERNEL_EVENT) -> tuple[bytes, list[ControlLogic]]:
        """The complete message an event finishes (SysEx pieces joined per channel group) and
        the channel groups it goes to (none for a piece that is not the last)."""
        group = ev.usChannelGroup
        data = ev.data()
        pending = self._sysex.get(group)
        if ev.usFlags & DMUS_KEF_EVENT_INCOMPLETE:
            if pending is None:
                self._sysex[group] = bytearray(data)
            elif len(pending) + len(data) > MAX_SYSEX:
                del self._sysex[group]
                self.sysex_dropped += 1
            else:
                pending += data
            return data, []
        if pending is not None and data and (data[0] < 0x80 or data[0] == 0xF7):
            del self._sysex[group]
            data = bytes(pending) + data  # the last piece of a SysEx
        elif pending is not None and not (len(data) == 1 and data[0] >= 0xF8):
            del self._sysex[group]  # a SysEx cut short by another message
            self.sysex_dropped += 1
        if group == 0:
            return data, self.groups
        if group <= len(self.groups):
            return data, [self.groups[group - 1]]
        self.stray += 1
        return data, []

    def SyncToMaster(self, t: int, fStart: bool) -> None:
        self.sample_clock.SyncToMaster(t, fStart)

    def SampleToRefTime(self, sample: int) -> int:
        return self.sample_clock.SampleToRefTime(sample)

    def RefTimeToSample(self, ref: int) -> int:
        return self.sample_clock.RefTimeToSample(ref)

    # -- what the property handlers and the render command read ---------------------------------
    @property
    def pending(self) -> int:
        """Events queued and not yet played."""
        return len(self._queue) + sum(chain_length(chain) for chain in list(self._incoming))

    @property
    def active_voices(self) -> int:
        return self.engine.active_count

    @property
    def missed_patches(self) -> int:
        return sum(logic.missed_patches for logic in self.groups)

    def _count(self, frames: int, seconds: float) -> None:
        stats = self._stats
        stats.frames += frames
        stats.voice_frames += self.voices.sounding * frames
        stats.cpu += seconds

    def running_stats(self) -> dict[str, float]:
        """Averages since the last entry into RUN: voices, CPU % (x100 as SYNTH_STATS wants),
        lost notes; the peak level (1/100 dB, the mix before the limiter) since the last call;
        free memory in bytes."""
        stats = self._stats
        seconds = stats.frames / self.config.rate
        voices = stats.voice_frames / stats.frames if stats.frames else 0.0
        cpu = 100.0 * stats.cpu / seconds if seconds else 0.0
        peak = self.engine.peak()
        return {
            "voices": voices,
            "total_cpu": 100.0 * cpu,
            "cpu_per_voice": 100.0 * cpu / voices if voices else 0.0,
            "lost_notes": self.voices.lost_notes - stats.lost_base,
            "peak_volume": VOLUME_FLOOR if peak <= 0.0 else 2000.0 * math.log10(peak),
            "free_memory": free_memory(),
        }
