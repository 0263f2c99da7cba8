"""Reading a wave at a fractional position: linear, 4-point cubic Hermite, 8-tap windowed sinc.

Positions are 32.32 fixed point (layout.FRAC_BITS): the integer part indexes the pool, the
fraction weights the taps. The cubic and sinc weights come from one table with rows per 1/1024
of a sample (the nearest phase is used, as FluidSynth does with 256): a dot product of the taps
and a row (simd.py: one vector load of each) instead of evaluating the polynomial, with a phase
error under 1/2048 of a sample. A row
holds four weights: rows 0 .. PHASES are the cubic weights, a 16 KiB block that stays in the L1
cache beside the waves (interleaved with the sinc taps it was 48 KiB, and its loads were the
voice loop's largest stall); each phase's 8 sinc taps follow as two rows.

Indices that cannot be negative are converted to unsigned (jit.unsigned): the cubic loop alone
over 256 voices went from 4.0-4.8 to 2.6-3.0 ns a sample.

`fill_fast` is the hot loop: it runs when every tap of every sample of the stretch lies inside
the wave (or inside the loop), so it needs no bounds or wrap checks. A stretch that crosses a
loop's end goes through `fill_loop`: the loop is laid out end to end in a window, as many times
as the stretch reads it, and fill_fast reads the window (a quarter of GM loops are under 70
samples, and such a loop wraps several times in every stretch). `fill_wrapping` handles the rest
(a wave's end, a stretch too long for the window), wrapping each tap of the samples near an end
on its own, so a seamless loop plays seamlessly with any interpolation. All three compute a
sample the same way (products added in simd.sum4's order) from the same wave samples, so which
one runs (which depends on where blocks are cut) never changes the output.
"""

from __future__ import annotations

import numpy as np

from dmusd.synth.engine import layout as L
from dmusd.synth.engine.jit import realtime, realtime_inline, realtime_llvm_inline, unsigned
from dmusd.synth.engine.simd import sum4, taps4, taps8

PHASE_BITS = 10
PHASES = 1 << PHASE_BITS  # a sample's fractions in the table; the nearest one is used
SINC_BETA = 7.0  # Kaiser window shape
SINC_ROW = PHASES + 1  # the first sinc row: phase p's taps are rows SINC_ROW + 2p, + 2p + 1

# Taps each mode reads left / right of the integer position.
TAPS_LEFT = np.array([0, 1, 3], dtype=np.int64)
TAPS_RIGHT = np.array([1, 2, 4], dtype=np.int64)

# Room for one stretch of a loop laid out end to end: a 64-sample stretch up to 63 times the
# wave's rate; a longer reach goes through fill_wrapping.
LOOP_WINDOW = 4096
MIN_WINDOW_LOOP = 4  # shorter loops: a tap left of the loop start would need the wrap flag of
# the sample it is read for, which the window cannot know (fill_wrapping takes them)

_FRAC_SCALE = np.float32(1.0 / L.FRAC_ONE)
_ROW_SHIFT = L.FRAC_BITS - PHASE_BITS
_ROW_ROUND = 1 << (_ROW_SHIFT - 1)


def make_table() -> np.ndarray:
    """The (3 (PHASES + 1), 4) float32 table: per phase the 4 Catmull-Rom (cubic Hermite)
    weights for x[-1] .. x[2], then per phase the 8 Kaiser-windowed sinc taps."""
    frac = np.arange(PHASES + 1, dtype=np.float64)[:, None] / PHASES
    x = np.arange(-3, 5, dtype=np.float64)[None, :] - frac
    window = np.i0(SINC_BETA * np.sqrt(np.clip(1.0 - (x / 4.0) ** 2, 0.0, 1.0))) / np.i0(SINC_BETA)
    sinc = np.sinc(x) * window
    sinc /= sinc.sum(axis=1, keepdims=True)  # unity gain at DC for every phase
    f = frac[:, 0]
    cubic = np.stack(
        [
            -0.5 * f**3 + f**2 - 0.5 * f,
            1.5 * f**3 - 2.5 * f**2 + 1.0,
            -1.5 * f**3 + 2.0 * f**2 + 0.5 * f,
            0.5 * f**3 - 0.5 * f**2,
        ],
        axis=1,
    )
    return np.concatenate([cubic, sinc.reshape(-1, 4)]).astype(np.float32)


@realtime_inline
def _row(frac):
    return (frac + _ROW_ROUND) >> _ROW_SHIFT


@realtime_inline
def fill_fast(mode, pool, base, pos, inc, dinc, n, buf, at, table):
    """Interpolate n samples from pool[base + pos ...] into buf[at:at + n]; return (pos, inc)
    after them."""
    if mode == L.INTERP_CUBIC:
        for j in range(n):
            k = base + (pos >> L.FRAC_BITS)
            buf[unsigned(at + j)] = taps4(pool, k - 1, table, _row(pos & L.FRAC_MASK))
            pos += inc
            inc += dinc
    elif mode == L.INTERP_LINEAR:
        for j in range(n):
            k = base + (pos >> L.FRAC_BITS)
            f = np.float32(pos & L.FRAC_MASK) * _FRAC_SCALE
            a = pool[unsigned(k)]
            buf[unsigned(at + j)] = a + f * (pool[unsigned(k + 1)] - a)
            pos += inc
            inc += dinc
    else:
        for j in range(n):
            k = base + (pos >> L.FRAC_BITS) - 3
            buf[unsigned(at + j)] = taps8(pool, k, table, SINC_ROW + 2 * _row(pos & L.FRAC_MASK))
            pos += inc
            inc += dinc
    return pos, inc


