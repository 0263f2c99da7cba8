"""The modulation LFO and the vibrato LFO: sine waves that start after a delay.

Each is advanced at control points only: its phase is a fraction of a cycle and its frequency
comes from the connection sum at the previous control point (so CC -> LFO frequency works).
The output is bipolar, -1..1, and 0 while the delay runs.
"""

from __future__ import annotations

import math

from numba import njit


@njit(nogil=True, cache=True)
def lfo_advance(vf, v: int, phase_col: int, delay_col: int, inc_col: int, n: float) -> float:
    """Move the LFO on by n samples; return its value there."""
    delay = vf[v, delay_col]
    if delay > 0.0:
        step = min(delay, n)
        vf[v, delay_col] = delay - step
        n -= step
        if n <= 0.0:
            return 0.0
    phase = vf[v, phase_col] + n * vf[v, inc_col]
    phase -= math.floor(phase)
    vf[v, phase_col] = phase
    return math.sin(2.0 * math.pi * phase)
