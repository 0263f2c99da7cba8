"""The native audio callback and its SleepGate, called as PortAudio calls it (through ctypes)."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from dmusd.engine_library import engine_entries
from dmusd.io.native_callbacks import PA_OUTPUT_UNDERFLOW, PY_CALLBACK
from dmusd.io.pa_output import PYTHON_CALLBACK
from dmusd.io.sleep_gate import SleepGate

_PA_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_ulong,
    ctypes.c_void_p,
    ctypes.c_ulong,
    ctypes.c_void_p,
)


class Stream:
    """A gate, the native callback, and a Python callback that renders ones and records."""

    def __init__(self) -> None:
        self.gate = SleepGate()
        self.calls: list[tuple[int, int]] = []
        self.python = PYTHON_CALLBACK(self._python)  # as PaOutputStream makes it
        self.gate.state[PY_CALLBACK] = ctypes.cast(self.python, ctypes.c_void_p).value
        self.native = _PA_CALLBACK(engine_entries().pa_output_callback)
        self.buffer = np.full((256, 2), 0.5, dtype=np.float32)

    def _python(self, output, frames, time_info, flags) -> int:
        view = np.ctypeslib.as_array(
            ctypes.cast(output, ctypes.POINTER(ctypes.c_float)), (frames, 2)
        )
        view.fill(1.0)
        self.calls.append((frames, flags))
        return 0

    def cycle(self, frames: int = 256, flags: int = 0) -> int:
        if frames > self.buffer.shape[0]:
            self.buffer = np.empty((frames, 2), dtype=np.float32)
        self.buffer.fill(0.5)
        state = self.gate.state.ctypes.data
        return self.native(None, self.buffer.ctypes.data, frames, None, flags, state)


def test_awake_every_cycle_reaches_python_with_its_buffer():
    s = Stream()
    assert s.cycle(256) == 0 and s.cycle(128, PA_OUTPUT_UNDERFLOW) == 0
    assert s.calls == [(256, 0), (128, PA_OUTPUT_UNDERFLOW)]
    assert np.all(s.buffer[:128] == 1.0) and np.all(s.buffer[128:] == 0.5)
    assert s.gate.cycles == 2 and s.gate.xruns == 1 and s.gate.slept_frames == 0


def test_asleep_cycles_are_zeros_counted_without_python():
    s = Stream()
    s.gate.sleep(s.gate.wakes())
    for _ in range(3):
        s.cycle(256)
    s.cycle(64, PA_OUTPUT_UNDERFLOW)
    assert s.calls == []
    assert np.all(s.buffer[:64] == 0.0) and np.all(s.buffer[64:] == 0.5)  # only its frames
    assert s.gate.asleep and s.gate.cycles == 4 and s.gate.xruns == 1
    assert s.gate.take_slept() == 3 * 256 + 64 and s.gate.take_slept() == 0


def test_a_wake_reaches_python_at_the_next_cycle():
    s = Stream()
    s.gate.sleep(s.gate.wakes())
    s.cycle()
    s.gate.wake()
    assert not s.gate.asleep
    s.cycle()
    assert s.calls == [(256, 0)] and np.all(s.buffer == 1.0)


def test_a_wake_during_the_render_that_found_nothing_keeps_the_next_cycle_awake():
    # The Python callback reads the count before rendering; work arrives while it renders and
    # is too late for it. Sleeping with the count read before must not lose that work.
    s = Stream()
    read_before_render = s.gate.wakes()
    s.gate.wake()  # another thread: work given, then wake
    s.gate.sleep(read_before_render)
    s.cycle()
    assert len(s.calls) == 1


@pytest.mark.parametrize("frames", [1, 1024, 4096])
def test_stay_awake_after_sleeping(frames):
    s = Stream()
    s.gate.sleep(s.gate.wakes())
    s.cycle(frames)
    s.gate.stay_awake()
    s.cycle(frames)
    assert s.calls == [(frames, 0)] and s.gate.take_slept() == frames
