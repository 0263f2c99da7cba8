"""Deterministic MIDI files for the render benchmark: a dense 16-channel song and a polyphony ramp.

Both are made from a seeded random generator with mido, so every run (and every machine) renders
the same notes. Times are in ticks of 480 per quarter at 120 bpm: 960 ticks a second.
"""

from __future__ import annotations

import random
from pathlib import Path

import mido

TICKS_PER_BEAT = 480
TICKS_PER_SECOND = 960  # at the default tempo of 120 bpm
# One melodic program per channel (GM numbers, 0-based): pianos, organs, strings, brass, leads,
# pads: a spread of short and sustained, looped and one-shot instruments. Channel 10 is drums.
PROGRAMS = [0, 4, 16, 24, 32, 40, 48, 56, 61, 65, 73, 80, 88, 89, 52]
DRUM_KEYS = [35, 36, 38, 40, 42, 44, 46, 49, 51, 45, 47, 50]


def _write(path: Path, events: list[tuple[int, int, mido.Message]]) -> Path:
    """One track from (tick, order, message) triples: sorted, as delta times."""
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    now = 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=TICKS_PER_SECOND))
    song = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    song.tracks.append(track)
    song.save(path)
    return path


def dense_song(path: Path, seconds: float = 70.0, seed: int = 1) -> Path:
    """A dense 16-channel song: every melodic channel starts a note every 1/8 s or so, each held
    1-2.5 s, so about 15 notes sound per channel (200-300 voices with releases), plus a drum
    pattern, pitch bends, modulation and expression sweeps, and reverb/chorus sends."""
    rng = random.Random(seed)
    events: list[tuple[int, int, mido.Message]] = []
    end = round(seconds * TICKS_PER_SECOND)
    order = 0

    def add(tick: int, message: mido.Message) -> None:
        nonlocal order
        events.append((tick, order, message))
        order += 1

    channels = [c for c in range(16) if c != 9]
    for channel, program in zip(channels, PROGRAMS, strict=True):
        add(0, mido.Message("program_change", channel=channel, program=program))
        add(
            0,
            mido.Message("control_change", channel=channel, control=91, value=rng.randint(20, 90)),
        )
        add(
            0, mido.Message("control_change", channel=channel, control=93, value=rng.randint(0, 60))
        )
        add(
            0,
            mido.Message("control_change", channel=channel, control=10, value=rng.randint(0, 127)),
        )
        add(0, mido.Message("control_change", channel=channel, control=7, value=100))
        low = rng.randint(36, 60)
        tick = rng.randint(0, 60)
        while tick < end:
            length = rng.randint(TICKS_PER_SECOND, round(2.5 * TICKS_PER_SECOND))
            key = low + rng.randint(0, 24)
            add(
                tick,
                mido.Message("note_on", channel=channel, note=key, velocity=rng.randint(40, 120)),
            )
            add(min(tick + length, end), mido.Message("note_off", channel=channel, note=key))
            tick += rng.randint(90, 150)
        for tick in range(0, end, 240):  # a slow wave on expression, modulation and the bend
            phase = (tick // 240 + channel) % 16
            value = 64 + round(40 * (phase - 8) / 8)
            add(tick, mido.Message("control_change", channel=channel, control=11, value=value))
            add(tick, mido.Message("control_change", channel=channel, control=1, value=value // 2))
            add(tick, mido.Message("pitchwheel", channel=channel, pitch=(value - 64) * 32))
    for tick in range(0, end, 120):  # 16th notes at 120 bpm
        for key in rng.sample(DRUM_KEYS, 3):
            add(tick, mido.Message("note_on", channel=9, note=key, velocity=rng.randint(50, 127)))
            add(tick + 60, mido.Message("note_off", channel=9, note=key))
    return _write(path, events)


def polyphony_song(path: Path, voices: int, seconds: float = 4.0) -> Path:
    """`voices` notes held together for `seconds`: a looped, sustained organ (GM 16) spread over
    15 channels and every key, so each note is one voice that sounds the whole time."""
    events: list[tuple[int, int, mido.Message]] = []
    channels = [c for c in range(16) if c != 9]
    for channel in channels:
        events.append((0, -1, mido.Message("program_change", channel=channel, program=16)))
    end = round(seconds * TICKS_PER_SECOND)
    for n in range(voices):
        channel, key = channels[n % 15], 24 + (n // 15) % 84
        # notes of one channel and key take turns: one starts a tick after the last one left
        events.append(
            (n // (15 * 84), n, mido.Message("note_on", channel=channel, note=key, velocity=90))
        )
        events.append((end, n, mido.Message("note_off", channel=channel, note=key)))
    return _write(path, events)


def short_song(path: Path, seconds: float = 6.0, seed: int = 1) -> Path:
    """A short song of the kind datasets hold (a clip of a few parts): a piano melody, a bass
    line, a string pad in three-note chords and an eighth-note drum beat, 10-25 voices."""
    rng = random.Random(seed)
    events: list[tuple[int, int, mido.Message]] = []
    end = round(seconds * TICKS_PER_SECOND)
    order = 0

    def note(tick: int, length: int, channel: int, key: int, velocity: int) -> None:
        nonlocal order
        if tick >= end:
            return
        on = mido.Message("note_on", channel=channel, note=key, velocity=velocity)
        events.append((tick, order, on))
        events.append(
            (
                min(tick + length, end),
                order + 1,
                mido.Message("note_off", channel=channel, note=key),
            )
        )
        order += 2

    beat = TICKS_PER_BEAT
    root = rng.randint(45, 52)
    for channel, program in (
        (0, rng.choice((0, 1, 4))),
        (1, rng.choice((32, 33, 38))),
        (2, rng.choice((48, 49, 89))),
    ):
        events.append((0, -1, mido.Message("program_change", channel=channel, program=program)))
    for bar in range(0, end, 4 * beat):
        chord = root + rng.choice((0, 5, 7, 9))
        for key in (chord + 12, chord + 16, chord + 19):
            note(bar, 4 * beat, 2, key, 60)
        for tick in range(bar, bar + 4 * beat, beat):
            note(tick, beat - 20, 1, chord - 12, rng.randint(80, 100))
        tick = bar
        while tick < bar + 4 * beat:
            length = rng.choice((beat // 2, beat, beat))
            note(
                tick, length, 0, chord + 24 + rng.choice((0, 2, 4, 7, 9, 12)), rng.randint(70, 110)
            )
            tick += length
        for tick in range(bar, bar + 4 * beat, beat // 2):
            note(tick, beat // 4, 9, 42, 80)
            if (tick - bar) % (2 * beat) == 0:
                note(tick, beat // 4, 9, 36, 110)
            elif (tick - bar) % beat == 0:
                note(tick, beat // 4, 9, 38, 100)
    return _write(path, events)
