"""A stereo reverb of the Freeverb family, tuned by reverb time and high-frequency ratio.

Eight damped feedback combs in parallel and four allpasses in series per side (the right side's
delays are 23 samples longer, which decorrelates the two). Instead of Freeverb's abstract "room
size" each comb's feedback is set from the wanted RT60, g = 10^(-3 d / (RT60 fs)), and its
one-pole damping so that at the top of the band the loop decays as if RT60 were multiplied by
the HF ratio (the I3DL2 / DirectSound meaning of "HF ratio").

The state is three arrays so the block call can run it: `buf` holds every delay line one after
another, `ints[line] = (offset, length, index)` (plus the QUIET row) and
`flts[comb, 0:3] = (feedback, damp, store)`, then three work rows (WORK_ROW on): a stretch of
the block's scaled input and the two sides' comb sums.

The block is run line by line over stretches of STRETCH samples, not sample by sample through
every line: a line's position, state and coefficients then stay in registers, and two combs of
each side run interleaved, four independent damping recursions. Each line still sees its samples
in order and every sum is added in the same order, so the order of work changes no bit (measured
in-process: about 80 % of the sample-by-sample time; unsigned line indices took another 10-18 %
off). Each damping step is one fused multiply-add, which rounds once where it rounded twice (the
float32 output of the dense bench song did not change); fused and four at once, the reverb went
from 59 to 44 ns a frame.
"""

from __future__ import annotations

import numpy as np

from dmusd.errors import ConfigError
from dmusd.synth.engine.jit import realtime, realtime_fused, realtime_inline, unsigned

_COMBS = (1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617)  # at 44.1 kHz
_ALLPASSES = (556, 441, 341, 225)
_SPREAD = 23
_ALLPASS_FEEDBACK = 0.5
_INPUT_SCALE = 0.015  # keeps the sum of eight resonant combs near unity
_FLUSH = 1e-20  # below this (-400 dB) a comb's content is silence
N_COMBS = len(_COMBS)  # even: the block call runs them two by two
N_ALLPASSES = len(_ALLPASSES)
N_LINES = 2 * (N_COMBS + N_ALLPASSES)  # left combs, right combs, left allpasses, right allpasses
QUIET = N_LINES  # ints row: (samples of silent input so far, 1 when every line holds zeros, -)
WORK_ROW = 2 * N_COMBS  # flts rows WORK_ROW .. + 2: input, left sums, right sums of a stretch
STRETCH = 128  # samples a stretch: its work rows stay in the L1 cache
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
        self.flts = np.zeros((WORK_ROW + 3, STRETCH), dtype=np.float64)
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
        self.flts[:WORK_ROW, 2] = 0.0
        self.ints[QUIET] = 0


@realtime
def _all_zero(buf, flts) -> bool:
    for i in range(buf.shape[0]):
        if buf[i] != 0.0:
            return False
    stores_zero = True  # (numba has no all() over a generator)
    for c in range(WORK_ROW):
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
    done = 0
    while done < n:
        m = min(n - done, STRETCH)
        for s in range(m):
            flts[WORK_ROW, s] = bus[2, done + s] * gain
        for c in range(0, N_COMBS, 2):
            _comb_pairs(buf, ints, flts, c, m, c == 0)
        for side in range(2):
            sums = WORK_ROW + 1 + side
            for a in range(N_ALLPASSES):
                _allpass(buf, ints, flts, 2 * N_COMBS + side * N_ALLPASSES + a, sums, m)
            for s in range(m):
                bus[row + side, done + s] += flts[sums, s] * mix
        done += m


@realtime_inline
def _flushed(value):
    # a decayed tail must not linger as slow denormal floats
    return 0.0 if -_FLUSH < value < _FLUSH else value


