"""Parsed banks kept in the user cache: a start that reads a bank it has read before (the
daemon, `dmusd render`, each batch or Dask worker) loads a pickle instead of parsing the file.

Parsing is Python per region and per wave: TimGM6mb (2063 regions) takes 0.35 s here, its pickle
0.04 s. An entry is named by the file (real path, inode, size, mtime in ns) and by the parser (a
digest of dmusd/banks/*.py and the Python and numpy versions), so a changed file or a changed
parser misses. Only successful parses are kept, warnings included, so a damaged bank warns the
same way from the cache. The folder is the user's own (user_cache.cache_dir), trusted as the
engine library beside it is.

Kept: banks that took at least MIN_PARSE_S to parse (a small bank is not worth an entry) and
whose samples fit in MAX_SAMPLE_BYTES (a float32 copy of a large bank would double its disk
use); at most KEEP entries, the least recently used dropped. A cache that cannot be read or
written costs only the parse: never an error.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from dmusd.banks.model import Bank
from dmusd.errors import DmusdError
from dmusd.io.atomic_file import AtomicFile
from dmusd.user_cache import cache_dir, files_digest

MIN_PARSE_S = 0.05
MAX_SAMPLE_BYTES = 256 << 20
KEEP = 8
_SUFFIX = ".bank.pickle"


@functools.lru_cache(maxsize=1)
def _parser_digest() -> str:
    banks = Path(__file__).resolve().parent  # dmusd/banks: the parser
    return f"{sys.version}|{np.__version__}|{files_digest(sorted(banks.glob('*.py')))}"


def entry_path(path: str) -> Path | None:
    """The cache file for the bank at `path`, or None when the file cannot be stat'ed."""
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
    except (OSError, ValueError):
        return None
    key = f"{real}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}|{_parser_digest()}"
    name = hashlib.sha256(key.encode()).hexdigest()[:32]
    return Path(cache_dir()) / "banks" / f"{name}{_SUFFIX}"


def cached_load(path: str, load: Callable[[str], Bank]) -> Bank:
    """The bank at `path`: from its cache entry when there is a good one, else `load(path)`
    (whose errors pass through), kept for the next start when it is worth keeping."""
    entry = entry_path(path)
    if entry is not None:
        bank = _read(entry)
        if bank is not None:
            return bank
    started = time.perf_counter()
    bank = load(path)
    slow = time.perf_counter() - started >= MIN_PARSE_S
    if entry is not None and slow and sum(w.samples.nbytes for w in bank.waves) <= MAX_SAMPLE_BYTES:
        _write(entry, bank)
    return bank


def _read(entry: Path) -> Bank | None:
    try:
        with open(entry, "rb") as f:
            bank = pickle.load(f)
    except Exception:  # missing, truncated, another version's classes: parse instead
        return None
    with contextlib.suppress(OSError):  # a read-only cache still serves its entries
        os.utime(entry)  # recently used: pruned last
    return bank if isinstance(bank, Bank) else None


def _write(entry: Path, bank: Bank) -> None:
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        # under a name of this process's own, renamed whole; another thread writing the same
        # entry holds that name (created exclusively), and this one gives way
        atomic = AtomicFile(str(entry))
    except (OSError, DmusdError):  # a read-only or full cache: the next start parses again
        return
    try:
        with open(atomic.path, "wb") as f:
            pickle.dump(bank, f, protocol=pickle.HIGHEST_PROTOCOL)
        atomic.commit()
        _prune(entry.parent)
    except Exception:
        atomic.discard()


def _prune(folder: Path) -> None:
    entries = []
    for item in folder.glob(f"*{_SUFFIX}"):
        try:
            entries.append((item.stat().st_mtime, item))
        except OSError:
            continue  # pruned by another process meanwhile
    entries.sort(reverse=True)
    for _, stale in entries[KEEP:]:
        stale.unlink(missing_ok=True)
