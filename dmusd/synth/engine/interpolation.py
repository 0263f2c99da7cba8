"""Reading a wave at a fractional position: linear, 4-point cubic Hermite, 8-tap windowed sinc.

Positions are 32.32 fixed point (layout.FRAC_BITS): the integer part indexes the pool, the
fraction weights the taps. `fill_fast` is the hot loop: it runs when every tap of every sample
of the stretch lies inside the wave (or inside the loop), so it needs no bounds or wrap checks.
`fill_wrapping` handles the few stretches that touch a loop end or the wave end, wrapping each
tap on its own so a seamless loop plays seamlessly with any interpolation.
"""

from __future__ import annotations

import numpy as np

from dmusd.synth.engine import layout as L
from dmusd.synth.engine.jit import realtime, realtime_inline

SINC_TAPS = 8  # taps at offsets -3 .. +4 around the integer position
SINC_PHASE_BITS = 10
SINC_PHASES = 1 << SINC_PHASE_BITS  # table rows; the nearest row to the fraction is used
SINC_BETA = 7.0  # Kaiser window shape

# Taps each mode reads left / right of the integer position.
TAPS_LEFT = np.array([0, 1, 3], dtype=np.int64)
TAPS_RIGHT = np.array([1, 2, 4], dtype=np.int64)

_FRAC_SCALE = np.float32(1.0 / L.FRAC_ONE)
_ROW_SHIFT = L.FRAC_BITS - SINC_PHASE_BITS
_ROW_ROUND = 1 << (_ROW_SHIFT - 1)
_HALF = np.float32(0.5)
_TWO = np.float32(2.0)
_THREE = np.float32(3.0)
_FOUR = np.float32(4.0)
_FIVE = np.float32(5.0)


def make_sinc_table() -> np.ndarray:
    """The (SINC_PHASES + 1, SINC_TAPS) float32 table of Kaiser-windowed sinc coefficients."""
    frac = np.arange(SINC_PHASES + 1, dtype=np.float64)[:, None] / SINC_PHASES
    x = np.arange(-3, 5, dtype=np.float64)[None, :] - frac
    window = np.i0(SINC_BETA * np.sqrt(np.clip(1.0 - (x / 4.0) ** 2, 0.0, 1.0))) / np.i0(SINC_BETA)
    table = np.sinc(x) * window
    table /= table.sum(axis=1, keepdims=True)  # unity gain at DC for every phase
    return table.astype(np.float32)


@realtime_inline
def _cubic(a, b, c, d, f):
    # Catmull-Rom Hermite through b (f = 0) and c (f = 1), all in float32
    return b + _HALF * f * (
        c - a + f * (_TWO * a - _FIVE * b + _FOUR * c - d + f * (_THREE * (b - c) + d - a))
    )


@realtime_inline
def fill_fast(mode, pool, base, pos, inc, dinc, n, buf, sinc):
    """Interpolate n samples from pool[base + pos ...] into buf; return (pos, inc) after them."""
    if mode == L.INTERP_CUBIC:
        for j in range(n):
            k = base + (pos >> L.FRAC_BITS)
            f = np.float32(pos & L.FRAC_MASK) * _FRAC_SCALE
            buf[j] = _cubic(pool[k - 1], pool[k], pool[k + 1], pool[k + 2], f)
            pos += inc
            inc += dinc
    elif mode == L.INTERP_LINEAR:
        for j in range(n):
            k = base + (pos >> L.FRAC_BITS)
            f = np.float32(pos & L.FRAC_MASK) * _FRAC_SCALE
            a = pool[k]
            buf[j] = a + f * (pool[k + 1] - a)
            pos += inc
            inc += dinc
    else:
        for j in range(n):
            k = base + (pos >> L.FRAC_BITS) - 3
            row = ((pos & L.FRAC_MASK) + _ROW_ROUND) >> _ROW_SHIFT
            acc = np.float32(0.0)
            for t in range(SINC_TAPS):
                acc += pool[k + t] * sinc[row, t]
            buf[j] = acc
            pos += inc
            inc += dinc
    return pos, inc


@realtime_inline
def _tap(pool, base, j, length, looping, wrapped, ls, le):
    if looping and (j >= le or (wrapped and j < ls)):
        j = ls + (j - ls) % (le - ls)
    if j < -L.GUARD or j >= length + L.GUARD:
        return np.float32(0.0)
    return pool[base + j]


@realtime
def fill_wrapping(mode, pool, base, length, looping, wrapped, ls, le, pos, inc, dinc, n, buf, sinc):
    """Like fill_fast, but wraps the position at the loop end and each tap around the loop.

    Returns (pos, inc, wrapped, samples written); fewer than n means a one-shot ran past its end.
    """
    ls_fp = ls << L.FRAC_BITS
    le_fp = le << L.FRAC_BITS
    for j in range(n):
        if looping and pos >= le_fp:
            pos = ls_fp + (pos - ls_fp) % (le_fp - ls_fp)
            wrapped = 1
        i = pos >> L.FRAC_BITS
        if i >= length:
            return pos, inc, wrapped, j
        frac = pos & L.FRAC_MASK
        f = np.float32(frac) * _FRAC_SCALE
        if mode == L.INTERP_CUBIC:
            a = _tap(pool, base, i - 1, length, looping, wrapped, ls, le)
            b = _tap(pool, base, i, length, looping, wrapped, ls, le)
            c = _tap(pool, base, i + 1, length, looping, wrapped, ls, le)
            d = _tap(pool, base, i + 2, length, looping, wrapped, ls, le)
            buf[j] = _cubic(a, b, c, d, f)
        elif mode == L.INTERP_LINEAR:
            a = _tap(pool, base, i, length, looping, wrapped, ls, le)
            b = _tap(pool, base, i + 1, length, looping, wrapped, ls, le)
            buf[j] = a + f * (b - a)
        else:
            row = (frac + _ROW_ROUND) >> _ROW_SHIFT
            acc = np.float32(0.0)
            for t in range(SINC_TAPS):
                acc += _tap(pool, base, i - 3 + t, length, looping, wrapped, ls, le) * sinc[row, t]
            buf[j] = acc
        pos += inc
        inc += dinc
    return pos, inc, wrapped, n
