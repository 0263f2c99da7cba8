"""IdleRender: how a pin's blocks are rendered, and when the voice engine need not be called.

A pin with no voice, nothing queued and a tail under QUIET_LEVEL for IDLE_AFTER seconds is idle.
Its effect tails are then cleared to exact zeros (nothing audible is cut: they are under
-100 dBFS) and from then on a block only does its bookkeeping: the stream's zero-length Render
(new downloads, arriving events, state changes), then its `skip` (latency clock, running stats,
the chorus LFO); the voice engine is not called. The first event that arrives ends it, in the
same block.

Offline the detection is off (`enabled=False`): clearing a tail of -100 dB would still move the
rounding of a later sample that it adds to, and `dmusd render` gives the same file bit for bit
whatever the live path does.

Audio thread only.
"""

from __future__ import annotations

import numpy as np

from dmusd.synth.stream import SynthStream

QUIET_LEVEL = 1e-5  # -100 dBFS, under a 16-bit step: a tail below it is over
IDLE_AFTER = 1.0  # seconds of silence with no voice before a pin goes idle
_SCRATCH = 8192  # frames of the private buffer (grown if a block is larger)


class IdleRender:
    """Renders one stream's blocks, watching for the silence after the last voice."""

    def __init__(self, stream: SynthStream, rate: int, enabled: bool = True) -> None:
        self.stream = stream
        self.enabled = enabled
        self._quiet = 0  # frames in a row with no voice and output under QUIET_LEVEL
        self._idle_after = max(1, round(IDLE_AFTER * rate))
        self._scratch = np.zeros((_SCRATCH, stream.native.columns), dtype=np.float32)

    @property
    def idle(self) -> bool:
        return self._quiet >= self._idle_after and self.stream.active_voices == 0

    def rendered_natively(self) -> None:
        """A block the native audio callback rendered in full (io/native_mode.py): with a voice
        sounding the tail is not over; a silent pin's quiet count goes on in Python blocks."""
        if self.stream.active_voices:
            self._quiet = 0

    def render(self, buffer: np.ndarray, frames: int, position: int) -> None:
        """Mix the stream's next `frames` frames into buffer[:frames]."""
        stream = self.stream
        if stream.active_voices or not self.enabled:
            self._quiet = 0
            stream.Render(buffer, frames, position)
            return
        if self._quiet >= self._idle_after:
            stream.Render(buffer, 0, position)  # bookkeeping only: downloads, events, state
            if stream.active_voices == 0 and not stream.busy:
                stream.skip(frames, position)  # idle frames count in the running stats
                return
        # No voice: render into the private buffer to see whether the tail is over.
        columns = stream.native.columns  # (a re-opened synth keeps its pin's columns)
        if frames > self._scratch.shape[0] or columns != self._scratch.shape[1]:
            self._scratch = np.zeros((max(frames, _SCRATCH), columns), dtype=np.float32)
        scratch = self._scratch[:frames]
        scratch.fill(0.0)
        stream.Render(scratch, frames, position)
        buffer[:frames] += scratch
        if stream.active_voices or max(scratch.max(), -scratch.min()) >= QUIET_LEVEL:
            self._quiet = 0
        elif self._quiet < self._idle_after:
            self._quiet += frames
            if self._quiet >= self._idle_after:
                stream.clear_effects()  # the tails are under -100 dB: make them exact zeros
