"""ArraySink's take() and close(): each frame is handed out once, at its place on the timeline."""

from __future__ import annotations

import numpy as np

from dmusd.io.array_sink import ArraySink


class Ramp:
    """A source whose every sample is its frame position (a logic fake: no synth needed)."""

    def render(self, buffer, frames, position, t, start) -> None:
        buffer[:frames] = np.arange(position, position + frames, dtype=np.float32)[:, None] / 1e4


def frames_of(block: np.ndarray) -> list[int]:
    return [round(float(x) * 1e4) for x in block[:, 0]]


def test_close_after_take_gives_the_frames_after_it():
    sink = ArraySink(48000)
    sink.pull(Ramp(), 100)
    assert frames_of(sink.take()) == list(range(100))
    sink.pull(Ramp(), 50)
    rest = sink.close(180)  # 30 frames of padding after the 150 rendered
    assert rest.shape == (80, 2)
    assert frames_of(rest[:50]) == list(range(100, 150))
    assert not rest[50:].any()


def test_close_cuts_at_length_and_never_goes_negative():
    sink = ArraySink(48000)
    sink.pull(Ramp(), 100)
    assert frames_of(sink.close(60)) == list(range(60))
    sink.take()
    assert sink.close(60).shape == (0, 2)  # everything up to 60 was already handed out
