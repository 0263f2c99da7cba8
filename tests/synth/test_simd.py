"""The vector tap sums (simd.py): the compiled intrinsics give their Python bodies' values to the
bit, and the voice loop's two paths (fill_fast with them, fill_wrapping tap by tap) give the
same samples, so where a block is cut never changes the output."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from dmusd.synth.engine import jit
from dmusd.synth.engine import layout as L
from dmusd.synth.engine.interpolation import SINC_ROW, make_table

jit.materialize()
from dmusd.synth.engine import simd  # noqa: E402  (the intrinsics, now numba's)
from dmusd.synth.engine.interpolation import fill_fast, fill_wrapping  # noqa: E402


@njit
def _compiled_sums(pool, table, firsts, rows, out4, out8):
    for i in range(firsts.shape[0]):
        out4[i] = simd.taps4(pool, firsts[i], table, rows[i])
        out8[i] = simd.taps8(pool, firsts[i], table, SINC_ROW + 2 * rows[i])


def test_the_intrinsics_equal_their_python_bodies_to_the_bit():
    rng = np.random.default_rng(7)
    pool = rng.standard_normal(4096).astype(np.float32)
    table = make_table()
    firsts = rng.integers(0, 4000, 500)
    rows = rng.integers(0, 1025, 500)
    out4, out8 = np.zeros(500, np.float32), np.zeros(500, np.float32)
    _compiled_sums(pool, table, firsts, rows, out4, out8)
    pairs = list(zip(firsts, rows, strict=True))
    want4 = [simd._taps4(pool, f, table, r) for f, r in pairs]
    want8 = [simd._taps8(pool, f, table, SINC_ROW + 2 * r) for f, r in pairs]
    assert out4.tobytes() == np.array(want4, np.float32).tobytes()
    assert out8.tobytes() == np.array(want8, np.float32).tobytes()
    # and they are the dot products they stand for (to float32 rounding)
    assert np.allclose(out4[:3], [pool[f : f + 4] @ table[r] for f, r in pairs[:3]])


@pytest.mark.parametrize("mode", [L.INTERP_CUBIC, L.INTERP_SINC, L.INTERP_LINEAR])
def test_a_loop_played_tap_by_tap_equals_the_same_wave_played_straight(mode):
    """A loop of P samples over a periodic wave: fill_wrapping wraps every tap that crosses its
    end; fill_fast reads the same values from a long copy of the period without wrapping."""
    rng = np.random.default_rng(3)
    period = 37
    cycle = rng.standard_normal(period).astype(np.float32)
    looped = np.concatenate([np.zeros(L.GUARD, np.float32), np.tile(cycle, 3)])
    looped = np.concatenate([looped, np.zeros(L.GUARD, np.float32)])
    straight = np.concatenate([np.zeros(L.GUARD, np.float32), np.tile(cycle, 200)])
    table = make_table()
    n = 1000
    inc = int(1.37 * L.FRAC_ONE)
    start = (period + 5) * L.FRAC_ONE + 12345  # inside the loop [P, 2P)
    wrapped_out = np.zeros(n, np.float32)
    straight_out = np.zeros(n, np.float32)
    _, _, wrapped, written = fill_wrapping(
        mode, looped, L.GUARD, 3 * period, True, 1, period, 2 * period, start, inc, 0, n,
        wrapped_out, table,
    )  # fmt: skip
    fill_fast(mode, straight, L.GUARD, start, inc, 0, n, straight_out, 0, table)
    assert written == n and wrapped == 1
    assert wrapped_out.tobytes() == straight_out.tobytes()
