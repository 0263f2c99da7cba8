"""SamplePool: waves placed once at offsets that never move, holes reused first, and the memory
of freed spans and of the tail given back to the system (measured on this process's RSS)."""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.errors import StateError
from dmusd.synth.engine import layout as L
from dmusd.synth.engine.sample_pool import SamplePool
from tests.support import resident_mb

BIG = 16 << 20  # samples: 64 MiB of float32, far above the RSS noise of a test run


def test_a_wave_already_in_the_pool_is_not_copied_again():
    pool = SamplePool(64)
    data = np.linspace(-1.0, 1.0, 40)
    offset = pool.add_wave(data)
    used = pool.used
    view = pool.view(offset, 40)
    assert np.shares_memory(view, pool.array) and np.allclose(view, data)
    assert pool.add_wave(view) == offset and pool.used == used
    # the pool grows: the old view reads the old copy and is still known by its offset
    big = pool.add_wave(np.ones(1000))
    assert not np.shares_memory(view, pool.array)
    assert pool.add_wave(view) == offset and pool.used == big + 1000 + L.GUARD
    assert np.array_equal(pool.view(offset, 40), view)
    # an equal array that is not a view of this pool is a new wave
    other = SamplePool()
    assert other.add_wave(view) == L.GUARD and other.used == L.GUARD + 40 + L.GUARD


def test_freed_spans_are_cleared_merged_and_reused_first():
    pool = SamplePool(4096)
    a = pool.add_wave(np.ones(100))
    b = pool.add_wave(np.full(50, 0.5))
    c = pool.add_wave(np.ones(30))
    end = pool.used
    pool.free_wave(a, 100)
    assert not pool.array[a : a + 100].any() and pool.free == 100 + L.GUARD
    d = pool.add_wave(np.full(60, -0.5))  # first fit: in a's hole, with its guard after
    assert d == a and pool.used == end
    assert not pool.array[d + 60 : d + 60 + L.GUARD].any()
    assert pool.free == 100 - 60
    pool.free_wave(b, 50)  # joins the rest of a's hole
    assert pool.free == 100 - 60 + 50 + L.GUARD
    pool.free_wave(c, 30)  # the last wave: the holes before the end go with it
    assert pool.used == d + 60 + L.GUARD and pool.free == 0
    assert np.all(pool.array[d : d + 60] == np.float32(-0.5))
    assert not pool.array[d + 60 :].any()  # every sample that is no wave's is zero
    with pytest.raises(StateError, match="not in the sample pool"):
        pool.free_wave(end, 10)


def test_a_freed_hole_and_the_tail_go_back_to_the_system():
    pool = SamplePool()
    start = resident_mb()
    first = pool.add_wave(np.full(BIG, 0.25, dtype=np.float32))
    last = pool.add_wave(np.full(BIG, 0.5, dtype=np.float32))
    assert resident_mb() > start + 120
    pool.free_wave(first, BIG)  # a hole in the middle: the offsets after it stay
    assert resident_mb() < start + 64 + 8
    assert not pool.array[first : first + BIG].any() and pool.view(last, 3).tolist() == [0.5] * 3
    pool.free_wave(last, BIG)  # the end: the pool is empty again
    assert pool.used == L.GUARD and resident_mb() < start + 8


def test_a_growth_copies_the_live_waves_and_leaves_the_holes_unbacked():
    pool = SamplePool()
    start = resident_mb()
    hole = pool.add_wave(np.ones(BIG, dtype=np.float32))
    kept = pool.add_wave(np.full(1000, 0.75, dtype=np.float32))
    pool.free_wave(hole, BIG)
    old = pool.array
    pool.reserve(1, 2 * BIG)  # a bigger array: only the live wave is copied into it
    assert pool.array is not old and pool.array.size > 3 * BIG
    del old
    assert resident_mb() < start + 8
    assert np.all(pool.view(kept, 1000) == np.float32(0.75))
    assert not pool.array[hole : hole + BIG].any()
    assert pool.add_wave(np.ones(10)) == hole  # the hole is still the first fit
