"""The per-pin download manager: KSPROPERTY_SYNTH_DLS_DOWNLOAD / UNLOAD (ddi-digest 4.2).

DOWNLOAD parses a buffer (off the audio thread) and returns a handle; UNLOAD takes the handle
back. The rules DirectMusic states, and how they hold here:

- A wave stays while an instrument uses it: unloading a wave that instruments still reference
  only marks it; it goes when the last of those instruments is unloaded.
- Sample data is freed only when no voice uses it: `collect()` frees a retired wave only when
  the engine has moved past every table that could still reach it (so no new voice can start
  on it) *and* no engine voice still reads its span of the pool (`plays`; or, for waves outside
  a pool, while `Wave.voices` counts a user).
- Instruments flagged as GM-set yield to user instruments with the same patch; among equals the
  newest download wins, and unloading it brings the previous one back.
- One copy of the samples: once a stream attaches its engine (`attach`), a downloaded wave's
  data goes into the engine's sample pool and `Wave.samples` becomes a view of it; the decoded
  copy is dropped. The manager keeps each wave's pool offset, so a pool that grew (a new array)
  or a new engine (a re-opened synth) gets fresh views, and a freed wave's span goes back to the
  pool for later downloads. With a stream's engine a late collector (`late_collector.py`)
  frees what an unload retired once the engine lets go of it, and the pool gives the pages
  back to the system.
- A budget: the pin's waves together may hold `budget` bytes of samples; a wave download beyond
  it is refused (SampleMemoryError, STATUS_INSUFFICIENT_RESOURCES) before it enters the pool,
  and `free_memory` (SYNTH_STATS.FreeMemory) is what is left of it.
- Publishing is the simple thread-safe way: each change builds a new immutable `InstrumentTable`
  and replaces `self.table` in one attribute assignment, then tells `on_publish` (the stream,
  which prepares the compiled call's tables from it on this same control thread). The engine
  reports the generation it uses with `engine_uses(table.generation)` at each block.

Download and unload are serialised by a lock that only control threads take; the audio thread
never waits on it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

import numpy as np

from dmusd.banks.download import (
    InstrumentDownload,
    WaveDownload,
    build_bank_downloads,
    parse_download,
)
from dmusd.banks.late_collector import LateCollector
from dmusd.banks.memory_budget import default_budget
from dmusd.banks.model import F_INSTRUMENT_DRUMS, Instrument, Wave
from dmusd.errors import PropertyError, SampleMemoryError

_EMPTY = np.zeros(0, dtype=np.float32)

log = logging.getLogger(__name__)


def _no_voice_plays(offset: int) -> bool:
    return False


@dataclass(slots=True, frozen=True)
class InstrumentTable:
    """What the engine sees: patch -> the instrument that answers it, at one generation."""

    generation: int
    instruments: Mapping[int, Instrument]

    def find(self, patch: int) -> Instrument | None:
        """The instrument for a patch, with the GM fallbacks (see model.Bank.find)."""
        found = self.instruments.get(patch)
        if found is not None:
            return found
        if patch & F_INSTRUMENT_DRUMS:
            return self.instruments.get(F_INSTRUMENT_DRUMS | patch & 0x7F) or self.instruments.get(
                F_INSTRUMENT_DRUMS
            )
        return self.instruments.get(patch & 0x7F)


class SamplePool(Protocol):
    """Where downloaded sample data lives: the engine's pool (synth/engine/sample_pool.py)."""

    array: np.ndarray

    def add_wave(self, samples: np.ndarray) -> int: ...

    def free_wave(self, offset: int, length: int) -> None: ...

    def view(self, offset: int, length: int) -> np.ndarray: ...

    def reserve(self, waves: int, samples: int) -> None: ...


class Engine(Protocol):
    """What a manager attaches to: a sample pool, and whether a voice reads a wave of it."""

    pool: SamplePool

    def plays(self, offset: int) -> bool: ...


@dataclass(slots=True)
class _WaveEntry:
    dl_id: int
    wave: Wave
    handle: int
    users: set[int] = field(default_factory=set)  # handles of instruments using it
    unloaded: bool = False
    retired_at: int = -1  # first table generation that can no longer reach it
    offset: int = -1  # where its samples sit in the attached pool; -1: in their own array


@dataclass(slots=True)
class _InstrumentEntry:
    dl_id: int
    instrument: Instrument
    handle: int
    waves: tuple[_WaveEntry, ...]
    gm: bool


