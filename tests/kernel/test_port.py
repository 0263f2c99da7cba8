"""PortDMus: pins opened through NewStream, their chains, state walks, capture, close()."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dmusd.errors import DmusdError, StateError
from dmusd.kernel.dmbuffer import DMUS_EVENT_STRUCTURED, iter_records
from dmusd.kernel.event import DMUS_KEF_EVENT_INCOMPLETE
from dmusd.kernel.miniport import DMUS_STREAM_TYPE, DONT_HOLD_FOR_SEQUENCING
from dmusd.kernel.mxf import KSSTATE
from dmusd.kernel.port import PortDMus
from dmusd.kernel.sequencer import Sequencer
from dmusd.kernel.unpacker import Unpacker
from tests.kernel.recording_miniport import PIN_CAPTURE, PIN_RENDER, PIN_WAVE, RecordingMiniport
from tests.support import ManualClock

MS = 10_000  # 100 ns ticks per millisecond
NOTE_ON, NOTE_OFF = bytes([0x90, 60, 100]), bytes([0x80, 60, 0])
UP = [
    (KSSTATE.STOP, KSSTATE.ACQUIRE),
    (KSSTATE.ACQUIRE, KSSTATE.PAUSE),
    (KSSTATE.PAUSE, KSSTATE.RUN),
]
DOWN = [(b, a) for a, b in reversed(UP)]


def make_port(prefetch: int = 0, now: int = 1000 * MS):
    miniport = RecordingMiniport(prefetch=prefetch)
    return PortDMus(miniport, ManualClock(now)), miniport


def close_and_check(port: PortDMus, miniport: RecordingMiniport) -> None:
    """close() must bring every event of every pin home, with the pool invariant intact."""
    pools = [call[3] for call in miniport.calls if call[0] == "NewStream"]
    port.close()
    assert port.pins == []
    for pool in pools:
        pool.check()
        assert pool.all_home(), f"{pool.capacity - pool.free} events still out"


def test_the_port_inits_the_miniport_and_opens_streams_with_their_own_allocators():
    port, miniport = make_port(prefetch=2 * MS)
    assert miniport.calls == [("Init", port)]
    a = port.open_pin(PIN_RENDER, events=32)
    b = port.open_pin(PIN_RENDER, events=16)
    calls = miniport.calls[1:]
    assert [c[:3] for c in calls] == [("NewStream", 0, DMUS_STREAM_TYPE.MIDI_RENDER)] * 2
    assert calls[0][3] is a.allocator and calls[1][3] is b.allocator
    assert a.allocator is not b.allocator and (a.allocator.capacity, b.allocator.capacity) == (
        32,
        16,
    )
    assert calls[0][4] is port.master_clock
    assert (a.id, b.id) == (0, 1) and a.stream is miniport.streams[0]
    # render chain: Unpacker -> Sequencer(prefetch) -> the miniport's stream -> allocator
    assert isinstance(a.unpacker, Unpacker) and isinstance(a.sequencer, Sequencer)
    assert a.nodes == (a.unpacker, a.sequencer, a.stream)
    assert a.unpacker.sink is a.sequencer and a.sequencer.sink is a.stream
    assert a.stream.sink is a.allocator and a.sequencer.prefetch == 2 * MS == a.prefetch
    assert a.sequencer.clock is port.master_clock
    close_and_check(port, miniport)


def test_render_events_are_held_until_their_time_minus_the_prefetch():
    port, miniport = make_port(prefetch=2 * MS)
    pin = port.open_pin(PIN_RENDER, events=32)
    pin.SetState(KSSTATE.RUN)
    clock = port.master_clock
    t0 = clock.now
    pin.put_bytes(NOTE_ON, t0 + 10 * MS, group=3)
    pin.put_bytes(NOTE_OFF + bytes([0xC0, 5]), t0 + 20 * MS, group=3)
    assert pin.stream.received == [] and pin.sequencer.held == 3
    clock.now = t0 + 7 * MS
    assert port.service() == 0
    clock.now = t0 + 8 * MS  # 10 ms - 2 ms prefetch
    assert port.service() == 1
    assert pin.stream.received == [(t0 + 10 * MS, 3, 0, NOTE_ON)]
    clock.now = t0 + 30 * MS
    assert pin.service() == 2
    assert [r[3] for r in pin.stream.received] == [NOTE_ON, NOTE_OFF, bytes([0xC0, 5])]
    assert pin.stream.arrivals == [t0 + 8 * MS, t0 + 30 * MS, t0 + 30 * MS]
    close_and_check(port, miniport)


def test_dont_hold_for_sequencing_passes_everything_at_once():
    port, miniport = make_port(prefetch=DONT_HOLD_FOR_SEQUENCING)
    pin = port.open_pin(PIN_RENDER)
    pin.SetState(KSSTATE.RUN)
    far = port.master_clock.now + 3600 * 1000 * MS
    pin.put_bytes(NOTE_ON, far)
    assert pin.stream.received == [(far, 1, 0, NOTE_ON)]
    close_and_check(port, miniport)


def test_a_long_sysex_reaches_the_stream_in_buffer_sized_pieces():
    port, miniport = make_port(prefetch=DONT_HOLD_FOR_SEQUENCING)
    pin = port.open_pin(PIN_RENDER, events=16, buffers=4, buffer_size=16)
    pin.SetState(KSSTATE.RUN)
    sysex = bytes([0xF0, 0x7E, 0x7F, 0x09, 0x01]) + bytes(range(30)) + b"\xf7"
    pin.put_bytes(sysex, 5 * MS)
    pieces = pin.stream.received
    assert b"".join(p[3] for p in pieces) == sysex
    assert [p[2] & DMUS_KEF_EVENT_INCOMPLETE for p in pieces] == [1] * (len(pieces) - 1) + [0]
    assert all(len(p[3]) <= 16 for p in pieces) and len(pieces) == 3
    close_and_check(port, miniport)


def test_pins_are_independent():
    port, miniport = make_port(prefetch=DONT_HOLD_FOR_SEQUENCING)
    a, b = port.open_pin(PIN_RENDER), port.open_pin(PIN_RENDER)
    a.SetState(KSSTATE.RUN)
    b.SetState(KSSTATE.PAUSE)
    a.put_bytes(NOTE_ON, 1)
    b.put_bytes(NOTE_OFF, 2)
    assert a.stream.received == [(1, 1, 0, NOTE_ON)]
    assert b.stream.received == [] and b.sequencer.held == 1  # PAUSE holds, does not play
    assert a.allocator.free == a.allocator.capacity  # pin a's event went home to a's pool
    assert b.allocator.free == b.allocator.capacity - 1
    b.SetState(KSSTATE.RUN)
    assert b.stream.received == [(2, 1, 0, NOTE_OFF)]
    assert (a.state, b.state) == (KSSTATE.RUN, KSSTATE.RUN)
    close_and_check(port, miniport)


def test_state_changes_walk_every_node_one_step_at_a_time_in_chain_order():
    port, miniport = make_port()
    pin = port.open_pin(PIN_RENDER)
    log = []
    for name, node in zip(("unpacker", "sequencer", "stream"), pin.nodes, strict=True):
        original = node.SetState

        def spy(state, name=name, original=original):
            log.append((name, KSSTATE(state)))
            original(state)

        node.SetState = spy
    pin.SetState(KSSTATE.RUN)
    going_up = [
        (name, step) for step in UP for name in ("stream", "sequencer", "unpacker")
    ]  # downstream first, so no node hands events to one that is not ready
    assert log == [(name, new) for name, (_, new) in going_up]
    log.clear()
    pin.SetState(KSSTATE.STOP)
    going_down = [(name, new) for _, new in DOWN for name in ("unpacker", "sequencer", "stream")]
    assert log == going_down
    assert pin.stream.steps == UP + DOWN
    pin.SetState(KSSTATE.PAUSE)
    assert [n.state for n in pin.nodes] == [KSSTATE.PAUSE] * 3 and pin.state == KSSTATE.PAUSE
    close_and_check(port, miniport)


def test_stop_returns_everything_held_and_the_stream_discards_in_stop():
    port, miniport = make_port(prefetch=0)
    pin = port.open_pin(PIN_RENDER, events=32, buffers=4, buffer_size=16)
    pin.SetState(KSSTATE.RUN)
    later = port.master_clock.now + 500 * MS
    pin.put_bytes(NOTE_ON + NOTE_OFF, later)
    pin.put_bytes(bytes([0xF0, 1, 2, 3]), later)  # a SysEx still being received
    assert pin.allocator.free < pin.allocator.capacity
    pin.SetState(KSSTATE.STOP)
    assert pin.allocator.all_home() and pin.stream.received == []
    pin.put_bytes(NOTE_ON, 0)  # in STOP everything goes straight back to the pool
    pin.put_bytes(bytes([0xF0, 0x7E]), 0)  # even the start of a SysEx: nothing is held
    assert pin.allocator.all_home() and pin.stream.received == []
    close_and_check(port, miniport)


def test_close_stops_every_pin_stepwise_and_returns_held_events():
    port, miniport = make_port(prefetch=0)
    pins = [port.open_pin(PIN_RENDER, events=16) for _ in range(3)]
    sink = port.open_pin(PIN_WAVE, events=4)
    for i, pin in enumerate(pins):
        pin.SetState(KSSTATE.RUN if i != 1 else KSSTATE.PAUSE)
        pin.put_bytes(NOTE_ON * 3, port.master_clock.now + (i + 1) * 1000 * MS)
    sink.SetState(KSSTATE.RUN)
    assert all(pin.sequencer.held == 3 for pin in pins)
    close_and_check(port, miniport)
    assert pins[0].stream.steps == UP + DOWN
    assert pins[1].stream.steps == UP[:2] + DOWN[1:]
    assert sink.stream.steps == UP + DOWN
    assert all(p.stream.received == [] for p in pins)
    port.close()  # closing twice is harmless


def test_pin_factories_limit_their_instances_and_unknown_factories_are_refused():
    port, miniport = make_port()
    port.open_pin(PIN_CAPTURE)
    with pytest.raises(DmusdError, match="pin factory 1 \\(MIDI capture\\) allows 1 instance"):
        port.open_pin(PIN_CAPTURE)
    with pytest.raises(DmusdError, match="no pin factory 7: the miniport has 3"):
        port.open_pin(7)
    renders = [port.open_pin(PIN_RENDER, events=4) for _ in range(4)]
    with pytest.raises(DmusdError, match="allows 4"):
        port.open_pin(PIN_RENDER)
    port.close_pin(renders[0])  # closing one frees its place
    port.open_pin(PIN_RENDER, events=4)
    with pytest.raises(DmusdError, match=f"no pin {renders[0].id} is open"):
        port.close_pin(renders[0].id)
    close_and_check(port, miniport)


def test_a_capture_pin_parses_and_packs_what_the_miniport_captures():
    port, miniport = make_port()
    pin = port.open_pin(PIN_CAPTURE, events=32)
    assert pin.nodes == (pin.stream, pin.unpacker, pin.packer)
    assert pin.stream.sink is pin.unpacker and pin.unpacker.sink is pin.packer
    pin.SetState(KSSTATE.RUN)
    t = port.master_clock.now
    sysex = bytes([0xF0, 0x43, 0x10, 0x4C, 0, 0, 0x7E, 0, 0xF7])
    pin.stream.inject(bytes([0x91, 64, 90, 64, 0]), t)  # running status in the raw bytes
    pin.stream.inject(sysex, t + 5 * MS)
    port.Notify()
    pin.packer.flush()
    (buffer,) = pin.packer.completed
    records = [
        (buffer.base_time + r.rt_delta, r.channel_group, r.flags, bytes(r.data))
        for r in iter_records(buffer.data)
    ]
    s = DMUS_EVENT_STRUCTURED
    assert records == [
        (t, 1, s, bytes([0x91, 64, 90])),
        (t, 1, s, bytes([0x91, 64, 0])),
        (t + 5 * MS, 1, s, sysex),
    ]
    with pytest.raises(StateError, match="pin 0 is a MIDI_CAPTURE pin, not render"):
        pin.put_bytes(NOTE_ON, 0)
    pin.SetState(KSSTATE.ACQUIRE)  # outside RUN/PAUSE captured data is thrown away
    pin.stream.inject(NOTE_ON, t)
    port.Notify()
    assert pin.stream.discarded == 1
    close_and_check(port, miniport)


def test_a_wave_sink_pin_is_the_stream_alone():
    port, miniport = make_port()
    pin = port.open_pin(PIN_WAVE, events=4)
    assert pin.nodes == (pin.stream,) and pin.unpacker is None and pin.sequencer is None
    assert pin.stream_type == DMUS_STREAM_TYPE.WAVE_SINK and pin.service() == 0
    pin.SetState(KSSTATE.RUN)
    pin.stream.SyncToMaster(0, True)
    pin.stream.Render(None, 480, 0)
    assert pin.stream.SampleToRefTime(480) == port.master_clock.now + 10 * MS
    assert pin.stream.RefTimeToSample(port.master_clock.now + 10 * MS) == 480
    with pytest.raises(StateError):
        pin.put_bytes(NOTE_ON, 0)
    close_and_check(port, miniport)


# -- random use of two pins ----------------------------------------------------------------------
midi_bytes = st.lists(
    st.one_of(
        st.sampled_from([0x90, 0x80, 0xB0, 0xC0, 0xE0, 0xF0, 0xF7, 0xF8, 0xFE]),
        st.integers(0, 0x7F),
    ),
    max_size=24,
).map(bytes)
operation = st.one_of(
    st.tuples(st.just("bytes"), st.integers(0, 1), midi_bytes, st.integers(0, 50)),
    st.tuples(st.just("state"), st.integers(0, 1), st.sampled_from(list(KSSTATE))),
    st.tuples(st.just("advance"), st.integers(0, 30)),
    st.tuples(st.just("service")),
)


@settings(max_examples=120, deadline=None)
@given(
    prefetch=st.sampled_from([0, 3 * MS, DONT_HOLD_FOR_SEQUENCING]),
    ops=st.lists(operation, max_size=40),
)
def test_random_use_keeps_every_pool_whole_and_nothing_plays_early(prefetch, ops):
    port, miniport = make_port(prefetch=prefetch, now=0)
    clock = port.master_clock
    pins = [port.open_pin(PIN_RENDER, events=48, buffers=3, buffer_size=16) for _ in range(2)]
    for op in ops:
        if op[0] == "bytes":
            pins[op[1]].put_bytes(op[2], op[3] * MS)
        elif op[0] == "state":
            pins[op[1]].SetState(op[2])
        elif op[0] == "advance":
            clock.now += op[1] * MS
            port.service()
        else:
            port.service()
        for pin in pins:
            pin.allocator.check()
            assert all(n.state == pin.state for n in pin.nodes)
    for pin in pins:
        stream = pin.stream
        if prefetch != DONT_HOLD_FOR_SEQUENCING:
            for (when, *_), arrived in zip(stream.received, stream.arrivals, strict=True):
                assert arrived >= when - prefetch, "an event reached the stream early"
    close_and_check(port, miniport)
