"""MidiPorts: stamping, routing to (pin, group), SysEx, filtering, capture, backend choice.

The JACK tests open real virtual ports (ALSA's sequencer is absent on CI, so `auto` lands on
JACK) and play into them from the JACK harness at exact frame times.
"""

from __future__ import annotations

import os
import random
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from dmusd.errors import DmusdError
from dmusd.io import midi_ports
from dmusd.io.midi_ports import ArrivalStamper, CaptureOutput, MidiPorts
from dmusd.kernel.clock import MasterClock
from tests.daemon.jack_harness import JackHarness

US = 10  # 100 ns ticks per microsecond


# -- ArrivalStamper ---------------------------------------------------------------------------
def _deltas(arrivals: list[int]) -> list[float]:
    """RtMidi's view: seconds since the previous message, in whole microseconds."""
    out, last = [], None
    for t in arrivals:
        out.append(0.0 if last is None else (t - last) / (US * 1e6))
        last = t
    return out


def test_stamper_removes_the_callback_delay():
    rng = random.Random(5)
    base = 123_456_789_0
    arrivals = [base + i * 12_345 * US for i in range(300)]  # µs-aligned true arrivals
    delays = [rng.choice([30, 40, 2000, 5000]) * US for _ in arrivals]  # GIL waits, µs
    delays[3] = 30 * US  # the least delay shows up early
    stamper = ArrivalStamper()
    reads = [t + delay for t, delay in zip(arrivals, delays, strict=True)]
    stamps = [stamper.stamp(d, r) for d, r in zip(_deltas(arrivals), reads, strict=True)]
    errors = [s - t for s, t in zip(stamps, arrivals, strict=True)]
    # From the least-delayed message on, every stamp is the true arrival + that least delay
    # (+ the drift allowance: 20 ppm of the time since the last prompt read), however late the
    # callback ran: 2 or 5 ms waits leave no trace.
    prompt = 3
    for i in range(3, len(arrivals)):
        if delays[i] == 30 * US:
            prompt = i
        allowance = (arrivals[i] - arrivals[prompt]) * ArrivalStamper.DRIFT
        assert 30 * US <= errors[i] <= 30 * US + allowance + 1, (i, errors[i])
    assert max(errors[3:]) < 40 * US  # 5.4 µs of allowance at worst here
    # Before it, a stamp is never later than its own read.
    assert all(0 <= e <= d for e, d in zip(errors[:3], delays[:3], strict=True))


def test_stamper_follows_drift_both_ways():
    for ppm in (-100.0, 10.0):
        stamper = ArrivalStamper()
        worst = 0
        for i in range(2000):
            api = i * 10_000 * US  # a message every 10 ms on the MIDI API's clock
            master = int(api * (1 + ppm * 1e-6)) + 50 * US  # the master clock drifts
            s = stamper.stamp(_deltas([0, 10_000 * US])[1] if i else 0.0, master)
            if i > 100:
                worst = max(worst, abs(s - master))
        # Falling behind is followed at once; running ahead within DRIFT (20 ppm) is followed
        # with a lag of at most one message's worth of drift.
        assert worst <= 1 * US, (ppm, worst)


def test_stamper_restarts_when_the_time_line_breaks():
    stamper = ArrivalStamper()
    assert stamper.stamp(0.0, 1_000_000) == 1_000_000
    assert stamper.stamp(0.01, 1_100_000) == 1_100_000
    # A lost delta: the read is 0.2 s past where the deltas say; that is no GIL wait.
    assert stamper.stamp(0.01, 3_200_000) == 3_200_000


# -- CaptureOutput ----------------------------------------------------------------------------
def test_capture_re_emits_through_packer_and_buffer_unpacker():
    sent: list[bytes] = []
    capture = CaptureOutput(sent.append)
    sysex = bytes([0xF0, 0x7D]) + bytes(range(0x80)) * 40 + bytes([0xF7])  # 5 kB: many pieces
    messages = [b"\x90\x3c\x64", b"\xc0\x05", sysex, b"\xe0\x00\x40", b"\xf8", b"\x80\x3c\x00"]
    for i, m in enumerate(messages):
        capture.put(m, 1_000 + i, 2)
    assert capture.flush() >= 2  # the SysEx alone is larger than one 4 kB buffer
    assert sent == messages
    assert capture.allocator.capacity == len(capture.allocator._free)  # every event came back
    capture.close()


# -- real ports through JACK ------------------------------------------------------------------
def _ports(feed, groups=2, port_names=(), capture=False, backend="auto", client="dmusd-test"):
    midi = SimpleNamespace(backend=backend, client_name=client)
    pins = [
        SimpleNamespace(name="lead", channel_groups=groups, port_names=port_names, capture=capture),
        SimpleNamespace(name="drums", channel_groups=1, port_names=(), capture=False),
    ]
    return MidiPorts(midi, pins, feed, MasterClock(48000), 100_000)


