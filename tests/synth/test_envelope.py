"""EG1 and EG2 stage times follow the articulation (DLS full-scale slope semantics)."""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.synth.engine import connections as C
from dmusd.synth.engine import layout as L

from .audio import (
    RATE,
    articulation,
    cents,
    looped_voice,
    make_engine,
    sine_wave,
    zero_crossing_frequency,
)

CENTRE = np.cos(np.pi / 4)  # equal-power pan gain at centre
EG1 = (
    C.CONN_DST_EG1_DELAYTIME,
    C.CONN_DST_EG1_ATTACKTIME,
    C.CONN_DST_EG1_HOLDTIME,
    C.CONN_DST_EG1_DECAYTIME,
    C.CONN_DST_EG1_SUSTAINLEVEL,
    C.CONN_DST_EG1_RELEASETIME,
)


def eg1(delay=0.0, attack=0.0, hold=0.0, decay=0.0, sustain=100.0, release=0.0, extra=()):
    rows = [
        (C.CONN_SRC_NONE, 0, dest, 0, C.timecents_scale(t))
        for dest, t in zip(EG1[:4], (delay, attack, hold, decay), strict=True)
    ]
    rows.append((C.CONN_SRC_NONE, 0, C.CONN_DST_EG1_SUSTAINLEVEL, 0, C.percent_scale(sustain)))
    rows.append((C.CONN_SRC_NONE, 0, C.CONN_DST_EG1_RELEASETIME, 0, C.timecents_scale(release)))
    return articulation(*rows, *extra, without=EG1)


def level(conns, frames, release_at=None, velocity=127, key=60):
    """Render a DC loop through the articulation; return the gain curve (1.0 = 0 dB)."""
    engine = make_engine()
    ones = engine.pool.add_wave(np.ones(64))
    v = engine.start(looped_voice(ones, 64, connections=conns, velocity=velocity, key=key))
    if release_at is not None:
        engine.release(v, release_at)
    return engine.render(frames)[:, 0].astype(np.float64) / CENTRE


def crossing(x, value, start=0, falling=False):
    seg = x[start:]
    idx = np.nonzero(seg <= value if falling else seg >= value)[0]
    assert idx.size, f"never crossed {value}"
    return (start + idx[0]) / RATE


def test_delay_and_linear_attack():
    x = level(eg1(delay=0.02, attack=0.1), 12000)
    assert np.all(x[: int(0.02 * RATE) - 1] == 0.0)
    t10 = crossing(x, 0.1)
    t90 = crossing(x, 0.9)
    # linear in amplitude: 10 % at 30 ms, 90 % at 110 ms
    assert t10 == pytest.approx(0.02 + 0.01, rel=0.05)
    assert t90 == pytest.approx(0.02 + 0.09, rel=0.05)
    assert x[int(0.06 * RATE)] == pytest.approx(0.4, abs=0.02)


def test_hold_then_decay_to_sustain_linear_in_db():
    # full-scale decay 1 s, sustain 50 % of the 96 dB range = -48 dB, reached after 0.5 s
    x = level(eg1(attack=0.01, hold=0.05, decay=1.0, sustain=50.0), int(1.0 * RATE))
    db = 20 * np.log10(np.maximum(x, 1e-12))
    assert np.all(db[int(0.011 * RATE) : int(0.059 * RATE)] > -0.05)  # hold at full level
    t_start = 0.06
    t24 = crossing(db, -24.0, int(t_start * RATE), falling=True) - t_start
    t47 = crossing(db, -47.0, int(t_start * RATE), falling=True) - t_start
    assert t24 == pytest.approx(0.25, rel=0.05)
    assert t47 == pytest.approx(0.5 * 47 / 48, rel=0.05)
    assert db[int(0.8 * RATE)] == pytest.approx(-48.0, abs=0.1)


