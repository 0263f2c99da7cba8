"""dmusd's one cache folder, for a hand-started daemon and the systemd user unit alike.

$XDG_CACHE_HOME/dmusd, else ~/.cache/dmusd: what systemd's `%C/dmusd` (the unit's
CacheDirectory=dmusd) is for a user unit. It holds the built-in GM bank, the engine's shared
library (engine_library.py) and numba's compiled engine it is built from (`numba/`), and parsed
banks (`banks/`, banks/bank_cache.py). numba
reads NUMBA_CACHE_DIR once, when it is imported, so `use_numba_cache()` runs from dmusd's
package import, before anything can import numba; without it numba caches next to the sources,
which a sandboxed unit cannot write and another checkout does not share.
A NUMBA_CACHE_DIR set by the user wins.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path


def cache_dir() -> str:
    """$XDG_CACHE_HOME/dmusd, else ~/.cache/dmusd (systemd's %C/dmusd for a user unit)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "dmusd")


def numba_cache_dir() -> str:
    """Where numba keeps the compiled engine: NUMBA_CACHE_DIR when set, else cache_dir()/numba."""
    return os.environ.get("NUMBA_CACHE_DIR") or os.path.join(cache_dir(), "numba")


def use_numba_cache() -> None:
    """Point numba at numba_cache_dir() (call before numba is imported)."""
    os.environ["NUMBA_CACHE_DIR"] = numba_cache_dir()


def files_digest(paths: Iterable[Path]) -> str:
    """SHA-256 over the names and contents of `paths`, in order: what names a cache entry
    after the sources it was made by (the engine library, the GM bank, parsed banks)."""
    h = hashlib.sha256()
    for path in paths:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()
