"""NRPNs, compiled: SoundFont 2.01 generator offsets, GS/XG part and drum instrument parameters.

Data entry on a selected NRPN stores the parameter in the channel state (pin_layout CH_GEN,
CH_PART, CH_DRUM_KEY); the channel's offsets per destination are then sent to the engine as
channel offsets (layout V_OFFSET + D_*), timed SOURCE commands like any controller, so notes
already sounding follow at the event's sample (as FluidSynth's fluid_synth_set_gen does). The
drum instrument parameters act on the notes of their key from the next note-on.

- SF2.01 9.6 (MSB 120): the LSBs 100/101/102 add 100/1000/10000 to the generator number and an
  LSB < 100 adds itself; data entry MSB (with the LSB before it) is a 14-bit offset centred at
  8192, times the generator's NRPN scale (FluidSynth's fluid_gen_info table: 1, 2 or 4 units).
  FluidSynth then resets the selection, and so do we.
- GS/XG part NRPNs (MSB 1; SC-88 manual, XG spec): the data entry MSB, 64 = no change, scaled
  to our units by the steps below (the manuals give no unit: these are our choice, chosen so
  the full range is about two octaves of cutoff, a factor of four in time).
- GS (0x18 coarse pitch, 0x1A level, 0x1C pan, 0x1D reverb, 0x1E chorus) and XG (also 0x14
  cutoff, 0x15 resonance, 0x16 attack, 0x17 decay, 0x19 fine pitch) drum instrument NRPNs:
  LSB = key.
"""

from __future__ import annotations

import math

from dmusd.banks import sf2_generators as G
from dmusd.synth.engine import controllers as K
from dmusd.synth.engine import layout as L
from dmusd.synth.engine import pin_layout as P
from dmusd.synth.engine.jit import realtime, realtime_inline

SF2_NRPN_MSB = 120
PART_MSB = 1
TIME_STEP_TC = 37.5  # GS/XG relative time: +-64 steps = +-2400 time cents (x4 / /4)
CUTOFF_STEP_CENTS = 37.5  # +-64 steps = +-2 octaves
RESONANCE_STEP_CB = 3.0  # +-64 steps = +-19 dB
RATE_STEP_CENTS = 18.75  # vibrato rate: +-64 steps = +-1 octave
DEPTH_STEP_CENTS = 100.0 / 64.0  # vibrato depth: +-64 steps = +-100 cents of vibrato

# FluidSynth's NRPN scale per generator 0..60 (units per data step), 0 for the generators no
# destination of ours takes (sample offsets, keynum, exclusive class, depths to filter/volume)
_SCALE = (
    0, 0, 0, 0, 0, 2, 2, 0, 2, 1,  # 0-9: modLfo/vibLfo -> pitch, cutoff, Q
    0, 0, 0, 0, 0, 1, 1, 1, 0, 0,  # 10-19: chorus, reverb, pan
    0, 2, 4, 2, 4, 2, 2, 2, 2, 1,  # 20-29: LFO delays and frequencies, mod env
    2, 0, 0, 2, 2, 2, 2, 1, 2, 0,  # 30-39: mod env release, vol env
    0, 0, 0, 0, 0, 0, 0, 0, 1, 0,  # 40-49: initialAttenuation
    0, 1, 1, 0, 0, 0, 0, 0, 0, 0,  # 50-59: coarse and fine tune
    0,
)  # fmt: skip


@realtime_inline
def generator_scale(gen) -> int:
    """FluidSynth's NRPN scale of a generator (units per data step); 0: not reachable here."""
    return _SCALE[gen] if 0 <= gen < len(_SCALE) else 0


