"""The songs of a batch render: what `dmusd render A.mid B.mid DIR 'x/*.mid' -o OUT` means.

Each argument is a MIDI file, a folder (every .mid/.midi/.smf/.kar file under it, sub-folders
too, their layout kept under OUT) or a glob (Python's, `**` included). Each song's output is
OUT/<its name>.<format>, with a folder's own sub-folders in front. Two songs that would write
the same output are refused before anything renders, naming both; so is an argument that
matches nothing.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from dmusd.errors import ConfigError

MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar")


@dataclass(slots=True, frozen=True)
class BatchSong:
    song: str  # the MIDI file
    output: str  # the audio file it becomes


def is_batch(songs: list[str], output: str) -> bool:
    """Several songs, a folder or a glob, or an output that is a folder: a batch."""
    if len(songs) > 1 or output.endswith(os.sep) or os.path.isdir(output):
        return True
    song = songs[0]
    return os.path.isdir(song) or (glob.has_magic(song) and not os.path.exists(song))


def batch_songs(arguments: list[str], folder: str, file_format: str) -> list[BatchSong]:
    """Every song the arguments name, in order, each with its output under `folder`."""
    found: list[tuple[str, Path]] = []  # (song, its output's path relative to folder)
    for argument in arguments:
        if os.path.isdir(argument):
            songs = sorted(
                p for p in Path(argument).rglob("*") if p.suffix.lower() in MIDI_SUFFIXES
            )
            if not songs:
                raise ConfigError("the folder holds no MIDI files (.mid, .midi, .smf, .kar)",
                                  key=argument)  # fmt: skip
            found += [(str(p), p.relative_to(argument)) for p in songs if p.is_file()]
        elif glob.has_magic(argument) and not os.path.exists(argument):
            songs = sorted(glob.glob(argument, recursive=True))
            if not songs:
                raise ConfigError("no file matches this pattern", key=argument)
            found += [(p, Path(Path(p).name)) for p in songs if not os.path.isdir(p)]
        else:
            found.append((argument, Path(Path(argument).name)))  # read (and refused) in its turn
    batch, taken = [], {}
    for song, relative in found:
        output = os.path.join(folder, str(relative.with_suffix(f".{file_format}")))
        if output in taken:
            raise ConfigError(f"{taken[output]} and {song} would both be written to {output}",
                              key="-o")  # fmt: skip
        taken[output] = song
        batch.append(BatchSong(song, output))
    return batch
