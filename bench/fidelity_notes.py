"""The notes of a MIDI file with the exact sample of every note-on and (pedal-aware) note-off.

Per-note windows come from the file itself, not from onset detection: a note's segment runs from
its note-on to the next distinct note-on anywhere in the file, or to its own release, whichever
comes first, so the level, pitch and centroid of a segment belong to what the file plays there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dmusd.midifile import REF_PER_SECOND, read_midi_file

DRUM_CHANNEL = 9
MAX_SEGMENT = 2.0  # seconds: longer segments are cut here (pitch and level need no more)


@dataclass(slots=True)
class Note:
    index: int
    channel: int
    key: int
    velocity: int
    program: int
    on: int  # sample of the note-on
    off: int  # sample where the voice is released (note-off, or the damper's lift)
    seg_end: int  # sample where this note's analysis segment ends
    alone: bool  # no other note sounds during the segment
    alone_at_release: bool  # no other note held at the release, none starts within 1 s after

    @property
    def drum(self) -> bool:
        return self.channel == DRUM_CHANNEL

    @property
    def label(self) -> str:
        kind = f"drum {self.key}" if self.drum else f"prog {self.program} key {self.key}"
        return f"#{self.index} ch{self.channel + 1} {kind} vel {self.velocity}"


def read_notes(path: str | Path, rate: int) -> list[Note]:
    """Every note of the file, in note-on order, with sample-exact times at `rate`."""
    song = read_midi_file(path)
    exact = _exact_seconds(path, len(song.events))
    program = [0] * 16
    damper = [False] * 16
    held: dict[tuple[int, int], list[tuple[int, int, int, int]]] = {}
    sustained: list[list[tuple[int, int, int, int]]] = [[] for _ in range(16)]
    raw: list[tuple[int, int, int, int, int, int]] = []  # on, ch, key, vel, program, off

    def finish(start: tuple[int, int, int, int], ch: int, at: int) -> None:
        on, key, vel, prog = start
        raw.append((on, ch, key, vel, prog, at))

    for (when, _, data), seconds in zip(song.events, exact, strict=False):
        if not data or data[0] >= 0xF0:
            continue
        # The exact sample from the file's ticks and tempo map (dmusd's own times are whole
        # 100 ns units, which can sit just before a sample boundary the file names).
        at = (
            int(np.floor(seconds * rate + 1e-6))
            if seconds is not None
            else when * rate // REF_PER_SECOND
        )
        status, ch = data[0] & 0xF0, data[0] & 0x0F
        if status == 0xC0:
            program[ch] = data[1]
        elif status == 0x90 and data[2] > 0:
            held.setdefault((ch, data[1]), []).append((at, data[1], data[2], program[ch]))
        elif status in (0x80, 0x90):
            starts = held.pop((ch, data[1]), [])
            for start in starts:
                if damper[ch]:
                    sustained[ch].append(start)
                else:
                    finish(start, ch, at)
        elif status == 0xB0 and data[1] == 64:
            down = data[2] >= 64
            if damper[ch] and not down:
                for start in sustained[ch]:
                    finish(start, ch, at)
                sustained[ch].clear()
            damper[ch] = down
        elif status == 0xB0 and data[1] in (120, 123):  # all sound / all notes off
            for (c, _k), starts in list(held.items()):
                if c == ch:
                    for start in starts:
                        finish(start, ch, at)
                    del held[(c, _k)]
    end = song.duration * rate // REF_PER_SECOND
    for (ch, _), starts in held.items():
        for start in starts:
            finish(start, ch, end)
    for ch in range(16):
        for start in sustained[ch]:
            finish(start, ch, end)
    raw.sort()
    return _segments(raw, rate)


def _exact_seconds(path: str | Path, count: int) -> list[float | None]:
    """Each channel message's time in seconds as mido computes it (float, from ticks), in the
    same order as dmusd.midifile gives the events; Nones when the two disagree on the count."""
    import mido

    try:
        mid = mido.MidiFile(str(path))
    except (OSError, ValueError, EOFError):
        return [None] * count
    if mid.type == 2:
        return [None] * count
    times, now = [], 0.0
    for msg in mid:
        now += msg.time
        if not msg.is_meta:
            times.append(now)
    return times if len(times) == count else [None] * count


def _segments(raw: list[tuple[int, int, int, int, int, int]], rate: int) -> list[Note]:
    if not raw:
        return []
    ons = np.array([r[0] for r in raw], dtype=np.int64)
    offs = np.array([r[5] for r in raw], dtype=np.int64)
    distinct = np.unique(ons)
    notes = []
    for i, (on, ch, key, vel, prog, off) in enumerate(raw):
        later = distinct[distinct > on]
        next_on = int(later[0]) if len(later) else on + 10 * rate
        seg_end = max(min(next_on, off, on + int(MAX_SEGMENT * rate)), on + 1)
        others = np.arange(len(raw)) != i
        # another note sounds in the segment if it started at or before its end and is not
        # released before it starts
        overlap = others & (ons < seg_end) & (offs > on)
        held_at_release = others & (ons <= off) & (offs > off)
        starts_after = others & (ons > off) & (ons < off + rate)
        notes.append(
            Note(
                index=i,
                channel=ch,
                key=key,
                velocity=vel,
                program=prog,
                on=on,
                off=off,
                seg_end=seg_end,
                alone=not overlap.any(),
                alone_at_release=not (held_at_release.any() or starts_after.any()),
            )
        )
    return notes
