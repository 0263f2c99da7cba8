"""EventFeed: a song's messages go into the pin in time order, a block's at once, and none is lost
to the pin's pool however many a block holds (the unpacker bounds each chain)."""

from __future__ import annotations

from dmusd.config import PinConfig
from dmusd.kernel.clock import SampleCountClock
from dmusd.pin.song_player import EventFeed
from dmusd.pin.synth_pin import SynthPin

RATE = 48000
SYSEX = bytes([0xF0, 0x41, 0x10, 0x42, 0x12, 0x40, 0x00, 0x7F, 0x00, 0x41, 0xF7])  # GS reset


def _song(notes: int, sysex_every: int) -> EventFeed:
    feed = EventFeed()
    for i in range(notes):
        feed.add(1000, bytes([0x90 | i % 16, 40 + i % 60, 1 + i % 127]))
        if i % sysex_every == 0:
            feed.add(1000, SYSEX)
    feed.add(5_000_000, bytes([0x80, 40, 0]))  # after the horizon: stays waiting
    return feed


class RecordingPin:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[tuple[int, bytes]]]] = []

    def put(self, data: bytes, time: int, group: int) -> None:
        self.calls.append(("put", [(time, data)]))

    def put_many(self, messages, group: int) -> None:
        self.calls.append(("many", list(messages)))


def test_a_block_goes_in_order_and_the_rest_waits():
    """The feed hands a block's messages over in time order, once per block; how they are cut
    into chains is the unpacker's (tests/kernel/test_unpacker.py)."""
    feed = _song(1000, 7)
    pin = RecordingPin()
    feed.feed(pin, 1_000_000)
    sent = [message for _, messages in pin.calls for message in messages]
    assert sent == [(time, data) for time, _, data in feed.events[:-1]]
    assert [kind for kind, _ in pin.calls] == ["many"]
    assert sum(data == SYSEX for _, data in sent) == len(range(0, 1000, 7))
    assert not feed.done and feed.next == len(feed.events) - 1
    feed.feed(pin, 1_000_000)  # nothing more is due: no call
    assert len(pin.calls) == 1
    feed.feed(pin, 10_000_000)
    assert feed.done and pin.calls[-1] == ("many", [(5_000_000, bytes([0x80, 40, 0]))])


def test_a_crowded_block_loses_nothing_to_the_real_pins_pool():
    """5000 notes and 500 SysEx at one time: more events than the pool's 4096 and more SysEx
    than its 64 buffers, yet each chain returns what it took before the next is built."""
    pin = SynthPin(PinConfig("gm", reverb=False, chorus=False), RATE, SampleCountClock(RATE))
    try:
        feed = _song(5000, 5000)  # a run of 5000 short messages
        for _ in range(500):
            feed.add(1000, SYSEX)  # then a run of 500 SysEx
        feed.feed(pin, 1_000_000)
        allocator = pin.midi.allocator
        assert allocator.exhausted == 0 and pin.midi.unpacker.lost == 0
        assert allocator.free == allocator.capacity  # every event went home
        assert feed.next == len(feed.events) - 1
    finally:
        pin.close()