# Per engine destination (layout D_*): the SF2 generator whose offset reaches it (-1: none)
# and the factor from the generator's units to the destination's (an NRPN initialAttenuation
# is whole cB, as in FluidSynth, which applies the EMU 0.4 only to the file's value; a vol env
# sustain is cB of attenuation on DLS's 96 dB scale, a mod env sustain a decrease), then the
# GS/XG part parameter (-1: none) and its step.
_DEST_GEN = (
    G.INITIAL_ATTENUATION, G.FINE_TUNE, G.PAN, -1,  # gain pitch pan keynumber
    G.CHORUS_EFFECTS_SEND, G.REVERB_EFFECTS_SEND,
    G.FREQ_MOD_LFO, G.FREQ_VIB_LFO, G.INITIAL_FILTER_FC, G.INITIAL_FILTER_Q,
    G.DELAY_MOD_LFO, G.DELAY_VIB_LFO,
    G.DELAY_VOL_ENV, G.ATTACK_VOL_ENV, G.HOLD_VOL_ENV, G.DECAY_VOL_ENV, G.SUSTAIN_VOL_ENV,
    G.RELEASE_VOL_ENV, -1,  # EG1 delay attack hold decay sustain release, shutdown
    G.DELAY_MOD_ENV, G.ATTACK_MOD_ENV, G.HOLD_MOD_ENV, G.DECAY_MOD_ENV, G.SUSTAIN_MOD_ENV,
    G.RELEASE_MOD_ENV,  # EG2
)  # fmt: skip
_DEST_FACTOR = (
    -1.0, 1.0, 1.0, 0.0, 1.0, 1.0,
    1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
    1.0, 1.0, 1.0, 1.0, -1000.0 / 960.0, 1.0, 0.0,
    1.0, 1.0, 1.0, 1.0, -1.0, 1.0,
)  # fmt: skip
_DEST_PART = (
    -1, -1, -1, -1, -1, -1,
    -1, P.PART_VIB_RATE, P.PART_CUTOFF, P.PART_RESONANCE, -1, P.PART_VIB_DELAY,
    -1, P.PART_ATTACK, -1, P.PART_DECAY, -1, P.PART_RELEASE, -1,
    -1, -1, -1, -1, -1, -1,
)  # fmt: skip
_DEST_STEP = (
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0, RATE_STEP_CENTS, CUTOFF_STEP_CENTS, RESONANCE_STEP_CB, 0.0, TIME_STEP_TC,
    0.0, TIME_STEP_TC, 0.0, TIME_STEP_TC, 0.0, TIME_STEP_TC, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
)  # fmt: skip


assert len(_DEST_GEN) == len(_DEST_FACTOR) == len(_DEST_PART) == len(_DEST_STEP) == L.N_DEST


@realtime
def destination_offset(ch, d, chs) -> float:
    """The channel's NRPN offset on engine destination d (0..N_DEST-1), in its units."""
    value = 0.0
    gen = _DEST_GEN[d]
    if gen >= 0:
        value = _DEST_FACTOR[d] * chs[ch, P.CH_GEN + gen]
    if d == L.D_PITCH:
        value += 100.0 * chs[ch, P.CH_GEN + G.COARSE_TUNE]
    part = _DEST_PART[d]
    if part >= 0:
        value += _DEST_STEP[d] * chs[ch, P.CH_PART + part]
    return value


@realtime_inline
def drum_offset(e, key, d, chs) -> float:
    """A drum instrument NRPN's offset on destination d for `key` (0 when none is set)."""
    base = P.CH_DRUM_KEY + key * P.N_DRUM_PARAMS
    out = 0.0
    if d == L.D_PITCH:
        v = chs[e, base + P.DK_COARSE]
        if v >= 0:
            out += 100.0 * (v - 64)
        v = chs[e, base + P.DK_FINE]
        if v >= 0:
            out += float(v - 64)
        return out
    if d == L.D_GAIN:
        v = chs[e, base + P.DK_LEVEL]
        if v >= 0:  # a volume-style curve: 127 as the kit is
            out = 400.0 * math.log10(max(v, 1) / 127.0)
        return out
    if d == L.D_PAN:
        v = chs[e, base + P.DK_PAN]
        if v > 0:  # 0 is "random" on the SC-88: left as the kit is
            out = (v - 64) * 500.0 / 64.0
        return out
    if d == L.D_REVERB or d == L.D_CHORUS:
        v = chs[e, base + (P.DK_REVERB if d == L.D_REVERB else P.DK_CHORUS)]
        if v >= 0:
            out = (v - 127) * 1000.0 / 127.0
        return out
    index = -1
    step = TIME_STEP_TC
    if d == L.D_CUTOFF:
        index = P.DK_CUTOFF
        step = CUTOFF_STEP_CENTS
    elif d == L.D_Q:
        index = P.DK_RESONANCE
        step = RESONANCE_STEP_CB
    elif d == L.D_EG1_ATTACK:
        index = P.DK_ATTACK
    elif d == L.D_EG1_DECAY:
        index = P.DK_DECAY
    if index >= 0:
        v = chs[e, base + index]
        if v >= 0:
            out = step * (v - 64)
    return out


