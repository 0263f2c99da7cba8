"""One voice's samples for one stretch of a block: control points, interpolation, filter, mix.

The stretch is cut at the voice's own control points, so the output does not depend on where
blocks or command segments begin: the same notes give the same samples at any block size.
Inside a control interval pitch and the four bus gains (left, right, reverb send, chorus send)
ramp linearly; the gain at a sample is computed from the ramp's start, never accumulated, so a
vectorizing compiler cannot change it.
"""

from __future__ import annotations

import numpy as np

from dmusd.synth.engine import layout as L
from dmusd.synth.engine.filter import filter_run
from dmusd.synth.engine.interpolation import (
    MIN_WINDOW_LOOP,
    TAPS_LEFT,
    TAPS_RIGHT,
    fill_fast,
    fill_loop,
    fill_wrapping,
)
from dmusd.synth.engine.jit import realtime, realtime_inline
from dmusd.synth.engine.modulators import control_point, steady

# 0, 1, 2 ... as float32, as long as the longest control interval: the mix loops read a ramp step
# from it rather than convert the loop index (int64 -> float32 has no vector instruction on
# AVX2, so each sample took a scalar conversion; measured alone, the four-bus mix went from 0.91
# to 0.75 ns a sample). The values are exact integers, so the gains are the same to the bit.
_STEPS = np.arange(L.MAX_CONTROL_INTERVAL, dtype=np.float32)


@realtime_inline
def _mix_stereo(buf, n, bus, row, s, gl0, dgl, gr0, dgr, k0) -> None:
    # Views of the stretch indexed from 0 and a float step: this shape vectorizes (an index
    # s + j makes numba check it for negative wraparound on every access, which does not).
    left = bus[row, s : s + n]
    right = bus[row + 1, s : s + n]
    first = np.float32(k0 + 1)
    for j in range(n):
        x = buf[j]
        step = first + _STEPS[j]
        left[j] += x * (gl0 + step * dgl)
        right[j] += x * (gr0 + step * dgr)


@realtime_inline
def _mix_sends(buf, n, bus, row, s, gl0, dgl, gr0, dgr, ge0, dge, gc0, dgc, k0) -> None:
    # one pass for all four buses: the sample is loaded once, four streams are written
    left = bus[row, s : s + n]
    right = bus[row + 1, s : s + n]
    reverb = bus[2, s : s + n]
    chorus = bus[3, s : s + n]
    first = np.float32(k0 + 1)
    for j in range(n):
        x = buf[j]
        step = first + _STEPS[j]
        left[j] += x * (gl0 + step * dgl)
        right[j] += x * (gr0 + step * dgr)
        reverb[j] += x * (ge0 + step * dge)
        chorus[j] += x * (gc0 + step * dgc)


@realtime
def render_voice(
    v, s, s_end, vi, vf, conn, cscale, chan, poly, params, acc, pool, table, bus, vbuf
):
    """Render voice v into bus[:, s:s_end]: its mix pair (the channel's own pair when the pin
    has channel outputs) and its sends. Returns False when the voice finished.

    vbuf: a control interval of the voice's samples, then the window fill_loop lays a loop out
    in (Engine sizes it)."""
    mode = vi[v, L.VI_INTERP]
    base = vi[v, L.VI_WAVE_OFFSET]
    length = vi[v, L.VI_WAVE_LENGTH]
    loop_type = vi[v, L.VI_LOOP_TYPE]
    ls = vi[v, L.VI_LOOP_START]
    le = vi[v, L.VI_LOOP_END]
    n_ctl = int(params[L.P_CONTROL_INTERVAL])
    window = vbuf[n_ctl:]
    window_fits = le - ls >= MIN_WINDOW_LOOP  # the loop is long enough for fill_loop
    left_taps = TAPS_LEFT[mode]
    right_taps = TAPS_RIGHT[mode]
    row = 0  # the mix, or the channel's own pair when the pin has channel outputs
    first_channel_row = int(params[L.P_CHANNEL_ROW])
    if first_channel_row != 0:
        row = first_channel_row + 2 * (vi[v, L.VI_CHANNEL] % 16)
    while s < s_end:
        if vi[v, L.VI_CTL_LEFT] == 0:
            if steady(v, vi, vf):  # nothing to recompute: skip the call
                vi[v, L.VI_CTL_LEFT] = n_ctl
                vi[v, L.VI_CTL_DONE] = 0
            elif not control_point(v, vi, vf, conn, cscale, chan, poly, params, acc, False):
                return False
        n = min(vi[v, L.VI_CTL_LEFT], s_end - s)
        pos = vi[v, L.VI_POS]
        inc = vi[v, L.VI_INC]
        dinc = vi[v, L.VI_DINC]
        looping = loop_type == L.LOOP_FORWARD or (
            loop_type == L.LOOP_RELEASE and vi[v, L.VI_RELEASED] == 0
        )
        wrapped = vi[v, L.VI_WRAPPED]
        # Fast path when no tap of this stretch can reach a loop end, the wave end or (after a
        # wrap) back before the loop start.
        reach = (pos + n * max(inc, inc + n * dinc)) >> L.FRAC_BITS
        hi = le if looping else length
        lo = ls if (looping and wrapped) else -L.GUARD
        written = n
        done = False
        if reach + right_taps + 1 < hi and (pos >> L.FRAC_BITS) - left_taps >= lo:
            pos, inc = fill_fast(mode, pool, base, pos, inc, dinc, n, vbuf, 0, table)
            done = True
        elif looping and window_fits:
            pos, inc, wrapped, done = fill_loop(
                mode, pool, base, ls, le, wrapped, pos, inc, dinc, n, vbuf, window, table
            )
            vi[v, L.VI_WRAPPED] = wrapped
        if not done:
            pos, inc, wrapped, written = fill_wrapping(
                mode, pool, base, length, looping, wrapped, ls, le, pos, inc, dinc, n, vbuf, table
            )
            vi[v, L.VI_WRAPPED] = wrapped
        vi[v, L.VI_POS] = pos
        vi[v, L.VI_INC] = inc
        if vi[v, L.VI_FILTER] != 0:
            filter_run(vf, v, vbuf, written, (vi[v, L.VI_PLAYED] & 1) == 1)
        k0 = vi[v, L.VI_CTL_DONE]
        # float32 gains: the mix loops then vectorize at full SIMD width
        ge0 = np.float32(vf[v, L.VF_GREV0])
        dge = np.float32(vf[v, L.VF_DGREV])
        gc0 = np.float32(vf[v, L.VF_GCHO0])
        dgc = np.float32(vf[v, L.VF_DGCHO])
        gl0 = np.float32(vf[v, L.VF_GL0])
        dgl = np.float32(vf[v, L.VF_DGL])
        gr0 = np.float32(vf[v, L.VF_GR0])
        dgr = np.float32(vf[v, L.VF_DGR])
        if ge0 != 0.0 or dge != 0.0 or gc0 != 0.0 or dgc != 0.0:
            _mix_sends(vbuf, written, bus, row, s, gl0, dgl, gr0, dgr, ge0, dge, gc0, dgc, k0)
        else:
            _mix_stereo(vbuf, written, bus, row, s, gl0, dgl, gr0, dgr, k0)
        if written < n:  # a one-shot ran out of wave
            vi[v, L.VI_STATE] = L.VOICE_FINISHED
            vf[v, L.VF_LEVEL] = 0.0
            return False
        vi[v, L.VI_CTL_LEFT] -= n
        vi[v, L.VI_CTL_DONE] = k0 + n
        vi[v, L.VI_PLAYED] += n
        s += n
    return True
