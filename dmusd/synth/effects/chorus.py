"""A stereo chorus: four modulated taps on one delay line, two per side in quadrature.

The mono chorus send is written into a ring buffer; each tap reads it at base delay +
depth x sin(LFO phase + its own offset) with linear interpolation. Left takes the taps at
0 and 180 degrees, right the ones at 90 and 270, so the sides move against each other and the
image widens. Parameters: rate (Hz), depth (ms), base delay (ms), mix.

State for the block call: `buf` the ring (power-of-two length), `ints = (write index, mask)`,
`flts = (phase, phase step, base delay in samples, depth in samples)`. While the send is silent
and the ring holds only zeros the taps are skipped (an idle synth costs nothing here).
"""

from __future__ import annotations

import math

import numpy as np

from dmusd.errors import ConfigError
from dmusd.synth.engine.jit import realtime, unsigned
from dmusd.synth.engine.lfo import sine_cycles

_RING = 8192  # > 170 ms at 48 kHz: room for any allowed delay + depth


class Chorus:
    """Parameters and state of the chorus. Set attributes, then `update()`."""

    def __init__(self, rate: float, lfo_hz: float = 0.6, depth_ms: float = 2.5) -> None:
        self.rate = float(rate)
        ring = _RING
        while ring < 0.2 * rate:
            ring *= 2
        self.buf = np.zeros(ring, dtype=np.float32)
        # write index, ring mask, samples of silent input in a row
        self.ints = np.array([0, ring - 1, 0], dtype=np.int64)
        self.flts = np.zeros(4, dtype=np.float64)
        self.lfo_hz = lfo_hz
        self.depth_ms = depth_ms
        self.delay_ms = 12.0
        self.update()

    def update(self) -> None:
        if not 0.01 <= self.lfo_hz <= 20.0:
            raise ConfigError(
                f"chorus rate {self.lfo_hz} Hz is outside 0.01..20", key="chorus.rate"
            )
        if not 0.0 <= self.depth_ms <= 20.0:
            raise ConfigError(
                f"chorus depth {self.depth_ms} ms is outside 0..20", key="chorus.depth"
            )
        if not 1.0 <= self.delay_ms <= 50.0:
            raise ConfigError(
                f"chorus delay {self.delay_ms} ms is outside 1..50", key="chorus.delay"
            )
        self.flts[1] = self.lfo_hz / self.rate
        self.flts[2] = self.delay_ms * 1e-3 * self.rate
        self.flts[3] = self.depth_ms * 1e-3 * self.rate

    def clear(self) -> None:
        self.buf[:] = 0.0
        self.ints[2] = self.buf.shape[0]  # the ring is known to be silent

    def advance(self, frames: int) -> None:
        """Move the LFO and the write index over `frames` that were not rendered, to where the
        block call would have left them with a silent ring (its output zero all along)."""
        self.ints[0] = (self.ints[0] + frames) & self.ints[1]
        phase = self.flts[0] + frames * self.flts[1]
        self.flts[0] = phase - math.floor(phase)


@realtime
def chorus_process(bus, n, in_gain, mix, buf, ints, flts, row) -> None:
    """Chorus bus[3, 0:n] (the mono send) and add the stereo result into bus[row] and
    bus[row + 1] (row 0: the mix)."""
    w = ints[0]
    mask = ints[1]
    phase = flts[0]
    step = flts[1]
    silent = True
    for s in range(n):
        if bus[3, s] != 0.0:
            silent = False
            break
    if silent and ints[2] > mask:
        # the whole ring holds zeros and nothing comes in: the output is zero, only time moves
        for _ in range(n):
            buf[unsigned(w)] = 0.0
            w = (w + 1) & mask
            phase += step
            if phase >= 1.0:
                phase -= 1.0
        ints[0] = w
        flts[0] = phase
        return
    ints[2] = ints[2] + n if silent else 0
    base = flts[2]
    depth = flts[3]
    half = 0.5 * mix
    for s in range(n):
        buf[unsigned(w)] = bus[3, s] * in_gain
        # the taps at 180 and 270 degrees are the ones at 0 and 90 mirrored: two sines a sample
        quarter = phase + 0.25
        s0 = depth * sine_cycles(phase)
        s1 = depth * sine_cycles(quarter - 1.0 if quarter >= 1.0 else quarter)
        for t in range(4):
            swing = s0 if t < 2 else s1
            delay = base + (swing if (t & 1) == 0 else -swing)
            pos = w - delay
            i = int(math.floor(pos))
            f = pos - i
            a = buf[unsigned(i & mask)]
            b = buf[unsigned((i + 1) & mask)]
            bus[row + (t >> 1), s] += (a + f * (b - a)) * half
        w = (w + 1) & mask
        phase += step
        if phase >= 1.0:
            phase -= 1.0
    ints[0] = w
    flts[0] = phase
