"""play_song(): a song's timed MIDI messages played on a SynthPin into an offline sink.

The one render loop of `dmusd render`, the batch renderer and the Python API (dmusd.Synth): the
sink (FileSink or ArraySink, both BlockSinks) pulls the pin block by block and drives its
sample-count clock. Events are fed a little ahead of the block that plays them, as a live client
sends them ahead of time, so the event pool stays small however long the song. After the last
event the release tails and effects are rendered until silence (at most MAX_TAIL seconds); the
sound then ends where the sound ends (in whole 10 ms), never before the song: the same however
the blocks fell. The progress callback, if any, hears the seconds rendered after each block.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from dmusd.io.block_sink import BlockSink
from dmusd.kernel.clock import REFTIME_PER_SECOND
from dmusd.pin.synth_pin import SynthPin

MAX_TAIL = 20.0  # seconds rendered after the song at most, waiting for silence
QUIET = 0.2  # seconds of silence (16-bit zeros) with no voice left that end a render


def feed_ahead(block: int, rate: int) -> int:
    """How far (100 ns) ahead of its block an event goes into the pin."""
    return 2 * block * REFTIME_PER_SECOND // rate


@dataclass(slots=True)
class EventFeed:
    """Timed raw MIDI messages waiting to go into a pin: each goes in once the clock comes
    within `ahead` of its time, so the pin's event pool holds only what is about to play."""

    events: list[tuple[int, int, bytes]] = field(default_factory=list)  # (100 ns, track, bytes)
    next: int = 0  # events[:next] are in the pin

    def add(self, time: int, data: bytes) -> None:
        """One more message, after any already waiting for the same time."""
        self.events.insert(bisect.bisect_right(self.events, time, self.next, key=_time),
                           (time, 0, data))  # fmt: skip

    def feed(self, pin: SynthPin, horizon: int) -> None:
        """Put every message timed before `horizon` (100 ns) into the pin."""
        events, first = self.events, self.next
        end = bisect.bisect_left(events, horizon, first, key=_time)
        if end > first:  # in few chains, bounded by the unpacker (put_messages)
            pin.put_many([(when, data) for when, _, data in events[first:end]], 1)
        self.next = end

    @property
    def done(self) -> bool:
        return self.next == len(self.events)


def _time(event: tuple[int, int, bytes]) -> int:
    return event[0]


@dataclass(slots=True)
class SongFigures:
    """What one render did, for the summary line."""

    frames: int  # the length of the output
    seconds: float
    peak: float
    clipped: int
    limited: int  # frames the master limiter worked on
    lost_notes: int
    missed_patches: int
    events: int
    cut: bool  # the song or its tail went on past the length cap
    song_seconds: float


def play_song(
    pin: SynthPin,
    sink: BlockSink,
    events: Iterable[tuple[int, int, bytes]],
    duration: int,
    *,
    block: int,
    cap: int,
    tail: bool = True,
    progress: Callable[[float], None] | None = None,
) -> SongFigures:
    """Play `events` ((time in 100 ns, track, bytes), in time order) on `pin` into `sink`;
    the caller closes the sink at the figures' `frames`. `duration`: the song's end (100 ns);
    `cap`: the most frames to render; `tail`: go on after the song until silence (else stop
    at its end)."""
    rate = sink.rate
    clock = sink.clock
    stream = pin.stream
    ahead = feed_ahead(block, rate)
    song_end = -(-duration * rate // REFTIME_PER_SECOND)  # frames, rounded up
    limit = min(song_end + (round(MAX_TAIL * rate) if tail else 0), cap)
    ended = False  # by silence after the song, not by the limit
    quiet = round(QUIET * rate)
    feed = EventFeed(list(events))
    while sink.position < limit:
        feed.feed(pin, clock.GetTime() + ahead)
        sink.pull(pin, min(block, limit - sink.position))
        if progress is not None:
            progress(sink.position / rate)
        idle = stream.active_voices == 0 and not stream.pending and feed.done
        if idle and sink.position >= max(song_end, sink.sound_end + quiet):
            ended = True
            break
    chunk = rate // 100
    length = min(max(song_end, -(-sink.sound_end // chunk) * chunk), limit)
    return SongFigures(
        frames=length,
        seconds=length / rate,
        peak=sink.peak,
        clipped=sink.clipped,
        limited=stream.limited,
        lost_notes=stream.lost_notes,
        missed_patches=stream.missed_patches,
        events=len(feed.events),
        cut=not ended and limit == cap,
        song_seconds=duration / REFTIME_PER_SECOND,
    )
