"""The sequencer: holds until presentation time minus prefetch, time order, stable, STOP."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dmusd.kernel.allocator import AllocatorMXF
from dmusd.kernel.event import link_chain
from dmusd.kernel.mxf import KSSTATE, step_state
from dmusd.kernel.sequencer import DONT_HOLD_FOR_SEQUENCING, Sequencer
from tests.support import Collector, ManualClock


def make(pool, prefetch=0, state=KSSTATE.RUN):
    clock = ManualClock()
    seq = Sequencer(pool, clock, prefetch)
    sink = Collector(pool)
    seq.ConnectOutput(sink)
    step_state(seq, state)
    return seq, sink, clock


def events(pool, times, tag_from=0):
    evs = []
    for i, t in enumerate(times):
        ev = pool.GetMessage()
        ev.ullPresTime100ns = t
        ev.cbEvent, ev.abData[:2] = 2, bytes([0xC0, (tag_from + i) & 0x7F])
        evs.append(ev)
    return link_chain(evs)


def tags(sink):
    return [data[1] for _, _, _, data in sink.received]


def test_holds_until_presentation_time_minus_prefetch(allocator):
    pool = allocator()
    seq, sink, clock = make(pool, prefetch=100)
    seq.PutMessage(events(pool, [1000, 500, 2000]))
    assert sink.received == [] and seq.held == 3
    clock.now = 399
    assert seq.service() == 0
    clock.now = 400  # 500 - 100
    assert seq.service() == 1 and tags(sink) == [1]
    assert seq.next_due() == 1000
    assert seq.service(now=5000) == 2
    assert tags(sink) == [1, 0, 2]
    assert pool.all_home()


def test_due_events_in_one_call_leave_sorted_and_as_one_chain(allocator):
    pool = allocator()
    seq, sink, clock = make(pool)
    clock.now = 10_000
    seq.PutMessage(events(pool, [30, 10, 20, 10]))
    assert tags(sink) == [1, 3, 2, 0]  # time order, arrival order for the two 10s
    assert sink.calls == 1


def test_dont_hold_passes_everything_through_in_arrival_order(allocator):
    pool = allocator()
    seq, sink, _ = make(pool, prefetch=DONT_HOLD_FOR_SEQUENCING)
    seq.PutMessage(events(pool, [9_000_000, 5, 7]))
    assert tags(sink) == [0, 1, 2] and seq.held == 0


def test_outside_run_holds_and_stop_returns_everything(allocator):
    pool = allocator()
    seq, sink, clock = make(pool, state=KSSTATE.PAUSE)
    clock.now = 10**9
    seq.PutMessage(events(pool, [1, 2, 3]))
    assert sink.received == [] and seq.held == 3  # due, but paused
    seq.SetState(KSSTATE.RUN)
    assert tags(sink) == [0, 1, 2]  # entering RUN releases what is due
    seq.PutMessage(events(pool, [10**12, 10**12 + 1]))
    step_state(seq, KSSTATE.STOP)
    assert seq.held == 0 and pool.all_home()
    seq.PutMessage(events(pool, [0]))  # in STOP: straight back to the pool
    assert pool.all_home() and len(sink.received) == 3


@settings(max_examples=200, deadline=None)
@given(
    batches=st.lists(
        st.lists(st.integers(0, 1000), min_size=1, max_size=20), min_size=1, max_size=10
    ),
    steps=st.lists(st.integers(0, 300), min_size=1, max_size=10),
    prefetch=st.integers(0, 200),
    stop_at=st.integers(0, 12),
)
def test_output_is_time_ordered_and_nothing_is_lost_or_duplicated(
    batches, steps, prefetch, stop_at
):
    pool = AllocatorMXF(events=256)
    seq, sink, clock = make(pool, prefetch=prefetch)
    sent: list[tuple[int, int]] = []  # (time, unique id), ids in arrival order
    discarded: set[tuple[int, int]] = set()
    calls: list[list[tuple[int, int]]] = []
    for i, batch in enumerate(batches):
        if i == stop_at:  # STOP hands back exactly what was still held
            out = {(t, _ident(d)) for t, _, _, d in sink.received}
            discarded |= set(sent) - out
            step_state(seq, KSSTATE.STOP)
            assert seq.held == 0
            step_state(seq, KSSTATE.RUN)
        chain = events(pool, batch, len(sent))
        for j, ev in enumerate(_walk(chain)):  # ids past 127 spill into the status byte
            ev.abData[0] = 0xC0 | ((len(sent) + j) >> 7)
        sent += [(t, len(sent) + j) for j, t in enumerate(batch)]
        before = len(sink.received)
        seq.PutMessage(chain)
        clock.now += steps[i % len(steps)]
        seq.service()
        new = [(t, _ident(d)) for t, _, _, d in sink.received[before:]]
        calls.append(new)
        assert all(t - prefetch <= clock.now for t, _ in new), "released before due"
    seq.service(now=10**9)
    got = [(t, _ident(d)) for t, _, _, d in sink.received]
    assert len(got) == len(set(got)), "an event came out twice"
    assert sorted(got) == sorted(set(sent) - discarded), "an event was lost"
    for out in calls:  # each release is in time order, arrival order for equal times
        assert out == sorted(out)
    assert seq.held == 0 and pool.all_home()
    pool.check()


def _walk(chain):
    while chain is not None:
        yield chain
        chain = chain.pNextEvt


def _ident(data: bytes) -> int:
    return data[1] | (data[0] & 0x0F) << 7
