"""SamplePool: the one float32 array a pin's block call reads every wave from.

Each wave sits in it with GUARD zeros on either side, and every sample that is not a wave's is
zero. Offsets never move (a voice and the compiled tables hold them): the pool grows by a bigger
copy of its live spans, and a freed span goes to a hole list that later waves fill first.

Memory: the array lives on its own anonymous mapping, so pages cost nothing until a wave is
written there, and the whole pages of a freed span (a hole, or the tail past `used`) are given
back to the system with MADV_DONTNEED, after which they read as zeros again. The array itself
never shrinks: the block call may still hold it, and every live offset stays valid.

Threads: control threads place and free waves (serialised by a lock); the audio thread takes
the lock only to place a wave no download placed (a fixed instrument source), and reads
`array` once per block.
"""

from __future__ import annotations

import mmap
import threading
import weakref
from collections.abc import Callable

import numpy as np

from dmusd.errors import StateError
from dmusd.synth.engine.layout import GUARD

_ITEM = np.dtype(np.float32).itemsize
_PAGE = mmap.PAGESIZE // _ITEM  # samples per page


class SamplePool:
    """The sample memory of one engine."""

    def __init__(self, samples: int = 1 << 20) -> None:
        self._mapping, self.array = _mapped(max(samples, 4 * GUARD))
        self.used = GUARD  # samples up to the guard after the last wave
        self._holes: list[tuple[int, int]] = []  # (offset, samples) freed below `used`, sorted
        self._lock = threading.Lock()
        # every array this pool made, while a view still keeps one alive
        self._arrays: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()
        self._arrays[id(self.array)] = self.array
        # told of each new array (a pin's compiled call must render from it next)
        self.on_grow: Callable[[np.ndarray], None] | None = None

    def add_wave(self, samples: np.ndarray) -> int:
        """Place a mono wave (float, -1..1); returns its offset for VoiceSpec.

        A wave already here (a `view`, of this array or one it grew from) is not copied again:
        its offset comes back. Otherwise the data goes to the first hole it fits, or at the
        end; when the array must grow, a bigger copy replaces it and the next block uses it.
        """
        offset = self.offset_of(samples)
        if offset >= 0:
            return offset
        data = np.asarray(samples, dtype=np.float32).reshape(-1)
        with self._lock:
            offset = self._place(data.size)
            self.array[offset : offset + data.size] = data
        return offset

    def reserve(self, waves: int, samples: int) -> None:
        """Make room at the end for `waves` waves of `samples` in all, in one growth: a bank
        loaded wave by wave then never copies the array on the way."""
        with self._lock:
            self._grow(self.used + samples + waves * GUARD)

    def view(self, offset: int, length: int) -> np.ndarray:
        """The samples of the wave at `offset` (a view: the pool is their only copy). A view
        outlives a growth and reads the old copy: take a new one after add_wave."""
        return self.array[offset : offset + length]

    def free_wave(self, offset: int, length: int) -> None:
        """Give the span of a wave no voice plays any more back: it reads as zeros (so a later
        wave finds its guard there), and its whole pages go back to the system."""
        if offset < GUARD or length < 0 or offset + length > self.used:
            raise StateError(f"wave [{offset}, {offset + length}) is not in the sample pool")
        with self._lock:
            self.array[offset : min(_page_up(offset), offset + length)] = 0.0
            self.array[max(_page_down(offset + length), offset) : offset + length] = 0.0
            holes = [*self._holes, (offset, length + GUARD)]
            holes.sort()
            merged: list[tuple[int, int]] = []
            for start, size in holes:  # neighbours join into one hole
                if merged and merged[-1][0] + merged[-1][1] >= start:
                    last, last_size = merged[-1]
                    merged[-1] = (last, max(last_size, start + size - last))
                else:
                    merged.append((start, size))
            start, size = next(h for h in merged if h[0] <= offset < h[0] + h[1])
            end = start + size
            if end >= self.used:  # a hole at the end shortens the pool
                merged.pop()
                self.used, end = start, self.array.size  # its pages and the tail's go back
            self._release(start, end)
            self._holes = merged

    @property
    def free(self) -> int:
        """Samples in holes below `used`."""
        return sum(size for _, size in self._holes)

    def offset_of(self, samples: object) -> int:
        """The offset of a view into this pool (or an older copy of it); -1 if not."""
        base = getattr(samples, "base", None)
        if (
            base is None
            or self._arrays.get(id(base)) is not base
            or samples.dtype != np.float32
            or samples.ndim != 1
            or not samples.flags.c_contiguous
        ):
            return -1
        start = samples.__array_interface__["data"][0] - base.__array_interface__["data"][0]
        return start // samples.itemsize

    def _place(self, size: int) -> int:
        """Room for `size` samples and the guard after them: first fit in a hole, else the end.
        Called with the lock held."""
        need = size + GUARD
        for i, (start, room) in enumerate(self._holes):
            if room >= need:
                if room > need:
                    self._holes[i] = (start + need, room - need)
                else:
                    del self._holes[i]
                return start
        end = self.used + need
        if end > self.array.size:
            self._grow(max(end, 2 * self.array.size))
        offset = self.used
        self.used = end  # the guard after this wave is the one before the next
        return offset

    def _grow(self, size: int) -> None:
        """An array of `size` samples replaces this one (lock held). Only the live spans are
        copied: a hole's pages stay untouched in the new mapping, costing nothing."""
        if size <= self.array.size:
            return
        mapping, bigger = _mapped(size)
        start = 0
        for hole, room in [*self._holes, (self.used, 0)]:
            bigger[start:hole] = self.array[start:hole]
            start = hole + room
        self._arrays[id(bigger)] = bigger
        # the old mapping lives on while its array does: a render may still read it
        self._mapping, self.array = mapping, bigger
        if self.on_grow is not None:
            self.on_grow(bigger)

    def _release(self, start: int, end: int) -> None:
        """Whole pages inside samples [start, end) go back to the system (they hold zeros)."""
        first, last = _page_up(start), _page_down(end)
        if last > first:
            self._mapping.madvise(mmap.MADV_DONTNEED, first * _ITEM, (last - first) * _ITEM)


def _mapped(samples: int) -> tuple[mmap.mmap, np.ndarray]:
    """A zeroed float32 array on a private anonymous mapping of its own."""
    size = _page_up(samples)
    mapping = mmap.mmap(-1, size * _ITEM, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return mapping, np.frombuffer(mapping, dtype=np.float32)


def _page_up(sample: int) -> int:
    return -(-sample // _PAGE) * _PAGE


def _page_down(sample: int) -> int:
    return sample // _PAGE * _PAGE
