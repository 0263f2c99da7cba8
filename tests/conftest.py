"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest

from dmusd.kernel.allocator import AllocatorMXF


@pytest.fixture
def allocator():
    """An event pool whose invariant is asserted after the test, and that must end full."""
    pools: list[AllocatorMXF] = []

    def make(events: int = 256, buffers: int = 16, buffer_size: int = 64) -> AllocatorMXF:
        pool = AllocatorMXF(events, buffers, buffer_size)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.check()