class Recorder:
    def __init__(self) -> None:
        self.got: list[tuple[str, int, bytes, int]] = []
        self.threads: set[str] = set()
        self.done = threading.Event()
        self.expect = 0

    def __call__(self, pin: str, group: int, data: bytes, time: int) -> None:
        self.threads.add(threading.current_thread().name)
        self.got.append((pin, group, data, time))
        if len(self.got) >= self.expect:
            self.done.set()


@pytest.mark.realtime
def test_ports_route_each_group_and_keep_sysex(jack_server):
    rec = Recorder()
    ports = _ports(rec, groups=2, port_names=("Lead A",))
    ports.start()
    try:
        assert ports.backend in ("alsa", "jack")
        if ports.backend != "jack":
            pytest.fail("this machine has an ALSA sequencer: the JACK harness cannot reach it")
        # Names come from the config (one given, the next defaulted), all on one JACK client.
        assert ports.port_names == ["dmusd-test:Lead A", "dmusd-test:lead 2", "dmusd-test:drums 1"]
        sysex = bytes([0xF0, 0x41, 0x10, 0x42, 0x12]) + bytes(range(100)) + b"\xf7"
        plan = [
            (0, b"\x90\x3c\x64"),
            (1, b"\x91\x40\x50"),
            (2, b"\x99\x24\x7f"),
            (0, sysex),
            (0, b"\xf8"),  # MIDI clock: filtered
            (1, b"\xfe"),  # active sensing: filtered
            (1, b"\xb1\x07\x00"),
        ]
        rec.expect = 5
        harnesses = []
        try:
            for i, name in enumerate(ports.port_names):
                h = JackHarness(f"dmusd-harness-{i}").__enter__()
                harnesses.append(h)
                h.connect_midi(name)
            start = harnesses[0].frame_time + 4 * harnesses[0].period
            for k, (port, data) in enumerate(plan):
                harnesses[port].play([(start + k * 3000, data)])
            assert rec.done.wait(10), rec.got
            time.sleep(0.2)
        finally:
            for h in harnesses:
                h.close()
        got = [(pin, group, data) for pin, group, data, _ in rec.got]
        assert got == [
            ("lead", 1, b"\x90\x3c\x64"),
            ("lead", 2, b"\x91\x40\x50"),
            ("drums", 1, b"\x99\x24\x7f"),
            ("lead", 1, sysex),
            ("lead", 2, b"\xb1\x07\x00"),
        ]
        assert ports.filtered == 2 and ports.received == 5 and ports.errors == 0
        assert rec.threads == {"dmusd-midi-in"}  # never JACK's real-time thread
    finally:
        ports.stop()