@realtime_inline
def fill_loop(mode, pool, base, ls, le, wrapped, pos, inc, dinc, n, buf, window, table):
    """fill_wrapping's samples for a looping stretch, by way of the loop laid out end to end.

    Returns (pos, inc, wrapped, done); done is False when the stretch reads more than the window
    holds (pos may then have been wrapped, as fill_wrapping would first do too). Position x of
    the stretch, counted on without wrapping, reads the wave at x below the loop end (or, once
    wrapped, back at its congruent place in the loop), and past it at its place in the loop.
    """
    span = le - ls
    ls_fp = ls << L.FRAC_BITS
    span_fp = span << L.FRAC_BITS
    if pos >= ls_fp + span_fp:
        pos = ls_fp + (pos - ls_fp) % span_fp
        wrapped = 1
    first = (pos >> L.FRAC_BITS) - TAPS_LEFT[mode]
    reach = (pos + n * max(inc, inc + n * dinc)) >> L.FRAC_BITS
    size = reach + TAPS_RIGHT[mode] + 2 - first
    if size > window.shape[0]:
        return pos, inc, wrapped, False
    m = first + span if (wrapped and first < ls) else first
    k = 0
    while k < size:  # runs of the wave up to the loop end, each then from the loop start
        run = min(size - k, le - m)
        for t in range(run):
            window[unsigned(k + t)] = pool[unsigned(base + m + t)]
        k += run
        m = ls
    pos, inc = fill_fast(mode, window, -first, pos, inc, dinc, n, buf, 0, table)
    # fill_wrapping wraps a position when it is played: the one after the last sample, unplayed,
    # is left where the last one's wrap puts it (a release loop plays on from there)
    last = pos - (inc - dinc)
    if last >= ls_fp + span_fp:
        pos -= (last - ls_fp) // span_fp * span_fp
        wrapped = 1
    return pos, inc, wrapped, True


@realtime_llvm_inline
def _tap(pool, base, j, length, looping, wrapped, ls, le):
    if looping:
        # a tap is a few samples past an end: stepping by the loop is cheaper than the integer
        # division of a modulo, four of which each such sample took (the same index)
        span = le - ls
        while j >= le:
            j -= span
        while wrapped and j < ls:
            j += span
    if j < -L.GUARD or j >= length + L.GUARD:
        return np.float32(0.0)
    return pool[unsigned(base + j)]  # a wave has GUARD samples before it in the pool


@realtime
def fill_wrapping(
    mode, pool, base, length, looping, wrapped, ls, le, pos, inc, dinc, n, buf, table
):
    """Like fill_fast, but wraps the position at the loop end and each tap around the loop.

    Returns (pos, inc, wrapped, samples written); fewer than n means a one-shot ran past its end.
    Only the samples whose taps reach past an end are computed tap by tap: the runs between
    them go through fill_fast, which gives them the same values (a short loop at a high pitch
    wraps in nearly every stretch, so this path is not rare).
    """
    ls_fp = ls << L.FRAC_BITS
    le_fp = le << L.FRAC_BITS
    hi = le if looping else length
    fast_end = (hi - TAPS_RIGHT[mode] - 1) << L.FRAC_BITS  # a sample before it has every tap in
    left_taps = TAPS_LEFT[mode]
    j = 0
    while j < n:
        if looping and pos >= le_fp:
            pos = ls_fp + (pos - ls_fp) % (le_fp - ls_fp)
            wrapped = 1
        i = pos >> L.FRAC_BITS
        if i >= length:
            return pos, inc, wrapped, j
        lo = ls if (looping and wrapped) else -L.GUARD
        room = fast_end - pos
        if room > 0 and i - left_taps >= lo:
            # every step of the rest of the stretch is at most the larger end of the ramp
            step = max(inc, inc + (n - j) * dinc, 1)
            m = min((room - 1) // step + 1, n - j)
            pos, inc = fill_fast(mode, pool, base, pos, inc, dinc, m, buf, j, table)
            j += m
            continue
        frac = pos & L.FRAC_MASK
        row = _row(frac)
        if mode == L.INTERP_CUBIC:
            buf[j] = sum4(
                _tap(pool, base, i - 1, length, looping, wrapped, ls, le) * table[row, 0],
                _tap(pool, base, i, length, looping, wrapped, ls, le) * table[row, 1],
                _tap(pool, base, i + 1, length, looping, wrapped, ls, le) * table[row, 2],
                _tap(pool, base, i + 2, length, looping, wrapped, ls, le) * table[row, 3],
            )
        elif mode == L.INTERP_LINEAR:
            a = _tap(pool, base, i, length, looping, wrapped, ls, le)
            b = _tap(pool, base, i + 1, length, looping, wrapped, ls, le)
            buf[j] = a + np.float32(frac) * _FRAC_SCALE * (b - a)
        else:
            r = SINC_ROW + 2 * row  # taps -3 .. 0; the next row has +1 .. +4
            buf[j] = sum4(
                _tap(pool, base, i - 3, length, looping, wrapped, ls, le) * table[r, 0]
                + _tap(pool, base, i + 1, length, looping, wrapped, ls, le) * table[r + 1, 0],
                _tap(pool, base, i - 2, length, looping, wrapped, ls, le) * table[r, 1]
                + _tap(pool, base, i + 2, length, looping, wrapped, ls, le) * table[r + 1, 1],
                _tap(pool, base, i - 1, length, looping, wrapped, ls, le) * table[r, 2]
                + _tap(pool, base, i + 3, length, looping, wrapped, ls, le) * table[r + 1, 2],
                _tap(pool, base, i, length, looping, wrapped, ls, le) * table[r, 3]
                + _tap(pool, base, i + 4, length, looping, wrapped, ls, le) * table[r + 1, 3],
            )
        pos += inc
        inc += dinc
        j += 1
    return pos, inc, wrapped, n
