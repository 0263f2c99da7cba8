"""SF2's envelope delays at their default, -12000 time cents ("<1 msec", SF2.04 8.1.3), play as
no delay, heard through `dmusd render`: a note sounds from its note-on's sample, and a short
one-shot drum keeps its level against FluidSynth 2.6. A delay the bank sets still delays (and,
as in FluidSynth, the wave plays on silently under it)."""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.banks import sf2_generators as G
from tests.banks.builders import SfSample, SfZone, sf2_bytes

from .song_render import RATE, fluid_render, note_off, note_on, program, render

DEFAULT, TONE, DELAYED = 0, 1, 2  # presets: a click, a held tone, the tone 0.1 s late
ONSET = 0.5  # s: the note-on


@pytest.fixture(scope="module")
def click_bank(tmp_path_factory):
    """A 96-frame one-shot burst (a drum's click), and a looped sine of the same level."""
    wave = np.round(np.sin(2 * np.pi * np.arange(4800) / 12) * 30000).astype(np.int16)
    click = SfSample(wave[:96], RATE, 60, 0, (0, 0), "click")
    tone = SfSample(wave, RATE, 60, 0, (0, 4800), "tone")
    delayed = [(G.DELAY_VOL_ENV, round(1200 * np.log2(0.1)))]
    instruments = [
        (name, [SfZone([*gens, (G.SAMPLE_MODES, mode), (G.SAMPLE_ID, sample)])])
        for name, gens, mode, sample in (
            ("default", [], 0, 0),
            ("tone", [], 1, 1),
            ("delayed", delayed, 1, 1),
        )
    ]
    presets = [
        (name, 0, n, [SfZone([(G.INSTRUMENT, n)])]) for n, (name, _) in enumerate(instruments)
    ]
    path = tmp_path_factory.mktemp("sf2") / "click.sf2"
    path.write_bytes(sf2_bytes([click, tone], instruments, presets))
    return path


def song(preset: int):
    return [(0.0, program(preset)), (ONSET, note_on(60)), (ONSET + 0.5, note_off(60))]


def first_sound(x: np.ndarray) -> int:
    """Frames from the note-on to the first audible sample."""
    return int(np.flatnonzero(np.abs(x) > 1e-4)[0]) - round(ONSET * RATE)


def energy_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(x * x)))


def test_the_default_delay_is_none_and_a_set_delay_still_delays(tmp_path, click_bank):
    assert 0 <= first_sound(render(tmp_path, click_bank, song(DEFAULT))) <= 4
    assert abs(first_sound(render(tmp_path, click_bank, song(DELAYED))) - 0.1 * RATE) <= 4


def test_a_short_one_shot_plays_as_loud_as_in_fluidsynth(tmp_path, click_bank):
    # the click's energy against a held tone's, each synth against itself: their gains cancel
    gaps = []
    for synth in (render, fluid_render):
        click = synth(tmp_path, click_bank, song(DEFAULT))
        tone = synth(tmp_path, click_bank, song(TONE))
        held = tone[round((ONSET + 0.1) * RATE) : round((ONSET + 0.4) * RATE)]
        gaps.append(energy_db(click) - (energy_db(held) - 10 * np.log10(held.size)))
    assert abs(gaps[0] - gaps[1]) < 1.5
