"""A dense multi-channel song, generated from a fixed seed: 15 melodic channels and drums.

Onsets fall on a 1/480-beat grid at 117 bpm, so most are not multiples of FluidSynth's 64-sample
block: the song shows block quantization where the GM test files (0.5 s steps, a multiple of 64
samples at 48 kHz) hide it. Each channel has its own program, volume, pan and expression; a few
pitch bends and mod-wheel moves ride on top. The same seed gives the same file.
"""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np

TICKS = 480
TEMPO = 512821  # 117 bpm
BARS = 12


def write_song(path: Path, seed: int = 6) -> Path:
    rng = np.random.default_rng(seed)
    mid = mido.MidiFile(ticks_per_beat=TICKS)
    programs = rng.choice(128, size=16, replace=False)
    for ch in range(16):
        events: list[tuple[int, mido.Message]] = []
        if ch != 9:
            events.append(
                (0, mido.Message("program_change", channel=ch, program=int(programs[ch])))
            )
        events.append(
            (
                0,
                mido.Message(
                    "control_change", channel=ch, control=7, value=int(rng.integers(70, 120))
                ),
            )
        )
        events.append(
            (
                0,
                mido.Message(
                    "control_change", channel=ch, control=10, value=int(rng.integers(10, 118))
                ),
            )
        )
        events.append(
            (
                0,
                mido.Message(
                    "control_change", channel=ch, control=11, value=int(rng.integers(90, 128))
                ),
            )
        )
        low = 35 if ch == 9 else int(rng.integers(36, 60))
        t = int(rng.integers(0, TICKS))
        end = BARS * 4 * TICKS
        while t < end:
            length = int(rng.integers(TICKS // 8, 2 * TICKS))
            key = int(rng.integers(35, 60)) if ch == 9 else low + int(rng.integers(0, 24))
            vel = int(rng.integers(40, 128))
            events.append((t, mido.Message("note_on", channel=ch, note=key, velocity=vel)))
            events.append((t + length, mido.Message("note_off", channel=ch, note=key)))
            if ch % 5 == 1 and rng.random() < 0.2:
                bend = int(rng.integers(-4096, 4096))
                events.append((t + length // 2, mido.Message("pitchwheel", channel=ch, pitch=bend)))
                events.append((t + length, mido.Message("pitchwheel", channel=ch, pitch=0)))
            if ch % 4 == 2 and rng.random() < 0.2:
                events.append(
                    (
                        t,
                        mido.Message(
                            "control_change", channel=ch, control=1, value=int(rng.integers(0, 128))
                        ),
                    )
                )
            t += length + int(rng.integers(0, TICKS))
        track = mido.MidiTrack()
        if ch == 0:
            track.append(mido.MetaMessage("set_tempo", tempo=TEMPO, time=0))
        now = 0
        for tick, msg in sorted(events, key=lambda e: (e[0], e[1].type != "note_off")):
            track.append(msg.copy(time=tick - now))
            now = tick
        mid.tracks.append(track)
    mid.save(str(path))
    return path
