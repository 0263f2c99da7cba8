"""Capture path: events -> DirectMusic buffers (packer) -> events (buffer unpacker)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dmusd.errors import EventBufferError
from dmusd.kernel.allocator import AllocatorMXF
from dmusd.kernel.buffer_unpacker import BufferUnpacker
from dmusd.kernel.dmbuffer import DMUS_EVENT_SIZE, HEADER_SIZE, iter_records, pack_record
from dmusd.kernel.mxf import KSSTATE, step_state
from dmusd.kernel.packer import Packer
from dmusd.kernel.unpacker import Unpacker
from tests.support import Collector


def capture(pool, messages, buffer_size):
    """Raw bytes -> capture sink (the unpacker) -> packer; returns the completed buffers."""
    sink = Unpacker(pool)
    packer = Packer(pool, buffer_size)
    sink.ConnectOutput(packer)
    step_state(packer, KSSTATE.RUN)
    for time, group, data in messages:
        sink.put_bytes(data, time, group)
    packer.flush()
    return list(packer.completed)


def play_back(pool, buffers):
    unpacker = BufferUnpacker(pool)
    out = Collector(pool)
    unpacker.ConnectOutput(out)
    for buf in buffers:
        unpacker.put_buffer(buf.data, buf.base_time)
    return out


def test_record_layout_is_dmus_eventheader_padded_to_8():
    out = bytearray()
    pack_record(out, b"\x90\x3c\x64", channel_group=2, rt_delta=-5, flags=1)
    assert len(out) == DMUS_EVENT_SIZE(3) == 24
    assert struct.unpack_from("<IIqI", out) == (3, 2, -5, 1)
    assert out[20:23] == b"\x90\x3c\x64" and out[23] == 0
    assert HEADER_SIZE == 20 and DMUS_EVENT_SIZE(4) == 24 and DMUS_EVENT_SIZE(5) == 32


def test_captured_midi_reaches_a_client_with_its_timestamps(allocator):
    pool = allocator(buffer_size=16)
    sysex = bytes([0xF0, *range(40), 0xF7])
    msgs = [
        (100, 1, b"\x90\x3c\x64"),
        (150, 1, sysex),
        (170, 3, b"\xf8"),
        (900, 1, b"\x80\x3c\x00"),
    ]
    buffers = capture(pool, msgs, buffer_size=64)
    assert len(buffers) >= 2  # a 42-byte SysEx record does not share a 64-byte buffer
    for buf in buffers:
        assert len(buf.data) <= 64
        first = next(iter_records(buf.data))
        assert first.rt_delta == 0 and buf.base_time in (100, 150, 170, 900)
    out = play_back(pool, buffers)
    assert out.messages() == [m[2] for m in msgs]
    assert [(t, g) for t, g, f, _ in out.received if not f & 1] == [(t, g) for t, g, _ in msgs]
    assert pool.all_home()


def test_a_message_larger_than_a_buffer_travels_as_unstructured_records(allocator):
    pool = allocator(buffer_size=32)
    sysex = bytes([0xF0, *range(100), 0xF7])
    buffers = capture(pool, [(5, 1, sysex)], buffer_size=48)
    assert len(buffers) > 1
    assert all(r.flags == 0 for b in buffers for r in iter_records(b.data))
    assert play_back(pool, buffers).messages() == [sysex]


def test_capture_outside_run_and_pause_is_thrown_away(allocator):
    pool = allocator()
    packer = Packer(pool, 64)
    sink = Unpacker(pool)
    sink.ConnectOutput(packer)
    sink.put_bytes(b"\x90\x3c\x64", 0)  # packer in STOP
    step_state(packer, KSSTATE.PAUSE)
    sink.put_bytes(b"\x90\x3d\x64", 1)  # PAUSE still captures
    packer.flush()
    assert [r.data.tobytes() for b in packer.completed for r in iter_records(b.data)] == [
        b"\x90\x3d\x64"
    ]
    assert pool.all_home()


@pytest.mark.parametrize(
    ("buffer", "offset", "words"),
    [
        (b"\x03\x00\x00\x00" + bytes(10), 0, "too few"),
        (struct.pack("<IIqI", 9, 1, 0, 1) + b"\x90\x3c\x64", 0, "past the end"),
        (struct.pack("<IIqI", 0, 1, 0, 1), 0, "cbEvent is 0"),
        (
            struct.pack("<IIqI", 3, 1, 0, 1)
            + b"\x90\x3c\x64\x00"
            + struct.pack("<IIqI", 3, 70000, 0, 1)
            + b"\x90\x3c\x64\x00",
            24,
            "dwChannelGroup",
        ),
    ],
)
def test_malformed_buffers_name_the_offset_and_keep_what_came_before(
    allocator, buffer, offset, words
):
    pool = allocator()
    unpacker = BufferUnpacker(pool)
    out = Collector(pool)
    unpacker.ConnectOutput(out)
    with pytest.raises(EventBufferError, match=words) as info:
        unpacker.put_buffer(buffer, 0)
    assert info.value.offset == offset and f"offset {offset}" in str(info.value)
    assert len(out.received) == (1 if offset else 0)
    assert pool.all_home()


message = st.one_of(
    st.tuples(st.integers(0x80, 0xEF), st.integers(0, 127), st.integers(0, 127)).map(
        lambda m: bytes(m[: 2 if 0xC0 <= m[0] < 0xE0 else 3])
    ),
    st.lists(st.integers(0, 127), max_size=200).map(lambda b: bytes([0xF0, *b, 0xF7])),
    st.sampled_from([b"\xf8", b"\xfa", b"\xfe"]),
)


@settings(max_examples=100, deadline=None)
@given(
    msgs=st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(1, 64), message), min_size=1, max_size=30
    ),
    buffer_size=st.integers(32, 300),
)
def test_pack_then_unpack_round_trips(msgs, buffer_size):
    msgs.sort(key=lambda m: m[0])
    pool = AllocatorMXF(events=512, buffers=16, buffer_size=32)
    buffers = capture(pool, msgs, buffer_size)
    out = play_back(pool, buffers)
    assert out.messages() == [m[2] for m in msgs]
    assert [(t, g) for t, g, f, _ in out.received if not f & 1] == [(t, g) for t, g, _ in msgs]
    assert pool.all_home()
    pool.check()
