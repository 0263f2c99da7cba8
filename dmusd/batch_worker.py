"""One process of a batch render: it opens its Synth once (banks parsed, engine loaded, the
first pin opened with the banks downloaded) and then renders song after song with it, so no
song pays any start-up.

Each song renders in a fork of the worker (a zygote): the child finds the Synth's ready pin in
exactly the state a new pin has, plays the song on it and exits; the worker's own pin is never
played, so the next song forks from the same state. Opening a pin and downloading a GM bank
costs more than rendering a short song; a fork costs a few ms. The child's result comes back
through a pipe; a child that dies (a crash in a song) fails that song alone. The worker must
have no threads for this (a pool worker of concurrent.futures has none; -j 1 is the CLI's own
process), which is why the Dask path does not do it.

The batch (dmusd/batch.py) runs these functions in a process pool, `start_worker` as the pool's
initializer and `render_song` as its task; with -j 1 it calls them in its own process. A song
that fails comes back as its error's one line; the worker goes on with the next. A set-up that
fails (a bad bank) comes back with the first song, marked, so the batch stops with that one
line rather than failing every song the same way.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import sys
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dmusd.errors import DmusdError, Interrupted, OutputError
from dmusd.io.atomic_file import partial_path
from dmusd.midifile import read_midi_file
from dmusd.render_settings import RenderSettings
from dmusd.signal_stop import stop_on_signals

if TYPE_CHECKING:
    from dmusd.synth_api import Synth

_synth: Synth | None = None  # this process's Synth
_setup_error: DmusdError | None = None
_stopped: Interrupted | None = None  # a signal stopped this worker: it renders nothing more
PR_SET_PDEATHSIG = 1  # prctl(2): a signal for the child when its parent dies


@dataclass(slots=True)
class SongResult:
    song: str
    output: str
    seconds: float = 0.0  # of audio written
    error: str | None = None  # the one line that says why the song failed
    exit_code: int = 0
    setup_failed: bool = False  # the worker could not open its synth: nothing can render
    warnings: list[str] = field(default_factory=list)


def open_synth(settings: RenderSettings) -> None:
    """Open this process's Synth (errors raised: a bad bank, an option out of range)."""
    global _synth
    from dmusd.engine_library import engine_entries
    from dmusd.synth_api import Synth

    _synth = Synth.from_settings(settings)
    engine_entries()  # the engine library loaded here once, not again in each song's fork
    for warning in _synth.bank_warnings:
        print(f"dmusd: warning: {warning}", file=sys.stderr)
    # Every song renders in a fork: the objects made so far (the banks' parse among them) leave
    # the collector's view, so a fork's collections neither walk them nor copy their pages.
    gc.collect()
    gc.freeze()


def start_forked_worker() -> None:
    """A pool worker forked from a process that opened its Synth: it leaves Ctrl-C to the
    batch between songs (during one, stop_on_signals turns it into a clean stop)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def start_worker(settings: RenderSettings) -> None:
    """A pool worker started afresh: it opens its own Synth; an error is kept for its first
    song to report."""
    global _setup_error
    start_forked_worker()
    try:
        open_synth(settings)
    except DmusdError as error:
        _setup_error = error


def render_song(song: str, output: str) -> SongResult:
    """Render one song to its output with this process's Synth, in a fork of this process."""
    if _synth is None:
        error = _setup_error or DmusdError("the worker has no synth")
        return SongResult(song, output, error=str(error), exit_code=error.exit_code,
                          setup_failed=True)  # fmt: skip
    global _stopped
    if _stopped is not None:  # the songs the pool had queued for this worker already
        return SongResult(song, output, error=str(_stopped), exit_code=_stopped.exit_code)
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: render, answer, exit without running the worker's clean-ups
        code = 0
        try:
            _die_with_parent()
            os.close(reader)
            with os.fdopen(writer, "wb") as answer:
                pickle.dump(render_with(_synth, song, output), answer)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(writer)
    try:
        with stop_on_signals(f"{output} not written"), os.fdopen(reader, "rb") as answer:
            data = answer.read()
    except Interrupted as stop:  # the batch is stopped: so is the song (its file removed)
        _stopped = stop
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        return SongResult(song, output, error=str(stop), exit_code=stop.exit_code)
    _, status = os.waitpid(pid, 0)
    if data:
        return pickle.loads(data)
    with contextlib.suppress(OSError):  # a child that died cleaned nothing up
        os.unlink(partial_path(output, pid))
    why = (
        f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
        if os.WIFSIGNALED(status)
        else f"exit status {os.waitstatus_to_exitcode(status)}"
    )
    return SongResult(song, output, error=f"{song}: the renderer died ({why})", exit_code=1)


def _die_with_parent() -> None:
    """SIGTERM for this child if its worker dies (even by SIGKILL): no song renders on alone."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the worker's own SIGTERM handling still stops it


def render_with(synth: Synth, song: str, output: str, signals: bool = True) -> SongResult:
    """One song to its output with `synth`, its folder made if need be; any failure comes
    back as the result's one line. `signals`: SIGTERM/SIGINT/SIGHUP stop it cleanly (the main
    thread only)."""
    result = SongResult(song, output)
    try:
        with stop_on_signals(f"{output} not written") if signals else nullcontext():
            midi = read_midi_file(song)
            result.warnings = midi.warnings
            folder = os.path.dirname(output)
            if folder and not os.path.isdir(folder):
                try:
                    os.makedirs(folder, exist_ok=True)
                except OSError as error:
                    raise OutputError(f"cannot make its folder: {error.strerror}",
                                      where=output) from None  # fmt: skip
            result.seconds = synth.render_file(midi, output).seconds
    except DmusdError as error:
        result.error, result.exit_code = str(error), error.exit_code
    except Exception as error:  # a bug: said for this song, the others still render
        result.error, result.exit_code = f"{song}: internal error: {error!r}", 1
    return result
