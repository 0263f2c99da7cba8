"""Quick-stop, loops, one-shots, the filter, pan law, gain curves, master volume."""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.synth.engine import VoiceSpec, default_connections
from dmusd.synth.engine import connections as C
from dmusd.synth.engine import layout as L
from dmusd.synth.engine.filter import lowpass_response_db

from .audio import (
    RATE,
    articulation,
    cents,
    looped_voice,
    make_engine,
    sine_wave,
    zero_crossing_frequency,
)

CENTRE = np.cos(np.pi / 4)


def test_quick_stop_fades_within_a_few_ms_without_a_step():
    engine = make_engine()
    ones = engine.pool.add_wave(np.ones(64))
    v = engine.start(looped_voice(ones, 64))
    engine.quick_stop(v, 5000)
    x = engine.render(8000)[:, 0].astype(np.float64)
    assert x[4999] == pytest.approx(CENTRE)
    # the last control interval of the fade may stretch it by up to one interval (1.3 ms)
    fade_end = 5000 + int(0.005 * RATE) + L.CONTROL_INTERVAL
    # a linear fade over 5 ms: at most 1/240 of full level per sample (plus rounding)
    bound = CENTRE / (0.005 * RATE) * 1.01
    assert np.abs(np.diff(x[4990:])).max() <= bound
    assert np.all(x[fade_end + 1 :] == 0.0)
    assert x[5000 + 120] == pytest.approx(CENTRE / 2, rel=0.02)
    assert v in engine.finished.tolist()


