"""Portamento time, compiled: CC5 (MSB) -> the glide's speed.

A glide runs at a constant speed, so a wider interval takes longer: CC5 gives the time of a
36-semitone glide, on the curve John Novak measured on GS/XG hardware (the table FluidSynth
2.6 fits in fluid_channel_portamentotime_with_mode, whose length it also scales by the interval
over 36), interpolated here in log time between the measured points.
"""

from __future__ import annotations

import math

from dmusd.synth.engine.jit import realtime

_CC = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 80.0, 96.0, 112.0, 116.0, 120.0, 124.0, 127.0)
_SECONDS = (0.0, 0.006, 0.023, 0.05, 0.11, 0.25, 0.5, 2.06, 4.2, 8.4, 19.5, 26.7, 40.0, 80.0, 480.0)
REFERENCE_CENTS = 3600.0  # the interval the table's times are for


@realtime
def glide_seconds(cc5) -> float:
    """Seconds a 36-semitone glide takes at CC5 = cc5 (0: no glide)."""
    x = float(min(max(cc5, 0), 127))
    if x <= 0.0:
        return 0.0
    if x <= 1.0:
        return _SECONDS[1] * x
    for i in range(1, len(_CC) - 1):
        if x <= _CC[i + 1]:
            t = (x - _CC[i]) / (_CC[i + 1] - _CC[i])
            return math.exp((1.0 - t) * math.log(_SECONDS[i]) + t * math.log(_SECONDS[i + 1]))
    return _SECONDS[len(_SECONDS) - 1]


@realtime
def glide_rate(cc5) -> float:
    """Cents per second a glide closes at CC5 = cc5; 0: portamento time 0, no glide."""
    seconds = glide_seconds(cc5)
    if seconds <= 0.0:
        return 0.0
    return REFERENCE_CENTS / seconds
