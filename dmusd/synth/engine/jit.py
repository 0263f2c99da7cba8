"""The decorators for real-time code: compiled, GIL-free, cached, without reference counting.

Everything the block call runs is compiled with numba's NRT (its reference-counting runtime)
switched off. The engine never allocates on the audio path, so NRT has nothing to manage there;
but with it on, numba wraps every call that takes arrays in atomic increments and decrements of
each array's count, and those atomics cost more than the work in the hot loops (measured: three
LFO/EG connection rows 91 ns with NRT, 3 ns without). The price: these functions must never
create arrays (views included); everything they use is preallocated by the Python side.

The decorators defer numba: a decorated function is a `Deferred` until `materialize()` makes
every one a numba dispatcher, which happens only when the engine is built (engine_library.py)
or when Python calls one (tests, `Engine.render`). A process that runs the engine from its
shared library never imports numba (120 MB and 0.3 s saved, bench/native_library.py).
"""

from __future__ import annotations

import sys
import threading

import numpy as np

# An index known to be >= 0, converted to unsigned: numba then leaves out its negative-index
# wraparound, a compare and a select on every load and store (in the cubic loop alone that was
# about a third of its time).
unsigned = np.uint64

# no_cfunc_wrapper: nothing takes these functions' C addresses (the C entries are cfuncs).
# error_model "numpy": a division is just the instruction, without a zero test and a raise of
# ZeroDivisionError after it. The audio thread has nothing to raise to (a raise ended the block
# as a failed render); divisors are checked where they are made (loop spans, rates, intervals).
# The raises were IR and machine code in every function: the cold build is ~2 s shorter.
_OPTIONS = {
    "nogil": True,
    "cache": True,
    "_nrt": False,
    "no_cfunc_wrapper": True,
    "error_model": "numpy",
}

_deferred: list[Deferred] = []
_llvm_inlined: list[str] = []  # realtime_llvm_inline's functions, by qualified name
_lock = threading.Lock()
_materialized = False
_interpreting = threading.local()  # .depth > 0: deferred calls on this thread run as Python


class Deferred:
    """A real-time function numba has not been given yet."""

    __slots__ = ("py_func", "options", "dispatcher", "__name__", "__qualname__")

    def __init__(self, py_func, options: dict) -> None:
        self.py_func = py_func
        self.options = options
        self.dispatcher = None
        self.__name__ = py_func.__name__
        self.__qualname__ = py_func.__qualname__

    def __call__(self, *args):
        """A call from Python: numba compiles (or loads) the engine now, unless it runs under
        interpreted(). An intrinsic has no Python entry: its Python body runs."""
        if "intrinsic" in self.options or (
            getattr(_interpreting, "depth", 0) and not _materialized
        ):
            return self.py_func(*args)
        materialize()
        return self.dispatcher(*args)

    def __repr__(self) -> str:
        return f"<deferred real-time function {self.py_func.__module__}.{self.__qualname__}>"


def materialize() -> None:
    """Make every deferred function a numba dispatcher, everywhere dmusd's modules name it (so
    numba resolves dispatchers when it compiles a caller), after numba's stale cache entries
    are dropped (cache.py). Later decorations compile directly."""
    global _materialized
    with _lock:
        if _materialized:
            return
        from numba import njit

        from dmusd.synth.engine import inline_copies
        from dmusd.synth.engine.cache import drop_stale_cache

        inline_copies.install()  # a cold compile about a quarter shorter, the same machine code
        for item in _deferred:
            item.dispatcher = _compile(njit, item)
        drop_stale_cache([item.dispatcher for item in _deferred if "intrinsic" not in item.options])
        for name, module in list(sys.modules.items()):
            if module is None or not (name == "dmusd" or name.startswith("dmusd.")):
                continue
            for attribute, value in list(vars(module).items()):
                if isinstance(value, Deferred):
                    setattr(module, attribute, value.dispatcher)
        _materialized = True


def interpreted(function, *args):
    """Call a real-time function as plain Python, with what it calls, while numba is not
    loaded (else compiled): for the few small set-up calls Python makes (a pin's power-on
    state, its master gain), which are not worth loading numba for."""
    if _materialized or not isinstance(function, Deferred):
        return function(*args)
    _interpreting.depth = getattr(_interpreting, "depth", 0) + 1
    try:
        return function.py_func(*args)
    finally:
        _interpreting.depth -= 1


def _compile(njit, item: Deferred):
    if "intrinsic" in item.options:
        return item.options["intrinsic"]()
    return njit(**item.options)(item.py_func)


def _decorate(func, options: dict):
    with _lock:
        item = Deferred(func, options)
        if _materialized:
            from numba import njit

            return _compile(njit, item)
        _deferred.append(item)
        return item


def realtime(func):
    """Compile a real-time function (see module docstring)."""
    return _decorate(func, _OPTIONS)


def realtime_inline(func):
    """Like realtime, inlined into its callers at numba IR level (small hot helpers)."""
    return _decorate(func, {"inline": "always", **_OPTIONS})


def realtime_llvm_inline(func):
    """Like realtime, and inlined into its callers by LLVM when the engine library is built
    (engine_build.py), not by numba's IR inlining, which types and lowers the body again at
    every call site: for a large function called from a hot loop, where the call costs as much
    as the work (numba passes each array as some nine stack words; control_point: the dense
    song renders ~20 % faster inlined), and for helpers called from many places (cold build:
    control_point inlined by numba cost 9 s more, these helpers by LLVM save 7 s). numba's own
    entries (no library) keep the calls: the same samples, slower."""
    _llvm_inlined.append(f"{func.__module__}.{func.__qualname__}")
    return realtime(func)


def llvm_inlined() -> tuple[str, ...]:
    """The qualified names of the functions realtime_llvm_inline marked."""
    return tuple(_llvm_inlined)


def realtime_fused(func):
    """Like realtime, with a multiply and the add that takes its product fused into one
    instruction (LLVM's `contract`; nothing else of fast-math): for a recurrence whose cost is
    the latency of its feedback chain, where a fused multiply-add halves the chain. The result
    is rounded once instead of twice, so it is as exact or more; it is a function of its own, as
    the flag applies to what numba compiles in it."""
    return _decorate(func, {"fastmath": {"contract"}, **_OPTIONS})


def realtime_intrinsic(py_func, build):
    """A real-time function written as LLVM code: `build()` returns its numba intrinsic (called
    when the engine is built, as numba is imported only then); `py_func` is the same function
    in Python, which a call from Python runs."""
    return _decorate(py_func, {"intrinsic": build})
