"""The send effects: the reverb tail exists and decays at about the set RT60; the chorus moves."""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.errors import ConfigError
from dmusd.synth.engine import VoiceSpec

from .audio import RATE, looped_voice, make_engine, sine_wave


def burst_through_reverb(time=1.0, hf_ratio=1.0, enabled=True, seconds=2.5):
    engine = make_engine()
    engine.set_reverb(enabled=enabled, time=time, hf_ratio=hf_ratio, mix=1.0)
    rng = np.random.default_rng(7)
    offset = engine.pool.add_wave(rng.uniform(-1, 1, 480))  # 10 ms of noise, one-shot
    engine.controller(0, 91, 127)
    engine.start(VoiceSpec(offset, 480, RATE, key=60, velocity=127, unity_note=60))
    return engine.render(int(seconds * RATE)).astype(np.float64)


def rt60(out):
    """Schroeder backward integration, line fitted from -5 to -25 dB, extrapolated to -60."""
    energy = (out**2).sum(axis=1)[int(0.02 * RATE) :]
    edc = np.cumsum(energy[::-1])[::-1]
    edc_db = 10 * np.log10(edc / edc[0])
    sel = (edc_db <= -5) & (edc_db >= -25)
    t = np.nonzero(sel)[0] / RATE
    slope = np.polyfit(t, edc_db[sel], 1)[0]
    return -60.0 / slope


def test_reverb_tail_exists_and_decays():
    out = burst_through_reverb()
    tail = np.abs(out[int(0.05 * RATE) :])
    early = tail[: int(0.2 * RATE)].max()
    late = tail[int(1.8 * RATE) :].max()
    assert early > 0.01
    assert late < early * 10 ** (-40 / 20)
    assert not np.allclose(out[:, 0], out[:, 1])  # a stereo tail


@pytest.mark.parametrize("time", [0.8, 2.0])
def test_reverb_time_roughly_as_set(time):
    measured = rt60(burst_through_reverb(time=time, seconds=time * 1.5))
    assert measured == pytest.approx(time, rel=0.25)


def test_hf_ratio_darkens_the_tail():
    def late_brightness(hf_ratio):
        out = burst_through_reverb(hf_ratio=hf_ratio, seconds=1.0)[int(0.5 * RATE) :, 0]
        spectrum = np.abs(np.fft.rfft(out)) ** 2
        freqs = np.fft.rfftfreq(out.size, 1 / RATE)
        return spectrum[freqs > 5000].sum() / spectrum.sum()

    assert late_brightness(0.3) < 0.5 * late_brightness(1.0)


def test_reverb_switched_off_leaves_the_dry_signal():
    out = burst_through_reverb(enabled=False, seconds=0.5)
    assert np.all(out[500:] == 0.0)


def chorus_envelope(enabled, depth_ms=3.0):
    engine = make_engine()
    engine.set_chorus(enabled=enabled, mix=1.0, rate=2.0, depth_ms=depth_ms)
    offset, length = sine_wave(engine, 48, cycles=1)  # 1 kHz
    engine.controller(0, 93, 127)
    engine.start(looped_voice(offset, length))
    out = engine.render(RATE)[RATE // 10 :, 0].astype(np.float64)
    windows = out[: out.size // 480 * 480].reshape(-1, 480)
    return np.sqrt((windows**2).mean(axis=1))


def test_chorus_modulates():
    steady = chorus_envelope(False)
    moving = chorus_envelope(True)
    assert steady.std() / steady.mean() < 1e-3
    assert moving.std() / moving.mean() > 0.05  # dry and delayed copies beat as the delay moves
    # a 2 Hz LFO: the beating repeats, so the envelope has several maxima in 0.9 s
    peaks = np.count_nonzero((moving[1:-1] > moving[:-2]) & (moving[1:-1] > moving[2:]))
    assert peaks >= 3


def test_effect_settings_are_checked():
    engine = make_engine()
    with pytest.raises(ConfigError, match="reverb time"):
        engine.set_reverb(time=100.0)
    with pytest.raises(ConfigError, match="outside 0..1"):
        engine.set_chorus(mix=2.0)
    with pytest.raises(ConfigError, match="chorus rate"):
        engine.set_chorus(rate=0.0)


def test_a_silent_tail_is_flushed_to_exact_zero():
    engine = make_engine()
    engine.set_reverb(enabled=True, time=0.3, mix=1.0)
    offset = engine.pool.add_wave(np.ones(480))
    engine.controller(0, 91, 127)
    engine.start(VoiceSpec(offset, 480, RATE, key=60, velocity=127, unity_note=60))
    engine.render(RATE // 2)
    assert np.abs(engine.reverb.buf).max() > 0.0
    out = engine.render(3 * RATE)  # -60 dB per 0.3 s: far below -400 dB by the end
    assert np.all(out[-RATE // 10 :] == 0.0)
    assert np.all(engine.reverb.buf == 0.0)  # no denormals left to slow the loop down


def test_idle_effects_skip_work_without_changing_a_sample():
    from dmusd.synth.effects.reverb import QUIET

    def run(block, stop_at=None):
        engine = make_engine()
        engine.set_reverb(enabled=True, time=0.3, mix=1.0)
        engine.set_chorus(enabled=True, mix=1.0)
        offset = engine.pool.add_wave(np.ones(480))
        engine.controller(0, 91, 127)
        engine.controller(0, 93, 127)
        for start in (0, 4 * RATE):
            engine.start(VoiceSpec(offset, 480, RATE, key=60, velocity=127, unity_note=60), start)
        total = stop_at or 5 * RATE
        out = [engine.render(min(block, total - t)).copy() for t in range(0, total, block)]
        return np.concatenate(out), engine

    _, idle = run(1000, stop_at=4 * RATE - 1000)
    assert idle.reverb.ints[QUIET, 1] == 1  # the reverb went quiet during the gap
    assert idle.chorus.ints[2] > idle.chorus.ints[1]  # so did the chorus
    a, _ = run(64)
    b, _ = run(1000)
    assert np.array_equal(a, b)
    assert np.abs(a[4 * RATE + 1000 :]).max() > 0.01  # and the second note reverberates again