class _LiveWaves(Mapping[int, Wave]):
    """The live waves by dwDLId as an instrument download reads them: a view, so a bank of n
    downloads costs n lookups, not a copy of every wave per download (n squared)."""

    def __init__(self, entries: dict[int, _WaveEntry]) -> None:
        self._entries = entries

    def __getitem__(self, dl_id: int) -> Wave:
        return self._entries[dl_id].wave

    def __iter__(self) -> Iterator[int]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class DownloadManager:
    """DLS downloads of one pin, by handle."""

    def __init__(
        self, name: str = "synth", budget: int | None = None, collect_every: float | None = None
    ) -> None:
        self.name = name  # the pin's, for messages
        # bytes of sample data the downloads may hold (the default: from the machine's memory)
        self.budget = default_budget() if budget is None else budget
        self._bytes = 0  # sample_memory, kept as waves come and go
        self._lock = threading.Lock()
        self._next_handle = 1
        self._waves: dict[int, _WaveEntry] = {}  # live waves by dwDLId
        self._live_waves = _LiveWaves(self._waves)
        self._wave_handles: dict[int, _WaveEntry] = {}
        self._instruments: dict[int, _InstrumentEntry] = {}  # by handle, in download order
        self._retired: list[_WaveEntry] = []
        self.table = InstrumentTable(0, MappingProxyType({}))
        # Written by the engine: the table generation it renders with (None: no engine attached).
        self.engine_generation: int | None = None
        self._store: SamplePool | None = None
        self._plays: Callable[[int], bool] = _no_voice_plays  # whether a voice reads an offset
        self._pool: np.ndarray | None = None  # the pool array the waves' views are of
        # Called with each new table, under the manager's lock (control threads only).
        self.on_publish: Callable[[InstrumentTable], None] | None = None
        self._batch = 0  # > 0: inside batch(), on_publish waits for its end
        # with an engine that renders on its own (a stream), unloaded waves are freed later
        self._late = None if collect_every is None else LateCollector(collect_every)

    def attach(self, engine: Engine) -> None:
        """Keep sample data in `engine`'s pool from now on; the waves already here move in
        (a re-opened synth's new engine gets a copy of each, and the old pool goes with the
        old engine)."""
        store, plays = engine.pool, engine.plays
        with self._lock:
            held = list(self._held())
            offsets = [store.add_wave(entry.wave.samples) for entry in held]
            for entry, offset in zip(held, offsets, strict=True):
                entry.offset = offset
            self._store, self._plays, self._pool = store, plays, None
            self._point_views()

    def reserve(self, waves: int, samples: int) -> None:
        """A hint before a bank's downloads: `waves` waves of `samples` in all are coming, so
        the pool grows once instead of copying itself as they arrive."""
        with self._lock:
            if self._store is not None:
                self._store.reserve(waves, samples)
                self._point_views()

    # --- the engine's side ---------------------------------------------------------------------
    def engine_uses(self, generation: int) -> None:
        """Called by the engine at a block boundary: it now looks only at this table."""
        self.engine_generation = generation

    # --- DOWNLOAD / UNLOAD ----------------------------------------------------------------------
    def download(self, buffer: bytes | bytearray | memoryview) -> int:
        """Parse and install one DMUS_DOWNLOADINFO buffer; returns its handle.

        A malformed buffer raises BankError; a dwDLId already in use raises PropertyError."""
        with self._lock:
            self._collect()
            parsed = parse_download(buffer, self._live_waves)
            handle = self._next_handle
            if isinstance(parsed, WaveDownload):
                self._add_wave(parsed, handle)
            else:
                self._add_instrument(parsed, handle)
            self._next_handle += 1
            return handle

    def _add_wave(self, parsed: WaveDownload, handle: int) -> None:
        if parsed.dl_id in self._waves:
            raise PropertyError(
                "STATUS_OBJECT_NAME_COLLISION", f"wave download id {parsed.dl_id} is already loaded"
            )
        size = parsed.wave.nbytes
        if self._bytes + size > self.budget:
            raise SampleMemoryError(self.name, size, self._bytes, self.budget)
        entry = _WaveEntry(parsed.dl_id, parsed.wave, handle)
        if self._store is not None:
            entry.offset = self._store.add_wave(parsed.wave.samples)
            entry.wave.samples = self._store.view(entry.offset, parsed.wave.frames)
            self._point_views()  # the pool may have grown: the other views are of the old one
        self._bytes += size
        self._waves[parsed.dl_id] = entry
        self._wave_handles[handle] = entry

    def _add_instrument(self, parsed: InstrumentDownload, handle: int) -> None:
        for warning in parsed.warnings:  # broken items the parser left out (download.py)
            log.warning("pin %s: %s", self.name, warning)
        if any(e.dl_id == parsed.dl_id for e in self._instruments.values()):
            raise PropertyError(
                "STATUS_OBJECT_NAME_COLLISION",
                f"instrument download id {parsed.dl_id} is already loaded",
            )
        used = tuple(self._waves[dl_id] for dl_id in parsed.wave_ids)
        for entry in used:
            entry.users.add(handle)
        self._instruments[handle] = _InstrumentEntry(
            parsed.dl_id, parsed.instrument, handle, used, parsed.gm
        )
        self._publish()

    def unload(self, handle: int) -> None:
        """Take back a handle DOWNLOAD returned. Unknown handles raise PropertyError."""
        with self._lock:
            inst = self._instruments.pop(handle, None)
            if inst is not None:
                generation = self._publish()
                for entry in inst.waves:
                    entry.users.discard(handle)
                    if entry.unloaded and not entry.users:
                        self._retire(entry, generation)
            else:
                entry = self._wave_handles.pop(handle, None)
                if entry is None:
                    raise PropertyError(
                        "STATUS_INVALID_HANDLE", f"no download with handle {handle}"
                    )
                entry.unloaded = True
                self._waves.pop(entry.dl_id, None)  # no new instrument may name it
                if not entry.users:
                    self._retire(entry, self.table.generation)
            self._collect()
            self._collect_later()

    def _retire(self, entry: _WaveEntry, generation: int) -> None:
        entry.retired_at = generation
        self._retired.append(entry)

    def _publish(self) -> int:
        """Build the next table (GM instruments first, so user ones overwrite them; later
        downloads after earlier) and publish it in one assignment."""
        ordered = sorted(self._instruments.values(), key=lambda e: not e.gm)
        table = {e.instrument.patch: e.instrument for e in ordered}
        generation = self.table.generation + 1
        self.table = InstrumentTable(generation, MappingProxyType(table))
        if self.on_publish is not None and not self._batch:
            self.on_publish(self.table)
        return generation

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Downloads and unloads inside are published to `on_publish` once, at the end: a
        bank's instruments reach the engine together, and its tables are prepared once."""
        with self._lock:
            self._batch += 1
        try:
            yield
        finally:
            with self._lock:
                self._batch -= 1
                if not self._batch and self.on_publish is not None:
                    self.on_publish(self.table)

    # --- freeing ---------------------------------------------------------------------------------
    def collect(self) -> int:
        """Free retired waves that no voice and no visible table can reach; returns bytes freed.
        Call it from a control thread (it also runs on every download and unload, and on the
        late collector's thread while unloaded waves wait)."""
        with self._lock:
            return self._collect()

    def _collect_again(self) -> bool:
        """The late collector's round: free what can go; whether something still waits."""
        self.collect()
        with self._lock:
            return bool(self._retired)

    def _collect_later(self) -> None:
        """Something retired could not be freed yet: have the late collector retry (lock held)."""
        if self._retired and self._late is not None:
            self._late.start(self._collect_again)

    def _collect(self) -> int:
        freed = 0
        keep = []
        seen = self.engine_generation
        for entry in self._retired:
            reachable = seen is not None and seen < entry.retired_at
            # plays() scans every voice: only ask it for waves no table reaches any more, or a
            # bank's unload (every wave retired, none freeable yet) is quadratic in its waves
            if entry.wave.voices or reachable or (entry.offset >= 0 and self._plays(entry.offset)):
                keep.append(entry)
            else:
                freed += entry.wave.nbytes
                frames = entry.wave.frames
                entry.wave.samples = _EMPTY  # no region can start on it now
                if entry.offset >= 0 and self._store is not None:
                    self._store.free_wave(entry.offset, frames)
                    entry.offset = -1
        self._retired = keep
        self._bytes -= freed
        return freed

    def _held(self) -> Iterator[_WaveEntry]:
        """Every wave whose data is kept: live, unloaded but used, retired but not freed."""
        entries = {id(e): e for e in self._wave_handles.values()}
        entries.update((id(e), e) for e in self._retired)
        entries.update((id(e), e) for inst in self._instruments.values() for e in inst.waves)
        return iter(entries.values())

    def _point_views(self) -> None:
        """After the pool array changed, make every wave's samples a view of the new one, so
        no stale view keeps the old array (a second copy) alive."""
        store = self._store
        if store is None or store.array is self._pool:
            return
        self._pool = store.array
        for entry in self._held():
            if entry.offset >= 0:
                entry.wave.samples = store.view(entry.offset, entry.wave.frames)

    # --- inspection ------------------------------------------------------------------------------
    @property
    def sample_memory(self) -> int:
        """Bytes of sample data held: live waves, unloaded ones instruments still use, and
        retired ones a voice still plays."""
        return self._bytes

    @property
    def free_memory(self) -> int:
        """Bytes of the budget downloads can still take (SYNTH_STATS.FreeMemory)."""
        return max(self.budget - self._bytes, 0)

    @property
    def handles(self) -> list[int]:
        return [*self._wave_handles, *self._instruments]

    def wave_handle_of(self, dl_id: int) -> int | None:
        entry = self._waves.get(dl_id)
        return entry.handle if entry else None


def download_instruments(
    manager: DownloadManager, instruments: list[Instrument], first_dl_id: int = 1, gm: bool = False
) -> list[int]:
    """Put instruments on a pin the DirectMusic way (waves first, then INSTRUMENT2 buffers);
    returns the handles in download order. Used to load a bank file or the built-in GM set."""
    return [manager.download(buf) for buf in build_bank_downloads(instruments, first_dl_id, gm)]