@realtime_inline
def _drum_param(msb) -> int:
    """The DK_* column of a drum instrument NRPN MSB (GS 0x18..0x1E, XG 0x14..0x1E), or -1."""
    if 0x14 <= msb <= 0x19:
        return P.DK_CUTOFF + (msb - 0x14)
    if msb == 0x1A:
        return P.DK_LEVEL
    if 0x1C <= msb <= 0x1E:
        return P.DK_PAN + (msb - 0x1C)
    return -1


@realtime_inline
def _part_param(lsb) -> int:
    """The PART_* column of a GS/XG part NRPN (MSB 1) LSB, or -1."""
    if 0x08 <= lsb <= 0x0A:
        return P.PART_VIB_RATE + (lsb - 0x08)
    if lsb == 0x20 or lsb == 0x21:
        return P.PART_CUTOFF + (lsb - 0x20)
    if lsb == 0x63 or lsb == 0x64:
        return P.PART_ATTACK + (lsb - 0x63)
    if lsb == 0x66:
        return P.PART_RELEASE
    return -1


@realtime
def select(ch, msb, value, chs, cc) -> None:
    """An NRPN MSB or LSB arrived (after the number was stored): the SF2 generator number
    adds up, and a new number starts with data entry at 0 (as FluidSynth does)."""
    cc[ch, K.CC_DATA_MSB] = 0
    cc[ch, K.CC_DATA_LSB] = 0
    if msb:
        chs[ch, P.CH_NRPN_SELECT] = 0
        return
    if cc[ch, K.CC_NRPN_MSB] != SF2_NRPN_MSB:
        return
    if value == 100:
        chs[ch, P.CH_NRPN_SELECT] += 100
    elif value == 101:
        chs[ch, P.CH_NRPN_SELECT] += 1000
    elif value == 102:
        chs[ch, P.CH_NRPN_SELECT] += 10000
    elif value < 100:
        chs[ch, P.CH_NRPN_SELECT] += value


@realtime
def data_entry(ch, c, chs, cc) -> bool:
    """Data entry MSB (an LSB only stores) on the selected NRPN; True when a channel offset
    changed (the caller sends them)."""
    if c != K.CC_DATA_MSB:
        return False
    param = chs[ch, P.CH_PARAM]
    msb = param >> 7
    lsb = param & 0x7F
    if msb == SF2_NRPN_MSB and lsb < 100:
        gen = chs[ch, P.CH_NRPN_SELECT]
        chs[ch, P.CH_NRPN_SELECT] = 0
        scale = generator_scale(gen)
        if scale == 0:
            return False
        data = min(cc[ch, K.CC_DATA_MSB] << 7 | cc[ch, K.CC_DATA_LSB], 16384)
        chs[ch, P.CH_GEN + gen] = (data - 8192) * scale
        return True
    if msb == PART_MSB:
        index = _part_param(lsb)
        if index < 0:
            return False
        chs[ch, P.CH_PART + index] = cc[ch, K.CC_DATA_MSB] - 64
        return True
    index = _drum_param(msb)
    if index >= 0:
        chs[ch, P.CH_DRUM_KEY + lsb * P.N_DRUM_PARAMS + index] = cc[ch, K.CC_DATA_MSB]
    return False


@realtime
def reset(ch, chs) -> None:
    """Power-on / system reset: no NRPN offset, no drum instrument parameter."""
    chs[ch, P.CH_NRPN_SELECT] = 0
    for i in range(P.N_NRPN_GENERATORS):
        chs[ch, P.CH_GEN + i] = 0
    for i in range(P.N_PART):
        chs[ch, P.CH_PART + i] = 0
    for i in range(128 * P.N_DRUM_PARAMS):
        chs[ch, P.CH_DRUM_KEY + i] = -1
