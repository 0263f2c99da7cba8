"""A DAW-like JACK client for the daemon tests and bench/live.py.

It plays MIDI into a synth's input port at exact frame offsets and records the synth's audio
output to the frame, so latency is measured in samples, not guessed:

- `play(events)` queues (frame, bytes) pairs in JACK frame time; the process callback writes each
  into the period that holds its frame with write_midi_event(frame - last_frame_time, data).
- `record(start, frames)` arms a recording of frames [start, start + frames) of JACK frame time
  from the two audio inputs; each period is copied to index last_frame_time - start, so a
  recorded sample's frame time is exact even across an xrun (missed periods stay zero).
- an optional MIDI input port keeps what it hears with its frame time (for capture ports).
- `play_recorded(events, frames)` does both from a period boundary a few periods ahead.

Below the class, what the tests and benches read from a recording: onsets, pitch, levels per
window and silent gaps (dropouts).

Latency of a note = (frame of its onset in the recording) - (frame it was written at). The
process callback is Python: it only copies into preallocated arrays and pops due events.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Iterable

import jack
import numpy as np


class JackHarness:
    def __init__(self, name: str = "dmusd-harness", midi_in: bool = False, inputs: int = 2) -> None:
        self.client = jack.Client(name, no_start_server=True)
        self.rate = self.client.samplerate
        self.period = self.client.blocksize
        self.midi_out = self.client.midi_outports.register("midi_out")
        self.audio_in = [self.client.inports.register(f"in_{i}") for i in range(1, inputs + 1)]
        self.midi_in = self.client.midi_inports.register("midi_in") if midi_in else None
        self.heard: list[tuple[int, bytes]] = []  # (frame, message) from midi_in
        self.late = 0  # events whose frame had passed when they were due (written at offset 0)
        self.xruns = 0
        self.cycles = 0  # process callbacks run (a flood test checks the harness kept running)
        self.full = 0  # cycles whose MIDI buffer filled: the rest waited for the next cycle
        # a callable (frame time, frames, MIDI out port) that writes the cycle's MIDI itself,
        # in place of the play() queue (a flood that no queue could keep up with)
        self.source = None
        self.shutdown = threading.Event()
        self._lock = threading.Lock()
        self._events: list[tuple[int, int, bytes]] = []  # heap of (frame, seq, data)
        self._seq = itertools.count()
        self._rec: np.ndarray | None = None
        self._rec_start = 0
        self._rec_end = 0
        self._rec_done = threading.Event()
        self.client.set_process_callback(self._process)
        self.client.set_xrun_callback(self._xrun)
        self.client.set_shutdown_callback(lambda status, reason: self.shutdown.set())

    # -- life cycle -----------------------------------------------------------------------
    def __enter__(self) -> JackHarness:
        self.client.activate()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.shutdown.is_set():  # the server is gone: nothing left to deactivate
            return
        try:
            self.client.deactivate()
            self.client.close()
        except jack.JackError:
            pass

    # -- wiring ---------------------------------------------------------------------------
    def connect_midi(self, port: str) -> None:
        """Connect our MIDI output to a synth's input port (full name)."""
        self.client.connect(self.midi_out, port)

    def disconnect_midi(self) -> None:
        """Disconnect our MIDI output from everything (before playing into another port)."""
        self.midi_out.disconnect()

    def connect_capture(self, port: str) -> None:
        self.client.connect(port, self.midi_in)

    def connect_audio(self, ports: Iterable[str]) -> None:
        """Connect a synth's audio outputs (full names, in order) to in_1, in_2, ..."""
        for src, dst in zip(ports, self.audio_in, strict=False):
            self.client.connect(src, dst)

    def disconnect_all(self) -> None:
        for port in [self.midi_out, *self.audio_in, self.midi_in]:
            if port is not None:
                port.disconnect()

    def audio_ports_of(self, client: str) -> list[str]:
        """The audio output ports of a client, e.g. 'dmusd' -> ['dmusd:out_0', 'dmusd:out_1']."""
        ports = self.client.get_ports(f"^{client}:", is_audio=True, is_output=True)
        return [p.name for p in ports]

    def midi_ports_of(self, pattern: str, output: bool = False) -> list[str]:
        ports = self.client.get_ports(pattern, is_midi=True, is_input=not output, is_output=output)
        return [p.name for p in ports]

    def wait_for_port(self, pattern: str, timeout: float = 20.0, **kinds) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [p.name for p in self.client.get_ports(pattern, **kinds)]
            if found:
                return found
            time.sleep(0.05)
        raise TimeoutError(f"no JACK port matches {pattern!r} after {timeout} s")

    # -- playing and recording ------------------------------------------------------------
    @property
    def frame_time(self) -> int:
        """The JACK frame time now (estimated between periods)."""
        return self.client.frame_time

    def play(self, events: Iterable[tuple[int, bytes]]) -> None:
        """Queue MIDI messages at exact JACK frame times."""
        with self._lock:
            for frame, data in events:
                heapq.heappush(self._events, (int(frame), next(self._seq), bytes(data)))

    @property
    def due(self) -> int:
        """Events play() queued that the process callback has not written yet."""
        with self._lock:
            return len(self._events)

    def record(self, start: int, frames: int) -> None:
        """Arm a recording of JACK frames [start, start + frames)."""
        rec = np.zeros((frames, len(self.audio_in)), np.float32)
        with self._lock:
            self._rec, self._rec_start, self._rec_end = rec, start, start + frames
            self._rec_done.clear()

    def play_recorded(self, events: Iterable[tuple[int, bytes]], frames: int, lead: int = 4) -> int:
        """Arm a recording of `frames` and play (frame offset, bytes) events relative to its
        start, a period boundary `lead` periods ahead (time to queue them); returns the start."""
        start = (self.frame_time // self.period + lead) * self.period
        self.record(start, frames)
        self.play((start + int(offset), data) for offset, data in events)
        return start

    def wait_recorded(self, timeout: float | None = None) -> np.ndarray:
        """Block until the armed recording is complete; returns it ((frames, inputs) float32)."""
        if timeout is None:
            timeout = (self._rec_end - self.frame_time) / self.rate + 5.0
        if not self._rec_done.wait(max(timeout, 0.1)):
            raise TimeoutError("the recording did not complete (is the JACK server running?)")
        return self._rec

    def wait_until(self, frame: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.frame_time < frame:
            if time.monotonic() > deadline or self.shutdown.is_set():
                raise TimeoutError(f"JACK frame time did not reach {frame}")
            time.sleep(0.005)

    # -- the JACK thread ------------------------------------------------------------------
    def _xrun(self, delay: float) -> None:
        self.xruns += 1

    def _process(self, frames: int) -> None:
        self.cycles += 1
        now = self.client.last_frame_time
        end = now + frames
        out = self.midi_out
        out.clear_buffer()
        if self.source is not None:
            self.source(now, frames, out)
        with self._lock:
            events = self._events
            while events and events[0][0] < end:
                frame, _, data = events[0]
                try:
                    out.write_midi_event(max(frame - now, 0), data)
                except jack.JackError:
                    # the port's buffer is full: an exception would end this callback for
                    # good (JACK-Client), so the rest goes out next cycle, late
                    self.full += 1
                    break
                heapq.heappop(events)
                self.late += frame < now
            rec = self._rec
            if rec is not None and now < self._rec_end and end > self._rec_start:
                lo = max(now, self._rec_start)
                hi = min(end, self._rec_end)
                for channel, port in enumerate(self.audio_in):
                    buf = port.get_array()
                    rec[lo - self._rec_start : hi - self._rec_start, channel] = buf[
                        lo - now : hi - now
                    ]
                if hi == self._rec_end:
                    self._rec_done.set()
            elif rec is not None and now >= self._rec_end:
                self._rec_done.set()
        if self.midi_in is not None:
            for offset, data in self.midi_in.incoming_midi_events():
                self.heard.append((now + offset, bytes(data)))


def held_note(
    on: int, off: int, channel: int = 0, key: int = 64, program: int = 16
) -> list[tuple[int, bytes]]:
    """A note held from frame `on` to `off` on an organ (GM program 17 = index 16): its looped
    sustain has no decay, so any dip in its level is a dropout, not the instrument."""
    return [
        (0, bytes([0xC0 | channel, program])),
        (on, bytes([0x90 | channel, key, 100])),
        (off, bytes([0x80 | channel, key, 0])),
    ]


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def window_levels(signal: np.ndarray, lo: int, hi: int, window: int) -> np.ndarray:
    """The rms of each whole window of `window` frames in [lo, hi)."""
    count = (hi - lo) // window
    blocks = signal[lo : lo + count * window].astype(np.float64).reshape(count, window, -1)
    return np.sqrt(np.mean(np.square(blocks), axis=(1, 2)))


def silent_gaps(
    signal: np.ndarray, min_frames: int = 64, floor: float = 1e-7
) -> list[tuple[int, int]]:
    """(start, length) of each run of at least `min_frames` frames whose every channel stays
    below `floor`: sounding music never does that, a missed period (JACK cycle) does."""
    quiet = np.abs(signal.reshape(len(signal), -1)).max(axis=1) < floor
    edges = np.diff(np.concatenate(([0], quiet.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b - a)) for a, b in zip(starts, ends, strict=True) if b - a >= min_frames]


def onsets(signal: np.ndarray, starts: Iterable[int], window: int, threshold: float) -> list[int]:
    """For each expected start index, the first index in [start, start + window) whose absolute
    value exceeds `threshold` (-1 when none does). `signal` is mono."""
    found = []
    mag = np.abs(signal)
    for s in starts:
        seg = mag[max(s, 0) : s + window]
        hit = np.flatnonzero(seg > threshold)
        found.append(int(max(s, 0) + hit[0]) if hit.size else -1)
    return found


def peak_hz(signal: np.ndarray, rate: int, near: float, cents: float = 100.0) -> float:
    """The frequency of the strongest spectral peak within `cents` of `near` (Hann window, 8x
    zero padding, parabolic interpolation on the log magnitude)."""
    x = signal - np.mean(signal)
    n = len(x)
    size = 1 << int(np.ceil(np.log2(n * 8)))
    spectrum = np.abs(np.fft.rfft(x * np.hanning(n), size))
    freqs = np.fft.rfftfreq(size, 1.0 / rate)
    lo, hi = near * 2 ** (-cents / 1200), near * 2 ** (cents / 1200)
    band = np.flatnonzero((freqs >= lo) & (freqs <= hi))
    k = int(band[np.argmax(spectrum[band])])
    a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-30)
    shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
    return float((k + shift) * rate / size)


def cents(f: float, ref: float) -> float:
    return float(1200.0 * np.log2(f / ref))


def latency_events(offsets: list[int], period: int) -> tuple[list[tuple[int, bytes]], list[int]]:
    """One note per slot of eight periods, written at `offsets` into the slot's first period,
    each cut by All Sound Off so the next starts from silence: (events, note frames)."""
    slot = 8 * period  # room for the schedule-ahead, the note and its cut tail
    events = [(0, b"\xc0\x50")]
    notes = [(i + 1) * slot + off for i, off in enumerate(offsets)]
    for t in notes:
        events += [(t, b"\x90\x45\x64"), (t + 1500, b"\xb0\x78\x00")]
    return events, notes


def latency_frames(offsets: list[int], period: int) -> int:
    """Frames to record for latency_events."""
    return (len(offsets) + 2) * 8 * period


def note_latencies(rec: np.ndarray, notes: list[int], period: int) -> np.ndarray:
    """Latency in samples of each note of latency_events in its recording; asserts that each
    sounded and started from silence."""
    found = onsets(rec[:, 0], notes, 8 * period, 1e-4)
    assert -1 not in found, "a note did not sound"
    for n in notes:
        assert np.all(np.abs(rec[n - 64 : n, 0]) <= 1e-4), "a note did not start from silence"
    return np.array(found) - np.array(notes)


PITCH_KEYS = (57, 69, 76)


def pitch_events(rate: int) -> list[tuple[int, bytes]]:
    """A square lead (program 81: a steady, vibrato-free tone) playing PITCH_KEYS for 0.6 s
    each, one every 0.7 s from 0.1 s on."""
    events = [(0, b"\xc0\x50")]
    for i, key in enumerate(PITCH_KEYS):
        on, off = int((0.1 + 0.7 * i) * rate), int((0.7 + 0.7 * i) * rate)
        events += [(on, bytes([0x90, key, 100])), (off, bytes([0x80, key, 0]))]
    return events


def pitch_cents(rec: np.ndarray, rate: int, delay: int = 0, seconds: float = 0.4) -> list[float]:
    """For each key of pitch_events in a recording where the notes come `delay` frames late:
    its error in cents (past the attack); asserts that each sounds."""
    errors = []
    for i, key in enumerate(PITCH_KEYS):
        lo = int((0.1 + 0.7 * i + 0.15) * rate) + delay
        seg = rec[lo : lo + int(seconds * rate), 0]
        assert rms(seg) > 1e-3, f"key {key} is silent"
        want = 440.0 * 2 ** ((key - 69) / 12)
        got = peak_hz(seg, rate, want)
        print(f"key {key}: {got:.3f} Hz, {cents(got, want):+.2f} cents")
        errors.append(cents(got, want))
    return errors
