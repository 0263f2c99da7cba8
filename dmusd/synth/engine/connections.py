"""DLS2 connection blocks: the source, destination and transform ids, the transform curves and
the unit conversions (ddi-digest 5.4, 5.5), plus the DLS2 default articulation (5.6).

A connection adds `scale x f_src(source) x f_ctl(control)` to its destination. Sources are
normalized the DLS way: a 7-bit value v is v/128 and a 14-bit value v/16384, so key -> pitch
with scale 12800 is exactly 100 cents a key and a centred wheel or pan is exactly 0 once
made bipolar (2u - 1). The curves (concave, convex, switch) are defined on 0..1 with 127 at the
top, so a full velocity through an inverted concave curve is exactly 0 dB.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

# The DLS ids and transform bits are the banks' (dmusd/banks/connection.py): one definition
# serves the file readers, the writers and the engine. They are imported whole so that the
# compiled code can keep reading them as `C.<name>` constants.
from dmusd.banks import units
from dmusd.banks.articulation import DLS2_DEFAULT_CONNECTIONS
from dmusd.banks.connection import *
from dmusd.synth.engine import layout as L
from dmusd.synth.engine.jit import realtime, realtime_inline

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

# After the engine's split (split_transform) each side is 6 bits: curve | BIPOLAR | INVERT.
T_CURVE_MASK = 0xF
T_BIPOLAR = 0x10
T_INVERT = 0x20


def split_transform(usTransform: int) -> tuple[int, int]:
    """The source side and the control side of a usTransform, as curve | bipolar | invert."""
    return (usTransform >> 10) & 0x3F, (usTransform >> 4) & 0x3F


# --- scale helpers and the DLS2 default articulation: the banks' own, under the engine's names ---
timecents_scale = units.timecents  # absolute time in seconds (0 s -> ZERO_TIME)
pitch_hz_scale = units.abs_pitch  # absolute pitch in Hz (LFO frequency, filter cutoff)
cents_scale = units.cents  # relative pitch in cents
gain_scale = units.gain_db  # gain in dB, negative = quieter
percent_scale = units.percent  # level in percent (sustain, sends)
ZERO_TIME = units.ZERO_TIME
FILTER_OFF = units.FILTER_OFF
DLS2_DEFAULTS = DLS2_DEFAULT_CONNECTIONS  # (source, control, destination, transform, scale)
# A time destination that no source-NONE connection sets is 0 s, and a sustain level nobody sets
# is 100 %, so a partial list still behaves (see modulators.note_on).


# --- the curves ---------------------------------------------------------------------------------
_CURVE_STRETCH = 128.0 / 127.0  # 7-bit v/128 -> v/127, so v = 127 reaches the curve's top


@realtime_inline
def convex(x: float) -> float:
    """DLS's (and SoundFont's) convex curve on 0..1: the mirror of the concave one."""
    if x <= 0.0:
        return 0.0
    y = 1.0 + (40.0 / 96.0) * math.log10(x)
    return y if y > 0.0 else 0.0


@realtime
def _curve(curve: int, x: float) -> float:
    """A DLS curve on 0..1 -> 0..1."""
    if curve == CONN_TRN_CONCAVE:
        if x >= 1.0:
            return 1.0
        y = -(40.0 / 96.0) * math.log10(1.0 - x)  # linear in dB: amplitude goes as v squared
        return y if y < 1.0 else 1.0
    if curve == CONN_TRN_CONVEX:
        return convex(x)
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
    if all(type(b) is ConnectionBlock for b in blocks):
        # five ints each, read as one stream: np.array would discover every tuple (4x slower)
        flat = itertools.chain.from_iterable(blocks)
        return np.fromiter(flat, dtype=np.int64, count=5 * len(blocks)).reshape(-1, 5)
    if all(isinstance(b, tuple | list) for b in blocks):
        return np.array(blocks, dtype=np.int64).reshape(-1, 5)
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
