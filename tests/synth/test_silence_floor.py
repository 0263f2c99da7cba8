"""The silence floor: a voice whose envelope can only fall ends once its loudest sample would be
110 dB under full scale, with its LFOs and EGs on the gain at the top of their swing, and its
wave's peak (the loop's, once it has looped) counted; a held note that has decayed away no longer
costs a voice."""

from __future__ import annotations

import numpy as np
import pytest

import dmusd
from dmusd.synth.engine import connections as C
from dmusd.synth.engine import layout as L

from .audio import RATE, articulation, looped_voice, make_engine

FLOOR_DB = -110.0
DECAY = 1.0  # s: the full 96 dB of EG1, sustain 0
CONTROL = L.CONTROL_INTERVAL / RATE
TIMGM6MB = "/usr/share/sounds/sf2/TimGM6mb.sf2"


def _decaying(extra=()):
    rows = [
        (C.CONN_SRC_NONE, 0, C.CONN_DST_EG1_DECAYTIME, 0, C.timecents_scale(DECAY)),
        (C.CONN_SRC_NONE, 0, C.CONN_DST_EG1_SUSTAINLEVEL, 0, C.percent_scale(0.0)),
    ]
    return articulation(
        *rows, *extra, without=(C.CONN_DST_EG1_DECAYTIME, C.CONN_DST_EG1_SUSTAINLEVEL)
    )


def _end(attenuation_db=0.0, extra=()):
    """(seconds until the voice finished, its output). A bare engine voice counts its wave's
    peak as full scale (the pin's tables give the real one)."""
    engine = make_engine()
    wave = engine.pool.add_wave(np.ones(64))
    spec = looped_voice(
        wave, 64, connections=_decaying(extra), attenuation=int(attenuation_db * 655360)
    )
    v = engine.start(spec)
    out, block = [], 512
    for start in range(0, int(1.5 * DECAY * RATE), block):
        out.append(engine.render(block)[:, 0].astype(np.float64))
        if v in engine.finished.tolist():
            return (start + block) / RATE, np.concatenate(out)
    return None, np.concatenate(out)


def test_a_full_level_voice_ends_when_its_decay_reaches_the_bottom():
    # 96 dB of envelope keep a 0 dBFS voice above the floor: it ends where the envelope ends
    # (before, it sat at level 0 until its note-off)
    end, _ = _end()
    assert end == pytest.approx(DECAY, abs=3 * CONTROL + 512 / RATE)


def test_a_quiet_voice_ends_where_it_crosses_the_floor():
    # 40 dB down by its gain: the floor is 70 dB into the 96 dB decay
    end, x = _end(-40.0)
    assert end == pytest.approx(DECAY * 70 / 96, abs=3 * CONTROL + 512 / RATE)
    before = x[-int(0.05 * RATE) : -int(0.02 * RATE)]
    assert FLOOR_DB - 3 < 20 * np.log10(np.abs(before).max()) < FLOOR_DB + 3


def test_a_tremolo_keeps_the_voice_until_the_top_of_its_swing_is_under_the_floor():
    # +-12 dB of LFO on the gain: at the LFO's trough the voice is 12 dB under where its swing
    # can take it, so it lasts at least until the envelope is 82 dB down, not 70
    tremolo = (C.CONN_SRC_LFO, 0, C.CONN_DST_GAIN, 0, C.cents_scale(120.0))
    end, _ = _end(-40.0, extra=(tremolo,))
    assert DECAY * 82 / 96 - 2 * CONTROL <= end <= DECAY + 3 * CONTROL + 512 / RATE


def test_a_held_piano_note_that_has_decayed_away_frees_its_voice():
    """Through a pin and a real bank: TimGM6mb's piano loop is far quieter than its attack, so
    the voice ends by the loop's peak, long before the key is let go."""
    synth = dmusd.Synth(banks=[TIMGM6MB], effects=False)
    synth.note_on(0, 60, 100)
    voices, loud = [], []
    for _ in range(40):  # 20 s, the key held
        block = synth.render(RATE // 2)
        voices.append(synth._live[0].stream.active_voices)
        loud.append(np.abs(block).max())
    assert voices[0] == 1 and voices[-1] == 0
    gone = voices.index(0)
    assert 20 * np.log10(loud[gone - 1]) < -100.0  # it was already inaudible
    assert 20 * np.log10(loud[gone - 8]) > FLOOR_DB  # and it had not ended at once
    synth.close()
