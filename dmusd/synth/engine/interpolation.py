"""Reading a wave at a fractional position: linear, 4-point cubic Hermite, 8-tap windowed sinc.

`fill_fast` is the hot loop: it runs when every tap of every sample of the segment lies inside
the wave (or inside the loop), so it needs no bounds or wrap checks. `fill_wrapping` handles the
few segments that touch a loop end or the wave end, wrapping each tap on its own so a seamless
loop plays seamlessly with any interpolation.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dmusd.synth.engine import layout as L

SINC_TAPS = 8  # taps at offsets -3 .. +4 around the integer position
SINC_PHASES = 1024  # table rows; the nearest row to the fraction is used
SINC_BETA = 7.0  # Kaiser window shape

# Taps each mode reads left / right of the integer position.
TAPS_LEFT = np.array([0, 1, 3], dtype=np.int64)
TAPS_RIGHT = np.array([1, 2, 4], dtype=np.int64)


def make_sinc_table() -> np.ndarray:
    """The (SINC_PHASES + 1, SINC_TAPS) float32 table of Kaiser-windowed sinc coefficients."""
    frac = np.arange(SINC_PHASES + 1, dtype=np.float64)[:, None] / SINC_PHASES
    x = np.arange(-3, 5, dtype=np.float64)[None, :] - frac
    window = np.i0(SINC_BETA * np.sqrt(np.clip(1.0 - (x / 4.0) ** 2, 0.0, 1.0))) / np.i0(SINC_BETA)
    table = np.sinc(x) * window
    table /= table.sum(axis=1, keepdims=True)  # unity gain at DC for every phase
    return table.astype(np.float32)


@njit(nogil=True, cache=True, inline="always")
def _cubic(a: float, b: float, c: float, d: float, f: float) -> float:
    # Catmull-Rom Hermite through b (f = 0) and c (f = 1)
    return b + 0.5 * f * (
        c - a + f * (2.0 * a - 5.0 * b + 4.0 * c - d + f * (3.0 * (b - c) + d - a))
    )


@njit(nogil=True, cache=True)
def fill_fast(mode, pool, base, pos, inc, dinc, n, buf, sinc):
    """Interpolate n samples from pool[base + pos ...] into buf; return (pos, inc) after them."""
    if mode == L.INTERP_CUBIC:
        for j in range(n):
            i = int(pos)
            f = np.float32(pos - i)
            k = base + i
            buf[j] = _cubic(pool[k - 1], pool[k], pool[k + 1], pool[k + 2], f)
            pos += inc
            inc += dinc
    elif mode == L.INTERP_LINEAR:
        for j in range(n):
            i = int(pos)
            f = np.float32(pos - i)
            k = base + i
            a = pool[k]
            buf[j] = a + f * (pool[k + 1] - a)
            pos += inc
            inc += dinc
    else:
        for j in range(n):
            i = int(pos)
            row = int((pos - i) * SINC_PHASES + 0.5)
            k = base + i - 3
            acc = np.float32(0.0)
            for t in range(SINC_TAPS):
                acc += pool[k + t] * sinc[row, t]
            buf[j] = acc
            pos += inc
            inc += dinc
    return pos, inc


@njit(nogil=True, cache=True, inline="always")
def _tap(pool, base, j, length, looping, wrapped, ls, le):
    if looping and (j >= le or (wrapped and j < ls)):
        j = ls + (j - ls) % (le - ls)
    if j < -L.GUARD or j >= length + L.GUARD:
        return np.float32(0.0)
    return pool[base + j]


@njit(nogil=True, cache=True)
def fill_wrapping(mode, pool, base, length, looping, wrapped, ls, le, pos, inc, dinc, n, buf, sinc):
    """Like fill_fast, but wraps the position at the loop end and each tap around the loop.

    Returns (pos, inc, wrapped, samples written); fewer than n means a one-shot ran past its end.
    """
    for j in range(n):
        if looping and pos >= le:
            pos = ls + (pos - ls) % (le - ls)
            wrapped = 1
        i = int(pos)
        if i >= length:
            return pos, inc, wrapped, j
        f = pos - i
        if mode == L.INTERP_CUBIC:
            a = _tap(pool, base, i - 1, length, looping, wrapped, ls, le)
            b = _tap(pool, base, i, length, looping, wrapped, ls, le)
            c = _tap(pool, base, i + 1, length, looping, wrapped, ls, le)
            d = _tap(pool, base, i + 2, length, looping, wrapped, ls, le)
            buf[j] = _cubic(a, b, c, d, np.float32(f))
        elif mode == L.INTERP_LINEAR:
            a = _tap(pool, base, i, length, looping, wrapped, ls, le)
            b = _tap(pool, base, i + 1, length, looping, wrapped, ls, le)
            buf[j] = a + np.float32(f) * (b - a)
        else:
            row = int(f * SINC_PHASES + 0.5)
            acc = np.float32(0.0)
            for t in range(SINC_TAPS):
                acc += _tap(pool, base, i - 3 + t, length, looping, wrapped, ls, le) * sinc[row, t]
            buf[j] = acc
        pos += inc
        inc += dinc
    return pos, inc, wrapped, n


def cubic_reference(x: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Plain numpy 4-point Hermite of x at positions pos (for tests)."""
    i = np.floor(pos).astype(np.int64)
    f = pos - i
    xp = np.concatenate([[0.0], x, [0.0, 0.0]])
    a, b, c, d = xp[i], xp[i + 1], xp[i + 2], xp[i + 3]
    return b + 0.5 * f * (c - a + f * (2 * a - 5 * b + 4 * c - d + f * (3 * (b - c) + d - a)))
