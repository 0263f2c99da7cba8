"""The engine's Python surface: slots, errors, commands, states, reports."""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.errors import BankError, ConfigError, StateError
from dmusd.synth.engine import VoiceSpec
from dmusd.synth.engine import connections as C
from dmusd.synth.engine import layout as L

from .audio import RATE, articulation, looped_voice, make_engine


def test_voice_slots_run_out_and_come_back():
    engine = make_engine(max_voices=2)
    ones = engine.pool.add_wave(np.ones(64))
    a = engine.start(looped_voice(ones, 64))
    b = engine.start(looped_voice(ones, 64))
    assert engine.free_count == 0 and engine.active_count == 2
    with pytest.raises(StateError, match="no free voice"):
        engine.start(looped_voice(ones, 64))
    engine.quick_stop(a, 10)
    engine.render(1000)
    assert engine.finished.tolist() == [a]
    assert engine.free_count == 1
    assert engine.states[b] == L.VOICE_PLAYING
    c = engine.start(looped_voice(ones, 64))
    assert c == a  # the freed slot is reused
    assert engine.serials[c] > engine.serials[b]


def test_a_stale_command_does_not_reach_the_slots_next_note():
    engine = make_engine(max_voices=1)
    ones = engine.pool.add_wave(np.ones(64))
    v = engine.start(looped_voice(ones, 64))
    engine.quick_stop(v)
    engine.render(1000)
    engine.release(v, 5000)  # aimed at the note that already ended
    w = engine.start(looped_voice(ones, 64), 10)
    assert w == v
    engine.render(8000)
    assert engine.states[w] == L.VOICE_PLAYING


def test_bad_specs_are_refused_with_where():
    engine = make_engine()
    ones = engine.pool.add_wave(np.ones(64))
    with pytest.raises(BankError, match="not in the sample pool"):
        engine.start(VoiceSpec(ones, 10_000_000, RATE, key=60, velocity=100))
    with pytest.raises(BankError, match="art2"):
        rows = [(0, 0, C.CONN_DST_PITCH, 0, 0)] * (L.MAX_CONNECTIONS + 1)
        engine.start(looped_voice(ones, 64, connections=rows))
    with pytest.raises(StateError, match="channel 99"):
        engine.start(looped_voice(ones, 64, channel=99))
    with pytest.raises(ConfigError, match="sample rate"):
        type(engine)(sample_rate=1000)


def test_loop_outside_the_wave_plays_as_one_shot():
    engine = make_engine()
    ones = engine.pool.add_wave(np.ones(100))
    v = engine.start(looped_voice(ones, 100, loop_start=90, loop_length=50))
    engine.render(1000)
    assert v in engine.finished.tolist()


def test_all_notes_off_releases_and_all_sound_off_stops_one_channel():
    engine = make_engine()
    ones = engine.pool.add_wave(np.ones(64))
    rel = articulation(
        (C.CONN_SRC_NONE, 0, C.CONN_DST_EG1_RELEASETIME, 0, C.timecents_scale(2.0)),
        without=(C.CONN_DST_EG1_RELEASETIME,),
    )
    a = engine.start(looped_voice(ones, 64, channel=0, connections=rel))
    b = engine.start(looped_voice(ones, 64, channel=1, connections=rel))
    engine.all_notes_off(0, 100)
    engine.render(1000)
    assert engine.states[a] == L.VOICE_RELEASING
    assert engine.states[b] == L.VOICE_PLAYING
    engine.all_sound_off(-1, 0)
    engine.render(1000)
    assert sorted(engine.finished.tolist()) == sorted([a, b])


def test_render_longer_than_max_block_and_finished_accumulate():
    engine = make_engine(max_block=256)
    offset = engine.pool.add_wave(np.ones(300))
    voices = [engine.start(VoiceSpec(offset, 300, RATE, key=60, velocity=127), t) for t in (0, 700)]
    out = engine.render(2000)
    assert out.shape == (2000, 2)
    assert sorted(engine.finished.tolist()) == voices
    assert np.all(out[310:700] == 0.0) and out[700, 0] > 0.0


def test_channel_pressure_and_poly_pressure_reach_connections():
    engine = make_engine()
    ones = engine.pool.add_wave(np.ones(64))
    conns = articulation(
        (C.CONN_SRC_CHANNELPRESSURE, 0, C.CONN_DST_GAIN, 0, C.gain_scale(-12.0)),
        (C.CONN_SRC_POLYPRESSURE, 0, C.CONN_DST_GAIN, 0, C.gain_scale(-12.0)),
    )
    engine.start(looped_voice(ones, 64, key=60, connections=conns))
    engine.channel_pressure(0, 64, 1000)  # 64/128 x -12 dB
    engine.poly_pressure(0, 61, 127, 2000)  # another key: no effect
    engine.poly_pressure(0, 60, 32, 3000)  # 32/128 x -12 dB more
    out = engine.render(4000)[:, 0] / np.cos(np.pi / 4)
    db = 20 * np.log10(out)
    assert db[900] == pytest.approx(0.0, abs=0.01)
    assert db[1900] == pytest.approx(-6.0, abs=0.01)
    assert db[2900] == pytest.approx(-6.0, abs=0.01)
    assert db[3900] == pytest.approx(-9.0, abs=0.01)


def test_reset_channel_restores_gm_values():
    engine = make_engine()
    engine.pitch_wheel(0, 0)
    engine.controller(0, 10, 0)
    engine.render(10)
    engine.reset_channel(0)
    engine.render(10)
    assert engine.chan[0, C.CONN_SRC_PITCHWHEEL] == 0.5
    assert engine.chan[0, C.CONN_SRC_CC10] == 0.5
    assert engine.chan[0, C.CONN_SRC_CC7] == 100 / 128


# -- the sample pool (its own tests: test_sample_pool.py) -------------------------------------
def test_a_wave_placed_in_a_hole_plays_as_one_appended_does():
    def play(engine, offset):
        engine.start(looped_voice(offset, 480, loop_start=100, loop_length=380))
        return engine.render(2000).copy()

    wave = np.sin(np.arange(480) * 0.05)
    fresh = make_engine()
    reference = play(fresh, fresh.pool.add_wave(wave))
    reused = make_engine()
    hole = reused.pool.add_wave(np.ones(800))
    reused.pool.add_wave(np.ones(100))  # keeps the hole inside the pool
    reused.pool.free_wave(hole, 800)
    assert reused.pool.add_wave(wave) == hole
    assert np.array_equal(play(reused, hole), reference) and np.abs(reference).max() > 0.1
