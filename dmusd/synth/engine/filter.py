"""The voice's resonant low-pass: a 2-pole topology-preserving-transform state-variable filter.

Cutoff and resonance come from the connection sums (FILTER_CUTOFF in absolute pitch cents,
FILTER_Q in tenths of a dB of resonance, DLS2), so EG2, the LFO or a CC can sweep them. The TPT
form (Zavalishin) stays stable and click-free when its coefficients jump at a control point.
"""

from __future__ import annotations

import math

from numba import njit

from dmusd.synth.engine import layout as L

MAX_CUTOFF_RATIO = 0.45  # of the output rate: above this the filter is as good as open
MIN_CUTOFF_HZ = 20.0


@njit(nogil=True, cache=True)
def filter_set(vf, v: int, cutoff_hz: float, resonance_db: float, rate: float) -> None:
    """Compute the coefficients for one control interval."""
    fc = min(max(cutoff_hz, MIN_CUTOFF_HZ), MAX_CUTOFF_RATIO * rate)
    # 0 dB of resonance is a Butterworth response (Q = 1/sqrt 2), as SF2 and FluidSynth read it
    q = 10.0 ** ((min(max(resonance_db, 0.0), 40.0) - 3.0103) / 20.0)
    g = math.tan(math.pi * fc / rate)
    k = 1.0 / q
    a1 = 1.0 / (1.0 + g * (g + k))
    vf[v, L.VF_FLT_A1] = a1
    vf[v, L.VF_FLT_A2] = g * a1
    vf[v, L.VF_FLT_A3] = g * g * a1


@njit(nogil=True, cache=True)
def filter_run(vf, v: int, buf, n: int) -> None:
    """Low-pass buf[0:n] in place."""
    a1 = vf[v, L.VF_FLT_A1]
    a2 = vf[v, L.VF_FLT_A2]
    a3 = vf[v, L.VF_FLT_A3]
    ic1 = vf[v, L.VF_FLT_IC1]
    ic2 = vf[v, L.VF_FLT_IC2]
    for j in range(n):
        v3 = buf[j] - ic2
        v1 = a1 * ic1 + a2 * v3
        v2 = ic2 + a2 * ic1 + a3 * v3
        ic1 = 2.0 * v1 - ic1
        ic2 = 2.0 * v2 - ic2
        buf[j] = v2
    vf[v, L.VF_FLT_IC1] = ic1
    vf[v, L.VF_FLT_IC2] = ic2


def lowpass_response_db(
    cutoff_hz: float, resonance_db: float, freq_hz: float, rate: float
) -> float:
    """The filter's magnitude at freq_hz in dB (for tests): the bilinear 2-pole low-pass."""
    fc = min(max(cutoff_hz, MIN_CUTOFF_HZ), MAX_CUTOFF_RATIO * rate)
    q = 10.0 ** ((min(max(resonance_db, 0.0), 40.0) - 3.0103) / 20.0)
    g = math.tan(math.pi * fc / rate)
    s = 1j * math.tan(math.pi * freq_hz / rate) / g
    h = 1.0 / (s * s + s / q + 1.0)
    return 20.0 * math.log10(abs(h))
