"""Connection blocks: transform curves and bits, unit conversions, modulation routing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dmusd.synth.engine import connections as C

from .audio import RATE, articulation, cents, looped_voice, make_engine, sine_wave

CONCAVE, CONVEX, SWITCH = C.CONN_TRN_CONCAVE, C.CONN_TRN_CONVEX, C.CONN_TRN_SWITCH


def side(curve=0, bipolar=False, invert=False):
    return curve | (C.T_BIPOLAR if bipolar else 0) | (C.T_INVERT if invert else 0)


@pytest.mark.parametrize("v", [0, 1, 32, 64, 100, 126, 127])
def test_concave_is_linear_in_db_and_convex_its_mirror(v):
    u = v / 128
    concave = C.apply_transform(side(CONCAVE), u)
    convex = C.apply_transform(side(CONVEX), u)
    x = v / 127
    want = 1.0 if v == 127 else -(40 / 96) * math.log10(1 - x)
    assert concave == pytest.approx(min(want, 1.0), abs=1e-12)
    want_convex = 0.0 if v == 0 else max(1 + (40 / 96) * math.log10(x), 0.0)
    assert convex == pytest.approx(want_convex, abs=1e-12)
    # inverted concave times -96 dB is the DLS velocity curve: 40 log10(v / 127) dB
    if v:
        db = -96 * C.apply_transform(side(CONCAVE, invert=True), u)
        assert db == pytest.approx(40 * math.log10(v / 127), abs=1e-9)


def test_switch_bipolar_and_invert_bits():
    assert C.apply_transform(side(SWITCH), 63 / 128) == 0.0
    assert C.apply_transform(side(SWITCH), 64 / 128) == 1.0
    assert C.apply_transform(side(SWITCH, invert=True), 100 / 128) == 0.0
    assert C.apply_transform(side(bipolar=True), 64 / 128) == 0.0
    assert C.apply_transform(side(bipolar=True), 0.0) == -1.0
    assert C.apply_transform(side(bipolar=True, invert=True), 0.0) == 1.0
    assert C.apply_transform(side(SWITCH, bipolar=True), 0.0) == -1.0
    up = C.apply_transform(side(CONCAVE, bipolar=True), 100 / 128)
    down = C.apply_transform(side(CONCAVE, bipolar=True), 28 / 128)
    assert up > 0 > down
    assert C.apply_transform(side(), 0.25) == 0.25


def test_transform_field_layout_matches_art2():
    bits = C.transform_bits(CONCAVE, True, True, SWITCH, True, False)
    assert bits == (1 << 15) | (1 << 14) | (1 << 10) | (1 << 8) | (3 << 4)
    assert C.split_transform(bits) == (CONCAVE | C.T_BIPOLAR | C.T_INVERT, SWITCH | C.T_BIPOLAR)


def test_unit_conversions_follow_the_digest():
    assert C.timecents_scale(0.01) == pytest.approx(-522494111, abs=70)
    assert C.pitch_hz_scale(5.0) == pytest.approx(-55791973, abs=70)
    assert C.timecents_to_samples(C.timecents_scale(0.25) / 65536, RATE) == pytest.approx(
        12000, rel=1e-6
    )
    assert C.timecents_to_samples(C.ZERO_TIME / 65536, RATE) == 0.0
    assert C.abs_cents_to_hz(C.pitch_hz_scale(1234.5) / 65536) == pytest.approx(1234.5, rel=1e-6)
    assert C.gain_scale(-96.0) == -96 * 655360
    assert C.percent_scale(100.0) == 1000 << 16


def vibrato_depth(engine_setup, extra):
    engine = make_engine()
    offset, length = sine_wave(engine, 100, cycles=4)
    engine_setup(engine)
    engine.start(looped_voice(offset, length, connections=articulation(*extra)))
    x = engine.render(RATE).astype(np.float64)[:, 0]
    idx = np.nonzero((x[:-1] < 0) & (x[1:] >= 0))[0]
    t = idx + x[idx] / (x[idx] - x[idx + 1])
    dev = cents(RATE / np.diff(t), 480.0)
    return dev, t[1:] / RATE


def test_mod_wheel_as_control_scales_vibrato():
    mod_vibrato = [(C.CONN_SRC_VIBRATO, C.CONN_SRC_CC1, C.CONN_DST_PITCH, 0, C.cents_scale(50.0))]
    none, _ = vibrato_depth(lambda e: None, mod_vibrato)
    full, _ = vibrato_depth(lambda e: e.controller(0, 1, 127), mod_vibrato)
    half, _ = vibrato_depth(lambda e: e.controller(0, 1, 64), mod_vibrato)
    assert np.abs(none).max() < 0.5
    assert full.max() == pytest.approx(50 * 127 / 128, abs=5)
    assert half.max() == pytest.approx(25, abs=4)


def test_lfo_delay_and_frequency_from_connections():
    rows = [
        (C.CONN_SRC_LFO, 0, C.CONN_DST_PITCH, 0, C.cents_scale(40.0)),
        (C.CONN_SRC_NONE, 0, C.CONN_DST_LFO_STARTDELAY, 0, C.timecents_scale(0.3)),
        (C.CONN_SRC_NONE, 0, C.CONN_DST_LFO_FREQUENCY, 0, C.pitch_hz_scale(8.0)),
    ]
    drop = (C.CONN_DST_LFO_STARTDELAY, C.CONN_DST_LFO_FREQUENCY)
    engine = make_engine()
    offset, length = sine_wave(engine, 100, cycles=4)
    engine.start(looped_voice(offset, length, connections=articulation(*rows, without=drop)))
    x = engine.render(RATE).astype(np.float64)[:, 0]
    idx = np.nonzero((x[:-1] < 0) & (x[1:] >= 0))[0]
    t = idx + x[idx] / (x[idx] - x[idx + 1])
    dev = cents(RATE / np.diff(t), 480.0)
    at = t[1:] / RATE
    assert np.abs(dev[at < 0.28]).max() < 1.0  # nothing during the delay
    late = dev[at > 0.35]
    assert late.max() == pytest.approx(40, abs=4)
    ups = np.count_nonzero((late[:-1] < 0) & (late[1:] >= 0))
    assert ups == pytest.approx(8 * (at[-1] - 0.35), abs=1.5)  # 8 Hz


def test_cc_moves_the_filter_cutoff():
    engine = make_engine()
    offset, length = sine_wave(engine, 12, cycles=4)  # 4 kHz
    rows = [
        (C.CONN_SRC_NONE, 0, C.CONN_DST_FILTER_CUTOFF, 0, C.pitch_hz_scale(500.0)),
        (C.CONN_SRC_CC(74), 0, C.CONN_DST_FILTER_CUTOFF, 0, C.cents_scale(6000.0)),
    ]
    engine.start(
        looped_voice(
            offset, length, connections=articulation(*rows, without=(C.CONN_DST_FILTER_CUTOFF,))
        )
    )
    engine.controller(0, 74, 127, offset=24000)
    x = np.abs(engine.render(RATE)[:, 0])
    assert x[20000:24000].max() * 10 < x[30000:34000].max()