@pytest.mark.realtime
def test_stamps_follow_the_frames_not_the_callback(jack_server):
    """Messages written at random frames inside periods get stamps spaced as their frames are.

    Each event keeps its frame offset (JACK time of its frame), so what remains is the error of
    JACK's DLL and of mapping an age onto the master clock. On an idle machine that is under
    50 µs; on a loaded CI machine the dummy driver's wake-ups made it 165 µs and -439 ppm. Stamps
    taken at the callback would spread over a whole period, so the bound is an eighth of one.
    """
    rec = Recorder()
    ports = _ports(rec, groups=1)
    ports.start()
    try:
        with JackHarness() as h:
            h.connect_midi(ports.port_names[0])
            period = h.period
            start = (h.frame_time // period + 8) * period
            rng = random.Random(11)
            frames = [start + i * 2 * period + rng.randrange(period) for i in range(50)]
            rec.expect = len(frames)
            h.play((f, b"\x90\x3c\x64") for f in frames)
            assert rec.done.wait(20)
            assert h.late == 0
        stamps = np.array([t for *_, t in rec.got], dtype=np.float64)
        ideal = (np.array(frames) - frames[0]) * 10_000_000 / h.rate
        # The master clock here is not advanced by audio, so it runs at the monotonic clock's
        # rate; the dummy driver's frames may run some ppm off it: fit out a rate and offset.
        slope, offset = np.polyfit(ideal, stamps - stamps[0], 1)
        residual = (stamps - stamps[0]) - (slope * ideal + offset)
        spread_us = float(residual.max() - residual.min()) / US
        print(
            f"stamps over {len(frames)} messages: rate {(slope - 1) * 1e6:+.1f} ppm, spread "
            f"{spread_us:.1f} us after the fit"
        )
        assert abs(slope - 1) < 2000e-6
        assert spread_us <= period / h.rate * 1e6 / 8
    finally:
        ports.stop()


@pytest.mark.realtime
def test_capture_port_re_emits_what_came_in(jack_server):
    rec = Recorder()
    ports = _ports(rec, groups=1, capture=True)
    ports.start()
    try:
        assert ports.capture_names == ["dmusd-test lead capture:lead capture"]
        sysex = bytes([0xF0, 0x7E, 0x7F, 0x09, 0x01, 0xF7])
        sent = [b"\x90\x3c\x64", sysex, b"\xb0\x40\x7f", b"\x80\x3c\x00"]
        with JackHarness(midi_in=True) as h:
            h.connect_midi(ports.port_names[0])
            h.connect_capture(ports.capture_names[0])
            start = h.frame_time + 4 * h.period
            h.play((start + i * 500, m) for i, m in enumerate(sent))
            deadline = time.monotonic() + 10
            while len(h.heard) < len(sent) and time.monotonic() < deadline:
                time.sleep(0.02)
        assert [m for _, m in h.heard] == sent
    finally:
        ports.stop()


@pytest.mark.realtime
def test_a_taken_client_name_falls_back_to_a_stable_one(jack_server):
    """A name another JACK client already has (JACK2 refuses it exactly): the inputs go to
    "<name> MIDI", a name that stays the same from run to run."""
    with JackHarness("dmusd-test-taken"):
        ports = _ports(Recorder(), groups=1, backend="jack", client="dmusd-test-taken")
        ports.start()
        try:
            assert ports.port_names[0] == "dmusd-test-taken MIDI:lead 1"
        finally:
            ports.stop()


@pytest.mark.realtime
def test_jack_ages_agree_with_the_monotonic_clock(jack_server):
    """JACK's clock (CLOCK_MONOTONIC_RAW in jack2, not CLOCK_MONOTONIC: an offset apart) runs at
    the monotonic clock's rate, so an age measured on it is an age in master time."""
    rec = Recorder()
    ports = _ports(rec, groups=1, backend="jack")
    ports.start()
    try:
        arrival = ports._arrival
        # Each reading is a pair of calls; a busy machine may preempt between them, so the best
        # of five pairs is what is judged.
        drift, error = [], []
        for _ in range(5):
            t0, m0 = arrival.jack.get_time(), time.monotonic_ns()
            time.sleep(0.1)
            t1, m1 = arrival.jack.get_time(), time.monotonic_ns()
            drift.append(abs((t1 - t0) * 1000 - (m1 - m0)))
            # The master clock now minus an age of 0.2 s lands 0.2 s back.
            before = ports.clock.GetTime()
            stamp = arrival.master_time(arrival.jack.get_time() - 200_000)
            error.append(abs((before - stamp) - 2_000_000))
        assert min(drift) < 100_000  # 0.1 ms over 0.1 s
        assert min(error) < 1_000  # < 0.1 ms
    finally:
        ports.stop()


def test_alsa_backend_names_what_failed():
    if os.path.exists("/dev/snd/seq"):
        pytest.fail("this machine has an ALSA sequencer; this test checks the error without one")
    ports = _ports(Recorder(), backend="alsa")
    with pytest.raises(DmusdError, match=r"ALSA sequencer cannot be opened.*midi.backend"):
        ports.start()
    ports.stop()


def test_no_jack_server_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "dmusd-no-such-server")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    ports = _ports(Recorder(), backend="jack")
    with pytest.raises(DmusdError, match=r"cannot open MIDI input port 'lead 1'.*JACK"):
        ports.start()
    ports.stop()
    assert ports.port_names == []


@pytest.mark.realtime
def test_a_flood_behind_a_stalled_input_thread_is_dropped_and_counted(jack_server, monkeypatch):
    monkeypatch.setattr(midi_ports, "MAX_QUEUED", 500)
    release = threading.Event()
    fed: list[bytes] = []

    def stalled(pin: str, group: int, data: bytes, time: int) -> None:
        release.wait(10)  # the input thread is stuck: the JACK thread must not queue forever
        fed.append(data)

    ports = _ports(stalled, groups=1)
    ports.start()
    try:
        with JackHarness("dmusd-harness-flood") as h:
            h.connect_midi(ports.port_names[0])
            start = h.frame_time + 4 * h.period
            h.play((start + k, bytes([0x90, k % 128, 1])) for k in range(2000))
            h.wait_until(start + 2000 + 2 * h.period)
            time.sleep(0.1)
        status = ports.status()
        assert status["queued"] <= 500 and status["overflowed"] >= 2000 - 500 - 1
        release.set()
        deadline = time.monotonic() + 10
        while ports.status()["queued"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(fed) + ports.overflowed == 2000 and ports.received == len(fed)
    finally:
        release.set()
        ports.stop()
