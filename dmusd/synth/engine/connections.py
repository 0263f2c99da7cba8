"""DLS2 connection blocks: the source, destination and transform ids, the transform curves and
the unit conversions (ddi-digest 5.4, 5.5), plus the DLS2 default articulation (5.6).

A connection adds `scale x f_src(source) x f_ctl(control)` to its destination. Sources are
normalized the DLS way: a 7-bit value v is v/128 and a 14-bit value v/16384, so key -> pitch
with scale 12800 is exactly 100 cents a key and a centred wheel or pan is exactly 0 once
made bipolar (2u - 1). The curves (concave, convex, switch) are defined on 0..1 with 127 at the
top, so a full velocity through an inverted concave curve is exactly 0 dB.
"""

from __future__ import annotations

import math

import numpy as np

from dmusd.synth.engine import layout as L
from dmusd.synth.engine.jit import realtime, realtime_inline

# --- sources (usSource / usControl) -------------------------------------------------------------
CONN_SRC_NONE = 0x0000
CONN_SRC_LFO = 0x0001
CONN_SRC_KEYONVELOCITY = 0x0002
CONN_SRC_KEYNUMBER = 0x0003
CONN_SRC_EG1 = 0x0004
CONN_SRC_EG2 = 0x0005
CONN_SRC_PITCHWHEEL = 0x0006
CONN_SRC_POLYPRESSURE = 0x0007
CONN_SRC_CHANNELPRESSURE = 0x0008
CONN_SRC_VIBRATO = 0x0009
CONN_SRC_MONOPRESSURE = 0x000A
CONN_SRC_CC1 = 0x0081
CONN_SRC_CC7 = 0x0087
CONN_SRC_CC10 = 0x008A
CONN_SRC_CC11 = 0x008B
CONN_SRC_CC91 = 0x00DB
CONN_SRC_CC93 = 0x00DD
CONN_SRC_RPN0 = 0x0100
CONN_SRC_RPN1 = 0x0101
CONN_SRC_RPN2 = 0x0102


def CONN_SRC_CC(cc: int) -> int:
    """The source id of MIDI controller `cc` (0..127)."""
    return 0x80 + cc


# --- destinations (usDestination) ---------------------------------------------------------------
CONN_DST_NONE = 0x0000
CONN_DST_GAIN = 0x0001  # also DLS1 CONN_DST_ATTENUATION
CONN_DST_PITCH = 0x0003
CONN_DST_PAN = 0x0004
CONN_DST_KEYNUMBER = 0x0005
CONN_DST_LEFT = 0x0010
CONN_DST_RIGHT = 0x0011
CONN_DST_CENTER = 0x0012
CONN_DST_LEFTREAR = 0x0013
CONN_DST_RIGHTREAR = 0x0014
CONN_DST_LFE_CHANNEL = 0x0015
CONN_DST_CHORUS = 0x0080
CONN_DST_REVERB = 0x0081
CONN_DST_LFO_FREQUENCY = 0x0104
CONN_DST_LFO_STARTDELAY = 0x0105
CONN_DST_VIB_FREQUENCY = 0x0114
CONN_DST_VIB_STARTDELAY = 0x0115
CONN_DST_EG1_ATTACKTIME = 0x0206
CONN_DST_EG1_DECAYTIME = 0x0207
CONN_DST_EG1_RELEASETIME = 0x0209
CONN_DST_EG1_SUSTAINLEVEL = 0x020A
CONN_DST_EG1_DELAYTIME = 0x020B
CONN_DST_EG1_HOLDTIME = 0x020C
CONN_DST_EG1_SHUTDOWNTIME = 0x020D
CONN_DST_EG2_ATTACKTIME = 0x030A
CONN_DST_EG2_DECAYTIME = 0x030B
CONN_DST_EG2_RELEASETIME = 0x030D
CONN_DST_EG2_SUSTAINLEVEL = 0x030E
CONN_DST_EG2_DELAYTIME = 0x030F
CONN_DST_EG2_HOLDTIME = 0x0310
CONN_DST_FILTER_CUTOFF = 0x0500
CONN_DST_FILTER_Q = 0x0501

