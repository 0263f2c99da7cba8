"""DLS2 connection blocks: the ids of dls1.h/dls2.h and the record an articulation is made of.

A connection adds `scale x f_src(source) x f_ctl(control)` to its destination (ddi-digest 5.4).
`scale` is the 16.16 fixed-point lScale exactly as an art1/art2 chunk stores it; `transform` is
always in the DLS2 art2 bit layout (art1 lists are converted when read, see dls_reader).
"""

from __future__ import annotations

from typing import NamedTuple

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
    return 0x80 + (cc & 0x7F)


# --- destinations (usDestination) ---------------------------------------------------------------
CONN_DST_NONE = 0x0000
CONN_DST_GAIN = 0x0001  # DLS1 calls it CONN_DST_ATTENUATION; negative scale = quieter
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

# Every destination DLS Level 1 and 2 define (dls1.h, dls2.h); a connection to any other is a
# broken item: readers skip it with a warning.
DESTINATIONS = frozenset(
    value for name, value in dict(globals()).items() if name.startswith("CONN_DST_")
)

# Destinations that exist only in DLS Level 2 (a Level 1 writer must drop them).
DLS2_ONLY_DESTINATIONS = frozenset(
    {
        CONN_DST_KEYNUMBER,
        CONN_DST_LEFT,
        CONN_DST_RIGHT,
        CONN_DST_CENTER,
        CONN_DST_LEFTREAR,
        CONN_DST_RIGHTREAR,
        CONN_DST_LFE_CHANNEL,
        CONN_DST_CHORUS,
        CONN_DST_REVERB,
        CONN_DST_VIB_FREQUENCY,
        CONN_DST_VIB_STARTDELAY,
        CONN_DST_EG1_DELAYTIME,
        CONN_DST_EG1_HOLDTIME,
        CONN_DST_EG1_SHUTDOWNTIME,
        CONN_DST_EG2_DELAYTIME,
        CONN_DST_EG2_HOLDTIME,
        CONN_DST_FILTER_CUTOFF,
        CONN_DST_FILTER_Q,
    }
)
DLS1_SOURCES = frozenset(
    {
        CONN_SRC_NONE,
        CONN_SRC_LFO,
        CONN_SRC_KEYONVELOCITY,
        CONN_SRC_KEYNUMBER,
        CONN_SRC_EG1,
        CONN_SRC_EG2,
        CONN_SRC_PITCHWHEEL,
        CONN_SRC_CC1,
        CONN_SRC_CC7,
        CONN_SRC_CC10,
        CONN_SRC_CC11,
        CONN_SRC_RPN0,
        CONN_SRC_RPN1,
        CONN_SRC_RPN2,
    }
)

# --- transforms (usTransform) -------------------------------------------------------------------
CONN_TRN_NONE = 0
CONN_TRN_CONCAVE = 1
CONN_TRN_CONVEX = 2
CONN_TRN_SWITCH = 3

# The art2 bit layout: bit15 source invert, bit14 source bipolar, bits13-10 source curve,
# bit9 control invert, bit8 control bipolar, bits7-4 control curve, bits3-0 output (0 in DLS2).
SRC_INVERT = 1 << 15
SRC_BIPOLAR = 1 << 14
CTL_INVERT = 1 << 9
CTL_BIPOLAR = 1 << 8


def transform_bits(
    src_curve: int = CONN_TRN_NONE,
    src_bipolar: bool = False,
    src_invert: bool = False,
    ctl_curve: int = CONN_TRN_NONE,
    ctl_bipolar: bool = False,
    ctl_invert: bool = False,
) -> int:
    """Pack a usTransform the way an art2 chunk stores it."""
    return (
        (SRC_INVERT if src_invert else 0)
        | (SRC_BIPOLAR if src_bipolar else 0)
        | (src_curve & 0xF) << 10
        | (CTL_INVERT if ctl_invert else 0)
        | (CTL_BIPOLAR if ctl_bipolar else 0)
        | (ctl_curve & 0xF) << 4
    )


def src_curve(transform: int) -> int:
    return (transform >> 10) & 0xF


def ctl_curve(transform: int) -> int:
    return (transform >> 4) & 0xF


class ConnectionBlock(NamedTuple):
    """One CONNECTION of an art1/art2 list: usSource, usControl, usDestination, usTransform,
    lScale. A NamedTuple rather than a dataclass: banks hold tens of thousands of these, and tuple
    equality and hashing run in C (loading, hoisting and round-trip checks compare them a lot)."""

    source: int
    control: int
    destination: int
    transform: int
    scale: int

    @property
    def key(self) -> tuple[int, int, int]:
        """What a later articulation level replaces: same source, control and destination."""
        return (self.source, self.control, self.destination)


def connection(
    destination: int,
    scale: int,
    source: int = CONN_SRC_NONE,
    control: int = CONN_SRC_NONE,
    transform: int = 0,
) -> ConnectionBlock:
    """Shorthand with the absolute case (source NONE) first: `connection(CONN_DST_PAN, s)`."""
    return ConnectionBlock(source, control, destination, transform, scale)