def test_release_is_full_scale_from_the_current_level():
    # sustain -48 dB (level 0.5); a 2 s full-scale release takes 1 s to fall the last 48 dB
    x = level(eg1(decay=0.1, sustain=50.0, release=2.0), int(1.5 * RATE), release_at=RATE // 4)
    db = 20 * np.log10(np.maximum(x, 1e-12))
    t60 = crossing(db, -60.0, RATE // 4, falling=True) - 0.25
    t84 = crossing(db, -84.0, RATE // 4, falling=True) - 0.25
    assert t60 == pytest.approx(0.25, rel=0.05)
    assert t84 == pytest.approx(0.75, rel=0.05)
    assert np.all(x[int(1.3 * RATE) :] == 0.0)


def test_release_during_attack_starts_from_reached_level():
    x = level(eg1(attack=0.2, release=1.0), RATE // 2, release_at=int(0.1 * RATE))
    peak = x.max()
    assert peak == pytest.approx(0.5, abs=0.02)  # half way up the linear attack
    # from -6 dB a 1 s full-scale release needs (1 - 6/96) s to reach -96 dB: at +0.3 s it is
    # 28.8 dB further down
    t = int(0.4 * RATE)
    assert 20 * np.log10(x[t] / peak) == pytest.approx(-28.8, abs=1.0)


def test_velocity_scales_attack_and_key_scales_decay():
    vel_to_attack = (
        C.CONN_SRC_KEYONVELOCITY,
        0,
        C.CONN_DST_EG1_ATTACKTIME,
        0,
        C.cents_scale(-1200.0 * 128 / 127),
    )
    conns = eg1(attack=0.2, extra=(vel_to_attack,))
    slow = level(conns, RATE // 2, velocity=0)
    fast = level(conns, RATE // 2, velocity=127)
    slow = crossing(slow / slow.max(), 0.5)
    fast = crossing(fast / fast.max(), 0.5)
    assert slow == pytest.approx(0.1, rel=0.05)
    assert fast == pytest.approx(0.05, rel=0.05)  # one octave of time cents: half the time

    key_to_decay = (C.CONN_SRC_KEYNUMBER, 0, C.CONN_DST_EG1_DECAYTIME, 0, C.cents_scale(-4800.0))
    conns = eg1(decay=1.0, sustain=0.0, extra=(key_to_decay,))
    low = level(conns, RATE, key=0)
    high = level(conns, RATE, key=64)  # 64/128 x -4800 tc: decay 4x shorter
    t_low = crossing(20 * np.log10(np.maximum(low, 1e-12)), -48.0, falling=True)
    t_high = crossing(20 * np.log10(np.maximum(high, 1e-12)), -48.0, falling=True)
    assert t_low == pytest.approx(0.5, rel=0.05)
    assert t_high == pytest.approx(0.125, rel=0.05)


def test_voice_ends_when_release_is_done():
    engine = make_engine()
    ones = engine.pool.add_wave(np.ones(64))
    v = engine.start(looped_voice(ones, 64, connections=eg1(release=0.1)))
    engine.release(v, 100)
    engine.render(100 + int(0.1 * RATE) - 200)
    assert engine.states[v] == L.VOICE_RELEASING
    engine.render(400)
    assert engine.states[v] == L.VOICE_FREE
    assert v in engine.finished.tolist()


def test_eg2_drives_pitch_over_its_attack():
    eg2 = articulation(
        (C.CONN_SRC_EG2, 0, C.CONN_DST_PITCH, 0, C.cents_scale(1200.0)),
        (C.CONN_SRC_NONE, 0, C.CONN_DST_EG2_ATTACKTIME, 0, C.timecents_scale(0.2)),
        without=(C.CONN_DST_EG2_ATTACKTIME,),
    )
    engine = make_engine()
    offset, length = sine_wave(engine, 200, cycles=2)
    engine.start(looped_voice(offset, length, connections=eg2))
    x = engine.render(RATE)[:, 0]
    base = RATE / 200
    assert abs(cents(zero_crossing_frequency(x[int(0.3 * RATE) :]), base) - 1200.0) < 3.0
    mid = zero_crossing_frequency(x[int(0.09 * RATE) : int(0.11 * RATE)])
    assert 500.0 < cents(mid, base) < 700.0  # linear EG2: about half way at 100 ms