def test_eg1_shutdown_time_shortens_the_quick_stop():
    engine = make_engine()
    ones = engine.pool.add_wave(np.ones(64))
    choke = articulation(
        (C.CONN_SRC_NONE, 0, C.CONN_DST_EG1_SHUTDOWNTIME, 0, C.timecents_scale(0.001)),
    )
    v = engine.start(looped_voice(ones, 64, connections=choke))
    engine.quick_stop(v, 5000)
    x = engine.render(8000)[:, 0].astype(np.float64)
    # 1 ms = 48 samples; a fade cannot be shorter than one control interval (64 samples)
    fade = max(48, L.CONTROL_INTERVAL)
    assert np.all(x[5000 + fade + 1 :] == 0.0)
    assert x[5000 + fade // 2] == pytest.approx(CENTRE / 2, rel=0.05)
    assert np.abs(np.diff(x)).max() <= CENTRE / 48 * 1.01


def test_quick_stop_of_a_sine_has_no_click():
    engine = make_engine()
    offset, length = sine_wave(engine, 109, cycles=1)
    v = engine.start(looped_voice(offset, length))
    engine.quick_stop(v, 3001)
    x = engine.render(4000)[:, 0].astype(np.float64)
    # the largest second difference of a sine of period 109 at this level, with 10 % margin
    smooth = CENTRE * (2 * np.pi / 109) ** 2 * 1.1
    assert np.abs(np.diff(x, 2)[2900:]).max() < smooth


@pytest.mark.parametrize("mode", [L.INTERP_LINEAR, L.INTERP_CUBIC, L.INTERP_SINC])
def test_single_cycle_loop_is_seamless_and_in_tune(mode):
    engine = make_engine()
    offset, length = sine_wave(engine, 100, cycles=1)
    engine.start(looped_voice(offset, length, fine_tune=37.0, key=55, interpolation=mode))
    x = engine.render(RATE)[:, 0].astype(np.float64)[2000:]
    f = zero_crossing_frequency(x)
    assert abs(cents(f, 480.0 * 2 ** ((-500 + 37) / 1200))) < 3.0
    # no discontinuity anywhere: the second difference stays that of a pure sine
    smooth = CENTRE * (2 * np.pi * f / RATE) ** 2
    tolerance = {L.INTERP_LINEAR: 2.5, L.INTERP_CUBIC: 1.2, L.INTERP_SINC: 1.2}[mode]
    assert np.abs(np.diff(x, 2)).max() < smooth * tolerance
    # and the waveform matches a fitted sine closely
    t = np.arange(x.size)
    basis = np.stack([np.sin(2 * np.pi * f * t / RATE), np.cos(2 * np.pi * f * t / RATE)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, x, rcond=None)
    residual = np.abs(x - basis @ coef).max()
    assert residual < {L.INTERP_LINEAR: 2e-3, L.INTERP_CUBIC: 2e-4, L.INTERP_SINC: 2e-4}[mode] * 10


@pytest.mark.parametrize("cents_per_key, key", [(50, 72), (50, 40), (0, 90), (200, 61)])
def test_key_tracking_scales_around_the_unity_note(cents_per_key, key):
    """SF2 scaleTuning / a DLS KEYNUMBER -> PITCH scale other than 100 cents a key: the unity
    note keeps the wave's pitch and every key moves by the scale (a 50-cent wood block at
    unity 104 must not play key 60 five octaves down)."""
    rows = [
        r
        for r in default_connections().tolist()
        if not (r[0] == C.CONN_SRC_KEYNUMBER and r[2] == C.CONN_DST_PITCH)
    ]
    rows.append((C.CONN_SRC_KEYNUMBER, 0, C.CONN_DST_PITCH, 0, cents_per_key * 128 * 65536))
    engine = make_engine()
    offset, length = sine_wave(engine, 100, cycles=1)
    spec = looped_voice(offset, length, key=key, unity_note=64, connections=rows)
    engine.start(spec)
    f = zero_crossing_frequency(engine.render(RATE)[:, 0].astype(np.float64)[2000:])
    assert abs(cents(f, 480.0 * 2 ** ((key - 64) * cents_per_key / 1200))) < 3.0


def test_loop_after_an_attack_part():
    engine = make_engine()
    attack = np.linspace(0.0, -0.7, 333)
    loop = np.sin(2 * np.pi * np.arange(200) / 100)
    offset = engine.pool.add_wave(np.concatenate([attack, loop]))
    engine.start(looped_voice(offset, 533, loop_start=333, loop_length=200))
    x = engine.render(RATE // 2)[:, 0].astype(np.float64)[1000:]
    assert abs(cents(zero_crossing_frequency(x), 480.0)) < 3.0
    assert np.abs(np.diff(x, 2)).max() < CENTRE * (2 * np.pi / 100) ** 2 * 1.2


def test_release_loop_plays_on_to_the_end_after_note_off():
    engine = make_engine()
    wave = np.concatenate([np.ones(1000), np.full(2000, 0.5)])
    offset = engine.pool.add_wave(wave)
    long_release = articulation(
        (C.CONN_SRC_NONE, 0, C.CONN_DST_EG1_RELEASETIME, 0, C.timecents_scale(20.0)),
        without=(C.CONN_DST_EG1_RELEASETIME,),
    )
    spec = looped_voice(
        offset,
        3000,
        loop_type=L.LOOP_RELEASE,
        loop_start=200,
        loop_length=500,
        connections=long_release,
    )
    v = engine.start(spec)
    engine.release(v, 10000)
    x = engine.render(20000)[:, 0]
    assert np.all(x[9000:10000] > 0.9 * CENTRE)  # still in the loop (all ones) until note-off
    # after note-off the position runs on past the loop into the 0.5 part, then the wave ends
    pos_at_release = 200 + (10000 - 200) % 500
    reach_half = 10000 + (1000 - pos_at_release)
    assert x[reach_half + 5] == pytest.approx(0.5 * CENTRE, rel=0.01)
    end = 10000 + 3000 - pos_at_release
    assert np.all(x[end + 1 :] == 0.0)
    assert x[end - 5] > 0.4 * CENTRE
    assert v in engine.finished.tolist()


def test_forward_loop_keeps_looping_in_release():
    engine = make_engine()
    offset = engine.pool.add_wave(np.concatenate([np.ones(500), np.zeros(500)]))
    rel = articulation(
        (C.CONN_SRC_NONE, 0, C.CONN_DST_EG1_RELEASETIME, 0, C.timecents_scale(10.0)),
        without=(C.CONN_DST_EG1_RELEASETIME,),
    )
    v = engine.start(looped_voice(offset, 1000, loop_start=0, loop_length=500, connections=rel))
    engine.release(v, 2000)
    x = engine.render(6000)[:, 0]
    assert np.all(x[2100:6000] > 0.5 * CENTRE)


def test_one_shot_ends_at_the_wave_end():
    engine = make_engine()
    offset = engine.pool.add_wave(np.ones(1000))
    v = engine.start(VoiceSpec(offset, 1000, RATE, key=72, velocity=127, unity_note=60), 100)
    x = engine.render(2000)[:, 0]
    # one octave up: 1000 samples play in 500
    assert x[100 + 495] > 0.9 * CENTRE
    assert np.all(x[100 + 501 :] == 0.0)
    assert v in engine.finished.tolist()
    assert engine.states[v] == L.VOICE_FREE


def _filtered_level(period: int, cutoff_hz: float, q_db: float) -> float:
    engine = make_engine()
    offset, length = sine_wave(engine, period, cycles=4)
    conns = articulation(
        (C.CONN_SRC_NONE, 0, C.CONN_DST_FILTER_CUTOFF, 0, C.pitch_hz_scale(cutoff_hz)),
        (C.CONN_SRC_NONE, 0, C.CONN_DST_FILTER_Q, 0, round(q_db * 10 * 65536)),
        without=(C.CONN_DST_FILTER_CUTOFF,),
    )
    engine.start(looped_voice(offset, length, connections=conns))
    x = engine.render(RATE // 2)[:, 0].astype(np.float64)[RATE // 4 :]
    return 20 * np.log10(np.sqrt(2 * np.mean(x**2)) / CENTRE)


@pytest.mark.parametrize("period", [480, 96, 48, 24, 12])
@pytest.mark.parametrize("q_db", [0.0, 12.0])
def test_filter_follows_a_two_pole_low_pass(period, q_db):
    freq = RATE / period
    measured = _filtered_level(period, 1000.0, q_db)
    assert measured == pytest.approx(lowpass_response_db(1000.0, q_db, freq, RATE), abs=0.5)


def test_filter_attenuates_above_cutoff():
    assert _filtered_level(12, 1000.0, 0.0) < -23.0  # 4 kHz, two octaves up: 12 dB/octave
    assert _filtered_level(480, 1000.0, 0.0) > -0.1  # 100 Hz passes
    # 12 dB of resonance: the pass band 6 dB down (half the resonance), a peak at the cutoff
    # about 9 dB above the pass band (Q is the height over the Butterworth response's -3 dB)
    passband = _filtered_level(480, 1000.0, 12.0)
    assert passband == pytest.approx(-6.0, abs=0.2)
    assert _filtered_level(48, 1000.0, 12.0) - passband > 8.5


def test_eg2_sweeps_the_filter():
    engine = make_engine()
    offset, length = sine_wave(engine, 12, cycles=4)  # 4 kHz
    conns = articulation(
        (C.CONN_SRC_NONE, 0, C.CONN_DST_FILTER_CUTOFF, 0, C.pitch_hz_scale(500.0)),
        (C.CONN_SRC_EG2, 0, C.CONN_DST_FILTER_CUTOFF, 0, C.cents_scale(4800.0)),
        (C.CONN_SRC_NONE, 0, C.CONN_DST_EG2_ATTACKTIME, 0, C.timecents_scale(0.5)),
        without=(C.CONN_DST_FILTER_CUTOFF, C.CONN_DST_EG2_ATTACKTIME),
    )
    engine.start(looped_voice(offset, length, connections=conns))
    x = np.abs(engine.render(RATE)[:, 0])
    early = x[2000:4000].max()
    late = x[30000:32000].max()
    assert late > 10 * early  # cutoff 500 Hz -> 8 kHz


@pytest.mark.parametrize("cc10", [0, 16, 32, 64, 96, 127])
def test_equal_power_pan(cc10):
    engine = make_engine()
    ones = engine.pool.add_wave(np.ones(64))
    engine.controller(0, 10, cc10)
    engine.start(looped_voice(ones, 64))
    out = engine.render(2000)[-1].astype(np.float64)
    left, right = out
    assert left**2 + right**2 == pytest.approx(1.0, abs=1e-4)
    p = min(max((cc10 - 64) / 64 * 0.508, -0.5), 0.5)
    theta = (p + 0.5) * np.pi / 2
    assert left == pytest.approx(np.cos(theta), abs=1e-4)
    assert right == pytest.approx(np.sin(theta), abs=1e-4)


@pytest.mark.parametrize(
    "velocity, cc7, cc11, attenuation_db, expected_db",
    [
        (127, 127, 127, 0.0, 0.0),
        (64, 127, 127, 0.0, 40 * np.log10(64 / 127)),
        (100, 127, 127, 0.0, 40 * np.log10(100 / 127)),
        (127, 100, 127, 0.0, 40 * np.log10(100 / 127)),
        (127, 127, 90, 0.0, 40 * np.log10(90 / 127)),
        (127, 127, 127, -6.0, -6.0),
        (80, 70, 60, -3.0, 40 * np.log10(80 * 70 * 60 / 127**3) - 3.0),
    ],
)
def test_velocity_volume_expression_and_wsmp_attenuation(
    velocity, cc7, cc11, attenuation_db, expected_db
):
    engine = make_engine()
    ones = engine.pool.add_wave(np.ones(64))
    engine.controller(0, 7, cc7)
    engine.controller(0, 11, cc11)
    attenuation = round(attenuation_db * 655360)
    engine.start(looped_voice(ones, 64, velocity=velocity, attenuation=attenuation))
    level = engine.render(2000)[-1, 0] / CENTRE
    assert 20 * np.log10(level) == pytest.approx(expected_db, abs=0.15)


def test_master_volume_and_peak():
    engine = make_engine()
    ones = engine.pool.add_wave(np.ones(64))
    engine.start(looped_voice(ones, 64))
    engine.render(1000)
    assert engine.peak() == pytest.approx(CENTRE, rel=1e-5)
    engine.master_volume = -600  # 1/100 dB
    out = engine.render(1000)
    assert out[-1, 0] == pytest.approx(CENTRE * 10 ** (-6 / 20), rel=1e-5)
    assert engine.peak() == pytest.approx(CENTRE * 10 ** (-6 / 20), rel=1e-5)
