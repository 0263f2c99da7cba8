"""The modulation LFO and the vibrato LFO: sine waves (DLS) or triangles (SF2) that start after
a delay, rising from 0 (a triangle reaches 1 a quarter cycle in, as FluidSynth's does).

Each is advanced at control points only: its phase is a fraction of a cycle and its frequency
comes from the connection sum at the previous control point (so CC -> LFO frequency works).
The output is bipolar, -1..1, and 0 while the delay runs.
"""

from __future__ import annotations

import math

from dmusd.synth.engine.jit import realtime_inline


@realtime_inline
def lfo_advance(
    vf, v: int, phase_col: int, delay_col: int, inc_col: int, n: float, triangle: bool
) -> float:
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
    return triangle_cycles(phase) if triangle else sine_cycles(phase)


@realtime_inline
def triangle_cycles(phase: float) -> float:
    """A triangle through 0 at phase 0 and 0.5, 1 at 0.25 and -1 at 0.75 (phase in 0..1)."""
    if phase < 0.25:
        return 4.0 * phase
    if phase < 0.75:
        return 2.0 - 4.0 * phase
    return 4.0 * phase - 4.0


@realtime_inline
def sine_cycles(phase: float) -> float:
    """sin(2 pi phase) for phase in 0..1, by a 7th-order odd polynomial (error < 2e-4): an LFO
    needs no more, and libm's sin costs several times as much at every control point."""
    # fold into -0.25 .. 0.25 cycles, where the polynomial is accurate
    p = phase - 0.5 if phase >= 0.25 else phase
    p = -p if phase >= 0.25 else p
    if p < -0.25:
        p = -0.5 - p
    x = 2.0 * math.pi * p
    x2 = x * x
    return x * (1.0 - x2 * (1.0 / 6.0 - x2 * (1.0 / 120.0 - x2 * (1.0 / 5040.0))))
