"""The decorators for real-time code: compiled, GIL-free, cached, without reference counting.

Everything the block call runs is compiled with numba's NRT (its reference-counting runtime)
switched off. The engine never allocates on the audio path, so NRT has nothing to manage there;
but with it on, numba wraps every call that takes arrays in atomic increments and decrements of
each array's count, and those atomics cost more than the work in the hot loops (measured: three
LFO/EG connection rows 91 ns with NRT, 3 ns without). The price: these functions must never
create arrays (views included); everything they use is preallocated by the Python side.
"""

from __future__ import annotations

from numba import njit

# no_cfunc_wrapper: nothing takes these functions' C addresses (the C entries are cfuncs)
_OPTIONS = {"nogil": True, "cache": True, "_nrt": False, "no_cfunc_wrapper": True}


def realtime(func):
    """Compile a real-time function (see module docstring)."""
    return njit(**_OPTIONS)(func)


def realtime_inline(func):
    """Like realtime, inlined into its callers at numba IR level (small hot helpers)."""
    return njit(inline="always", **_OPTIONS)(func)
