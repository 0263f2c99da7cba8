"""`dmusd render A.mid B.mid DIR 'x/*.mid' -o OUT [-j N] [--format wav|flac]`: a batch render.

N worker processes (default: the core count) of concurrent.futures' process pool, each
rendering song after song with one synth (dmusd/batch_worker.py). The batch opens that synth
once, here (engine imported, banks parsed, a pin ready: a bad bank is one line before any
worker starts), and the pool's workers are forks of this process ('fork'), so none pays any of
it. That is safe because nothing here runs a Python thread (numba runs none without
parallel=True; OpenBLAS, which numpy starts, has its own fork handlers, as it must under a fork
server too); a caller that does run threads gets fresh workers from a 'forkserver' that has
imported the engine once, each opening its own synth.

One progress bar over the set on a terminal, nothing otherwise; a song that fails is said in
one line as it happens and the others go on; the last line sums up (files, seconds of audio,
real-time factor). Exit code: 0 when every song was written, 1 when any failed. SIGTERM, SIGINT
and SIGHUP stop the batch: the songs in progress are not written, the finished ones stay, and
the exit code is 128 + the signal's number.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from dmusd.batch_inputs import BatchSong, batch_songs
from dmusd.batch_worker import (
    SongResult,
    open_synth,
    render_song,
    start_forked_worker,
    start_worker,
)
from dmusd.errors import ConfigError, DmusdError, OutputError
from dmusd.render_settings import RenderSettings
from dmusd.signal_stop import stop_on_signals

PRELOAD = ["dmusd.synth_api"]  # what the fork server imports once for every worker


def run_batch(args: argparse.Namespace, settings: RenderSettings) -> int:
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError(f"{args.jobs} worker processes: give at least 1", key="-j")
    file_format = args.format or "wav"
    songs = batch_songs(args.songs, args.output, file_format)
    try:
        os.makedirs(args.output, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot make the folder: {error.strerror}", where=args.output) from None
    jobs = min(args.jobs or core_count(), len(songs))
    from dmusd.commands.render import Progress

    progress = Progress(len(songs), label="render", unit="files")
    started = time.monotonic()
    done = failed = 0
    audio = 0.0
    with stop_on_signals(f"the batch into {args.output} is not finished"):
        try:
            for result in render_batch(songs, settings, jobs):
                if result.setup_failed:
                    raise DmusdError(result.error or "the workers could not start")
                done += 1
                for warning in result.warnings:
                    _say(progress, f"dmusd: {result.song}: {warning}")
                if result.error is None:
                    audio += result.seconds
                else:
                    failed += 1
                    _say(progress, f"dmusd: {result.error}")
                last = done == len(songs)  # never throttled: the bar ends at 100 %
                progress.update(done, force=last, note=f"  {failed} failed" if failed else "")
        finally:
            progress.close()
    wall = time.monotonic() - started
    rendered = done - failed
    print(
        f"dmusd: rendered {rendered} of {len(songs)} files into {args.output} with {jobs} "
        f"worker{'s' * (jobs > 1)}: {audio:.1f} s of audio in {wall:.1f} s, "
        f"{audio / max(wall, 1e-9):.1f}x real time" + (f"; {failed} failed" if failed else ""),
        file=sys.stderr,
    )
    return 1 if failed else 0


def core_count() -> int:
    """The cores this process may run on (its affinity, which a container or taskset sets)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def render_batch(
    songs: list[BatchSong], settings: RenderSettings, jobs: int
) -> Iterator[SongResult]:
    """Each song's result as it finishes (in no set order), from `jobs` worker processes."""
    if threading.active_count() == 1:
        open_synth(settings)  # here, once: the workers are forks of this process
        if jobs == 1:  # no pool: this process is the worker
            for item in songs:
                yield render_song(item.song, item.output)
            return
        start = {"initializer": start_forked_worker}
        context = multiprocessing.get_context("fork")
    else:  # a caller with threads of its own: fresh workers, each opening its synth
        start = {"initializer": start_worker, "initargs": (settings,)}
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
    pool = ProcessPoolExecutor(jobs, context, **start)
    finished_all = False
    try:
        pending = {pool.submit(render_song, s.song, s.output): s for s in songs}
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield _result(future, pending.pop(future))
        finished_all = True
    finally:
        if finished_all:
            pool.shutdown()
        else:
            _stop(pool)


def _result(future: Future, item: BatchSong) -> SongResult:
    try:
        return future.result()
    except Exception as error:  # the worker died (killed, crashed): this song is lost
        return SongResult(item.song, item.output, error=f"{item.song}: a worker process died "
                          f"({type(error).__name__})", exit_code=1)  # fmt: skip


def _stop(pool: ProcessPoolExecutor) -> None:
    """The batch is stopped: no more songs; the workers still rendering one are told to stop
    (SIGTERM: each removes its unfinished file) and waited for."""
    processes = list(getattr(pool, "_processes", {}).values())  # the pool names them nowhere else
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(5)


def _say(progress: Callable | object, line: str) -> None:
    """A line on stderr, above the progress bar when there is one."""
    if getattr(progress, "enabled", False):
        sys.stderr.write("\r\033[K")
    print(line, file=sys.stderr)
