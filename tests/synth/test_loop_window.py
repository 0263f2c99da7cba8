"""fill_loop (a loop laid out end to end in a window, then read straight) against fill_wrapping
(each tap wrapped on its own): the same samples and the same voice state after every stretch,
for short and long loops, at rising and falling pitch, from before the loop and inside it."""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.synth.engine import jit
from dmusd.synth.engine import layout as L
from dmusd.synth.engine.interpolation import LOOP_WINDOW, MIN_WINDOW_LOOP, make_table

jit.materialize()
from dmusd.synth.engine.interpolation import fill_loop, fill_wrapping  # noqa: E402

STRETCH = 64


def _pool(frames: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    wave = rng.standard_normal(frames).astype(np.float32)
    guard = np.zeros(L.GUARD, np.float32)
    return np.concatenate([guard, wave, guard])


def _play(fill, mode, pool, frames, ls, le, start, inc, dinc, stretches):
    """Samples and (pos, inc, wrapped) after each stretch, the way render_voice calls `fill`."""
    table = make_table()
    window = np.zeros(LOOP_WINDOW, np.float32)
    pos, wrapped, out, states = start, 0, [], []
    for _ in range(stretches):
        buf = np.zeros(STRETCH, np.float32)
        if fill == "window":
            pos, inc, wrapped, done = fill_loop(
                mode, pool, L.GUARD, ls, le, wrapped, pos, inc, dinc, STRETCH, buf, window, table
            )
            assert done
        else:
            pos, inc, wrapped, written = fill_wrapping(
                mode, pool, L.GUARD, frames, True, wrapped, ls, le, pos, inc, dinc, STRETCH, buf,
                table,
            )  # fmt: skip
            assert written == STRETCH
        out.append(buf)
        states.append((pos, inc, wrapped))
    return np.concatenate(out), states


@pytest.mark.parametrize("mode", [L.INTERP_CUBIC, L.INTERP_SINC, L.INTERP_LINEAR])
@pytest.mark.parametrize("span", [MIN_WINDOW_LOOP, 5, 11, 37, 300])
@pytest.mark.parametrize(("ratio", "ramp"), [(0.37, 0), (1.0, 0), (2.9, 40), (7.5, -300)])
def test_the_window_gives_the_samples_and_state_of_tap_by_tap_wrapping(mode, span, ratio, ramp):
    frames = 200 + span + 50  # an attack part, the loop, a tail after it (a release part)
    ls, le = 200, 200 + span
    pool = _pool(frames, seed=span)
    inc = int(ratio * L.FRAC_ONE)
    for start in (150 * L.FRAC_ONE + 777, (ls + span // 2) * L.FRAC_ONE + 12345):
        dinc = ramp * 1000  # the pitch ramps a little within each stretch
        got, got_states = _play("window", mode, pool, frames, ls, le, start, inc, dinc, 40)
        want, want_states = _play("taps", mode, pool, frames, ls, le, start, inc, dinc, 40)
        assert got.tobytes() == want.tobytes()
        assert got_states == want_states  # a release loop plays on from the same position
        assert got_states[-1][2] == 1


def test_a_stretch_that_reads_past_the_window_is_left_to_fill_wrapping():
    pool = _pool(400, seed=1)
    table = make_table()
    window = np.zeros(LOOP_WINDOW, np.float32)
    buf = np.zeros(STRETCH, np.float32)
    fast = int(LOOP_WINDOW / STRETCH * 1.5 * L.FRAC_ONE)  # reads 1.5 windows in one stretch
    *_, done = fill_loop(
        L.INTERP_CUBIC, pool, L.GUARD, 100, 130, 0, 120 * L.FRAC_ONE, fast, 0, STRETCH, buf,
        window, table,
    )  # fmt: skip
    assert not done
    assert not buf.any()  # nothing written: fill_wrapping does the stretch
