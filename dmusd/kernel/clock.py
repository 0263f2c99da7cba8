"""The clocks: master clock, sample clock and latency clock, all in 100 ns reference time.

- The master clock is the one time base of the system. Live, it is the audio device's own time:
  each audio callback reports the frames it renders and when, a delay-locked loop (DLL) filters
  the callback jitter out and learns the device's true rate, and GetTime() interpolates between
  callbacks with the monotonic clock. Offline, it is the sample count alone, so the same input
  always gives the same times.
- A sample clock maps one synth stream's sample positions to master time and back
  (SampleToRefTime / RefTimeToSample); SyncToMaster keeps it locked to the master clock.
- The latency clock is the earliest time a new event can still play on time: the reference time
  of the end of the last rendered block plus the output latency.

The DLL is the second-order loop of F. Adriaensen, "Using a DLL to filter time" (2005), the one
JACK uses. The DDK sample synth corrects its sample clock by 1 % of the error per call, which
leaves a steady-state error proportional to the drift; a second-order loop also learns the rate
ratio, so a constant drift leaves none.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

REFTIME_PER_SECOND = 10_000_000  # 100 ns ticks per second
_NS_PER_TICK = 100
_RATIO_BITS = 40  # fixed-point bits of the sample clock's rate ratio (resolution 1e-12)


class IMasterClock(Protocol):
    """What every master clock offers: GetTime from any thread, advance from the audio side."""

    rate: int

    def GetTime(self) -> int: ...

    def advance(self, frames: int, time_ns: int | None = None) -> None: ...


class DelayLockedLoop:
    """Fits the line y = y0 + (x - x0) * slope to exact positions x and noisy times y.

    Each observation corrects the phase by b = sqrt(2)*w of the error and the slope by c = w^2
    of it (w = 2*pi*bandwidth*interval): a critically damped second-order loop. The bandwidth
    starts wide so the loop locks within a second and narrows to `bandwidth` over `settle`
    seconds, after which jitter is averaged over a long window.
    """

    __slots__ = ("x0", "y0", "slope", "x_seconds", "bandwidth", "wide", "settle", "elapsed")

    def __init__(
        self,
        slope: float,
        x_seconds: float,
        bandwidth: float = 0.05,
        wide: float = 0.5,
        settle: float = 8.0,
    ) -> None:
        self.slope = slope
        self.x_seconds = x_seconds  # nominal seconds per unit of x, to turn intervals into time
        self.bandwidth, self.wide, self.settle = bandwidth, max(wide, bandwidth), settle
        self.x0, self.y0 = 0, 0.0
        self.elapsed = 0.0

    def reset(self, x: int, y: float) -> None:
        """Anchor the line at (x, y), keeping the learned slope, and widen the loop again."""
        self.x0, self.y0 = x, float(y)
        self.elapsed = 0.0

    def at(self, x: float) -> float:
        return self.y0 + (x - self.x0) * self.slope

    def observe(self, x: int, y: float) -> float:
        """Take one observation; returns its error against the prediction (y units)."""
        dx = x - self.x0
        predicted = self.y0 + dx * self.slope
        error = y - predicted
        if dx <= 0:  # no time has passed on the x axis: nothing to learn from
            return error
        dt = dx * self.x_seconds
        self.elapsed += dt
        narrowing = max(0.0, 1.0 - self.elapsed / self.settle) if self.settle > 0 else 0.0
        bandwidth = self.bandwidth + (self.wide - self.bandwidth) * narrowing
        w = min(2.0 * math.pi * bandwidth * dt, 0.5)  # above ~1 the loop would ring
        self.y0 = predicted + math.sqrt(2.0) * w * error
        self.slope += w * w * error / dx
        self.x0 = x
        return error


class MasterClock:
    """The live master clock: the output device's time, advanced by its audio callback.

    `advance(frames, time_ns)` is called once per callback, before rendering, with the block's
    frame count and the monotonic time (ns) of the block: on JACK the cycle's start as JACK's own
    loop gives it, elsewhere the time the block will play less a constant (frame_clock: the
    stream's DAC time), or `time.monotonic_ns()` at the callback's entry when the host gives
    none (always the same kind of time for one stream). BlockTime() is then the master time
    of the block's first frame.
    Master time counts the device's frames at the nominal rate, so a device that runs 0.02 % fast
    makes master time run 0.02 % fast: every consumer converts with the same clock and agrees.
    Exactly so at frame positions, on one line from the last re-anchoring on, in integers:
    FrameTime(n) = origin + ceil(n * 10^7 / rate), the first tick inside frame n (what a sample
    clock's SampleToRefTime gives), for whatever is stamped by its device frame (JACK MIDI); and
    BlockTime = origin + floor(n * 10^7 / rate), floored as the stream time the synth passes to
    SyncToMaster is. A sample clock locked to these block times maps each FrameTime(n), and each
    FrameTime(n) plus a whole number of ticks and frames, back to its frame exactly.

    GetTime() never goes backwards. Between callbacks it follows the monotonic clock along a line
    whose slope is re-aimed at each callback so that it meets the DLL's estimate one block later:
    no jumps, and callback jitter is filtered out rather than copied into the time. Before the
    first callback (and across a stall or restart of the stream) it runs from the monotonic clock.
    """

    # An error this large is a stall, an xrun or a restarted stream, not jitter: re-anchor.
    RESYNC_NS = 50_000_000
    # The same for exact times (an audio server's cycle times): a skipped or repeated callback
    # (a period of 256 frames or more) is a break to re-anchor at once, where a loop learning
    # from it would be thrown off for seconds.
    EXACT_RESYNC_NS = 4_000_000
    # Hz: the loop's bandwidth on times from a stream's frame clock (PortAudio's DAC times).
    # They carry microseconds of noise, not a callback's milliseconds, but the stream's buffer
    # settles over its first seconds (PipeWire's ALSA plugin): a narrow loop lags that by
    # several ms, 2 Hz follows it within a quarter of a millisecond.
    FRAME_CLOCK_BANDWIDTH = 2.0

    def __init__(
        self,
        rate: int,
        monotonic_ns: Callable[[], int] = time.monotonic_ns,
        bandwidth: float = 0.05,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"master clock: the sample rate must be positive, not {rate}")
        self.rate = rate
        self.monotonic_ns = monotonic_ns
        self.frames = 0  # frames rendered so far (the device position at the next callback)
        self.resyncs = 0  # times the DLL was re-anchored after a stall or restart
        self._lock = threading.Lock()
        self._dll = DelayLockedLoop(1e9 / rate, 1.0 / rate, bandwidth)
        self._running = False
        # The frame line: (frame position, its master time), replaced as one tuple.
        self._origin = 0  # master time of frame 0 on the current line (see FrameTime)
        # The segment GetTime follows: time = _seg_time + (now - _seg_ns) * _seg_gain.
        self._seg_ns = 0
        self._seg_time = 0.0
        self._seg_gain = 1.0 / _NS_PER_TICK
        self._last = 0
        self._block_time = 0

    def GetTime(self) -> int:
        """Master time in 100 ns units; safe from any thread, never decreasing."""
        with self._lock:
            return self._read(self.monotonic_ns())

    def _read(self, now: int) -> int:
        t = int(self._seg_time + (now - self._seg_ns) * self._seg_gain)
        if t < self._last:
            return self._last
        self._last = t
        return t

    def advance(
        self,
        frames: int,
        time_ns: int | None = None,
        exact: bool = False,
        frame_clock: bool = False,
    ) -> None:
        """Report one audio callback: `frames` about to be rendered, at monotonic `time_ns`
        (exact: the audio server's own cycle time, not a callback's entry time; frame_clock:
        derived from the stream's own frame clock, e.g. when the block plays less a constant)."""
        with self._lock:
            now = self.monotonic_ns() if time_ns is None else time_ns
            current = self._seg_time + (now - self._seg_ns) * self._seg_gain
            dll = self._dll
            limit = self.EXACT_RESYNC_NS if exact else self.RESYNC_NS
            if exact:  # nothing to filter: no need of a wide loop to lock fast
                dll.wide = dll.bandwidth
            elif frame_clock:  # little noise, and a stream whose buffer fills: follow it closely
                dll.wide = dll.bandwidth = self.FRAME_CLOCK_BANDWIDTH
            resync = not self._running or abs(now - dll.at(self.frames)) > limit
            if resync:
                # Anchor the device position here, continuing from the time already given out;
                # learning from an error this large would wreck the rate estimate.
                self.resyncs += self._running
                self._running = True
                dll.reset(self.frames, float(now))
                start = math.ceil(max(current, float(self._last)))
                self._origin = start - self.frames * REFTIME_PER_SECOND // self.rate
                self._set_segment(now, start, 1.0 / _NS_PER_TICK)
            else:
                dll.observe(self.frames, float(now))
                # Aim the next segment at the DLL's estimate of master time one block later.
                span = max(frames, 1) * dll.slope
                target = self._line(dll, now + span)
                gain = (target - current) / span
                nominal = dll.x_seconds * 1e9 / dll.slope / _NS_PER_TICK  # = the learned rate
                gain = min(max(gain, 0.5 * nominal), 2.0 * nominal)
                self._set_segment(now, current, gain)
            self._block_time = self._origin + self.frames * REFTIME_PER_SECOND // self.rate
            self.frames += frames

    def skip(self, frames: int) -> None:
        """Frames the device played without a callback into Python (answered in C while the
        synth slept): the position moves on, nothing is observed."""
        with self._lock:
            self.frames += frames

    def BlockTime(self) -> int:
        """Master time of the first frame of the block the last callback renders: what a sample
        clock locks to (GetTime read inside the callback would add the callback's start delay)."""
        return self._block_time

    def FrameTime(self, frame: int) -> int:
        """Master time of device frame `frame` (frames since the stream began) on the current
        line: its first 100 ns tick, as SampleClock.SampleToRefTime gives it."""
        return self._origin - (-frame * REFTIME_PER_SECOND // self.rate)

    def _line(self, dll: DelayLockedLoop, t_ns: float) -> float:
        """The DLL's master time at monotonic time t_ns (device frames at the nominal rate)."""
        position = dll.x0 + (t_ns - dll.y0) / dll.slope
        return self._origin + position * REFTIME_PER_SECOND / self.rate

    def _set_segment(self, now: int, value: float, gain: float) -> None:
        self._seg_ns, self._seg_time, self._seg_gain = now, value, gain

    @property
    def measured_rate(self) -> float:
        """The device's rate as the DLL has learned it (frames per monotonic second)."""
        return 1e9 / self._dll.slope


class SampleCountClock:
    """A master clock driven only by a sample count, for offline render with a file sink.

    No monotonic time is involved, so the same input always gives the same times.
    """

    def __init__(self, rate: int, start: int = 0) -> None:
        if rate <= 0:
            raise ValueError(f"sample-count clock: the sample rate must be positive, not {rate}")
        self.rate = rate
        self.start = start
        self.frames = 0

    def GetTime(self) -> int:
        return self.start + self.frames * REFTIME_PER_SECOND // self.rate

    def advance(self, frames: int, time_ns: int | None = None) -> None:
        """Count `frames` rendered; `time_ns` is accepted for symmetry and ignored."""
        self.frames += frames


class SampleClock:
    """A synth stream's sample positions <-> master reference time (the DDK's CSampleClock).

    Positions are the stream's own sample counts (64-bit in the DDI; unbounded here). The map is
    `ref = offset + (sample * 10^7 / rate - anchor) * ratio`, computed in exact integer arithmetic
    so that RefTimeToSample(SampleToRefTime(s)) == s for every s: SampleToRefTime gives the first
    100 ns tick inside sample s, RefTimeToSample the sample a tick falls in.

    SyncToMaster(t, fStart) is the DDI call: `t` is the stream's position as 100 ns at the nominal
    rate (position * 10^7 // rate). fStart anchors the stream there to the master's time now; the
    periodic calls feed a DLL that corrects the phase and learns the rate ratio between the
    stream and the master. The learned ratio survives a restart (the device is the same one).
    """

    # An error this large (100 ns) means the stream or the master jumped: re-anchor, keep the ratio.
    RESYNC = 500_000
    # The same against a master's block times, which carry no callback jitter: a period of 256
    # frames or more skipped or repeated is a jump.
    BLOCK_RESYNC = 40_000

    def __init__(self, rate: int, master: IMasterClock, bandwidth: float = 0.05) -> None:
        if rate <= 0:
            raise ValueError(f"sample clock: the sample rate must be positive, not {rate}")
        self.rate = rate
        self.master = master
        self._dll = DelayLockedLoop(1.0, 1e-7, bandwidth)
        self._started = False
        # (anchor in stream ticks, master time at the anchor, ratio in 2**-_RATIO_BITS units),
        # replaced as one tuple so that readers on other threads see a consistent map.
        self._map = (0, 0, 1 << _RATIO_BITS)

    def SampleToRefTime(self, sample: int) -> int:
        anchor, offset, ratio = self._map
        num = (sample * REFTIME_PER_SECOND - anchor * self.rate) * ratio
        return offset - (-num // (self.rate << _RATIO_BITS))  # ceiling division

    def RefTimeToSample(self, ref: int) -> int:
        anchor, offset, ratio = self._map
        num = ((ref - offset) * self.rate << _RATIO_BITS) + anchor * self.rate * ratio
        return num // (REFTIME_PER_SECOND * ratio)

    def SyncToMaster(self, t: int, fStart: bool) -> None:
        # A live master knows the time of the block's first frame; others are read now.
        block_time = getattr(self.master, "BlockTime", None)
        if block_time is not None:
            master_now, limit = block_time(), self.BLOCK_RESYNC
        else:
            master_now, limit = self.master.GetTime(), self.RESYNC
        dll = self._dll
        if fStart or not self._started or abs(master_now - dll.at(t)) > limit:
            self._started = True
            dll.reset(t, float(master_now))
        else:
            dll.observe(t, float(master_now))
        ratio = max(1, round(dll.slope * (1 << _RATIO_BITS)))
        self._map = (dll.x0, round(dll.y0), ratio)

    @property
    def ratio(self) -> float:
        """Master ticks per stream tick, as learned (1.0 = no drift)."""
        return self._map[2] / (1 << _RATIO_BITS)


class LatencyClock:
    """The earliest master time a newly submitted event can still play on time.

    That is the reference time of the end of the last rendered block plus the output latency
    (KSPROPERTY_SYNTH_LATENCYCLOCK). Never earlier than the master clock, never decreasing.
    """

    def __init__(self, sample_clock: SampleClock, output_latency: int = 0) -> None:
        self.sample_clock = sample_clock
        self.output_latency = output_latency  # 100 ns
        self._end: int | None = None
        self._last = 0
        self._lock = threading.Lock()

    def rendered(self, end_sample: int) -> None:
        """Report that a block ending at `end_sample` (exclusive) has been rendered."""
        self._end = end_sample

    def GetTime(self) -> int:
        clock = self.sample_clock
        now = clock.master.GetTime()
        end = self._end
        t = now if end is None else clock.SampleToRefTime(end)
        t = max(t + self.output_latency, now)
        with self._lock:
            if t < self._last:
                return self._last
            self._last = t
            return t
