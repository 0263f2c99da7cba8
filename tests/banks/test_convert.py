"""`bank convert` fidelity: TimGM6mb -> DLS Level 2 -> loaded back.

Stated tolerance: none. Every preset keeps its regions in order with identical key and velocity
ranges, loop type/start/length in samples, unity note and fine tune in cents, attenuation, key
group, and every articulation connection (envelope times, LFOs, filter) as the same 16.16 value;
the sample data is bit-identical (16-bit PCM both ways). Anything less than equality fails.
"""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.banks.articulation import effective_connections
from dmusd.banks.connection import (
    CONN_DST_EG1_ATTACKTIME,
    CONN_DST_EG1_DECAYTIME,
    CONN_DST_EG1_RELEASETIME,
    CONN_DST_EG1_SUSTAINLEVEL,
    CONN_DST_EG2_ATTACKTIME,
    CONN_DST_EG2_DECAYTIME,
)
from dmusd.banks.dls_writer import save_dls
from dmusd.banks.loader import load_bank
from tests.banks.builders import SPEC_TEST_SF2, timgm6mb

ENVELOPE = (
    CONN_DST_EG1_ATTACKTIME,
    CONN_DST_EG1_DECAYTIME,
    CONN_DST_EG1_SUSTAINLEVEL,
    CONN_DST_EG1_RELEASETIME,
    CONN_DST_EG2_ATTACKTIME,
    CONN_DST_EG2_DECAYTIME,
)


@pytest.fixture(scope="module", params=["timgm6mb", "spec"])
def pair(request, tmp_path_factory):
    source = timgm6mb() if request.param == "timgm6mb" else SPEC_TEST_SF2
    sf2 = load_bank(source)
    out = tmp_path_factory.mktemp("convert") / "converted.dls"
    notes = save_dls(sf2, out, level=2)
    return sf2, load_bank(out), notes


def test_every_preset_survives_with_its_regions(pair):
    sf2, dls, notes = pair
    assert notes == [] and dls.warnings == []
    assert dls.format == "DLS" and dls.level == 2
    assert list(dls.instruments) == list(sf2.instruments)
    for patch, inst in sf2.instruments.items():
        back = dls.instruments[patch]
        assert back.name == inst.name
        assert len(back.regions) == len(inst.regions)
        assert back.articulation == inst.articulation


def test_loops_tuning_and_envelopes_are_exact(pair):
    sf2, dls, _ = pair
    for patch, inst in sf2.instruments.items():
        back = dls.instruments[patch]
        for a, b in zip(inst.regions, back.regions, strict=True):
            assert (a.key_low, a.key_high, a.vel_low, a.vel_high) == (
                b.key_low,
                b.key_high,
                b.vel_low,
                b.vel_high,
            )
            assert a.sample.loops == b.sample.loops  # type, start and length in samples
            assert (a.sample.unity_note, a.sample.fine_tune) == (
                b.sample.unity_note,
                b.sample.fine_tune,
            )
            assert a.sample.attenuation == b.sample.attenuation
            assert a.key_group == b.key_group
            ours = effective_connections(inst, a)
            theirs = effective_connections(back, b)
            assert ours == theirs
            for destination in ENVELOPE:
                assert [c for c in ours if c.destination == destination] == [
                    c for c in theirs if c.destination == destination
                ]


def test_sample_data_is_bit_identical(pair):
    sf2, dls, _ = pair
    for patch, inst in sf2.instruments.items():
        for a, b in zip(inst.regions, dls.instruments[patch].regions, strict=True):
            assert a.wave.sample_rate == b.wave.sample_rate
            assert np.array_equal(a.wave.samples, b.wave.samples)
    # the DLS holds each sample once; only a zone's sample-offset slice becomes its own wave
    slices = sum(w.nbytes for w in sf2.waves if w.pool_index < 0)
    assert dls.sample_memory <= sf2.sample_memory + slices
