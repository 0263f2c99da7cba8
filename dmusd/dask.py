"""Rendering past one machine: a list of MIDI files rendered on a Dask cluster (`dmusd[dask]`).

    from distributed import Client
    from dmusd.dask import render_files
    client = Client("tcp://scheduler:8786")          # or Client(LocalCluster(...))
    results = render_files(client, ["a.mid", "songs/"], "out/", banks=["gm.sf2"])

Dask is the engine: it places the tasks, balances them and replaces lost workers; nothing here
schedules. Each worker builds its Synth once, through a WorkerPlugin registered with the
settings (a worker that joins later builds its own on joining), and renders every song it is
given with it; songs go out as one task each. The songs and the output folder are paths every
worker must see (a shared file system), named as the batch CLI names them (dmusd/
batch_inputs.py). A song that fails comes back as its result's error; the others go on. Dask
runs a worker's tasks on its threads: a worker renders one song at a time (a lock), so give the
workers one thread each (`nthreads=1`, `dask worker --nthreads 1`) and as many workers as cores.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable
from typing import Any

from distributed import Client, WorkerPlugin, get_worker

from dmusd.batch_inputs import batch_songs
from dmusd.batch_worker import SongResult, render_with
from dmusd.render_settings import RenderSettings


class SynthPlugin(WorkerPlugin):
    """A worker's Synth, opened when the plugin reaches the worker, closed when it leaves."""

    def __init__(self, settings: RenderSettings) -> None:
        self.settings = settings
        digest = hashlib.sha1(repr(settings).encode()).hexdigest()[:12]
        self.name = f"dmusd-synth-{digest}"  # one per settings: several may share a cluster
        self.synth = None
        self.lock = threading.Lock()

    def setup(self, worker: Any) -> None:
        from dmusd.synth_api import Synth

        self.synth = Synth.from_settings(self.settings)  # a bad bank fails the registration

    def teardown(self, worker: Any) -> None:
        if self.synth is not None:
            self.synth.close()

    def __getstate__(self) -> dict:  # what travels to the workers: the settings alone
        return {"settings": self.settings}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["settings"])


def render_files(
    client: Client,
    songs: Iterable[str | os.PathLike[str]],
    outdir: str | os.PathLike[str],
    *,
    format: str = "wav",
    settings: RenderSettings | None = None,
    **options: Any,
) -> list[SongResult]:
    """Render MIDI files (paths, folders or globs, as `dmusd render` takes them) to
    `outdir`/<name>.<format> on the cluster behind `client`. Synth options as dmusd.Synth takes
    them (banks=, rate=, voices=, interpolation=, effects=, volume_db=, ...), or `settings`.
    Returns one SongResult per song, in order: `error` is None when its file was written."""
    if settings is None:
        settings = _settings(**options)
    elif options:
        raise TypeError("give either settings or Synth options, not both")
    settings.check()
    if format not in ("wav", "flac"):
        from dmusd.errors import ConfigError

        raise ConfigError(f"unknown format {format!r}: use wav or flac", key="format")
    items = batch_songs([os.fspath(s) for s in songs], os.fspath(outdir), format)
    plugin = SynthPlugin(settings)
    present = client.run(_has_plugin, plugin.name)
    if not present or not all(present.values()):  # once per settings and cluster
        register = getattr(client, "register_plugin", None) or client.register_worker_plugin
        register(plugin, name=plugin.name)
    futures = client.map(
        _render_on_worker,
        [item.song for item in items],
        [item.output for item in items],
        plugin=plugin.name,
        pure=False,
        key=[f"dmusd-render-{i}-{os.path.basename(item.song)}" for i, item in enumerate(items)],
    )
    results = []
    for item, future in zip(items, futures, strict=True):
        try:
            results.append(future.result())
        except Exception as error:  # the task itself failed (its worker died too often)
            results.append(SongResult(item.song, item.output, error=f"{item.song}: {error!r}",
                                      exit_code=1))  # fmt: skip
    return results


def _settings(banks: Any = None, **options: Any) -> RenderSettings:
    if isinstance(banks, str | os.PathLike):
        banks = [banks]
    return RenderSettings(banks=tuple(os.fspath(b) for b in banks or ()), **options)


def _has_plugin(name: str, dask_worker: Any) -> bool:
    return name in dask_worker.plugins


def _render_on_worker(song: str, output: str, plugin: str) -> SongResult:
    """A task: one song with this worker's Synth (one at a time: the lock)."""
    synth_plugin = get_worker().plugins[plugin]
    with synth_plugin.lock:
        return render_with(synth_plugin.synth, song, output, signals=False)
