"""The raw-byte unpacker: unit cases and properties over any byte string in any split."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dmusd.kernel.event import DMUS_KEF_EVENT_INCOMPLETE, INLINE_SIZE, iter_chain, link_chain
from dmusd.kernel.mxf import KSSTATE, step_state
from dmusd.kernel.unpacker import CHAIN_MESSAGES, Unpacker
from tests.support import Collector


def reference_parse(data: bytes) -> tuple[list[bytes], int]:
    """An independent, deliberately plain model of the MIDI 1.0 stream rules.

    Returns (messages in output order, dropped byte count). A truncated SysEx is one message
    without its F7.
    """
    out: list[bytes] = []
    dropped = 0
    running = 0
    msg: list[int] = []
    need = 0
    sysex: list[int] | None = None
    for b in data:
        if b >= 0xF8:
            if b in (0xF9, 0xFD):
                dropped += 1
            else:
                out.append(bytes([b]))
            continue
        if sysex is not None:
            if b < 0x80:
                sysex.append(b)
                continue
            if b == 0xF7:
                out.append(bytes(sysex + [0xF7]))
                sysex = None
                continue
            out.append(bytes(sysex))
            sysex = None
        if b >= 0x80:
            msg, need = [], 0
            if b < 0xF0:
                running = b
                msg, need = [b], (2 if 0xC0 <= b < 0xE0 else 3)
            else:
                running = 0
                if b == 0xF0:
                    sysex = [0xF0]
                elif b in (0xF1, 0xF3):
                    msg, need = [b], 2
                elif b == 0xF2:
                    msg, need = [b], 3
                elif b == 0xF6:
                    out.append(b"\xf6")
                else:
                    dropped += 1
            continue
        if not msg:
            if not running:
                dropped += 1
                continue
            msg, need = [running], (2 if 0xC0 <= running < 0xE0 else 3)
        msg.append(b)
        if len(msg) == need:
            out.append(bytes(msg))
            msg = []
    return out, dropped


def reference_after_stop(data: bytes, buffer_size: int) -> tuple[list[bytes], int]:
    """reference_parse's messages and dropped count for `data` followed by STOP: a SysEx still
    open whose first pieces went on (longer than one buffer) ends there, cut short."""
    out, dropped = reference_parse(data)
    start = data.rfind(0xF0)
    if start >= 0 and all(b >= 0xF8 or b < 0x80 for b in data[start + 1 :]):
        open_sysex = bytes(b for b in data[start:] if b < 0xF8)
        if len(open_sysex) > buffer_size:
            out.append(open_sysex)
    return out, dropped


def run(pool, chunks: list[bytes], times: list[int] | None = None):
    node = Unpacker(pool)
    sink = Collector(pool)
    node.ConnectOutput(sink)
    for i, chunk in enumerate(chunks):
        node.put_bytes(chunk, times[i] if times else i, group=2)
    return node, sink


def test_short_messages_with_running_status(allocator):
    pool = allocator()
    _, sink = run(pool, [bytes.fromhex("90 3c 64 3e 64 40 00 c0 05 06 e0 00 40")])
    assert sink.messages() == [
        bytes.fromhex("90 3c 64"),
        bytes.fromhex("90 3e 64"),
        bytes.fromhex("90 40 00"),
        bytes.fromhex("c0 05"),
        bytes.fromhex("c0 06"),
        bytes.fromhex("e0 00 40"),
    ]
    assert all(group == 2 and flags == 0 for _, group, flags, _ in sink.received)
    assert pool.all_home()


def test_realtime_bytes_inside_a_message_come_out_first_as_their_own_events(allocator):
    pool = allocator()
    _, sink = run(pool, [bytes.fromhex("90 3c f8 64 fe")])
    assert sink.messages() == [b"\xf8", bytes.fromhex("90 3c 64"), b"\xfe"]


def test_a_message_split_across_buffers_keeps_the_time_of_its_last_byte(allocator):
    pool = allocator()
    _, sink = run(pool, [b"\x90", b"\x3c", b"\x64\x3e", b"\x10"], times=[10, 20, 30, 40])
    assert [(t, d) for t, _, _, d in sink.received] == [
        (30, bytes.fromhex("90 3c 64")),
        (40, bytes.fromhex("90 3e 10")),
    ]


def test_stray_data_and_undefined_status_are_dropped_and_counted(allocator):
    pool = allocator()
    node, sink = run(pool, [bytes.fromhex("3c 64 f4 01 f5 f9 fd f7 90 3c 64 f6 10")])
    # 3c 64: no status; f4 01: undefined + stray; f5 f9 fd f7: undefined/stray; f6 cancels
    # running status so the final 10 is stray too.
    assert sink.messages() == [bytes.fromhex("90 3c 64"), b"\xf6"]
    assert node.dropped == 9


def test_long_sysex_is_split_into_incomplete_pieces_with_the_f0_time(allocator):
    pool = allocator(buffer_size=16)
    body = bytes([0xF0]) + bytes(range(1, 40)) + b"\xf7"  # 41 bytes: pieces of 16, 16, 9
    node, sink = run(pool, [body[:5], b"\xf8" + body[5:30], body[30:]], times=[7, 8, 9])
    pieces = [(t, f, d) for t, _, f, d in sink.received if d != b"\xf8"]
    assert [len(d) for _, _, d in pieces] == [16, 16, 9]
    assert [f & DMUS_KEF_EVENT_INCOMPLETE for _, f, _ in pieces] == [1, 1, 0]
    assert {t for t, _, _ in pieces} == {7}
    assert body in sink.messages()
    assert pool.all_home()


def test_sysex_cut_by_a_status_byte_is_flushed_and_counted(allocator):
    pool = allocator()
    node, sink = run(pool, [bytes.fromhex("f0 7e 7f 09 01 90 3c 64")])
    assert sink.messages() == [bytes.fromhex("f0 7e 7f 09 01"), bytes.fromhex("90 3c 64")]
    assert node.sysex_truncated == 1


def test_exhausted_pool_loses_events_and_counts_them(allocator):
    pool = allocator(events=2, buffers=0)
    node = Unpacker(pool)  # no output: events go straight back, so hold them in a chain
    taken = [pool.GetMessage()]
    node.put_bytes(bytes.fromhex("90 3c 64 90 3d 64 f0 01 f7"), 0)
    assert node.lost == 1 + 1  # a note with one event left, then the SysEx with no buffer
    pool.PutMessage(link_chain(taken))


def test_raw_incomplete_events_are_parsed_and_complete_ones_pass(allocator):
    pool = allocator()
    node = Unpacker(pool)
    sink = Collector(pool)
    node.ConnectOutput(sink)
    raw = []
    for part in (b"\x90\x3c", b"\x64\xb0\x07\x40"):
        ev = pool.GetMessage()
        ev.cbEvent, ev.usFlags, ev.usChannelGroup = len(part), DMUS_KEF_EVENT_INCOMPLETE, 3
        ev.abData[: len(part)] = part
        raw.append(ev)
    done = pool.GetMessage()
    done.cbEvent, done.abData[:2] = 2, b"\xc0\x01"
    raw.append(done)
    node.PutMessage(link_chain(raw))
    assert sink.messages() == [bytes.fromhex("90 3c 64"), bytes.fromhex("b0 07 40"), b"\xc0\x01"]
    assert pool.all_home()


def test_stop_returns_a_half_built_sysex(allocator):
    pool = allocator()
    node, _ = run(pool, [bytes.fromhex("f0 01 02 03")])
    assert pool.free_buffers == pool.buffer_capacity - 1
    step_state(node, KSSTATE.RUN)
    step_state(node, KSSTATE.STOP)
    assert pool.all_home()


def test_stop_ends_a_sysex_whose_first_pieces_went_on(allocator):
    """Found by bench/fuzz/unpacker.py (the input below, shape byte c6 dropped): a SysEx longer
    than a buffer, still open at STOP, had sent INCOMPLETE pieces that nothing ever ended."""
    pool = allocator(buffer_size=12)
    stream = bytes.fromhex(
        "00 f0 10 00 00 00 00 00 00 00 c3 41 12 f0 40 0f 1a 02 15 00 42 00 00 00 00 07 ff 00 00"
        " 00 00 00 00 00 00 00 00 00 7f 29 00"
    )
    node, sink = run(pool, [stream[i : i + 6] for i in range(0, len(stream), 6)])
    step_state(node, KSSTATE.RUN)
    step_state(node, KSSTATE.STOP)
    messages = sink.messages()  # asserts that no run of pieces ends INCOMPLETE
    assert messages[-1] == stream[stream.rindex(0xF0) :].replace(b"\xff", b"")  # all of it
    assert node.sysex_truncated == 2  # cut by the status byte c3, then by STOP
    assert pool.all_home()


# -- properties ------------------------------------------------------------------------------

midi_message = st.one_of(
    st.tuples(st.integers(0x80, 0xBF), st.integers(0, 127), st.integers(0, 127)).map(bytes),
    st.tuples(st.integers(0xC0, 0xDF), st.integers(0, 127)).map(bytes),
    st.tuples(st.integers(0xE0, 0xEF), st.integers(0, 127), st.integers(0, 127)).map(bytes),
    st.lists(st.integers(0, 127), max_size=90).map(lambda b: bytes([0xF0, *b, 0xF7])),
    st.integers(0xF8, 0xFF).map(lambda b: bytes([b])),
    st.lists(st.integers(0, 127), min_size=1, max_size=3).map(bytes),  # running status
)


@st.composite
def with_realtime_inside(draw, inner):
    """A stream with real-time bytes dropped in at any position, even inside a SysEx."""
    data = bytearray(draw(inner))
    for _ in range(draw(st.integers(0, 6))):
        pos = draw(st.integers(0, len(data)))
        data[pos:pos] = bytes([draw(st.sampled_from([0xF8, 0xFA, 0xFE, 0xF9]))])
    return bytes(data)


streams = st.one_of(
    st.binary(max_size=300),
    with_realtime_inside(st.lists(midi_message, max_size=20).map(b"".join)),
    st.lists(midi_message, max_size=40).map(b"".join),
    st.lists(st.one_of(midi_message, st.binary(max_size=3)), max_size=40).map(b"".join),
)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@settings(max_examples=300, deadline=None)
@given(data=streams, cuts=st.lists(st.integers(0, 400), max_size=8))
def test_any_bytes_in_any_split_match_the_reference(data, cuts):
    from dmusd.kernel.allocator import AllocatorMXF

    pool = AllocatorMXF(events=512, buffers=32, buffer_size=16)
    node = Unpacker(pool)
    sink = Collector(pool)
    node.ConnectOutput(sink)
    for i, chunk in enumerate(split(data, cuts)):
        node.put_bytes(chunk, i)
    expected, dropped = reference_after_stop(data, 16)
    # A SysEx still open at the end stays with the parser until STOP, which hands its piece
    # back to the pool, or sends it on as the last when its first pieces went on already.
    step_state(node, KSSTATE.RUN)
    step_state(node, KSSTATE.STOP)
    got = sink.messages()
    assert got == expected
    assert node.dropped == dropped and node.lost == 0
    assert all(len(d) <= 16 for _, _, _, d in sink.received)
    assert pool.all_home()
    pool.check()


@settings(max_examples=200, deadline=None)
@given(data=streams, cuts=st.lists(st.integers(0, 400), max_size=8))
def test_messages_put_as_one_chain_give_the_events_of_putting_them_one_by_one(data, cuts):
    """put_messages (a song's block of messages) = put_bytes for each, as one chain."""
    from dmusd.kernel.allocator import AllocatorMXF

    # pieces of at most INLINE_SIZE bytes: put_messages keeps such messages in one chain
    pieces = [
        c[k : k + INLINE_SIZE] for c in split(data, cuts) for k in range(0, len(c), INLINE_SIZE)
    ]
    chunks = [(10 * i, chunk) for i, chunk in enumerate(pieces)]
    sinks = []
    for together in (False, True):
        pool = AllocatorMXF(events=512, buffers=32, buffer_size=16)
        node = Unpacker(pool)
        sink = Collector(pool)
        node.ConnectOutput(sink)
        if together:
            node.put_messages(chunks, group=3)
        else:
            for time, chunk in chunks:
                node.put_bytes(chunk, time, group=3)
        step_state(node, KSSTATE.RUN)
        step_state(node, KSSTATE.STOP)
        assert pool.all_home()
        sinks.append((sink, node))
    (one_by_one, a), (chained, b) = sinks
    assert chained.received == one_by_one.received
    assert (b.dropped, b.lost, b.sysex_truncated) == (a.dropped, a.lost, a.sysex_truncated)
    # one chain for everything the messages completed (STOP may send a cut SysEx after it)
    assert chained.calls <= 2 and (chained.calls > 0) == bool(one_by_one.received)


class ChainCollector(Collector):
    """A Collector that also keeps each chain's payloads apart."""

    def __init__(self, allocator) -> None:
        super().__init__(allocator)
        self.chains: list[list[bytes]] = []

    def PutMessage(self, chain) -> None:
        self.chains.append([ev.data() for ev in iter_chain(chain)])
        super().PutMessage(chain)


def test_put_messages_bounds_each_chain_and_sends_a_sysex_alone(allocator):
    """A chain holds its events out of the pool: at most CHAIN_MESSAGES short messages in one,
    and a SysEx (its pieces hold buffers) in a chain of its own, all in order."""
    sysex = bytes([0xF0, 0x41, 0x10, 0x42, 0x12, 0x40, 0x00, 0x7F, 0x00, 0x41, 0xF7])
    messages = []
    for i in range(1000):
        messages.append((i, bytes([0x90, 40 + i % 60, 1 + i % 127])))
        if i % 7 == 0:
            messages.append((i, sysex))
    pool = allocator(events=512)
    node = Unpacker(pool)
    sink = ChainCollector(pool)
    node.ConnectOutput(sink)
    node.put_messages(messages, group=1)
    assert sink.messages() == [data for _, data in messages]
    alone = [chain for chain in sink.chains if sysex in chain]
    assert len(alone) == len(range(0, 1000, 7)) and all(chain == [sysex] for chain in alone)
    short = [chain for chain in sink.chains if sysex not in chain]
    assert all(0 < len(chain) <= CHAIN_MESSAGES for chain in short)
    assert all(len(data) <= INLINE_SIZE for chain in short for data in chain)
    sink.chains.clear()
    node.put_messages([(0, bytes([0x80, 60, 0]))] * 600, group=1)  # a run of short ones
    assert [len(chain) for chain in sink.chains] == [256, 256, 88]
    assert pool.all_home()
