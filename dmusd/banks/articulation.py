"""Articulations: the DLS2 default connections and the effective list a voice uses.

A voice's connections are built in three levels (ddi-digest 5.6): the DLS2 defaults, then the
instrument's global articulation, then the region's. A level *replaces* every earlier connection
with the same (source, control, destination) and adds the rest; inside one level, duplicates are
all kept and sum, as FluidSynth sums duplicate entries. So an SF2 preset that sets its own
velocity curve replaces the default one instead of doubling it.

Conventions the engine relies on (the same as dmusd/synth/engine/connections.py):
- MIDI sources are normalised v/128 (7 bit) or v/16384 (14 bit); the bipolar bit maps 0..1 to
  -1..1; LFO and vibrato outputs are -1..1 and EG outputs 0..1 by nature.
- KEYNUMBER -> PITCH scales key tracking: pitch cents = (key - unity_note) x scale/12800 x 100.
- Absolute connections (source NONE) give a destination its value; zero-amount defaults of the
  DLS2 specification are left out, because an absent connection means 0.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from dmusd.banks import units
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
    CONN_DST_GAIN,
    CONN_DST_KEYNUMBER,
    CONN_DST_LFO_FREQUENCY,
    CONN_DST_LFO_STARTDELAY,
    CONN_DST_PAN,
    CONN_DST_PITCH,
    CONN_DST_REVERB,
    CONN_DST_VIB_FREQUENCY,
    CONN_DST_VIB_STARTDELAY,
    CONN_SRC_CC7,
    CONN_SRC_CC10,
    CONN_SRC_CC11,
    CONN_SRC_CC91,
    CONN_SRC_CC93,
    CONN_SRC_KEYNUMBER,
    CONN_SRC_KEYONVELOCITY,
    CONN_SRC_PITCHWHEEL,
    CONN_SRC_RPN0,
    CONN_SRC_RPN1,
    CONN_SRC_RPN2,
    CONN_TRN_CONCAVE,
    DLS1_SOURCES,
    DLS2_ONLY_DESTINATIONS,
    ConnectionBlock,
    connection,
    src_curve,
    transform_bits,
)
from dmusd.banks.model import Articulation, Instrument, Region

_CONCAVE_INVERTED = transform_bits(CONN_TRN_CONCAVE, src_invert=True)
_BIPOLAR = transform_bits(src_bipolar=True)

DLS2_DEFAULT_CONNECTIONS: Articulation = (
    connection(CONN_DST_LFO_FREQUENCY, units.abs_pitch(5.0)),
    connection(CONN_DST_LFO_STARTDELAY, units.timecents(0.01)),
    connection(CONN_DST_VIB_FREQUENCY, units.abs_pitch(5.0)),
    connection(CONN_DST_VIB_STARTDELAY, units.timecents(0.01)),
    *(
        connection(dest, units.ZERO_TIME)
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
    ),
    connection(CONN_DST_EG1_SUSTAINLEVEL, units.percent(100.0)),
    connection(CONN_DST_EG2_SUSTAINLEVEL, units.percent(100.0)),
    connection(CONN_DST_FILTER_CUTOFF, units.FILTER_OFF),
    connection(CONN_DST_GAIN, units.gain_db(-96.0), CONN_SRC_KEYONVELOCITY, 0, _CONCAVE_INVERTED),
    connection(CONN_DST_GAIN, units.gain_db(-96.0), CONN_SRC_CC7, 0, _CONCAVE_INVERTED),
    connection(CONN_DST_GAIN, units.gain_db(-96.0), CONN_SRC_CC11, 0, _CONCAVE_INVERTED),
    connection(CONN_DST_PAN, units.percent(50.8), CONN_SRC_CC10, 0, _BIPOLAR),
    connection(CONN_DST_PITCH, units.cents(12800), CONN_SRC_PITCHWHEEL, CONN_SRC_RPN0, _BIPOLAR),
    connection(CONN_DST_PITCH, units.cents(12800), CONN_SRC_KEYNUMBER),
    connection(CONN_DST_PITCH, units.cents(100), CONN_SRC_RPN1, 0, _BIPOLAR),
    connection(CONN_DST_KEYNUMBER, units.cents(6400), CONN_SRC_RPN2, 0, _BIPOLAR),
    connection(CONN_DST_REVERB, units.percent(100.0), CONN_SRC_CC91),
    connection(CONN_DST_CHORUS, units.percent(100.0), CONN_SRC_CC93),
)


_Merged = dict[tuple[int, int, int], tuple[ConnectionBlock, ...]]  # key -> its blocks


def merge(*levels: Iterable[ConnectionBlock]) -> list[ConnectionBlock]:
    """Combine articulation levels, each replacing earlier connections with the same key."""
    merged: _Merged = {}
    for level in levels:
        _merge_level(merged, level)
    return _flat(merged)


def effective_connections(instrument: Instrument, region: Region) -> list[ConnectionBlock]:
    """The full connection list of one region: DLS2 defaults, then global, then region.

    The first two levels are merged once per instrument articulation: every region of an
    instrument shares them, and merging them again per region was most of the work."""
    merged = dict(_defaults_and(tuple(instrument.articulation)))
    _merge_level(merged, region.articulation)
    return _flat(merged)


def _merge_level(merged: _Merged, level: Iterable[ConnectionBlock]) -> None:
    """Add one level: its blocks replace the earlier ones with the same key, in place."""
    replaced: set[tuple[int, int, int]] = set()
    for block in level:
        key = block.key
        if key not in replaced:
            replaced.add(key)
            merged[key] = ()
        merged[key] += (block,)


def _flat(merged: _Merged) -> list[ConnectionBlock]:
    return [block for blocks in merged.values() for block in blocks]


@functools.lru_cache(maxsize=1024)
def _defaults_and(articulation: Articulation) -> _Merged:
    """The DLS2 defaults merged with a global articulation (read-only: callers copy it)."""
    merged: _Merged = {}
    _merge_level(merged, DLS2_DEFAULT_CONNECTIONS)
    _merge_level(merged, articulation)
    return merged


_ABSOLUTE_DEFAULTS = {
    block.destination: block.scale
    for block in DLS2_DEFAULT_CONNECTIONS
    if block.source == 0 and block.control == 0
}


def default_value(destination: int) -> int | None:
    """The scale the DLS2 defaults give an absolute destination (source NONE), if any."""
    return _ABSOLUTE_DEFAULTS.get(destination)


# --- DLS Level 1 <-> Level 2 connection form ---------------------------------------------------
# In an art1 list usTransform is only an output curve, and some sources carry meaning implicitly:
# the concave velocity/volume curves attenuate as the value falls (an inverted DLS2 concave) and
# the wheel, pan and tuning RPNs swing both ways (bipolar).
_ART1_INVERTED = frozenset({CONN_SRC_KEYONVELOCITY, CONN_SRC_CC7, CONN_SRC_CC11})
_ART1_BIPOLAR = frozenset({CONN_SRC_PITCHWHEEL, CONN_SRC_CC10, CONN_SRC_RPN1, CONN_SRC_RPN2})


def from_art1(
    source: int, control: int, destination: int, transform: int, scale: int
) -> ConnectionBlock:
    """An art1 CONNECTION in the art2 form the model keeps."""
    curve = transform & 0xF
    bits = transform_bits(
        curve,
        src_bipolar=source in _ART1_BIPOLAR,
        src_invert=source in _ART1_INVERTED and curve == CONN_TRN_CONCAVE,
    )
    return ConnectionBlock(source, control, destination, bits, scale)


def to_art1(block: ConnectionBlock) -> ConnectionBlock | None:
    """The art1 form of a connection, or None when DLS Level 1 cannot express it."""
    if block.destination in DLS2_ONLY_DESTINATIONS:
        return None
    if block.source not in DLS1_SOURCES or block.control not in DLS1_SOURCES:
        return None
    curve = src_curve(block.transform)
    art1 = ConnectionBlock(block.source, block.control, block.destination, curve, block.scale)
    if from_art1(*_fields(art1)) != block:
        return None  # invert/bipolar/control bits that art1 cannot carry
    return art1


def _fields(block: ConnectionBlock) -> tuple[int, int, int, int, int]:
    return block.source, block.control, block.destination, block.transform, block.scale
