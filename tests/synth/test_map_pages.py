"""native_pin.map_pages: every page of an array mapped, its contents kept."""

from __future__ import annotations

import mmap
import resource

import numpy as np
import pytest

from dmusd.synth.engine.native_pin import map_pages

PAGES = 16384  # 64 MiB: above glibc's largest mmap threshold, so calloc gives unmapped pages


def _faults_touching(array: np.ndarray) -> int:
    """Minor page faults this thread takes writing one byte in every page of the array."""
    flat = array.reshape(-1).view(np.uint8)
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    flat[:: mmap.PAGESIZE] = 1
    return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before


def test_every_page_is_mapped_before_the_first_touch():
    size = PAGES * mmap.PAGESIZE // 8
    assert _faults_touching(np.zeros(size)) >= 16  # the premise: a fresh array's pages fault
    mapped = np.zeros(size)
    map_pages(mapped)
    assert _faults_touching(mapped) <= 2


def test_the_contents_stay_as_they_were():
    rng = np.random.default_rng(7)
    for shape in ((3,), (1000, 7), (5, 4096), (2, 3, 4099)):
        array = rng.standard_normal(shape).astype(np.float32)
        expected = array.copy()
        map_pages(array)
        np.testing.assert_array_equal(array, expected)
    map_pages(np.zeros(0))  # nothing to map


def test_a_strided_view_is_refused():
    with pytest.raises(ValueError, match="C-contiguous"):
        map_pages(np.zeros((8, 8))[:, ::2])
