"""MidiPorts: stamping, routing to (pin, group), SysEx, filtering, capture, backend choice.

The JACK tests open real ports (backend "jack", named: every machine has it) and play into them
from the JACK harness at exact frame times. The ALSA sequencer tests open real sequencer ports
and play into them from a second sequencer client; they run where /dev/snd/seq exists and are
reported as skipped, with the reason, where it does not (CI's machines have no sound support).
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
from dmusd.io.midi_capture import CaptureOutput
from dmusd.io.midi_ports import MidiPorts
from dmusd.io.native_callbacks import MIDI_WRITTEN
from dmusd.kernel.clock import MasterClock
from tests.daemon.jack_harness import JackHarness

US = 10  # 100 ns ticks per microsecond


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
    ports = _ports(rec, groups=2, port_names=("Lead A",), backend="jack")
    ports.start()
    try:
        assert ports.backend == "jack"
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
    ports = _ports(rec, groups=1, backend="jack")
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
    ports = _ports(rec, groups=1, capture=True, backend="jack")
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
def test_a_taken_client_name_is_refused_by_name(jack_server):
    """A name another JACK client already has (JACK2 refuses it exactly): no renamed client
    whose ports a patchbay would not find, but an error naming the name and the key."""
    with JackHarness("dmusd-test-taken"):
        ports = _ports(Recorder(), groups=1, backend="jack", client="dmusd-test-taken")
        with pytest.raises(DmusdError, match="JACK client name 'dmusd-test-taken' is taken"):
            ports.start()
        assert ports.port_names == []


@pytest.mark.realtime
def test_jack_ages_agree_with_the_monotonic_clock(jack_server):
    """JACK's clock (CLOCK_MONOTONIC_RAW in jack2, not CLOCK_MONOTONIC: an offset apart) runs at
    the monotonic clock's rate, so an age measured on it is an age in master time."""
    rec = Recorder()
    ports = _ports(rec, groups=1, backend="jack")
    ports.start()
    try:
        arrival = ports.inputs.arrival
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


@pytest.mark.skipif(
    os.path.exists("/dev/snd/seq"),
    reason="this machine has an ALSA sequencer: the error for a missing one cannot happen here",
)
def test_alsa_backend_names_what_failed():
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

    ports = _ports(stalled, groups=1, backend="jack")
    ports.start()
    try:
        with JackHarness("dmusd-harness-flood") as h:
            h.connect_midi(ports.port_names[0])
            start = h.frame_time + 4 * h.period
            h.play((start + k, bytes([0x90, k % 128, 1])) for k in range(2000))
            h.wait_until(start + 2000 + 2 * h.period)
            deadline = time.monotonic() + 5
            while h.due and time.monotonic() < deadline:
                time.sleep(0.01)  # a full MIDI buffer left some for later cycles
            sent = f"harness: {h.cycles} cycles {h.late} late, {h.full} full, {h.due} due"
        # the native ring's reader thread may still be moving events on a loaded machine: wait
        # until all 2000 are accounted for (queued or dropped), or 5 s
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            status = ports.status()
            if status["queued"] + status["overflowed"] >= 2000 - 1:
                break
            time.sleep(0.02)
        seen = f"{sent}; ring: {ports.inputs.gate.state[MIDI_WRITTEN]} written; {status}"
        assert status["queued"] <= 500 and status["overflowed"] >= 2000 - 500 - 1, seen
        release.set()
        deadline = time.monotonic() + 10
        while ports.status()["queued"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(fed) + ports.overflowed == 2000 and ports.received == len(fed)
    finally:
        release.set()
        ports.stop()


# -- real ports through the ALSA sequencer (where the machine has one) ------------------------
needs_alsa_seq = pytest.mark.skipif(
    not os.path.exists("/dev/snd/seq"),
    reason="no ALSA sequencer here (/dev/snd/seq: no kernel sound support); these tests run on "
    "a machine that has one",
)


def _alsa_player():
    """A second sequencer client with one output port, as a DAW would play the synth."""
    from alsa_midi import PortCaps, SequencerClient

    client = SequencerClient("dmusd-test-player")
    port = client.create_port("out", caps=PortCaps.READ | PortCaps.SUBS_READ)
    return client, port


def _alsa_send(client, port, data: bytes) -> None:
    from alsa_midi import MidiBytesEvent

    client.event_output(MidiBytesEvent(data), port=port)
    client.drain_output()


@needs_alsa_seq
def test_alsa_one_client_with_a_synth_port_per_group():
    from alsa_midi import PortType, SequencerClient

    ports = _ports(Recorder(), groups=3, port_names=("Lead A",), backend="alsa", client="dmx")
    ports.start()
    try:
        assert ports.backend == "alsa"
        assert ports.port_names == ["dmx:Lead A", "dmx:lead 2", "dmx:lead 3", "dmx:drums 1"]
        viewer = SequencerClient("dmusd-test-viewer")
        try:
            mine = [
                p for p in viewer.list_ports(output=False, input=True) if p.client_name == "dmx"
            ]
        finally:
            viewer.close()
        assert [p.name for p in mine] == ["Lead A", "lead 2", "lead 3", "drums 1"]
        assert len({p.client_id for p in mine}) == 1  # one client for every port
        assert all(p.type & PortType.SYNTHESIZER and p.type & PortType.MIDI_GENERIC for p in mine)
    finally:
        ports.stop()


@needs_alsa_seq
def test_alsa_routes_each_group_with_kernel_stamps():
    rec = Recorder()
    ports = _ports(rec, groups=2, backend="alsa", client="dmx-route")
    ports.start()
    player, out = _alsa_player()
    try:
        for name in ports.port_names:
            client, port = name.split(":")
            target = next(p for p in player.list_ports(input=True, output=False)
                          if p.client_name == client and p.name == port)  # fmt: skip
            player.subscribe_port(out, target)
        plan = [b"\x90\x3c\x64", b"\xf8", b"\x80\x3c\x00"]
        rec.expect = 2
        sent_at = []
        for data in plan:
            sent_at.append(ports.clock.GetTime())
            _alsa_send(player, out, data)
            time.sleep(0.05)
        assert rec.done.wait(5), rec.got
        assert [(pin, data) for pin, _, data, _ in rec.got] == [
            ("lead", b"\x90\x3c\x64"),
            ("lead", b"\x80\x3c\x00"),
        ]
        assert ports.filtered == 1
        # the stamps are the kernel's arrival + the schedule-ahead, 100 ms apart as sent
        gap = rec.got[1][3] - rec.got[0][3]
        assert abs(gap - (sent_at[2] - sent_at[0])) < 20_000  # 2 ms
    finally:
        player.close()
        ports.stop()
