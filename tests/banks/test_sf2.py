"""SF2/SF3 -> the DLS model: hydra parsing, zone combination, generator and modulator mapping."""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.banks import units
from dmusd.banks.articulation import effective_connections
from dmusd.banks.connection import (
    CONN_DST_EG1_ATTACKTIME,
    CONN_DST_EG1_HOLDTIME,
    CONN_DST_EG1_SUSTAINLEVEL,
    CONN_DST_FILTER_CUTOFF,
    CONN_DST_GAIN,
    CONN_DST_PAN,
    CONN_DST_PITCH,
    CONN_SRC_CC1,
    CONN_SRC_CC10,
    CONN_SRC_CC91,
    CONN_SRC_KEYNUMBER,
    CONN_SRC_KEYONVELOCITY,
    CONN_SRC_LFO,
    CONN_SRC_PITCHWHEEL,
    CONN_SRC_VIBRATO,
    CONN_TRN_CONCAVE,
    SRC_BIPOLAR,
    SRC_INVERT,
    ConnectionBlock,
)
from dmusd.banks.loader import load_bank, parse_bank_bytes
from dmusd.banks.model import WLOOP_TYPE_FORWARD, WLOOP_TYPE_RELEASE, make_patch
from dmusd.errors import BankError
from tests.banks.builders import (
    SPEC_TEST_SF2,
    SfSample,
    SfZone,
    fluidsynth_presets,
    sf2_bytes,
    simple_sf2,
    timgm6mb,
)


@pytest.fixture(scope="module")
def spec():
    return load_bank(SPEC_TEST_SF2)


def _preset_named(bank, name):
    return next(i for i in bank.instruments.values() if i.name == name)


def _by_key(inst):
    """Regions by their lowest key, first one kept (the spec test plays one key per test)."""
    out = {}
    for region in inst.regions:
        out.setdefault(region.key_low, region)
    return out


def _effective(inst, region, key):
    """The effective connections with one key (source, control, destination)."""
    return [b for b in effective_connections(inst, region) if b.key == key]


@pytest.mark.parametrize("path_of", [lambda: SPEC_TEST_SF2, timgm6mb])
def test_every_preset_fluidsynth_lists_is_an_instrument(path_of):
    path = path_of()
    bank = load_bank(path)
    listed = fluidsynth_presets(path)
    assert listed, "fluidsynth listed no presets"
    ours = {}
    for inst in bank.instruments.values():
        bank_number = 128 if inst.is_drum else inst.bank_msb
        ours[(bank_number, inst.program)] = inst.name
    assert ours == {(b, p): name for b, p, name in listed}
    assert all(inst.regions for inst in bank.instruments.values())


def test_timgm6mb_samples_and_loops_are_consistent():
    bank = load_bank(timgm6mb())
    assert bank.format == "SF2" and bank.level == 2
    for inst in bank.instruments.values():
        for region in inst.regions:
            assert region.wave.samples.dtype == np.float32
            assert np.abs(region.wave.samples).max() <= 1.0
            loop = region.sample.loop
            if loop is not None:
                assert 0 <= loop.start < loop.end <= region.wave.frames
    # the waves are views into one converted sample chunk: memory counted once
    assert bank.sample_memory < 2.1 * sum(w.frames for w in bank.waves) * 2


def test_exclusive_class_becomes_the_key_group(spec):
    tests = _preset_named(spec, "tests 1")
    groups = {r.key_group for r in tests.regions}
    assert 1 in groups


def test_sample_offset_slices_the_wave_without_copying(spec):
    tests = _preset_named(spec, "tests 1")
    sliced = [r for r in tests.regions if r.wave.pool_index == -1]
    assert sliced, "the sample-offset zone should play a slice"
    region = sliced[0]
    full = next(w for w in spec.waves if w.name == region.wave.name and w.pool_index >= 0)
    assert full.frames - region.wave.frames == 6720
    assert np.shares_memory(region.wave.samples, full.samples)
    assert np.array_equal(region.wave.samples, full.samples[6720:])


def test_attenuation_uses_the_emu_factor_and_velocity_curves_map(spec):
    tests = _preset_named(spec, "tests 1")
    by_root = {}
    for region in tests.regions:
        by_root.setdefault(region.sample.unity_note, []).append(region)
    # instrumentAtten: zone with 50 cB -> 0.4 x 5 dB = 2 dB of gain reduction
    (atten,) = [r for r in by_root[64] if r.sample.attenuation]
    assert atten.sample.attenuation == round(-0.4 * 50 * 65536)
    key = (CONN_SRC_KEYONVELOCITY, 0, CONN_DST_GAIN)
    # veloToAtten-144 (root 71): 144 dB concave replaces the 96 dB default
    (region,) = by_root[71]
    assert _effective(tests, region, key) == [
        ConnectionBlock(*key, SRC_INVERT | CONN_TRN_CONCAVE << 10, -1440 * 65536)
    ]
    # veloToAtten-deleted (root 74): a zero amount cancels the default
    (region,) = by_root[74]
    assert [b.scale for b in _effective(tests, region, key)] == [0]
    # veloToAtten-linear (root 73): the default cancelled, a linear one added
    (region,) = by_root[73]
    transforms = sorted(b.transform for b in _effective(tests, region, key) if b.scale)
    assert transforms == [SRC_INVERT]