# DLS destination id -> the engine's compact index (layout.D_*). Destinations not listed (the
# multichannel LEFT/RIGHT/... outputs) do not apply to a stereo mix and are dropped.
DEST_INDEX: dict[int, int] = {
    CONN_DST_GAIN: L.D_GAIN,
    CONN_DST_PITCH: L.D_PITCH,
    CONN_DST_PAN: L.D_PAN,
    CONN_DST_KEYNUMBER: L.D_KEYNUMBER,
    CONN_DST_CHORUS: L.D_CHORUS,
    CONN_DST_REVERB: L.D_REVERB,
    CONN_DST_LFO_FREQUENCY: L.D_LFO_FREQ,
    CONN_DST_LFO_STARTDELAY: L.D_LFO_DELAY,
    CONN_DST_VIB_FREQUENCY: L.D_VIB_FREQ,
    CONN_DST_VIB_STARTDELAY: L.D_VIB_DELAY,
    CONN_DST_EG1_ATTACKTIME: L.D_EG1_ATTACK,
    CONN_DST_EG1_DECAYTIME: L.D_EG1_DECAY,
    CONN_DST_EG1_RELEASETIME: L.D_EG1_RELEASE,
    CONN_DST_EG1_SUSTAINLEVEL: L.D_EG1_SUSTAIN,
    CONN_DST_EG1_DELAYTIME: L.D_EG1_DELAY,
    CONN_DST_EG1_HOLDTIME: L.D_EG1_HOLD,
    CONN_DST_EG1_SHUTDOWNTIME: L.D_EG1_SHUTDOWN,
    CONN_DST_EG2_ATTACKTIME: L.D_EG2_ATTACK,
    CONN_DST_EG2_DECAYTIME: L.D_EG2_DECAY,
    CONN_DST_EG2_RELEASETIME: L.D_EG2_RELEASE,
    CONN_DST_EG2_SUSTAINLEVEL: L.D_EG2_SUSTAIN,
    CONN_DST_EG2_DELAYTIME: L.D_EG2_DELAY,
    CONN_DST_EG2_HOLDTIME: L.D_EG2_HOLD,
    CONN_DST_FILTER_CUTOFF: L.D_CUTOFF,
    CONN_DST_FILTER_Q: L.D_Q,
}

# --- transforms (usTransform) -------------------------------------------------------------------
CONN_TRN_NONE = 0
CONN_TRN_CONCAVE = 1
CONN_TRN_CONVEX = 2
CONN_TRN_SWITCH = 3

# Bit layout of a DLS2 art2 usTransform.
SRC_INVERT = 1 << 15
SRC_BIPOLAR = 1 << 14
CTL_INVERT = 1 << 9
CTL_BIPOLAR = 1 << 8

# After the engine's split (split_transform) each side is 6 bits: curve | BIPOLAR | INVERT.
T_CURVE_MASK = 0xF
T_BIPOLAR = 0x10
T_INVERT = 0x20


def transform_bits(
    src_curve: int = 0,
    src_bipolar: bool = False,
    src_invert: bool = False,
    ctl_curve: int = 0,
    ctl_bipolar: bool = False,
    ctl_invert: bool = False,
) -> int:
    """Pack a DLS2 usTransform the way an art2 chunk stores it."""
    return (
        (SRC_INVERT if src_invert else 0)
        | (SRC_BIPOLAR if src_bipolar else 0)
        | (src_curve & 0xF) << 10
        | (CTL_INVERT if ctl_invert else 0)
        | (CTL_BIPOLAR if ctl_bipolar else 0)
        | (ctl_curve & 0xF) << 4
    )


def split_transform(usTransform: int) -> tuple[int, int]:
    """The source side and the control side of a usTransform, as curve | bipolar | invert."""
    return (usTransform >> 10) & 0x3F, (usTransform >> 4) & 0x3F


# --- scale helpers (lScale values as stored in an art2 chunk, 16.16) -----------------------------
ZERO_TIME = -0x80000000  # 0x80000000 as a signed lScale: "0 seconds"
FILTER_OFF = 0x7FFFFFFF  # cutoff scale that leaves the filter open


def timecents_scale(seconds: float) -> int:
    """lScale for an absolute time, e.g. an envelope stage (0 s gives the ZERO_TIME sentinel)."""
    if seconds <= 0.0:
        return ZERO_TIME
    return round(1200.0 * math.log2(seconds) * 65536.0)


