"""DMUS_KERNEL_EVENT fields and flags, the allocator's pool and its invariant."""

from __future__ import annotations

import pytest

from dmusd.kernel import event as E
from dmusd.kernel.event import DMUS_KERNEL_EVENT, chain_length, iter_chain, link_chain


def test_flag_values_are_the_ddi_ones():
    assert E.DMUS_KEF_EVENT_COMPLETE == 0
    assert E.DMUS_KEF_EVENT_INCOMPLETE == 1
    assert E.DMUS_KEF_PACKAGE_EVENT == 2


def test_event_has_every_ddi_field(allocator):
    ev = allocator().GetMessage()
    for field in (
        "bReserved",
        "cbStruct",
        "cbEvent",
        "usChannelGroup",
        "usFlags",
        "ullPresTime100ns",
        "ullBytePosition",
        "pNextEvt",
        "abData",
        "pbData",
        "pPackageEvt",
    ):
        assert hasattr(ev, field), field
    assert ev.cbStruct == E.CB_STRUCT and len(ev.abData) == E.INLINE_SIZE
    ev._owner.PutMessage(ev)


def test_short_package_incomplete_complete_macros(allocator):
    pool = allocator()
    short = pool.GetMessage()
    short.cbEvent, short.abData[:3] = 3, b"\x90\x3c\x64"
    assert short.SHORT_EVT() and short.COMPLETE_EVT() and not short.INCOMPLETE_EVT()
    assert short.data() == b"\x90\x3c\x64"

    long = pool.GetMessage()
    long.pbData = pool.GetBuffer()
    long.pbData[:10] = bytes(range(0xF0, 0xFA))
    long.cbEvent = 10
    long.usFlags = E.DMUS_KEF_EVENT_INCOMPLETE
    assert not long.SHORT_EVT() and long.INCOMPLETE_EVT() and not long.COMPLETE_EVT()
    assert long.data() == bytes(range(0xF0, 0xFA))

    package = pool.GetMessage()
    package.usFlags = E.DMUS_KEF_PACKAGE_EVENT
    package.pPackageEvt = link_chain([short, long])
    assert package.PACKAGE_EVT() and package.data() == b""
    assert chain_length(package.pPackageEvt) == 2

    # The allocator takes the package back with its whole sub-chain and the data buffer.
    pool.PutMessage(package)
    assert pool.all_home()


def test_get_message_gives_zeroed_events_even_after_reuse(allocator):
    pool = allocator(events=1)
    ev = pool.GetMessage()
    ev.cbEvent, ev.usChannelGroup, ev.usFlags = 3, 7, 1
    ev.ullPresTime100ns, ev.ullBytePosition = 123, E.BYTE_POSITION_NONE
    ev.abData[:] = b"\xff" * 8
    pool.PutMessage(ev)
    again = pool.GetMessage()
    assert again is ev
    assert (again.cbEvent, again.usChannelGroup, again.usFlags) == (0, 0, 0)
    assert (again.ullPresTime100ns, again.ullBytePosition, again.bReserved) == (0, 0, 0)
    assert again.abData == bytearray(8) and again.pbData is None and again.pNextEvt is None
    pool.PutMessage(again)


def test_exhaustion_is_reported_not_raised_and_the_pool_never_grows(allocator):
    pool = allocator(events=4, buffers=2)
    taken = [pool.GetMessage() for _ in range(4)]
    assert all(taken)
    assert pool.GetMessage() is None and pool.exhausted == 1
    assert pool.free == 0 and pool.in_use == 4
    assert pool.GetBuffer() and pool.GetBuffer() and pool.GetBuffer() is None
    assert pool.exhausted == 2
    pool.PutMessage(link_chain(taken))
    assert pool.free == 4 and pool.in_use == 0


def test_buffers_come_back_with_their_events(allocator):
    pool = allocator(events=8, buffers=2, buffer_size=32)
    assert pool.GetBufferSize() == 32
    evs = []
    for _ in range(2):
        ev = pool.GetMessage()
        ev.pbData = pool.GetBuffer()
        ev.cbEvent = 20
        evs.append(ev)
    assert pool.free_buffers == 0
    pool.PutMessage(link_chain(evs))
    assert pool.all_home()


def test_double_put_and_foreign_events_are_rejected_and_counted(allocator):
    pool = allocator(events=2)
    ev = pool.GetMessage()
    pool.PutMessage(ev)
    pool.PutMessage(ev)  # twice
    pool.PutMessage(DMUS_KERNEL_EVENT())  # not from this pool
    assert pool.rejected == 2 and pool.free == 2
    with pytest.raises(AssertionError, match="put back wrongly"):
        pool.check()
    pool.rejected = 0  # so the fixture's own check passes


def test_invariant_catches_a_corrupted_free_list(allocator):
    pool = allocator(events=3)
    ev = pool.GetMessage()
    pool._free.append(ev)  # what a buggy PutMessage would do: no pooled mark
    with pytest.raises(AssertionError):
        pool.check()
    pool._free.pop()
    pool.PutMessage(ev)


def test_iter_chain_allows_unlinking_while_walking(allocator):
    pool = allocator(events=5)
    head = link_chain([pool.GetMessage() for _ in range(5)])
    seen = 0
    for ev in iter_chain(head):
        ev.pNextEvt = None
        pool.PutMessage(ev)
        seen += 1
    assert seen == 5 and pool.all_home()
    assert link_chain([]) is None
