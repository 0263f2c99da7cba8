"""A stereo reverb of the Freeverb family, tuned by reverb time and high-frequency ratio.

Eight damped feedback combs in parallel and four allpasses in series per side (the right side's
delays are 23 samples longer, which decorrelates the two). Instead of Freeverb's abstract "room
size" each comb's feedback is set from the wanted RT60, g = 10^(-3 d / (RT60 fs)), and its
one-pole damping so that at the top of the band the loop decays as if RT60 were multiplied by
the HF ratio (the I3DL2 / DirectSound meaning of "HF ratio").

The state is three arrays so the block call can run it: `buf` holds every delay line one after
another, `ints[line] = (offset, length, index)` (plus the QUIET row) and
`flts[comb] = (feedback, damp, store)`.
"""

from __future__ import annotations

import numpy as np

from dmusd.errors import ConfigError
from dmusd.synth.engine.jit import realtime

_COMBS = (1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617)  # at 44.1 kHz
_ALLPASSES = (556, 441, 341, 225)
_SPREAD = 23
_ALLPASS_FEEDBACK = 0.5
_INPUT_SCALE = 0.015  # keeps the sum of eight resonant combs near unity
_FLUSH = 1e-20  # below this (-400 dB) a comb's content is silence
N_COMBS = len(_COMBS)
N_ALLPASSES = len(_ALLPASSES)
N_LINES = 2 * (N_COMBS + N_ALLPASSES)  # left combs, right combs, left allpasses, right allpasses
QUIET = N_LINES  # ints row: (samples of silent input so far, 1 when every line holds zeros, -)
_QUIET_CHECK = 48000  # silent input samples between two looks for an all-zero state


class Reverb:
    """Parameters and state of the reverb. Set attributes, then call `update()` (off the audio
    thread); the block call only reads the arrays."""

    def __init__(self, rate: float, time: float = 1.8, hf_ratio: float = 0.5) -> None:
        scale = rate / 44100.0
        lengths = [round(n * scale) for n in _COMBS]
        lengths += [round((n + _SPREAD) * scale) for n in _COMBS]
        lengths += [round(n * scale) for n in _ALLPASSES]
        lengths += [round((n + _SPREAD) * scale) for n in _ALLPASSES]
        self.rate = float(rate)
        # one row per delay line, then the silence row (QUIET: zero-input run, quiet flag)
        self.ints = np.zeros((N_LINES + 1, 3), dtype=np.int64)
        offset = 0
        for line, length in enumerate(lengths):
            self.ints[line] = (offset, length, 0)
            offset += length
        self.buf = np.zeros(offset, dtype=np.float32)
        self.flts = np.zeros((2 * N_COMBS, 3), dtype=np.float64)
        self.time = time
        self.hf_ratio = hf_ratio
        self.update()

    def update(self) -> None:
        """Recompute comb feedback and damping from `time` (RT60 s) and `hf_ratio` (0.05..1)."""
        if not 0.05 <= self.time <= 30.0:
            raise ConfigError(f"reverb time {self.time} s is outside 0.05..30", key="reverb.time")
        if not 0.05 <= self.hf_ratio <= 1.0:
            raise ConfigError(
                f"reverb HF ratio {self.hf_ratio} is outside 0.05..1", key="reverb.hf_ratio"
            )
        for comb in range(2 * N_COMBS):
            delay = self.ints[comb, 1] / self.rate
            g = 10.0 ** (-3.0 * delay / self.time)
            g_hf = 10.0 ** (-3.0 * delay / (self.time * self.hf_ratio))
            r = g_hf / g  # the damping filter's gain at Nyquist: (1 - d) / (1 + d)
            self.flts[comb, 0] = g
            self.flts[comb, 1] = (1.0 - r) / (1.0 + r)

    def clear(self) -> None:
        """Silence the tail (e.g. after a panic)."""
        self.buf[:] = 0.0
        self.flts[:, 2] = 0.0
        self.ints[QUIET] = 0


@realtime
def _all_zero(buf, flts) -> bool:
    for i in range(buf.shape[0]):
        if buf[i] != 0.0:
            return False
    stores_zero = True  # (numba has no all() over a generator)
    for c in range(flts.shape[0]):
        stores_zero = stores_zero and flts[c, 2] == 0.0
    return stores_zero


@realtime
def reverb_process(bus, n, in_gain, mix, buf, ints, flts, row) -> None:
    """Reverberate bus[2, 0:n] (the mono send) and add the stereo result into bus[row] and
    bus[row + 1] (row 0: the mix).

    Once the tail has decayed to exact zeros (values under -400 dB are flushed) and the send
    stays silent, the block is skipped: an all-zero state gives all-zero output whatever the
    line positions, so skipping changes no sample, and an idle synth burns no CPU here.
    """
    silent = True
    for s in range(n):
        if bus[2, s] != 0.0:
            silent = False
            break
    if silent:
        if ints[QUIET, 1] != 0:
            return
        ints[QUIET, 0] += n
        if ints[QUIET, 0] >= _QUIET_CHECK:
            ints[QUIET, 0] = 0
            if _all_zero(buf, flts):
                ints[QUIET, 1] = 1
                return
    else:
        ints[QUIET, 0] = 0
        ints[QUIET, 1] = 0
    gain = in_gain * _INPUT_SCALE
    for s in range(n):
        x = bus[2, s] * gain
        for side in range(2):
            acc = 0.0
            for c in range(N_COMBS):
                comb = side * N_COMBS + c
                off = ints[comb, 0]
                idx = ints[comb, 2]
                y = buf[off + idx]
                damp = flts[comb, 1]
                store = y * (1.0 - damp) + flts[comb, 2] * damp
                if -_FLUSH < store < _FLUSH:
                    store = 0.0  # a decayed tail must not linger as slow denormal floats
                flts[comb, 2] = store
                fed = x + store * flts[comb, 0]
                if -_FLUSH < fed < _FLUSH:
                    fed = 0.0
                buf[off + idx] = fed
                idx += 1
                if idx >= ints[comb, 1]:
                    idx = 0
                ints[comb, 2] = idx
                acc += y
            for a in range(N_ALLPASSES):
                line = 2 * N_COMBS + side * N_ALLPASSES + a
                off = ints[line, 0]
                idx = ints[line, 2]
                d = buf[off + idx]
                fed = acc + d * _ALLPASS_FEEDBACK
                if -_FLUSH < fed < _FLUSH:
                    fed = 0.0
                buf[off + idx] = fed
                acc = d - acc
                idx += 1
                if idx >= ints[line, 1]:
                    idx = 0
                ints[line, 2] = idx
            bus[row + side, s] += acc * mix


def rt60_feedback(delay_samples: int, rate: float, rt60: float) -> float:
    """The comb feedback that gives rt60 for a delay line of that length (for tests)."""
    return 10.0 ** (-3.0 * delay_samples / (rate * rt60))