def pitch_hz_scale(hz: float) -> int:
    """lScale for an absolute pitch (LFO frequency, filter cutoff) in Hz."""
    return round((1200.0 * math.log2(hz / 440.0) + 6900.0) * 65536.0)


def cents_scale(cents: float) -> int:
    """lScale for a relative pitch in cents."""
    return round(cents * 65536.0)


def gain_scale(db: float) -> int:
    """lScale for a gain in dB (negative = quieter): units of 1/655360 dB."""
    return round(db * 655360.0)


def percent_scale(percent: float) -> int:
    """lScale for a level in percent (sustain, sends): units of 0.1 % x 65536."""
    return round(percent * 10.0 * 65536.0)


# --- the DLS2 default articulation (ddi-digest 5.6) -----------------------------------------------
_CONCAVE_INV = transform_bits(CONN_TRN_CONCAVE, src_invert=True)
DLS2_DEFAULTS: tuple[tuple[int, int, int, int, int], ...] = (
    # (usSource, usControl, usDestination, usTransform, lScale)
    (CONN_SRC_NONE, 0, CONN_DST_LFO_FREQUENCY, 0, pitch_hz_scale(5.0)),
    (CONN_SRC_NONE, 0, CONN_DST_LFO_STARTDELAY, 0, timecents_scale(0.01)),
    (CONN_SRC_NONE, 0, CONN_DST_VIB_FREQUENCY, 0, pitch_hz_scale(5.0)),
    (CONN_SRC_NONE, 0, CONN_DST_VIB_STARTDELAY, 0, timecents_scale(0.01)),
    (CONN_SRC_NONE, 0, CONN_DST_EG1_SUSTAINLEVEL, 0, percent_scale(100.0)),
    (CONN_SRC_NONE, 0, CONN_DST_EG2_SUSTAINLEVEL, 0, percent_scale(100.0)),
    (CONN_SRC_NONE, 0, CONN_DST_FILTER_CUTOFF, 0, FILTER_OFF),
    (CONN_SRC_KEYONVELOCITY, 0, CONN_DST_GAIN, _CONCAVE_INV, gain_scale(-96.0)),
    (CONN_SRC_CC7, 0, CONN_DST_GAIN, _CONCAVE_INV, gain_scale(-96.0)),
    (CONN_SRC_CC11, 0, CONN_DST_GAIN, _CONCAVE_INV, gain_scale(-96.0)),
    (CONN_SRC_CC10, 0, CONN_DST_PAN, transform_bits(src_bipolar=True), percent_scale(50.8)),
    (
        CONN_SRC_PITCHWHEEL,
        CONN_SRC_RPN0,
        CONN_DST_PITCH,
        transform_bits(src_bipolar=True),
        cents_scale(12800.0),
    ),
    (CONN_SRC_KEYNUMBER, 0, CONN_DST_PITCH, 0, cents_scale(12800.0)),
    (CONN_SRC_RPN1, 0, CONN_DST_PITCH, transform_bits(src_bipolar=True), cents_scale(100.0)),
    (CONN_SRC_RPN2, 0, CONN_DST_KEYNUMBER, transform_bits(src_bipolar=True), cents_scale(6400.0)),
    (CONN_SRC_CC91, 0, CONN_DST_REVERB, 0, percent_scale(100.0)),
    (CONN_SRC_CC93, 0, CONN_DST_CHORUS, 0, percent_scale(100.0)),
) + tuple(
    (CONN_SRC_NONE, 0, dest, 0, ZERO_TIME)
    for dest in (
        CONN_DST_EG1_DELAYTIME,
        CONN_DST_EG1_ATTACKTIME,
        CONN_DST_EG1_HOLDTIME,
        CONN_DST_EG1_DECAYTIME,
        CONN_DST_EG1_RELEASETIME,
        CONN_DST_EG2_DELAYTIME,
        CONN_DST_EG2_ATTACKTIME,
        CONN_DST_EG2_HOLDTIME,
        CONN_DST_EG2_DECAYTIME,
        CONN_DST_EG2_RELEASETIME,
    )
)
# A time destination that no source-NONE connection sets is 0 s, and a sustain level nobody sets
# is 100 %, so a partial list still behaves (see modulators.note_on).


# --- the curves ---------------------------------------------------------------------------------
_CURVE_STRETCH = 128.0 / 127.0  # 7-bit v/128 -> v/127, so v = 127 reaches the curve's top


