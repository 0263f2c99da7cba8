"""The voice's resonant low-pass: a 2-pole bilinear-transform biquad in direct form I.

Cutoff and resonance come from the connection sums (FILTER_CUTOFF in absolute pitch cents,
FILTER_Q in tenths of a dB of resonance, DLS2), so EG2, the LFO or a CC can sweep them; the
coefficients change at control points (every 64 samples), small steps that direct form I takes
without clicks. Direct form I is chosen for speed: its feedback path is one multiply-add per
sample, where a state-variable or transposed form chains two or three.

Gain structure: the DC gain is lowered by half the resonance (10^(-Q/40)), so a resonant
voice shows only half its Q as a peak above the unfiltered level and the rest as a quieter
pass band. SoundFont 2.01 asks for this (8.1.3, initialFilterQ; FluidSynth's
fluid_iir_filter_impl.cpp does it as 1/sqrt(Q)), and so does the DirectMusic synth's DLS2
filter (K = (1 + b1 + b2) 10^(-Q 0.025)); both formats get it (banks/README.md).
"""

from __future__ import annotations

import math

import numpy as np

from dmusd.synth.engine import layout as L
from dmusd.synth.engine.jit import realtime, realtime_fused, realtime_inline

MAX_CUTOFF_RATIO = 0.45  # of the output rate: above this the filter is as good as open
MIN_CUTOFF_HZ = 20.0
MAX_RESONANCE_DB = 40.0  # a hostile articulation cannot make the filter ring for ever
_LN2_1200 = math.log(2.0) / 1200.0


@realtime_inline
def dc_gain(q_db: float) -> float:
    """The pass-band gain for a resonance of q_db (0..MAX_RESONANCE_DB): half of it, in dB."""
    return 10.0 ** (-q_db / 40.0)


@realtime
def filter_set(vf, v: int, cutoff_cents: float, resonance_db: float, rate: float) -> None:
    """Coefficients for a cutoff in absolute pitch cents; skipped when nothing changed."""
    if cutoff_cents == vf[v, L.VF_FLT_CENTS] and resonance_db == vf[v, L.VF_FLT_QDB]:
        return
    vf[v, L.VF_FLT_CENTS] = cutoff_cents
    if resonance_db != vf[v, L.VF_FLT_QDB]:
        vf[v, L.VF_FLT_QDB] = resonance_db
        q_db = min(max(resonance_db, 0.0), MAX_RESONANCE_DB)
        # 0 dB of resonance is a Butterworth response (Q = 1/sqrt 2), as SF2 and FluidSynth
        # read it
        vf[v, L.VF_FLT_INVQ] = 10.0 ** (-(q_db - 3.0103) / 20.0)
        vf[v, L.VF_FLT_GAIN] = dc_gain(q_db)
    hz = 440.0 * math.exp((cutoff_cents - 6900.0) * _LN2_1200)
    fc = min(max(hz, MIN_CUTOFF_HZ), MAX_CUTOFF_RATIO * rate)
    k = math.tan(math.pi * fc / rate)
    kk = k * k
    k_q = k * vf[v, L.VF_FLT_INVQ]
    norm = 1.0 / (1.0 + k_q + kk)
    vf[v, L.VF_FLT_B0] = kk * norm * vf[v, L.VF_FLT_GAIN]
    vf[v, L.VF_FLT_A1] = 2.0 * (kk - 1.0) * norm
    vf[v, L.VF_FLT_A2] = (1.0 - k_q + kk) * norm


@realtime
def filter_clear(vf, v: int) -> None:
    vf[v, L.VF_FLT_CENTS] = math.nan  # forces the first filter_set to compute
    vf[v, L.VF_FLT_QDB] = math.nan
    vf[v, L.VF_FLT_X1] = 0.0
    vf[v, L.VF_FLT_X2] = 0.0
    vf[v, L.VF_FLT_Y1] = 0.0
    vf[v, L.VF_FLT_Y2] = 0.0


@realtime_fused  # its feedback chain is the voice loop's longest (a third of it, measured)
def filter_run(vf, v: int, buf, n: int, odd_start: bool) -> None:
    """Low-pass buf[0:n] in place.

    Two outputs per step, both from the two previous outputs (look-ahead: y[n+1] written out
    with y[n] substituted), so the feedback chain costs one multiply-add per two samples.
    Pairs are aligned on the voice's own even samples (odd_start: this stretch begins on an odd
    one), so the result does not depend on where blocks are cut.
    """
    b0 = vf[v, L.VF_FLT_B0]
    a1 = vf[v, L.VF_FLT_A1]
    a2 = vf[v, L.VF_FLT_A2]
    c = a1 * a1 - a2
    d = a1 * a2
    x1 = vf[v, L.VF_FLT_X1]
    x2 = vf[v, L.VF_FLT_X2]
    y1 = vf[v, L.VF_FLT_Y1]
    y2 = vf[v, L.VF_FLT_Y2]
    j = 0
    if odd_start and n > 0:
        x = np.float64(buf[0])
        y = b0 * (x + 2.0 * x1 + x2) - a2 * y2 - a1 * y1
        x2, x1, y2, y1 = x1, x, y1, y
        buf[0] = y
        j = 1
    while j + 1 < n:
        xa = np.float64(buf[j])
        xb = np.float64(buf[j + 1])
        ua = b0 * (xa + 2.0 * x1 + x2)
        ub = b0 * (xb + 2.0 * xa + x1)
        ya = (ua - a2 * y2) - a1 * y1
        yb = (ub - a1 * ua + d * y2) + c * y1
        buf[j] = ya
        buf[j + 1] = yb
        x2, x1, y2, y1 = xa, xb, ya, yb
        j += 2
    if j < n:
        x = np.float64(buf[j])
        y = b0 * (x + 2.0 * x1 + x2) - a2 * y2 - a1 * y1
        x2, x1, y2, y1 = x1, x, y1, y
        buf[j] = y
    vf[v, L.VF_FLT_X1] = x1
    vf[v, L.VF_FLT_X2] = x2
    vf[v, L.VF_FLT_Y1] = y1
    vf[v, L.VF_FLT_Y2] = y2


def lowpass_response_db(
    cutoff_hz: float, resonance_db: float, freq_hz: float, rate: float
) -> float:
    """The filter's magnitude at freq_hz in dB (for tests): the bilinear 2-pole low-pass with
    its pass band lowered by half the resonance."""
    fc = min(max(cutoff_hz, MIN_CUTOFF_HZ), MAX_CUTOFF_RATIO * rate)
    q_db = min(max(resonance_db, 0.0), MAX_RESONANCE_DB)
    q = 10.0 ** ((q_db - 3.0103) / 20.0)
    g = math.tan(math.pi * fc / rate)
    s = 1j * math.tan(math.pi * freq_hz / rate) / g
    h = 1.0 / (s * s + s / q + 1.0)
    return 20.0 * math.log10(abs(h)) - q_db / 2.0
