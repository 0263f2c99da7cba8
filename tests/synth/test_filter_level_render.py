"""The resonant filter's gain structure, heard through `dmusd render`: the pass band is lowered
by half the resonance for SF2 (SoundFont 2.01 8.1.3, as FluidSynth does) and DLS (the
DirectMusic synth's DLS2 filter), so a resonant preset plays as loud as FluidSynth 2.6 plays
it and a resonance sweep stays under the limiter."""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.banks import sf2_generators as G
from dmusd.banks import units
from dmusd.banks.connection import CONN_DST_FILTER_CUTOFF, CONN_DST_FILTER_Q, connection
from dmusd.banks.dls_writer import save_dls
from dmusd.banks.model import Instrument, make_patch
from dmusd.synth.engine.filter import lowpass_response_db
from tests.banks.builders import SfSample, SfZone, sf2_bytes

from .song_render import RATE, fluid_render, level_db, note_off, note_on, program, render
from .test_stream import bank_of, region, sine

FILTER_FC, FILTER_Q, MOD_ENV_TO_FC = G.INITIAL_FILTER_FC, G.INITIAL_FILTER_Q, G.MOD_ENV_TO_FILTER_FC
DECAY_MOD_ENV, SUSTAIN_MOD_ENV = G.DECAY_MOD_ENV, G.SUSTAIN_MOD_ENV
INSTRUMENT, SAMPLE_MODES, SAMPLE_ID = G.INSTRUMENT, G.SAMPLE_MODES, G.SAMPLE_ID
RESONANT, PLAIN, SWEEP = 0, 1, 2  # presets


def saw_sf2() -> bytes:
    """A looped band-limited sawtooth (220.5 Hz at 44.1 kHz, key 57) in three presets: low-pass
    at 2 kHz with 18 dB of resonance, the same with none, and the resonant one swept from 500 Hz
    up four octaves by the modulation envelope."""
    period = 200
    t = np.arange(period * 20) / period
    saw = sum(np.sin(2 * np.pi * k * t) / k for k in range(1, 40))
    data = np.round(saw / np.abs(saw).max() * 32000).astype(np.int16)
    sample = SfSample(data, 44100, 57, 0, (0, data.size), "saw")
    cutoff = round(1200 * np.log2(2000 / 8.176))
    zones = {
        RESONANT: [(FILTER_FC, cutoff), (FILTER_Q, 180)],
        PLAIN: [(FILTER_FC, cutoff)],
        SWEEP: [
            (FILTER_FC, cutoff - 2400),
            (FILTER_Q, 180),
            (MOD_ENV_TO_FC, 4800),
            (DECAY_MOD_ENV, 1200),
            (SUSTAIN_MOD_ENV, 1000),
        ],  # fmt: skip
    }
    instruments = [
        (f"saw {n}", [SfZone([*gens, (SAMPLE_MODES, 1), (SAMPLE_ID, 0)])])
        for n, gens in zones.items()
    ]
    presets = [(f"saw {n}", 0, n, [SfZone([(INSTRUMENT, n)])]) for n in zones]
    return sf2_bytes([sample], instruments, presets)


@pytest.fixture(scope="module")
def saw_bank(tmp_path_factory):
    path = tmp_path_factory.mktemp("sf2") / "saw.sf2"
    path.write_bytes(saw_sf2())
    return path


def two_notes():
    """The resonant preset for 1 s, then the plain one for 1 s, key 57."""
    return [(0.0, program(RESONANT)), (0.0, note_on(57)), (1.0, note_off(57)),
            (1.0, program(PLAIN)), (1.0, note_on(57)), (2.0, note_off(57))]  # fmt: skip


def test_an_sf2_resonant_preset_is_as_loud_as_in_fluidsynth_26(tmp_path, saw_bank):
    ours = render(tmp_path, saw_bank, two_notes())
    theirs = fluid_render(tmp_path, saw_bank, two_notes())
    # each synth against itself: the resonant note's level over the plain one's
    gap_ours = level_db(ours, 0.3, 0.9) - level_db(ours, 1.3, 1.9)
    gap_theirs = level_db(theirs, 0.3, 0.9) - level_db(theirs, 1.3, 1.9)
    assert gap_ours < -4.0  # the pass band came down (it was +2.5 dB with the full-gain filter)
    assert gap_ours == pytest.approx(gap_theirs, abs=1.5)


def test_a_resonance_sweep_stays_under_the_limiter(tmp_path, saw_bank, capsys):
    chord = (45, 52, 57, 61, 64)
    events = [(0.0, program(SWEEP))] + [(0.0, note_on(k)) for k in chord]
    events += [(1.5, note_off(k)) for k in chord]
    x = render(tmp_path, saw_bank, events, "--volume", 0)
    assert "limiter on" not in capsys.readouterr().err
    peak_db = 20 * np.log10(np.abs(x).max())
    # under the ceiling (-0.3 dBFS), and close enough to it that the 9 dB the gain structure
    # takes off was needed
    assert -9.0 < peak_db < -0.5


def test_a_dls_resonant_filter_lowers_its_pass_band_by_half_the_resonance(tmp_path):
    cutoff = connection(CONN_DST_FILTER_CUTOFF, units.abs_pitch(2000.0))
    q = connection(CONN_DST_FILTER_Q, units.fixed(180))  # 18 dB, in tenths of a dB
    wave = sine()
    path = tmp_path / "filters.dls"
    save_dls(
        bank_of(
            Instrument(make_patch(0), "plain", [region(wave)], ()),
            Instrument(make_patch(1), "resonant", [region(wave)], (cutoff, q)),
        ),
        path,
    )
    events = [(0.0, note_on(69)), (1.0, note_off(69)), (1.0, program(1)), (1.0, note_on(69)),
              (2.0, note_off(69))]  # fmt: skip
    x = render(tmp_path, path, events)
    gap = level_db(x, 1.3, 1.9) - level_db(x, 0.3, 0.9)
    expected = lowpass_response_db(2000.0, 18.0, 440.0, RATE)  # -9 dB, plus the slope's rise
    assert expected == pytest.approx(-9.0 + 0.4, abs=0.2)
    assert gap == pytest.approx(expected, abs=0.2)
