"""SoundFont modulators -> DLS2 connection blocks.

An SF2 modulator is `amount x src(primary) x src(amount source)` added to a generator; a DLS
connection is `scale x f(source) x f(control)` added to a destination, so most map one to one:
the primary source becomes the DLS source, the amount source the control, and the source bits
(direction, polarity, curve) become invert, bipolar and curve. A modulator aimed at an LFO or
envelope *depth* generator (modLfoToPitch, ...) becomes LFO/vibrato/EG2 x primary -> the
destination, which is exact when it has no amount source.

Default modulators (SF2.04 8.4) that the DLS2 defaults already say are not emitted at all; the
others become ordinary connections. What cannot be mapped is reported, never guessed at
(see README.md for the list and the reasons).
"""

from __future__ import annotations

from dmusd.banks import sf2_generators as G
from dmusd.banks.connection import (
    CONN_DST_CHORUS,
    CONN_DST_EG1_ATTACKTIME,
    CONN_DST_EG1_DECAYTIME,
    CONN_DST_EG1_DELAYTIME,
    CONN_DST_EG1_HOLDTIME,
    CONN_DST_EG1_RELEASETIME,
    CONN_DST_EG1_SUSTAINLEVEL,
    CONN_DST_EG2_ATTACKTIME,
    CONN_DST_EG2_DECAYTIME,
    CONN_DST_EG2_DELAYTIME,
    CONN_DST_EG2_HOLDTIME,
    CONN_DST_EG2_RELEASETIME,
    CONN_DST_EG2_SUSTAINLEVEL,
    CONN_DST_FILTER_CUTOFF,
    CONN_DST_FILTER_Q,
    CONN_DST_GAIN,
    CONN_DST_LFO_FREQUENCY,
    CONN_DST_LFO_STARTDELAY,
    CONN_DST_PAN,
    CONN_DST_PITCH,
    CONN_DST_REVERB,
    CONN_DST_VIB_FREQUENCY,
    CONN_DST_VIB_STARTDELAY,
    CONN_SRC_CHANNELPRESSURE,
    CONN_SRC_EG2,
    CONN_SRC_KEYNUMBER,
    CONN_SRC_KEYONVELOCITY,
    CONN_SRC_LFO,
    CONN_SRC_NONE,
    CONN_SRC_PITCHWHEEL,
    CONN_SRC_POLYPRESSURE,
    CONN_SRC_RPN0,
    CONN_SRC_VIBRATO,
    ConnectionBlock,
)
from dmusd.banks.sf2_reader import Modulator

# --- SF2.04 8.4: the default modulators every instrument zone starts with -----------------------
SRC_VELOCITY, SRC_KEY, SRC_POLY_PRESSURE, SRC_CHANNEL_PRESSURE = 2, 3, 10, 13
SRC_PITCH_WHEEL, SRC_PITCH_WHEEL_SENSITIVITY, SRC_LINK = 14, 16, 127
CC, NEGATIVE, BIPOLAR = 0x80, 0x100, 0x200
CONCAVE_TYPE = 1 << 10

