"""A note's pitch follows key, unity note, fine tune, wave rate, wheel x RPN0, RPN1 and RPN2."""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.synth.engine import connections as C

from .audio import (
    RATE,
    articulation,
    cents,
    looped_voice,
    make_engine,
    sine_wave,
    zero_crossing_frequency,
)

PERIOD = 100  # samples: 480 Hz at 48 kHz when played at unity


def play(spec_kw=None, setup=None, wave_rate=RATE, period=PERIOD, frames=24000):
    engine = make_engine()
    offset, length = sine_wave(engine, period, cycles=4)
    if setup:
        setup(engine)
    engine.start(looped_voice(offset, length, rate=wave_rate, **(spec_kw or {})))
    out = engine.render(frames)
    return zero_crossing_frequency(out[2400:, 0])


@pytest.mark.parametrize(
    "key, unity, fine, wave_rate, expected_cents",
    [
        (60, 60, 0.0, RATE, 0.0),
        (72, 60, 0.0, RATE, 1200.0),
        (48, 60, 0.0, RATE, -1200.0),
        (61, 60, 0.0, RATE, 100.0),
        (67, 64, 0.0, RATE, 300.0),
        (60, 60, 37.0, RATE, 37.0),
        (60, 60, -50.0, RATE, -50.0),
        (60, 60, 0.0, 44100, 0.0),
        (90, 20, 0.0, 22050, 7000.0),
        (40, 45, 12.5, 32000, -487.5),
    ],
)
def test_key_unity_fine_and_rate(key, unity, fine, wave_rate, expected_cents):
    f = play(dict(key=key, unity_note=unity, fine_tune=fine), wave_rate=wave_rate)
    # the wave plays its own rate's frequency at unity, scaled by the musical interval
    want = (wave_rate / PERIOD) * 2.0 ** (expected_cents / 1200.0)
    assert abs(cents(f, want)) < 3.0, (f, want)


@pytest.mark.parametrize(
    "wheel, range_semitones, range_cents, expected",
    [
        (8192, 2, 0, 0.0),
        (16383, 2, 0, 200.0 * 8191 / 8192),
        (0, 2, 0, -200.0),
        (0, 12, 0, -1200.0),
        (12288, 12, 0, 600.0),
        (4096, 7, 50, -375.0),
        (16383, 0, 0, 0.0),
    ],
)
def test_pitch_wheel_times_rpn0_range(wheel, range_semitones, range_cents, expected):
    def setup(engine):
        engine.rpn(0, 0, range_semitones << 7 | range_cents)
        engine.pitch_wheel(0, wheel)

    f = play(setup=setup)
    assert abs(cents(f, RATE / PERIOD) - expected) < 3.0


@pytest.mark.parametrize(
    "rpn, value, expected",
    [
        (1, 8192, 0.0),
        (1, 16383, 100.0 * 8191 / 8192),
        (1, 0, -100.0),
        (1, 8192 + 2048, 25.0),
        (2, 65 << 7, 100.0),
        (2, 52 << 7, -1200.0),
        (2, 76 << 7, 1200.0),
    ],
)
def test_rpn_fine_and_coarse_tuning(rpn, value, expected):
    f = play(setup=lambda engine: engine.rpn(0, rpn, value))
    assert abs(cents(f, RATE / PERIOD) - expected) < 3.0


def test_wheel_moves_a_sounding_note_at_its_sample():
    engine = make_engine()
    offset, length = sine_wave(engine, PERIOD, cycles=4)
    engine.start(looped_voice(offset, length))
    engine.pitch_wheel(0, 16383, offset=12000)  # + 2 semitones from sample 12000
    out = engine.render(24000)[:, 0]
    before = zero_crossing_frequency(out[2000:11900])
    after = zero_crossing_frequency(out[12200:])
    assert abs(cents(before, RATE / PERIOD)) < 3.0
    assert abs(cents(after, RATE / PERIOD) - 200.0) < 3.0


def test_vibrato_lfo_swings_pitch_both_ways():
    vib = (C.CONN_SRC_VIBRATO, 0, C.CONN_DST_PITCH, 0, C.cents_scale(50.0))
    engine = make_engine()
    offset, length = sine_wave(engine, PERIOD, cycles=4)
    engine.start(looped_voice(offset, length, connections=articulation(vib)))
    out = engine.render(48000)[:, 0]
    # instantaneous period from successive rising crossings
    x = out.astype(np.float64)
    idx = np.nonzero((x[:-1] < 0) & (x[1:] >= 0))[0]
    t = idx + x[idx] / (x[idx] - x[idx + 1])
    inst = RATE / np.diff(t)
    dev = 1200 * np.log2(inst / (RATE / PERIOD))
    assert dev.max() == pytest.approx(50.0, abs=6.0)
    assert dev.min() == pytest.approx(-50.0, abs=6.0)
    # 5 Hz vibrato: count the upward swings through 0 cents over 1 s (after the 10 ms delay)
    ups = np.count_nonzero((dev[:-1] < 0) & (dev[1:] >= 0))
    assert 4 <= ups <= 6
