"""The master limiter: the last stage of the mix, so a dense song never clips the output.

A stereo-linked peak limiter with instant attack and an exponential release. Its gain g (1 when
idle) recovers toward 1 every sample; when a sample times g would pass the ceiling, g drops to
exactly what keeps it at the ceiling. So no sample leaves the synth above the ceiling, nothing
changes while the mix stays under it, and the state is per sample: the output does not depend
on the block size. Without lookahead the gain steps down at the first loud sample, a change of
slope rather than the hard corner a clip would put there, and only while the mix is too hot.
"""

from __future__ import annotations

import math

from dmusd.synth.engine import layout as L
from dmusd.synth.engine.jit import realtime

CEILING_DB = -0.3  # a little under full scale: 16-bit rounding never reaches the rail
RELEASE_MS = 80.0  # time constant of the gain's recovery


def limiter_settings(params, rate: float, enabled: bool = True) -> None:
    """Write the limiter's parameters into the engine's params array."""
    params[L.P_LIMITER_ON] = 1.0 if enabled else 0.0
    params[L.P_LIMITER_CEILING] = 10.0 ** (CEILING_DB / 20.0)
    params[L.P_LIMITER_RELEASE] = math.exp(-1000.0 / (RELEASE_MS * rate))
    params[L.P_LIMITER_GAIN] = 1.0


@realtime
def limit(out, frames, params) -> None:
    """Limit out[0:frames, 0:2] in place; counts the samples it turned down."""
    ceiling = params[L.P_LIMITER_CEILING]
    release = params[L.P_LIMITER_RELEASE]
    g = params[L.P_LIMITER_GAIN]
    limited = 0
    for s in range(frames):
        # a gain this close to 1 is 1: the stage goes idle instead of multiplying forever
        g = 1.0 if g > 1.0 - 1e-7 else 1.0 - (1.0 - g) * release
        level = max(abs(out[s, 0]), abs(out[s, 1]))
        if level * g > ceiling:
            g = ceiling / level
        if g < 1.0:
            out[s, 0] *= g
            out[s, 1] *= g
            limited += 1
    params[L.P_LIMITER_GAIN] = g
    params[L.P_LIMITED] += limited