DEFAULT_MODULATORS: tuple[Modulator, ...] = (
    Modulator(CONCAVE_TYPE | NEGATIVE | SRC_VELOCITY, G.INITIAL_ATTENUATION, 960, 0, 0),
    Modulator(SRC_CHANNEL_PRESSURE, G.VIB_LFO_TO_PITCH, 50, 0, 0),
    Modulator(CC | 1, G.VIB_LFO_TO_PITCH, 50, 0, 0),
    Modulator(CONCAVE_TYPE | NEGATIVE | CC | 7, G.INITIAL_ATTENUATION, 960, 0, 0),
    Modulator(BIPOLAR | CC | 10, G.PAN, 500, 0, 0),
    Modulator(CONCAVE_TYPE | NEGATIVE | CC | 11, G.INITIAL_ATTENUATION, 960, 0, 0),
    Modulator(CC | 91, G.REVERB_EFFECTS_SEND, 200, 0, 0),
    Modulator(CC | 93, G.CHORUS_EFFECTS_SEND, 200, 0, 0),
    # SF2.04 aims the wheel at "initial pitch", which has no generator id; editors (Polyphone,
    # the spec test) write and cancel it as fineTune, and both are pitch in cents.
    Modulator(BIPOLAR | SRC_PITCH_WHEEL, G.FINE_TUNE, 12700, SRC_PITCH_WHEEL_SENSITIVITY, 0),
)
# Defaults whose meaning the DLS2 default connections already carry (velocity, CC7, CC11 ->
# gain; CC10 -> pan; wheel x RPN0 -> pitch). Unchanged, they are left to the DLS2 defaults.
COVERED_BY_DLS2 = frozenset(DEFAULT_MODULATORS[i] for i in (0, 3, 4, 5, 8))
# SF2.04's default velocity -> filter cutoff (-2400 cents, negative linear) is deliberately not
# applied, as FluidSynth and BASSMIDI do not: the 2.01 and 2.04 forms disagree, and SoundFonts
# are voiced on synths without it. A file's own velocity -> cutoff modulators are mapped.
SF204_VELOCITY_TO_FILTER = Modulator(NEGATIVE | SRC_VELOCITY, G.INITIAL_FILTER_FC, -2400, 0, 0)

_GENERAL_SOURCES = {
    0: CONN_SRC_NONE,
    SRC_VELOCITY: CONN_SRC_KEYONVELOCITY,
    SRC_KEY: CONN_SRC_KEYNUMBER,
    SRC_POLY_PRESSURE: CONN_SRC_POLYPRESSURE,
    SRC_CHANNEL_PRESSURE: CONN_SRC_CHANNELPRESSURE,
    SRC_PITCH_WHEEL: CONN_SRC_PITCHWHEEL,
    SRC_PITCH_WHEEL_SENSITIVITY: CONN_SRC_RPN0,
}
# CCs SF2 forbids as modulator sources (bank select, data entry, RPN/NRPN, mode messages).
_ILLEGAL_CCS = frozenset({0, 6, 32, 38, 98, 99, 100, 101, *range(120, 128)})

# Generator -> (DLS destination, factor from the generator's unit to the destination's).
_DIRECT: dict[int, tuple[int, float]] = {
    G.INITIAL_ATTENUATION: (CONN_DST_GAIN, -1.0),  # attenuation cB -> gain cB, opposite sign
    G.PAN: (CONN_DST_PAN, 1.0),
    G.INITIAL_FILTER_FC: (CONN_DST_FILTER_CUTOFF, 1.0),
    9: (CONN_DST_FILTER_Q, 1.0),
    51: (CONN_DST_PITCH, 100.0),  # coarseTune: semitones
    52: (CONN_DST_PITCH, 1.0),  # fineTune: cents
    G.INITIAL_PITCH: (CONN_DST_PITCH, 1.0),
    G.CHORUS_EFFECTS_SEND: (CONN_DST_CHORUS, 1.0),
    G.REVERB_EFFECTS_SEND: (CONN_DST_REVERB, 1.0),
    21: (CONN_DST_LFO_STARTDELAY, 1.0),
    22: (CONN_DST_LFO_FREQUENCY, 1.0),
    23: (CONN_DST_VIB_STARTDELAY, 1.0),
    24: (CONN_DST_VIB_FREQUENCY, 1.0),
    25: (CONN_DST_EG2_DELAYTIME, 1.0),
    26: (CONN_DST_EG2_ATTACKTIME, 1.0),
    27: (CONN_DST_EG2_HOLDTIME, 1.0),
    28: (CONN_DST_EG2_DECAYTIME, 1.0),
    29: (CONN_DST_EG2_SUSTAINLEVEL, -1.0),  # a 0.1 % decrease -> a level
    30: (CONN_DST_EG2_RELEASETIME, 1.0),
    33: (CONN_DST_EG1_DELAYTIME, 1.0),
    34: (CONN_DST_EG1_ATTACKTIME, 1.0),
    35: (CONN_DST_EG1_HOLDTIME, 1.0),
    36: (CONN_DST_EG1_DECAYTIME, 1.0),
    37: (CONN_DST_EG1_SUSTAINLEVEL, -1000.0 / 960.0),  # cB decrease -> 0.1 % of 96 dB
    38: (CONN_DST_EG1_RELEASETIME, 1.0),
}
# Depth generators: modulating one scales an LFO or envelope output, so the DLS form is
# (that output) x (the modulator's source) -> destination.
_DEPTH: dict[int, tuple[int, int, float]] = {
    5: (CONN_SRC_LFO, CONN_DST_PITCH, 1.0),
    6: (CONN_SRC_VIBRATO, CONN_DST_PITCH, 1.0),
    7: (CONN_SRC_EG2, CONN_DST_PITCH, 1.0),
    10: (CONN_SRC_LFO, CONN_DST_FILTER_CUTOFF, 1.0),
    11: (CONN_SRC_EG2, CONN_DST_FILTER_CUTOFF, 1.0),
    13: (CONN_SRC_LFO, CONN_DST_GAIN, 1.0),  # modLfoToVolume: positive = louder
}


