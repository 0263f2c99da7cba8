"""Articulation levels, the DLS2 defaults, and the art1 <-> art2 forms."""

from __future__ import annotations

import numpy as np

from dmusd.banks import units
from dmusd.banks.articulation import (
    DLS2_DEFAULT_CONNECTIONS,
    effective_connections,
    from_art1,
    merge,
    to_art1,
)
from dmusd.banks.connection import (
    CONN_DST_EG1_ATTACKTIME,
    CONN_DST_GAIN,
    CONN_DST_PAN,
    CONN_DST_REVERB,
    CONN_DST_VIB_FREQUENCY,
    CONN_SRC_CC7,
    CONN_SRC_CC10,
    CONN_SRC_KEYONVELOCITY,
    CONN_TRN_CONCAVE,
    CONN_TRN_CONVEX,
    SRC_INVERT,
    connection,
    transform_bits,
)
from dmusd.banks.model import Instrument, Region, Wave


def _region(*blocks):
    return Region(0, 127, 0, 127, Wave(np.zeros(8, np.float32), 8000), articulation=blocks)


def test_effective_list_is_defaults_then_global_then_region():
    attack_global = connection(CONN_DST_EG1_ATTACKTIME, units.timecents(0.2))
    attack_region = connection(CONN_DST_EG1_ATTACKTIME, units.timecents(0.05))
    inst = Instrument(0, "x", [], (attack_global,))
    keyed = {b.key: b for b in effective_connections(inst, _region())}
    assert keyed[attack_global.key] == attack_global
    keyed = {b.key: b for b in effective_connections(inst, _region(attack_region))}
    assert keyed[attack_region.key] == attack_region
    # everything else is the DLS2 default, once
    default_keys = [b.key for b in DLS2_DEFAULT_CONNECTIONS]
    assert len(default_keys) == len(set(default_keys))
    assert [b.key for b in effective_connections(inst, _region())] == default_keys


def test_a_level_replaces_by_key_but_keeps_its_own_duplicates():
    vel = (CONN_SRC_KEYONVELOCITY, 0, CONN_DST_GAIN)
    a = connection(CONN_DST_GAIN, units.gain_db(-40), CONN_SRC_KEYONVELOCITY)
    b = connection(CONN_DST_GAIN, units.gain_db(-10), CONN_SRC_KEYONVELOCITY, 0, SRC_INVERT)
    merged = merge(DLS2_DEFAULT_CONNECTIONS, (), (a, b))
    assert [x for x in merged if x.key == vel] == [a, b]
    pan = connection(CONN_DST_PAN, units.percent(20), CONN_SRC_CC10)
    merged = merge(DLS2_DEFAULT_CONNECTIONS, (pan,), ())
    assert [x.scale for x in merged if x.key == pan.key] == [units.percent(20)]


def test_art1_forms_convert_both_ways():
    concave_cc7 = from_art1(CONN_SRC_CC7, 0, CONN_DST_GAIN, CONN_TRN_CONCAVE, units.gain_db(-96))
    assert concave_cc7.transform == transform_bits(CONN_TRN_CONCAVE, src_invert=True)
    assert to_art1(concave_cc7) == (
        CONN_SRC_CC7,
        0,
        CONN_DST_GAIN,
        CONN_TRN_CONCAVE,
        units.gain_db(-96),
    )
    # DLS2-only destinations and bits art1 cannot carry have no art1 form
    assert to_art1(connection(CONN_DST_REVERB, 1)) is None
    assert to_art1(connection(CONN_DST_VIB_FREQUENCY, 1)) is None
    convex_inverted = connection(
        CONN_DST_GAIN, 5, CONN_SRC_CC7, 0, transform_bits(CONN_TRN_CONVEX, src_invert=True)
    )
    assert to_art1(convex_inverted) is None


def test_default_values_match_the_digest_units():
    by_key = {b.key: b.scale for b in DLS2_DEFAULT_CONNECTIONS}
    assert by_key[(0, 0, 0x104)] == -55791973  # LFO 5 Hz (ddi-digest 5.5)
    assert by_key[(0, 0, 0x105)] == -522494111  # 10 ms
    assert units.hz(by_key[(0, 0, 0x104)]) == __import__("pytest").approx(5.0, rel=1e-6)