@realtime
def _curve(curve: int, x: float) -> float:
    """A DLS curve on 0..1 -> 0..1."""
    if curve == CONN_TRN_CONCAVE:
        if x >= 1.0:
            return 1.0
        y = -(40.0 / 96.0) * math.log10(1.0 - x)  # linear in dB: amplitude goes as v squared
        return y if y < 1.0 else 1.0
    if curve == CONN_TRN_CONVEX:
        if x <= 0.0:
            return 0.0
        y = 1.0 + (40.0 / 96.0) * math.log10(x)
        return y if y > 0.0 else 0.0
    if curve == CONN_TRN_SWITCH:
        return 1.0 if x >= 0.5 else 0.0
    return x


@realtime
def apply_transform(bits: int, u: float) -> float:
    """Map a normalized source value u (0..1) through invert, bipolar and curve bits."""
    curve = bits & T_CURVE_MASK
    x = u
    if curve != CONN_TRN_NONE:
        x = u * _CURVE_STRETCH
        if x > 1.0:
            x = 1.0
    if bits & T_INVERT:
        x = 1.0 - x
    if bits & T_BIPOLAR:
        b = 2.0 * x - 1.0
        if curve == CONN_TRN_NONE:
            return b
        if b >= 0.0:
            return _curve(curve, b)
        return -_curve(curve, -b)
    return _curve(curve, x)


_LN2_1200 = math.log(2.0) / 1200.0  # cents -> natural log of the ratio (exp is cheaper than pow)


# --- unit conversions ----------------------------------------------------------------------------
@realtime_inline
def timecents_to_samples(tc: float, rate: float) -> float:
    """Absolute time cents (lScale/65536) -> samples. -32768 tc and below mean 0 s."""
    if tc <= -32768.0:
        return 0.0
    return rate * math.exp(tc * _LN2_1200)


@realtime_inline
def abs_cents_to_hz(cents: float) -> float:
    """Absolute pitch cents (lScale/65536) -> Hz."""
    return 440.0 * math.exp((cents - 6900.0) * _LN2_1200)


def connections_array(blocks) -> np.ndarray:
    """Connection blocks -> an int64 (n, 5) array (source, control, destination, transform, scale).

    Accepts tuples in that order or objects with DLS field names (usSource, usControl,
    usDestination, usTransform, lScale) or plain ones (source, control, destination, transform,
    scale). A glue layer builds this once per articulation and hands it to every voice.
    """
    rows = []
    for b in blocks:
        if isinstance(b, tuple | list):
            rows.append(tuple(int(x) for x in b))
        elif hasattr(b, "usSource"):
            rows.append((b.usSource, b.usControl, b.usDestination, b.usTransform, b.lScale))
        else:
            rows.append((b.source, b.control, b.destination, b.transform, b.scale))
    arr = np.zeros((len(rows), 5), dtype=np.int64)
    if rows:
        arr[:] = rows
    return arr


_DEST_LOOKUP = np.full(0x10000, -1, dtype=np.int64)
for _dls, _index in DEST_INDEX.items():
    _DEST_LOOKUP[_dls] = _index


def engine_rows(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An (n, 5) connections array -> the engine's (n, C_N) int rows and (n,) float scales.

    Destinations become compact indices (-1: not applicable to a stereo voice); each
    usTransform splits into its source and control sides; lScale is read as the signed 32-bit
    field it is and divided by 65536.
    """
    a = np.asarray(array, dtype=np.int64).reshape(-1, 5)
    rows = np.empty((a.shape[0], L.C_N), dtype=np.int64)
    rows[:, L.C_SOURCE] = a[:, 0] & 0xFFFF
    rows[:, L.C_CONTROL] = a[:, 1] & 0xFFFF
    rows[:, L.C_DEST] = _DEST_LOOKUP[a[:, 2] & 0xFFFF]
    rows[:, L.C_SRC_TRANSFORM] = (a[:, 3] >> 10) & 0x3F
    rows[:, L.C_CTL_TRANSFORM] = (a[:, 3] >> 4) & 0x3F
    scale = a[:, 4] & 0xFFFFFFFF
    scale = np.where(scale > 0x7FFFFFFF, scale - (1 << 32), scale)
    return rows, scale / 65536.0
