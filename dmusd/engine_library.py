"""The compiled engine's C entries, from a shared library in dmusd's cache: no numba at run time.

numba compiles the engine's three C entries (the pin call and the two native audio callbacks,
each with everything it calls inlined); engine_build.py links that machine code into
`dmusd-engine-<digest>.so` in the user cache (user_cache.py: one folder for a hand-started
daemon and the unit). Every later process loads it with ctypes and never imports numba or
LLVM: 120 MB less resident and 0.3 s less start-up (bench/native_library.py), the same samples.
The digest covers every compiled source, the build itself, numba's and llvmlite's versions, the
Python version and the CPU, so any change to them builds afresh.

Where the library cannot be built (no linker, `ld` from binutils) numba's own entries are
used, with one warning: the same machine code, with numba and LLVM in memory.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import logging
import os
import platform
import sys
import threading
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from dmusd.synth.engine.cache import sources_digest
from dmusd.user_cache import cache_dir

log = logging.getLogger("dmusd")

# the entries' names in the library (engine_build.py gives them these)
SYMBOLS = {
    "render_pin": "dmusd_render_pin",
    "pa_output_callback": "dmusd_pa_output_callback",
    "jack_midi_process": "dmusd_jack_midi_process",
    "jack_audio_process": "dmusd_jack_audio_process",
}
RENDER_PIN_ARGS = (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64)
_KEEP_BUILDS = 4  # libraries of other digests kept (other checkouts share the cache folder)


@dataclass(frozen=True)
class EngineEntries:
    """The C entries: `render_pin` callable from Python, and each entry's address."""

    render_pin: ctypes._CFuncPtr  # (descriptor, output, frames, position, running) -> 0
    render_pin_address: int
    pa_output_callback: int
    jack_midi_process: int
    jack_audio_process: int
    source: str  # the library's path, or "numba" (its own entries)
    holder: object  # what keeps the machine code mapped: the CDLL, or numba's cfuncs


_entries: EngineEntries | None = None
_lock = threading.Lock()


def engine_entries() -> EngineEntries:
    """The entries, loaded once per process; built first if the cache has no library."""
    global _entries
    if _entries is None:
        with _lock:
            if _entries is None:
                _entries = _load()
    return _entries


def library_path() -> Path:
    """Where this engine's library is (or goes) in the user cache."""
    return Path(cache_dir()) / f"dmusd-engine-{engine_digest()[:20]}.so"


def is_built() -> bool:
    """Whether loading the engine needs no build (and so no numba)."""
    return library_path().is_file()


def engine_digest() -> str:
    """SHA-256 over what the machine code depends on: the compiled sources, the build's own
    (engine_build.py), the compiler's versions, the Python version and the CPU."""
    h = hashlib.sha256(sources_digest().encode())
    h.update((Path(__file__).parent / "engine_build.py").read_bytes())
    for dist in ("numba", "llvmlite"):
        h.update(f"{dist} {metadata.version(dist)}\n".encode())
    h.update(f"{sys.version}\n{platform.machine()}\n{_cpu()}".encode())
    return h.hexdigest()


def _cpu() -> str:
    """The CPU's model and feature flags: numba compiles for the host CPU."""
    try:
        with open("/proc/cpuinfo") as info:
            lines = [line for line in info if line.startswith(("model name", "flags"))][:2]
    except OSError:
        return platform.processor()
    return "".join(lines)


def _load() -> EngineEntries:
    path = library_path()
    if path.is_file():
        try:
            return _from_library(path)
        except OSError as error:  # truncated or foreign: build it again
            log.warning("engine library %s unusable (%s); building it again", path, error)
            path.unlink(missing_ok=True)
    from dmusd.engine_build import BuildFailed, build_library

    try:
        with _build_lock(path.parent):
            if path.is_file():  # another process built it meanwhile
                return _from_library(path)
            built = build_library(path)
            entries = _from_library(built)
            if built != path:  # not cacheable: mapped now, the file can go
                built.unlink(missing_ok=True)
            _prune(path)
            return entries
    except BuildFailed as error:
        log.warning("%s: the engine runs from numba (about 120 MB more memory)", error)
        return _from_numba()


def _from_library(path: Path) -> EngineEntries:
    library = ctypes.CDLL(str(path))
    address = {
        role: ctypes.cast(library[name], ctypes.c_void_p).value for role, name in SYMBOLS.items()
    }
    render = library[SYMBOLS["render_pin"]]
    render.argtypes = RENDER_PIN_ARGS
    render.restype = ctypes.c_int64
    return EngineEntries(
        render, address["render_pin"], address["pa_output_callback"],
        address["jack_midi_process"], address["jack_audio_process"], str(path), library,
    )  # fmt: skip


def _from_numba() -> EngineEntries:
    from dmusd.engine_build import numba_entries

    cfuncs = numba_entries()
    render = cfuncs["render_pin"].ctypes
    render.argtypes = RENDER_PIN_ARGS
    address = {role: cfunc.address for role, cfunc in cfuncs.items()}
    return EngineEntries(
        render, address["render_pin"], address["pa_output_callback"],
        address["jack_midi_process"], address["jack_audio_process"], "numba", cfuncs,
    )  # fmt: skip


class _build_lock:
    """One build at a time across processes (batch workers start together); a folder that
    cannot hold the lock file builds without it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.fd = -1

    def __enter__(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(self.folder / "dmusd-engine.lock", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError as error:
            log.debug("engine build lock in %s not taken: %s", self.folder, error)

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0:
            os.close(self.fd)


def _prune(kept: Path) -> None:
    """Remove all but the newest few libraries of other digests."""
    others = []
    for library in kept.parent.glob("dmusd-engine-*.so"):
        try:
            if library != kept:
                others.append((library.stat().st_mtime, library))
        except OSError:  # removed meanwhile
            continue
    for _, old in sorted(others, reverse=True)[_KEEP_BUILDS:]:
        old.unlink(missing_ok=True)
