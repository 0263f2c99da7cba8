"""SleepGate: lets the audio callback answer cycles without Python while the synth has nothing
to do (no voice, no tail, nothing queued), and wakes it the moment something arrives.

The state is an int64 array shared with the native callback (native_callbacks.py). The rule
that keeps it safe: whoever gives the synth work (a MIDI message, a control request) gives it
first and calls wake() after; the audio callback reads `wakes()` BEFORE it renders and, if that
render left nothing to do, calls sleep() with that count. The native callback only answers a
cycle itself while no wake came since that count was read, so any work is seen by a render:
either the one that read the count (it was given before) or the next one (it bumped the count).

While it sleeps, the frames it answered count in `slept_frames`: the Python callback moves the
master clock and the synth's position on by them when it next runs (take_slept).
"""

from __future__ import annotations

import numpy as np

from dmusd.io.native_callbacks import (
    ASLEEP,
    CYCLES,
    GATE_SLOTS,
    SEEN,
    SLEPT_FRAMES,
    WAKES,
    XRUNS,
)


class SleepGate:
    """The shared state of one output stream's native callback."""

    def __init__(self) -> None:
        self.state = np.zeros(GATE_SLOTS, dtype=np.int64)
        self.slept_taken = 0  # slept frames the Python callback has taken

    # -- any thread ------------------------------------------------------------------------
    def wake(self) -> None:
        """Call AFTER giving the synth work: the next cycle runs the Python callback."""
        self.state[WAKES] += 1

    @property
    def asleep(self) -> bool:
        state = self.state
        return bool(state[ASLEEP] and state[WAKES] == state[SEEN])

    @property
    def cycles(self) -> int:
        """Callbacks of either kind so far."""
        return int(self.state[CYCLES])

    @property
    def xruns(self) -> int:
        return int(self.state[XRUNS])

    @property
    def slept_frames(self) -> int:
        return int(self.state[SLEPT_FRAMES])

    # -- the audio thread's Python callback ------------------------------------------------
    def wakes(self) -> int:
        """Read before rendering; pass to sleep() if the render left nothing to do."""
        return int(self.state[WAKES])

    def take_slept(self) -> int:
        """Frames answered natively since the last call."""
        slept = int(self.state[SLEPT_FRAMES])
        taken, self.slept_taken = slept - self.slept_taken, slept
        return taken

    def sleep(self, wakes: int) -> None:
        self.state[SEEN] = wakes
        self.state[ASLEEP] = 1

    def stay_awake(self) -> None:
        self.state[ASLEEP] = 0