def test_pitch_wheel_default_and_its_cancellation(spec):
    tests = _preset_named(spec, "tests 1")
    key = (CONN_SRC_PITCHWHEEL, 0x100, CONN_DST_PITCH)
    regions = _by_key(tests)
    wheel_default = _effective(tests, regions[90], key)
    assert [b.scale for b in wheel_default] == [12800 * 65536]
    assert [b.scale for b in _effective(tests, regions[91], key)] == [0]


def test_envelopes_and_key_scaling(spec):
    tests = _preset_named(spec, "tests 1")
    regions = _by_key(tests)
    env = regions[58]  # vol-envelope: sustain 12 dB = 120 cB
    sustain = _effective(tests, env, (0, 0, CONN_DST_EG1_SUSTAINLEVEL))
    assert [b.scale for b in sustain] == [units.fixed(1000 * (1 - 120 / 960))]
    assert [b.scale for b in _effective(tests, env, (0, 0, CONN_DST_EG1_ATTACKTIME))] == [0]
    hold = _preset_named(spec, "keynum-to-hold")
    (region,) = hold.regions
    # keynumToVolEnvHold 101 around key 60: base + 60 x 101 and key/128 x (-128 x 101)
    by_key = {b.key: b.scale for b in effective_connections(hold, region)}
    assert by_key[(CONN_SRC_KEYNUMBER, 0, CONN_DST_EG1_HOLDTIME)] == -128 * 101 * 65536
    assert by_key[(0, 0, CONN_DST_EG1_HOLDTIME)] == (-1200 + 60 * 101) * 65536


def test_modulator_to_filter_and_lfo_depths(spec):
    tests = _preset_named(spec, "tests 1")
    regions = _by_key(tests)
    cc1 = {b.key: b for b in effective_connections(tests, regions[18])}
    assert cc1[(CONN_SRC_CC1, 0, CONN_DST_FILTER_CUTOFF)].scale == 7000 * 65536
    assert cc1[(0, 0, CONN_DST_FILTER_CUTOFF)].scale == 7121 * 65536
    assert (CONN_SRC_VIBRATO, CONN_SRC_CC1, CONN_DST_PITCH) not in cc1  # default cancelled
    # the "lfo" instrument: modLfoToVolume 60 cB on one key, vibLfoToPitch 600 cents on the next
    tremolo = {b.key: b.scale for b in effective_connections(tests, regions[60])}
    vibrato = {b.key: b.scale for b in effective_connections(tests, regions[61])}
    assert tremolo[(CONN_SRC_LFO, 0, CONN_DST_GAIN)] == 60 * 65536
    assert vibrato[(CONN_SRC_VIBRATO, 0, CONN_DST_PITCH)] == 600 * 65536


def test_stereo_pan_modulator_replaces_the_default(spec):
    panning = _preset_named(spec, "panning")
    key = (CONN_SRC_CC10, 0, CONN_DST_PAN)
    scales = {b.scale for r in panning.regions for b in _effective(panning, r, key)}
    assert scales == {units.percent(50.8), 1000 * 65536}
    assert {b.transform for r in panning.regions for b in _effective(panning, r, key)} == {
        SRC_BIPOLAR
    }


# --- hand-built SoundFonts: the combination rules ------------------------------------------------
def _sample(n=3000, loop=(500, 2500)):
    data = (np.sin(np.arange(n) * 0.07) * 20000).astype(np.int16)
    return SfSample(data, 32000, 57, -5, loop, "s")


def test_preset_generators_add_and_ranges_intersect():
    inst = (
        "i",
        [
            SfZone([(43, (0, 90)), (34, -1200), (54, 3), (58, 62), (57, 4), (48, 100), (53, 0)]),
            SfZone([(43, (91, 127))]),  # not first and no sample: ignored
        ],
    )
    preset = ("p", 0, 5, [SfZone([(43, (40, 127)), (34, 600), (48, -50), (0, 999), (41, 0)])])
    bank = parse_bank_bytes(sf2_bytes([_sample()], [inst], [preset]), "rules.sf2")
    (region,) = bank.instruments[5].regions
    assert (region.key_low, region.key_high) == (40, 90)
    conns = {b.key: b.scale for b in effective_connections(bank.instruments[5], region)}
    assert conns[(0, 0, CONN_DST_EG1_ATTACKTIME)] == -600 * 65536
    assert region.sample.attenuation == round(-0.4 * 50 * 65536)
    assert region.sample.unity_note == 62 and region.key_group == 4
    assert region.sample.fine_tune == -5  # the sample's pitch correction
    assert region.sample.loop.type == WLOOP_TYPE_RELEASE
    assert region.wave.frames == 3000  # the preset's sample offset is ignored
    assert any("zone without" in text for text in bank.warnings)


