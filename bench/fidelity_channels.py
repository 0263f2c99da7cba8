"""The dense song's notes judged one channel at a time.

In the 16-channel mix a note's segment runs only to the next note-on of any channel: a median
of a few ms, where FluidSynth's onsets, quantized to its 64-sample block and late by up to one,
are most of the segment's level (measured: 36 of the mix's 40 level exceptions had segments
under 20 ms). So each channel is also rendered alone, by both synths, and its notes are
judged there: the same notes, programs, controllers, velocities and pans as in the song, with
segments that end at that channel's next note-on. The mix stays in the report as a whole file
(loudness, peak, envelope) and as a per-note count beside this one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import mido
from fidelity_notes import Note, read_notes


def split_channels(song: Path, work: Path) -> list[Path]:
    """One MIDI file per channel that plays notes: every track kept, with the other channels'
    messages taken out (meta events, the tempo map and SysEx stay), so times are the song's."""
    whole = mido.MidiFile(str(song))
    playing = sorted(
        {m.channel for t in whole.tracks for m in t if m.type == "note_on" and m.velocity > 0}
    )
    paths = []
    for channel in playing:
        solo = mido.MidiFile(ticks_per_beat=whole.ticks_per_beat)
        for track in whole.tracks:
            kept, carry = mido.MidiTrack(), 0
            for m in track:
                if hasattr(m, "channel") and m.channel != channel:
                    carry += m.time
                    continue
                kept.append(m.copy(time=m.time + carry))
                carry = 0
            solo.tracks.append(kept)
        path = work / f"{song.stem}-ch{channel + 1:02d}.mid"
        solo.save(str(path))
        paths.append(path)
    return paths


def renumbered(solo_notes: list[Note], song_notes: list[Note]) -> list[Note]:
    """The solo file's notes carrying their index in the whole song (labels and causes)."""
    index = {(n.channel, n.key, n.on): n.index for n in song_notes}
    for n in solo_notes:
        n.index = index[(n.channel, n.key, n.on)]
    return solo_notes


def per_channel_results(
    song: Path,
    song_notes: list[Note],
    work: Path,
    rate: int,
    render: Callable[[Path, str], tuple[Path, Path, dict]],
    judge: Callable[[list[Note], Path, Path, dict], object],
):
    """Every channel rendered alone (`render(midi, tag)`) and judged (`judge(notes, a, b,
    figures)`, a FileResult); returns the FileResults, one per channel."""
    results = []
    for path in split_channels(song, work):
        a, b, figures = render(path, path.stem)
        notes = renumbered(read_notes(path, rate), song_notes)
        results.append(judge(notes, a, b, figures))
    return results