class Unmapped(Exception):
    """Why a modulator has no DLS form (collected as a warning by the caller)."""


def _source(operator: int) -> tuple[int, int]:
    """SF2 source operator -> (DLS source id, transform bits for the source side at bit 10)."""
    index = operator & 0x7F
    if operator & CC:
        if index in _ILLEGAL_CCS:
            raise Unmapped(f"CC{index} is not a legal modulator source")
        source = 0x80 + index
    elif index == SRC_LINK:
        raise Unmapped("linked modulators (modulator chains) have no DLS form")
    elif index in _GENERAL_SOURCES:
        source = _GENERAL_SOURCES[index]
    else:
        raise Unmapped(f"general controller {index} is not a defined source")
    curve = operator >> 10
    if curve > 3:
        raise Unmapped(f"source curve type {curve} is not defined")
    bits = curve << 10
    if operator & NEGATIVE:
        bits |= 1 << 15
    if operator & BIPOLAR:
        bits |= 1 << 14
    return source, bits


def to_connection(mod: Modulator) -> ConnectionBlock | None:
    """The connection a modulator becomes; None for a zero amount. Raises Unmapped."""
    if mod.amount == 0:
        return None
    if mod.dest & 0x8000:
        raise Unmapped("linked modulators (modulator chains) have no DLS form")
    if mod.trans != 0:
        raise Unmapped(f"output transform {mod.trans} (absolute value) has no DLS form")
    src, src_bits = _source(mod.src)
    ctl, ctl_bits = _source(mod.amt_src)
    ctl_bits >>= 6  # the control side sits at bits 9..4
    if mod.dest in _DEPTH:
        output, destination, factor = _DEPTH[mod.dest]
        if ctl != CONN_SRC_NONE and src != CONN_SRC_NONE:
            raise Unmapped(f"{G.GENERATORS[mod.dest].name} with two sources needs three factors")
        if src == CONN_SRC_NONE:
            src, src_bits = ctl, ctl_bits << 6
        scale = round(mod.amount * factor * 65536)
        return ConnectionBlock(output, src, destination, src_bits >> 6, scale)
    if mod.dest not in _DIRECT:
        name = G.GENERATORS[mod.dest].name if mod.dest in G.GENERATORS else f"generator {mod.dest}"
        raise Unmapped(f"{name} is not a DLS connection destination")
    destination, factor = _DIRECT[mod.dest]
    if src == CONN_SRC_NONE and ctl != CONN_SRC_NONE:
        src, src_bits, ctl, ctl_bits = ctl, ctl_bits << 6, CONN_SRC_NONE, 0
    scale = round(mod.amount * factor * 65536)
    return ConnectionBlock(src, ctl, destination, src_bits | ctl_bits, scale)