def test_global_zones_and_modulator_identity_rules():
    cc1_fc = (0x0081, 8, 1000, 0, 0)
    inst = (
        "i",
        [
            SfZone([(54, 1), (17, 200)], [cc1_fc]),  # global zone
            SfZone([(53, 0)], [(0x0081, 8, 300, 0, 0)]),  # local replaces the identical one
            SfZone([(43, (60, 127)), (17, -100), (53, 0)]),
        ],
    )
    preset = ("p", 0, 1, [SfZone([(41, 0)], [(0x0081, 8, 50, 0, 0), (0x00DB, 16, 100, 0, 0)])])
    bank = parse_bank_bytes(sf2_bytes([_sample()], [inst], [preset]))
    inst_model = bank.instruments[1]
    first, second = inst_model.regions

    def conns(region):
        return {b.key: b.scale for b in effective_connections(inst_model, region)}

    assert conns(first)[(CONN_SRC_CC1, 0, CONN_DST_FILTER_CUTOFF)] == 350 * 65536
    assert conns(second)[(CONN_SRC_CC1, 0, CONN_DST_FILTER_CUTOFF)] == 1050 * 65536
    assert conns(first)[(0, 0, CONN_DST_PAN)] == 200 * 65536
    assert conns(second)[(0, 0, CONN_DST_PAN)] == -100 * 65536
    # CC91 -> reverb: the SF2 default 200 plus the preset's 100, replacing DLS2's 1000
    assert conns(first)[(CONN_SRC_CC91, 0, 0x81)] == 300 * 65536
    # shared connections were hoisted to the instrument level
    assert inst_model.articulation
    assert all(r.sample.loop.type == WLOOP_TYPE_FORWARD for r in inst_model.regions)


def test_unmappable_modulators_are_reported_not_guessed():
    link = (0x007F, 0x8000 | 0, 100, 0, 0)  # a modulator chain
    absval = (0x0081, 17, 100, 0, 2)  # absolute-value transform
    inst = ("i", [SfZone([(53, 0)], [link, absval])])
    bank = parse_bank_bytes(sf2_bytes([_sample()], [inst], [("p", 0, 0, [SfZone([(41, 0)])])]))
    text = "\n".join(bank.warnings)
    assert "modulator chains" in text and "absolute value" in text


def test_drum_bank_and_bank_select_patches():
    inst = ("i", [SfZone([(53, 0)])])
    presets = [("kit", 128, 16, [SfZone([(41, 0)])]), ("var", 8, 3, [SfZone([(41, 0)])])]
    bank = parse_bank_bytes(sf2_bytes([_sample()], [inst], presets))
    assert set(bank.instruments) == {make_patch(16, drum=True), make_patch(3, msb=8)}


def test_sm24_adds_the_low_byte():
    data = np.array([0, 1000, -1000, 32767], dtype=np.int16)
    sample = SfSample(np.tile(data, 10), 22050, 60, 0, None, "hi")
    inst = ("i", [SfZone([(53, 0)])])
    raw = sf2_bytes([sample], [inst], [("p", 0, 0, [SfZone([(41, 0)])])], sm24=True)
    bank = parse_bank_bytes(raw)
    (wave,) = bank.waves
    expected = (np.tile(data, 10).astype(np.int32) * 256 + 0x80) / 8388608.0
    assert wave.bits == 24
    np.testing.assert_array_equal(wave.samples, expected.astype(np.float32))


def test_sf3_vorbis_samples_decode():
    bank = parse_bank_bytes(simple_sf2(vorbis=True), "small.sf3")
    assert bank.format == "SF3" and bank.level == 3
    (wave,) = bank.waves
    reference = np.sin(np.arange(2000) * 0.05) * 12000 / 32768
    assert abs(wave.frames - 2000) <= 64
    n = min(wave.frames, 2000)
    correlation = np.corrcoef(wave.samples[:n], reference[:n])[0, 1]
    assert correlation > 0.98
    (region,) = bank.instruments[0].regions
    assert region.sample.loop.start == 100


def test_bad_hydra_sizes_are_located():
    raw = bytearray(simple_sf2())
    at = raw.index(b"ibag")
    raw[at + 4 : at + 8] = (7).to_bytes(4, "little")  # not a multiple of 4
    with pytest.raises(BankError) as err:
        parse_bank_bytes(bytes(raw), "bad.sf2")
    assert err.value.file == "bad.sf2"
    assert err.value.chunk.startswith("pdta")
