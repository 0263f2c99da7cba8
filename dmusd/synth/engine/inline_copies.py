"""numba's IR inlining without its defensive copies of an IR nobody else holds (compile only).

For every call of an `inline="always"` function numba builds the callee's IR afresh (its
untyped passes), then deep-copies it twice before splicing it in: once to mutate, once to hand
back an unmutated original that this path throws away. Each block is copied with its own memo,
so the scope it shares with every other block (all of the callee's variables) is copied again
per block. The engine inlines some 200 calls of nested helpers, and those copies were over a
quarter of its cold compile (cProfile). The IR being fresh, the copies guard nothing: while
`InlineWorker.inline_function` splices it, `copy.deepcopy` as numba's inliner sees it gives
its argument back. Other users of the inliner (typed overload inlining, whose callee IR is
cached and must stay intact) still copy. The machine code is the same (tests compare renders).
"""

from __future__ import annotations

import copy
import threading

_splicing = threading.local()  # .on: inline_function is splicing an IR it just built


class _InlinerCopy:
    """The `copy` module as numba's inliner reaches it."""

    def __getattr__(self, name: str):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        if getattr(_splicing, "on", False):
            return value
        return copy.deepcopy(value, memo)


def install() -> None:
    """Patch numba's InlineWorker (once; before anything compiles)."""
    from numba.core import inline_closurecall as inliner

    if isinstance(inliner.copy, _InlinerCopy):
        return

    def inline_function(self, caller_ir, block, i, function, arg_typs=None):
        # numba's own body, with the splice marked (its callee IR is built here, held by no one)
        callee_ir = self.run_untyped_passes(function)
        freevars = function.__code__.co_freevars
        _splicing.on = True
        try:
            return self.inline_ir(caller_ir, block, i, callee_ir, freevars, arg_typs=arg_typs)
        finally:
            _splicing.on = False

    inliner.copy = _InlinerCopy()
    inliner.InlineWorker.inline_function = inline_function
