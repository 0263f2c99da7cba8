"""The pin call's C entry, `render_pin`, as numba compiles it (layout: native_pin.py).

Only the engine's build imports this module (engine_library.py): its cfunc compiles, or loads
from numba's cache, at import. numba keys a cached cfunc on its own file, so the entry and the
readers it inlines live here together.
"""

from __future__ import annotations

import numpy as np
from numba import carray, cfunc, types

from dmusd.synth.engine import native_pin as N
from dmusd.synth.engine.jit import materialize, realtime_inline

materialize()  # the cfunc below compiles at import: what it calls must be numba's by then

from dmusd.synth.engine.pin_render import pin_render  # noqa: E402
from dmusd.synth.engine.pointer import pointer  # noqa: E402

# the layout as plain globals: numba takes them for compile-time constants
BANK, BANKS, BANK_SIZE, SIZE = N.BANK, N.BANKS, N.BANK_SIZE, N.SIZE
BLOCK_START, BLOCK_END = N.BLOCK_START, N.BLOCK_END
_S, _R, _T = N.STATE_SLOTS, N.ENGINE_SLOTS, N.TABLE_SLOTS


# One reader per dtype and rank: carray needs its dtype and rank at compile time.
@realtime_inline
def _i64_1(d, k):
    return carray(pointer(d[k]), (d[k + 1],), np.int64)


@realtime_inline
def _i64_2(d, k):
    return carray(pointer(d[k]), (d[k + 1], d[k + 2]), np.int64)


@realtime_inline
def _i64_3(d, k):
    return carray(pointer(d[k]), (d[k + 1], d[k + 2], d[k + 3]), np.int64)


@realtime_inline
def _f64_1(d, k):
    return carray(pointer(d[k]), (d[k + 1],), np.float64)


@realtime_inline
def _f64_2(d, k):
    return carray(pointer(d[k]), (d[k + 1], d[k + 2]), np.float64)


@realtime_inline
def _f64_3(d, k):
    return carray(pointer(d[k]), (d[k + 1], d[k + 2], d[k + 3]), np.float64)


@realtime_inline
def _f32_1(d, k):
    return carray(pointer(d[k]), (d[k + 1],), np.float32)


@realtime_inline
def _f32_2(d, k):
    return carray(pointer(d[k]), (d[k + 1], d[k + 2]), np.float32)


RENDER_PIN_SIGNATURE = types.int64(
    types.voidptr, types.voidptr, types.int64, types.int64, types.int64
)


@cfunc(RENDER_PIN_SIGNATURE, cache=True)
def render_pin(descriptor, output, frames, position, running):  # pragma: no cover
    """Mix `frames` frames of the pin from stream sample `position` into output (frames x the
    engine's output columns, float32, added to); running: the pin is in RUN. Returns 0."""
    d = carray(descriptor, (SIZE,), np.int64)
    d[BLOCK_START] += 1
    out = carray(output, (frames, d[_R[22] + 2]), np.float32)  # as wide as the scratch block
    b = BANKS + BANK_SIZE * d[BANK]
    S = (
        _i64_2(d, _S[0]),
        _f64_1(d, _S[1]),
        _i64_1(d, _S[2]),
        _i64_2(d, _S[3]),
        _f64_1(d, _S[4]),
        _i64_2(d, _S[5]),
        _i64_2(d, _S[6]),
        _f64_2(d, _S[7]),
        _i64_2(d, _S[8]),
        _i64_1(d, _S[9]),
        _i64_1(d, _S[10]),
        _i64_1(d, _S[11]),
        _f64_1(d, _S[12]),
    )
    T = (
        _i64_2(d, b + _T[0]),
        _i64_2(d, b + _T[1]),
        _f64_2(d, b + _T[2]),
        _i64_2(d, b + _T[3]),
        _f64_1(d, b + _T[4]),
        _i64_1(d, b + _T[5]),
    )
    R = (
        _i64_2(d, _R[0]),
        _f64_2(d, _R[1]),
        _i64_3(d, _R[2]),
        _f64_3(d, _R[3]),
        _f64_2(d, _R[4]),
        _f64_2(d, _R[5]),
        _f32_1(d, b + _T[6]),  # the pool
        _f32_2(d, _R[6]),
        _i64_2(d, _R[7]),
        _f64_1(d, _R[8]),
        _i64_1(d, _R[9]),
        _i64_1(d, _R[10]),
        _f64_1(d, _R[11]),
        _f64_1(d, _R[12]),
        _f64_1(d, _R[13]),
        _f32_2(d, _R[14]),
        _f32_1(d, _R[15]),
        _f32_1(d, _R[16]),
        _i64_2(d, _R[17]),
        _f64_2(d, _R[18]),
        _f32_1(d, _R[19]),
        _i64_1(d, _R[20]),
        _f64_1(d, _R[21]),
        _f32_2(d, _R[22]),
    )
    pin_render(frames, out, position, running != 0, S, T, R)
    d[BLOCK_END] += 1
    return 0
