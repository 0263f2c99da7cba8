"""Giving memory back once the daemon has started.

Start-up leaves two kinds of memory the running daemon no longer needs:
- free blocks inside the C heap (parsing, the numba cache load): malloc_trim returns them;
- LLVM's code, the bulk of libllvmlite.so. numba runs LLVM to load its cached machine code at
  start-up; after that nothing compiles, and the audio thread runs numba's code, which lives in
  LLVM's anonymous code buffers, not in the library. The library's pages are clean file pages:
  MADV_PAGEOUT asks the kernel to reclaim them now rather than under pressure. Should LLVM run
  again, they fault back in from the page cache. Only read-only and executable mappings are
  touched, never the library's writable data.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("dmusd")

MADV_PAGEOUT = 21  # Linux >= 5.4
_LLVM_LIBRARY = "libllvmlite.so"


def give_back_start_up_memory() -> int:
    """Trim the C heap and page out LLVM's code; returns the bytes of LLVM mappings advised."""
    libc = _libc()
    libc.malloc_trim(0)
    return page_out(_LLVM_LIBRARY)


def page_out(file_suffix: str) -> int:
    """MADV_PAGEOUT on this process's read-only and executable mappings of files whose path
    ends with `file_suffix` (never writable ones: their contents are state). Pages that other
    processes map too stay, shared. Returns the bytes advised."""
    libc = _libc()
    advised = 0
    for start, end in _read_only_mappings(file_suffix):
        if libc.madvise(start, end - start, MADV_PAGEOUT) == 0:
            advised += end - start
        else:  # an older kernel: the pages stay, nothing else changes
            log.debug("madvise(MADV_PAGEOUT) on %s: errno %d", file_suffix, ctypes.get_errno())
    return advised


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return libc


def _read_only_mappings(file_suffix: str) -> list[tuple[int, int]]:
    spans = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                fields = line.split()
                if len(fields) < 6 or not fields[5].endswith(file_suffix):
                    continue
                if "w" in fields[1]:
                    continue
                lo, hi = (int(x, 16) for x in fields[0].split("-"))
                spans.append((lo, hi))
    except OSError:
        return []
    return spans
