"""One process of a batch render: it opens its Synth once (banks parsed, engine loaded) and
then renders song after song with it, so no song pays any start-up.

The batch (dmusd/batch.py) runs these functions in a process pool, `start_worker` as the pool's
initializer and `render_song` as its task; with -j 1 it calls them in its own process. A song
that fails comes back as its error's one line; the worker goes on with the next. A set-up that
fails (a bad bank) comes back with the first song, marked, so the batch stops with that one
line rather than failing every song the same way.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field

from dmusd.errors import DmusdError
from dmusd.midifile import read_midi_file
from dmusd.render_settings import RenderSettings
from dmusd.signal_stop import stop_on_signals

_synth = None  # this process's Synth
_setup_error: DmusdError | None = None


@dataclass(slots=True)
class SongResult:
    song: str
    output: str
    seconds: float = 0.0  # of audio written
    error: str | None = None  # the one line that says why the song failed
    exit_code: int = 0
    setup_failed: bool = False  # the worker could not open its synth: nothing can render
    warnings: list[str] = field(default_factory=list)


def start_worker(settings: RenderSettings, pool: bool = True) -> None:
    """Open this process's Synth. `pool`: a pool's worker, which leaves Ctrl-C to the batch
    between songs (during one, stop_on_signals turns it into a clean stop)."""
    global _synth, _setup_error
    if pool:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    from dmusd.synth_api import Synth

    try:
        _synth = Synth.from_settings(settings)
    except DmusdError as error:
        _setup_error = error


def render_song(song: str, output: str) -> SongResult:
    """Render one song to its output with this process's Synth."""
    result = SongResult(song, output)
    if _synth is None:
        error = _setup_error or DmusdError("the worker has no synth")
        result.error, result.exit_code, result.setup_failed = str(error), error.exit_code, True
        return result
    try:
        with stop_on_signals(f"{output} not written"):
            midi = read_midi_file(song)
            result.warnings = midi.warnings
            result.seconds = _synth.render_file(midi, output).seconds
    except DmusdError as error:
        result.error, result.exit_code = str(error), error.exit_code
    except Exception as error:  # a bug: said for this song, the others still render
        result.error, result.exit_code = f"{song}: internal error: {error!r}", 1
    return result
