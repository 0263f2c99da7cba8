"""The output latency a device reports, believed only inside a sane range.

Devices and their libraries do report nonsense: PortAudio 19.6 under PipeWire's JACK says
4294966272 frames (an unsigned subtraction that wrapped), and dmusd once doubled that into a
schedule-ahead of two days. Every figure passes through `bounded`: one outside
0..MAX_OUTPUT_LATENCY is logged with where it came from and replaced by a stated fallback.
"""

from __future__ import annotations

import logging
import math

log = logging.getLogger("dmusd.audio")

MAX_OUTPUT_LATENCY = 2.0  # seconds; no real output buffers this much (PulseAudio's max is 2 s)


def bounded(seconds: float, rate: int, source: str, fallback: float) -> float:
    """`seconds` when it is a sane output latency, else `fallback`, saying so in the log.
    `source` names who reported it ("PortAudio's JACK host API", "JACK port dmusd:out_0")."""
    if math.isfinite(seconds) and 0.0 <= seconds <= MAX_OUTPUT_LATENCY:
        return seconds
    frames = round(seconds * rate) if math.isfinite(seconds) else seconds
    log.warning(
        "audio: %s reported an output latency of %s frames (%.6g s), outside 0..%g s: not "
        "believed; using %.1f ms",
        source,
        frames,
        seconds,
        MAX_OUTPUT_LATENCY,
        1000 * fallback,
    )
    return fallback
