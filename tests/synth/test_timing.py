"""Sample-accurate commands: same notes, any block size, same samples, exact start sample."""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.synth.engine import connections as C
from dmusd.synth.engine import layout as L

from .audio import articulation, looped_voice, make_engine, sine_wave

TOTAL = 12000
NOTE_TIMES = (1234, 5000, 7777)


def score(engine):
    """(time, call) pairs; each call takes the engine and a block-relative offset."""
    ones = engine.pool.add_wave(np.ones(64))
    offset, length = sine_wave(engine, 97, cycles=3, phase=0.5)
    wobble = articulation(
        (C.CONN_SRC_LFO, 0, C.CONN_DST_PITCH, 0, C.cents_scale(30.0)),
        (C.CONN_SRC_EG2, 0, C.CONN_DST_FILTER_CUTOFF, 0, C.cents_scale(2400.0)),
        (C.CONN_SRC_NONE, 0, C.CONN_DST_EG2_ATTACKTIME, 0, C.timecents_scale(0.03)),
        (C.CONN_SRC_NONE, 0, C.CONN_DST_FILTER_CUTOFF, 0, C.pitch_hz_scale(800.0)),
        (C.CONN_SRC_NONE, 0, C.CONN_DST_EG1_RELEASETIME, 0, C.timecents_scale(0.02)),
        without=(C.CONN_DST_FILTER_CUTOFF, C.CONN_DST_EG1_RELEASETIME),
    )
    voices = {}

    def start(name, spec):
        def call(e, off):
            voices[name] = e.start(spec, off)

        return call

    flat = looped_voice(ones, 64, channel=0)
    return [
        (NOTE_TIMES[0], start("a", flat)),
        (2000, lambda e, off: e.pitch_wheel(0, 12000, off)),
        (3000, lambda e, off: e.release(voices["a"], off)),
        (NOTE_TIMES[1], start("b", looped_voice(offset, length, channel=1, connections=wobble))),
        (5500, lambda e, off: e.controller(1, 10, 20, off)),
        (5501, lambda e, off: e.controller(1, 91, 100, off)),
        (5502, lambda e, off: e.controller(1, 93, 90, off)),
        (6100, lambda e, off: e.quick_stop(voices["b"], off)),
        (NOTE_TIMES[2], start("c", looped_voice(ones, 64, channel=2, key=64))),
        (9000, lambda e, off: e.release(voices["c"], off)),
    ]


def render_queued_ahead(block, effects=True):
    """Every command queued up front with its absolute offset, then rendered block by block."""
    engine = make_engine(max_block=1024)
    engine.set_reverb(enabled=effects)
    engine.set_chorus(enabled=effects)
    for time, call in score(engine):
        call(engine, time)
    return np.concatenate(
        [engine.render(min(block, TOTAL - t)).copy() for t in range(0, TOTAL, block)]
    )


def render_live(block):
    """Each command given just before the block it falls in, with a block-relative offset."""
    engine = make_engine(max_block=1024)
    engine.set_reverb(enabled=True)
    engine.set_chorus(enabled=True)
    events = score(engine)
    out = []
    for t0 in range(0, TOTAL, block):
        n = min(block, TOTAL - t0)
        for time, call in events:
            if t0 <= time < t0 + n:
                call(engine, time - t0)
        out.append(engine.render(n).copy())
    return np.concatenate(out)


@pytest.fixture(scope="module")
def reference():
    return render_queued_ahead(64)


@pytest.mark.parametrize("block", [64, 256, 1000])
def test_bit_identical_for_any_block_size(reference, block):
    assert np.array_equal(render_queued_ahead(block), reference)
    assert np.array_equal(render_live(block), reference)


@pytest.mark.parametrize("block", [64, 1000])
def test_notes_start_at_their_sample(block):
    mono = np.abs(render_queued_ahead(block, effects=False)).sum(axis=1)
    # the first note has a 0 s release and the second is quick-stopped (5 ms): both are silent
    # before the next note starts, so each start shows as the first non-zero sample
    silent_from = (0, 3000 + 2 * L.CONTROL_INTERVAL, 6100 + 240 + 2 * L.CONTROL_INTERVAL)
    for start, quiet in zip(NOTE_TIMES, silent_from, strict=True):
        assert np.all(mono[quiet:start] == 0.0), start
        assert mono[start] > 0.0, start


def test_dry_note_starts_exactly_without_effects():
    for start in (0, 1, 63, 64, 65, 999, 1000, 4321):
        engine = make_engine()
        ones = engine.pool.add_wave(np.ones(64))
        engine.start(looped_voice(ones, 64), start)
        out = engine.render(6000)[:, 0]
        assert np.all(out[:start] == 0.0), start
        assert out[start] > 0.0, start


def test_release_and_sources_take_effect_at_their_sample():
    engine = make_engine()
    ones = engine.pool.add_wave(np.ones(64))
    v = engine.start(looped_voice(ones, 64))
    engine.controller(0, 7, 0, offset=3001)  # CC7 -> -96 dB from here on
    out = engine.render(4000)[:, 0]
    steady = out[2000]
    assert out[3000] == pytest.approx(steady)
    # the gain ramp towards silence begins on the command's sample: strictly falling from there
    assert out[3001] < steady
    assert out[3001 + L.CONTROL_INTERVAL - 1] < 1e-3 * steady
    engine.controller(0, 7, 127)
    engine.release(v, offset=10)
    engine.render(2000)
    assert engine.states[v] == L.VOICE_FREE


@pytest.mark.parametrize("mode", [L.INTERP_LINEAR, L.INTERP_CUBIC, L.INTERP_SINC])
def test_every_interpolation_and_loop_kind_is_block_size_independent(mode):
    def run(block):
        engine = make_engine()
        offset, length = sine_wave(engine, 37, cycles=3)
        one_shot = engine.pool.add_wave(np.linspace(1.0, -1.0, 3000))
        engine.start(looped_voice(offset, length, interpolation=mode, fine_tune=13.0))
        engine.start(looped_voice(one_shot, 3000, interpolation=mode, key=67, loop_type=-1))
        v = engine.start(
            looped_voice(
                offset,
                length,
                interpolation=mode,
                key=50,
                loop_type=L.LOOP_RELEASE,
                loop_start=10,
                loop_length=37,
            )
        )
        engine.pitch_wheel(0, 3000, offset=777)
        engine.release(v, 2345)
        return np.concatenate([engine.render(block).copy() for _ in range(6000 // block)])

    assert np.array_equal(run(40), run(1000))
