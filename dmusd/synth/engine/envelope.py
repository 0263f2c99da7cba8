"""EG1 (volume) and EG2 (modulation) envelopes: delay, attack, hold, decay, sustain, release.

DLS full-scale slope semantics (ddi-digest 5.5): the decay time is the time to fall from 100 %
to 0, so reaching a sustain level S takes decay x (1 - S); the release time is 100 % -> 0, so a
release from level x takes release x x. The attack is linear in amplitude. For EG1 the level
after the attack lives on a dB-linear scale of 96 dB (level 1 = 0 dB, 0 = -96 dB), so decay and
release are straight lines in dB, as in ddksynth; EG2 is linear throughout, but for an SF2
voice's attack, which its output reads through the convex curve (SF2.04 8.1.3 gen 26).

Both envelopes share one column layout (9 columns from `col`: delay, attack, hold, decay,
sustain, release in samples, then time in stage, level, release start level) and are advanced
at control points only.
"""

from __future__ import annotations

import math

from dmusd.synth.engine import layout as L
from dmusd.synth.engine.connections import convex
from dmusd.synth.engine.jit import realtime, realtime_inline, realtime_llvm_inline

DB_RANGE = 96.0
_DELAY, _ATTACK, _HOLD, _DECAY, _SUSTAIN, _RELEASE, _T, _LEVEL, _FROM = range(9)


@realtime
def eg_start(vf, vi, v: int, col: int, stage_col: int) -> None:
    vi[v, stage_col] = L.EG_DELAY
    vf[v, col + _T] = 0.0
    vf[v, col + _LEVEL] = 0.0
    vf[v, col + _FROM] = 0.0


@realtime_llvm_inline
def eg_advance(vf, vi, v: int, col: int, stage_col: int, n: float) -> None:
    """Move the envelope on by n samples, crossing as many stages as that takes."""
    stage = vi[v, stage_col]
    t = vf[v, col + _T]
    level = vf[v, col + _LEVEL]
    left = n
    while left > 0.0 and stage != L.EG_SUSTAIN and stage != L.EG_DONE:
        if stage == L.EG_DELAY or stage == L.EG_HOLD:
            dur = vf[v, col + (_DELAY if stage == L.EG_DELAY else _HOLD)]
            step = min(left, dur - t)
            t += step
            left -= step
            if t >= dur:
                stage += 1  # delay -> attack, hold -> decay
                t = 0.0
                level = 0.0 if stage == L.EG_ATTACK else 1.0
        elif stage == L.EG_ATTACK:
            dur = vf[v, col + _ATTACK]
            step = min(left, dur - t)
            t += step
            left -= step
            if t >= dur:
                stage = L.EG_HOLD
                t = 0.0
                level = 1.0
            else:
                level = t / dur
        elif stage == L.EG_DECAY:
            full = vf[v, col + _DECAY]
            sustain = vf[v, col + _SUSTAIN]
            dur = full * (1.0 - sustain)
            step = min(left, dur - t)
            t += step
            left -= step
            if t >= dur:
                stage = L.EG_SUSTAIN
                t = 0.0
                level = sustain
            else:
                level = 1.0 - t / full
        else:  # release
            full = vf[v, col + _RELEASE]
            start = vf[v, col + _FROM]
            dur = full * start
            step = min(left, dur - t)
            t += step
            left -= step
            if t >= dur:
                stage = L.EG_DONE
                level = 0.0
            else:
                level = start - t / full
    vi[v, stage_col] = stage
    vf[v, col + _T] = t
    vf[v, col + _LEVEL] = level


@realtime
def eg_release(vf, vi, v: int, col: int, stage_col: int, volume: bool) -> None:
    """Note-off: start the release from wherever the envelope is."""
    stage = vi[v, stage_col]
    if stage == L.EG_DONE or stage == L.EG_RELEASE:
        return
    level = vf[v, col + _LEVEL]
    if stage == L.EG_DELAY:
        level = 0.0
    elif stage == L.EG_ATTACK and volume:
        # attack level is an amplitude; release runs on the dB scale
        level = 1.0 + 20.0 * math.log10(level) / DB_RANGE if level > 0.0 else 0.0
        level = max(level, 0.0)
    vf[v, col + _FROM] = level
    vf[v, col + _LEVEL] = level
    vf[v, col + _T] = 0.0
    vi[v, stage_col] = L.EG_RELEASE if level > 0.0 else L.EG_DONE


@realtime_inline
def eg1_amplitude(vf, vi, v: int) -> float:
    """EG1's current output as a linear amplitude 0..1."""
    stage = vi[v, L.VI_EG1_STAGE]
    level = vf[v, L.VF_EG1_LEVEL]
    if stage == L.EG_ATTACK:
        return level
    if stage == L.EG_DELAY or stage == L.EG_DONE or level <= 0.0:
        return 0.0
    return 10.0 ** ((level - 1.0) * (DB_RANGE / 20.0))


@realtime_inline
def eg2_value(vf, vi, v: int) -> float:
    """EG2's current output 0..1 (an SF2 voice's attack convex, as SF2.04 8.1.3 gen 26 asks)."""
    stage = vi[v, L.VI_EG2_STAGE]
    if stage == L.EG_DELAY:
        return 0.0
    level = vf[v, L.VF_EG2_LEVEL]
    if stage == L.EG_ATTACK and vi[v, L.VI_SF2_SHAPES] != 0:
        return convex(level)
    return level
