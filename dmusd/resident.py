"""Giving memory back once the daemon has started.

Start-up leaves four kinds of memory the running daemon no longer needs:
- free blocks inside the C heap (parsing, the numba cache load): malloc_trim returns them;
- LLVM's code, the bulk of libllvmlite.so, where the engine runs from numba's own entries (no
  engine library could be built: engine_library.py). numba runs LLVM to load its cached
  machine code at start-up; after that nothing compiles, and the audio thread runs code that
  lives in LLVM's anonymous buffers, not in the library. Its pages are clean file pages:
  MADV_PAGEOUT asks the kernel to reclaim them now rather than under pressure; should LLVM run
  again, they fault back in from the page cache. Only read-only and executable mappings are
  touched, never a library's writable data.
- on JACK, the libraries start-up loaded for nothing the daemon runs afterwards: PortAudio
  initializes its ALSA host API even when it plays on JACK, and ALSA's device scan loads every
  installed plugin with what they link (libavcodec and its codecs for a52, libpulse, PipeWire,
  GLib, librsvg: about 11 MB here), numpy brings its BLAS, hashlib OpenSSL. Their read-only
  pages are paged out like LLVM's, all but AUDIO_PATH's, the libraries the audio and MIDI
  threads run in (a period must never wait for a page to come back from disk). On ALSA or
  pulse the plugins are the audio path, so only LLVM goes there.
- JACK's shared segment: the port buffers of the whole server (about 100 MB with jackd's default
  of 2048 ports), which libjack locks into memory in every client process that opens one. The
  daemon's threads touch under 1 MB of it. The segment is the server's (tmpfs, kept resident by
  jackd itself), so munlock + MADV_DONTNEED only drop it from this process's page tables: no
  data goes, and the few pages the audio and MIDI threads use come back as minor faults on
  their next touch, once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable

log = logging.getLogger("dmusd")

MADV_DONTNEED = 4
MADV_PAGEOUT = 21  # Linux >= 5.4
_LLVM_LIBRARY = "libllvmlite.so"
# file names (parts of) of the libraries the audio and MIDI threads run in: the C library and
# loader, PortAudio, libjack (two copies: the system's and python-rtmidi's), ALSA's library,
# the interpreter with numpy's core, ctypes and cffi (the Python callbacks), rtmidi, and the
# engine's own library (engine_library.py)
AUDIO_PATH = (
    "/libc.so", "/libm.so", "/ld-linux", "/libgcc_s", "/libstdc++", "/libpthread",
    "libportaudio", "libjack", "/libasound.so", "libpython", "_multiarray_umath", "_ctypes.",
    "/libffi", "_cffi_backend", "_rtmidi", "/dmusd-engine-",
)  # fmt: skip
_JACK_SEGMENT = "/dev/shm/jack-"  # jack2's segments; the registry and semaphores are small
_JACK_SEGMENT_MIN = 1 << 20


def give_back_start_up_memory(backend: str = "") -> int:
    """Trim the C heap and page out LLVM's code, and on JACK (`backend` "jack") every library
    but AUDIO_PATH; returns the bytes of the mappings advised."""
    libc = _libc()
    libc.malloc_trim(0)
    if backend != "jack":
        return page_out(_LLVM_LIBRARY)
    return _page_out(lambda path: ".so" in path and not any(k in path for k in AUDIO_PATH))


def release_jack_segment() -> int:
    """Unlock and drop this process's view of JACK's shared segment (call once every JACK
    client is open: opening one locks it all again). Returns the bytes released."""
    libc = _libc()
    released = 0
    for start, end in _mappings(lambda path, perms: path.startswith(_JACK_SEGMENT)):
        if end - start < _JACK_SEGMENT_MIN:
            continue
        libc.munlock(start, end - start)  # fails harmlessly where it was never locked
        if libc.madvise(start, end - start, MADV_DONTNEED) == 0:
            released += end - start
        else:
            log.debug("madvise(MADV_DONTNEED) on JACK's segment: errno %d", ctypes.get_errno())
    return released


def page_out(file_suffix: str) -> int:
    """MADV_PAGEOUT on this process's read-only and executable mappings of files whose path
    ends with `file_suffix` (never writable ones: their contents are state). Pages that other
    processes map too stay, shared. Returns the bytes advised."""
    return _page_out(lambda path: path.endswith(file_suffix))


def _page_out(wanted: Callable[[str], bool]) -> int:
    """MADV_PAGEOUT on the read-only and executable file mappings whose path is wanted."""
    libc = _libc()
    advised = 0
    for start, end in _mappings(lambda path, perms: "w" not in perms and wanted(path)):
        if libc.madvise(start, end - start, MADV_PAGEOUT) == 0:
            advised += end - start
        else:  # an older kernel: the pages stay, nothing else changes
            log.debug("madvise(MADV_PAGEOUT): errno %d", ctypes.get_errno())
    return advised


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.munlock.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    return libc


def _mappings(wanted: Callable[[str, str], bool]) -> list[tuple[int, int]]:
    """(start, end) of this process's file mappings for which wanted(path, permissions)."""
    spans = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split()
                if len(fields) < 6 or not wanted(fields[5], fields[1]):
                    continue
                lo, hi = (int(x, 16) for x in fields[0].split("-"))
                spans.append((lo, hi))
    except OSError:
        return []
    return spans
