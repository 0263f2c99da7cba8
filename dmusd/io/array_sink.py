"""ArraySink: the offline audio sink that keeps the samples in memory, for the Python API.

It keeps every rendered frame as the engine made it (float32, before any 16-bit rounding), so
`Synth.render_midi` returns the samples `dmusd render` writes to its file before their sample
format; `close(length)` cuts or pads them to the length the file would have, and
`take()` hands out what has been rendered so far (close then gives the rest).
"""

from __future__ import annotations

import numpy as np

from dmusd.io.block_sink import BlockSink
from dmusd.kernel.clock import SampleCountClock


class ArraySink(BlockSink):
    """Collects stereo float32 frames in a growing buffer."""

    wants_pcm = False

    def __init__(self, rate: int, clock: SampleCountClock | None = None, expect: int = 0) -> None:
        super().__init__(rate, clock)
        self._data = np.zeros((max(expect, 0), 2), dtype=np.float32)
        self._start = 0  # position of self._data[0] (take() hands out what came before)

    def _keep(self, block: np.ndarray, pcm: np.ndarray, loud_end: int) -> None:
        at = self.position - self._start
        need = at + block.shape[0]
        if need > self._data.shape[0]:
            grown = np.zeros((max(need, 2 * self._data.shape[0]), 2), dtype=np.float32)
            grown[:at] = self._data[:at]
            self._data = grown
        self._data[at:need] = block

    def take(self) -> np.ndarray:
        """The frames rendered since the last take(), as a new array."""
        kept = self._data[: self.position - self._start].copy()
        self._start = self.position
        self._data = np.zeros((0, 2), dtype=np.float32)
        return kept

    def close(self, length: int) -> np.ndarray:
        """The frames from the end of the last take() (0 if none) up to `length`: what was
        rendered, cut there, or padded with zeros."""
        out = np.zeros((max(length - self._start, 0), 2), dtype=np.float32)
        n = min(out.shape[0], self.position - self._start)
        out[:n] = self._data[:n]
        return out
