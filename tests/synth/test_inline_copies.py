"""numba's inliner with inline_copies' patch: an inline="always" helper spliced at several sites,
in one caller and in another, each with its own variables, computes what Python computes."""

from __future__ import annotations

import numpy as np
from numba import njit

from dmusd.synth.engine import inline_copies


def test_a_helper_inlined_at_many_sites_keeps_each_sites_variables():
    inline_copies.install()  # as jit.materialize does; idempotent

    @njit(inline="always", _nrt=False)
    def ramp(out, start, step):
        acc = start
        for i in range(out.shape[0]):
            out[i] += acc
            acc += step
        return acc

    @njit(inline="always", _nrt=False)
    def twice(out, start):
        first = ramp(out, start, 1.0)  # the helper inlined twice inside another inlined one
        return ramp(out, first, -0.5)

    @njit(_nrt=False)
    def caller(a, b):
        x = twice(a, 2.0)
        y = ramp(b, x, 3.0)
        return x + twice(b, y)

    @njit(_nrt=False)
    def other(a):
        return ramp(a, 7.0, 0.25)

    a, b = np.zeros(5), np.zeros(3)
    a2, b2 = np.zeros(5), np.zeros(3)
    got = caller(a, b)
    want = caller.py_func(a2, b2)  # the helpers compiled each on its own, not inlined
    assert got == want and np.array_equal(a, a2) and np.array_equal(b, b2)
    c, c2 = np.zeros(4), np.zeros(4)
    assert other(c) == other.py_func(c2) and np.array_equal(c, c2)
    assert a.any() and b.any() and c.any()