@realtime_fused  # each comb's damping is a recurrence: its latency is the reverb's cost
def _comb_pairs(buf, ints, flts, c, n, first) -> None:
    """Run combs c and c + 1 of both sides over the stretch's input, adding their outputs to
    the sides' sums (`first`: the first combs, which set them). Four lines at once: their four
    damping recurrences overlap instead of waiting on each other."""
    a, b, d, e = c, N_COMBS + c, c + 1, N_COMBS + c + 1
    off_a, len_a, i_a = ints[a, 0], ints[a, 1], ints[a, 2]
    off_b, len_b, i_b = ints[b, 0], ints[b, 1], ints[b, 2]
    off_d, len_d, i_d = ints[d, 0], ints[d, 1], ints[d, 2]
    off_e, len_e, i_e = ints[e, 0], ints[e, 1], ints[e, 2]
    fb_a, damp_a, store_a = flts[a, 0], flts[a, 1], flts[a, 2]
    fb_b, damp_b, store_b = flts[b, 0], flts[b, 1], flts[b, 2]
    fb_d, damp_d, store_d = flts[d, 0], flts[d, 1], flts[d, 2]
    fb_e, damp_e, store_e = flts[e, 0], flts[e, 1], flts[e, 2]
    keep_a, keep_b, keep_d, keep_e = 1.0 - damp_a, 1.0 - damp_b, 1.0 - damp_d, 1.0 - damp_e
    for s in range(n):
        x = flts[WORK_ROW, s]
        y_a = buf[unsigned(off_a + i_a)]
        y_b = buf[unsigned(off_b + i_b)]
        y_d = buf[unsigned(off_d + i_d)]
        y_e = buf[unsigned(off_e + i_e)]
        store_a = _flushed(y_a * keep_a + store_a * damp_a)
        store_b = _flushed(y_b * keep_b + store_b * damp_b)
        store_d = _flushed(y_d * keep_d + store_d * damp_d)
        store_e = _flushed(y_e * keep_e + store_e * damp_e)
        buf[unsigned(off_a + i_a)] = _flushed(x + store_a * fb_a)
        buf[unsigned(off_b + i_b)] = _flushed(x + store_b * fb_b)
        buf[unsigned(off_d + i_d)] = _flushed(x + store_d * fb_d)
        buf[unsigned(off_e + i_e)] = _flushed(x + store_e * fb_e)
        i_a = i_a + 1 if i_a + 1 < len_a else 0
        i_b = i_b + 1 if i_b + 1 < len_b else 0
        i_d = i_d + 1 if i_d + 1 < len_d else 0
        i_e = i_e + 1 if i_e + 1 < len_e else 0
        if first:
            flts[WORK_ROW + 1, s] = (0.0 + y_a) + y_d
            flts[WORK_ROW + 2, s] = (0.0 + y_b) + y_e
        else:
            flts[WORK_ROW + 1, s] = (flts[WORK_ROW + 1, s] + y_a) + y_d
            flts[WORK_ROW + 2, s] = (flts[WORK_ROW + 2, s] + y_b) + y_e
    ints[a, 2], ints[b, 2], ints[d, 2], ints[e, 2] = i_a, i_b, i_d, i_e
    flts[a, 2], flts[b, 2], flts[d, 2], flts[e, 2] = store_a, store_b, store_d, store_e


@realtime
def _allpass(buf, ints, flts, line, sums, n) -> None:
    """Run one allpass over the stretch, in place on the work row `sums`."""
    off, length, idx = ints[line, 0], ints[line, 1], ints[line, 2]
    for s in range(n):
        d = buf[unsigned(off + idx)]
        acc = flts[sums, s]
        buf[unsigned(off + idx)] = _flushed(acc + d * _ALLPASS_FEEDBACK)
        flts[sums, s] = d - acc
        idx += 1
        if idx >= length:
            idx = 0
    ints[line, 2] = idx


def rt60_feedback(delay_samples: int, rate: float, rt60: float) -> float:
    """The comb feedback that gives rt60 for a delay line of that length (for tests)."""
    return 10.0 ** (-3.0 * delay_samples / (rate * rt60))
