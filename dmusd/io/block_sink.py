"""BlockSink: the offline sink's pull, shared by the file sink and the array sink.

Each block it has the pin render into a zeroed buffer at the output's frame position and master
time (the pin calls SyncToMaster, fStart on the first block, then its stream's Render), then the
master clock moves on by the frames rendered. Offline, the master clock is a SampleCountClock, so
every time in the run follows from the sample count alone and the same input gives the same
samples.

It also measures what the summary line and the end of a render need: the peak, the samples a
16-bit file would clip, and where the sound ends (the frame after the last one that does not
round to 0 in 16 bits), the same whatever the sink keeps. What each sink keeps of a block is its
own business (`_keep`).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from dmusd.kernel.clock import REFTIME_PER_SECOND, SampleCountClock

SILENT = 2.0**-16  # the largest |sample| that rounds to 0 in 16 bits


class BlockSource(Protocol):
    """What a sink pulls: a synth pin (dmusd/pin/synth_pin.py)."""

    def render(
        self, buffer: np.ndarray, frames: int, position: int, t: int, start: bool
    ) -> None: ...


class BlockSink:
    """Pulls stereo float32 blocks from a source and drives a sample-count master clock."""

    wants_pcm = True  # the sink keeps the 16-bit values (`pcm` in _keep); else they are not made

    def __init__(self, rate: int, clock: SampleCountClock | None = None) -> None:
        self.rate = rate
        self.clock = clock if clock is not None else SampleCountClock(rate)
        self.position = 0  # frames rendered
        self.sound_end = 0  # the frame after the last one with sound in it (16-bit)
        self.peak = 0.0  # largest |sample| before clipping
        self.clipped = 0  # samples outside the 16-bit range
        self._buffer = np.zeros((0, 2), dtype=np.float32)
        self._pcm = np.zeros((0, 2), dtype=np.int16)

    def pull(self, source: BlockSource, frames: int) -> np.ndarray:
        """Render `frames` frames from `source`, hand them to the sink, advance the clock.
        Returns the block (a view of an internal buffer, valid until the next call)."""
        if self._buffer.shape[0] < frames:
            self._buffer = np.zeros((frames, 2), dtype=np.float32)
            self._pcm = np.zeros((frames, 2), dtype=np.int16)
        block, pcm = self._buffer[:frames], self._pcm[:frames]
        block.fill(0.0)
        t = self.position * REFTIME_PER_SECOND // self.rate
        source.render(block, frames, self.position, t, self.position == 0)
        peak = max(float(block.max()), -float(block.min())) if frames else 0.0
        self.peak = max(self.peak, peak)
        # Our own rounding to 16 bits (libsndfile floors): to nearest, half to even, so a
        # sample is 0 exactly when |x| <= 2**-16 (x * 32768 is exact in float32).
        loud_end = 0  # in the block
        if peak > SILENT:
            if np.abs(block[-1]).max() > SILENT:
                loud_end = frames
            else:
                loud_end = int(np.flatnonzero((np.abs(block) > SILENT).any(axis=1))[-1]) + 1
            if self.wants_pcm:
                scaled = np.rint(np.multiply(block, 32768.0, dtype=np.float32))
                if peak * 32768.0 >= 32767.5:  # something rounds past the 16-bit range
                    self.clipped += int(np.count_nonzero((scaled > 32767.0) | (scaled < -32768.0)))
                    np.clip(scaled, -32768.0, 32767.0, out=scaled)
                pcm[:] = scaled
        elif self.wants_pcm:
            pcm.fill(0)
        self._keep(block, pcm, loud_end)
        if loud_end:
            self.sound_end = self.position + loud_end
        self.position += frames
        self.clock.advance(frames)
        return block

    def _keep(self, block: np.ndarray, pcm: np.ndarray, loud_end: int) -> None:
        """Take a block at self.position: its float samples, their 16-bit values (when the sink
        wants them), and the end of its sound (0: it is all 16-bit silence)."""
        raise NotImplementedError
