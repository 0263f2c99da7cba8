"""Keeping numba's on-disk cache honest for the engine.

numba keys each cached function on its own source file only, but the block call compiles in
code from every file of the engine and the effects. After any of those files changes (an edit,
a checkout, an upgrade that keeps mtimes), a cached block call could run the old code. So the
engine stamps its cache folders with a digest of all their sources and, when the digest differs,
drops the compiled entries of these modules before anything loads them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from dmusd.user_cache import files_digest

if TYPE_CHECKING:  # numba is imported only when the engine is built (jit.py)
    from numba.core.registry import CPUDispatcher

_HERE = Path(__file__).resolve().parent
_SOURCE_DIRS = (_HERE, _HERE.parent / "effects")
# Compiled code also bakes in the DLS ids the engine takes from the banks, and the C entries
# include the native audio callbacks.
_SOURCE_FILES = (
    _HERE.parents[1] / "banks" / "connection.py",
    _HERE.parents[1] / "io" / "native_callbacks.py",
    _HERE.parents[1] / "io" / "callback_entries.py",
)
_STAMP = "dmusd-engine-sources.sha256"

log = logging.getLogger(__name__)


def sources_digest() -> str:
    """SHA-256 over the Python sources of everything compiled: the engine, the effects, the
    native callbacks."""
    paths = [p for folder in _SOURCE_DIRS for p in sorted(folder.glob("*.py"))]
    return files_digest([*paths, *_SOURCE_FILES])


def drop_stale_cache(dispatchers: list[CPUDispatcher]) -> int:
    """Delete this package's cached machine code where the stamp is missing or old; returns how
    many files went. Errors (a read-only cache folder) only mean numba compiles afresh."""
    digest = sources_digest()
    stems = {p.stem for folder in _SOURCE_DIRS for p in folder.glob("*.py")}
    removed = 0
    folders = {Path(d._cache._cache_path) for d in dispatchers if getattr(d, "_cache", None)}
    for folder in folders:
        stamp = folder / _STAMP
        try:
            if stamp.read_text() == digest:
                continue
        except OSError:
            pass
        try:
            # made first: a fresh cache folder gets its stamp now, or the next run would take
            # this run's fresh compile for a stale one and compile everything again
            folder.mkdir(parents=True, exist_ok=True)
            for entry in folder.iterdir():
                stem = entry.name.split(".", 1)[0]
                if entry.suffix in (".nbi", ".nbc") and stem in stems:
                    entry.unlink(missing_ok=True)
                    removed += 1
            stamp.write_text(digest)
        except OSError as error:
            log.debug("numba cache folder %s not refreshed: %s", folder, error)
    if removed:
        log.info("dropped %d stale compiled engine files", removed)
    return removed
