"""SF2's LFOs are triangles (SF2.04 8.1.2), heard through `dmusd render`: the pitch of a note
under 100 cents of 1 Hz vibrato follows a triangle, as FluidSynth 2.6 plays it, where a DLS
region's LFO is a sine."""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.banks import sf2_generators as G
from tests.banks.builders import SfSample, SfZone, sf2_bytes

from .song_render import fluid_render, note_off, note_on, pitch_at, render

A4 = 69
STEP = 0.02  # s: the pitch is read over windows this long


@pytest.fixture(scope="module")
def vibrato_bank(tmp_path_factory):
    """A looped 440 Hz sine (A4) with the vibrato LFO at 1 Hz, 100 cents deep."""
    period = 100
    data = np.round(np.sin(2 * np.pi * np.arange(period * 48) / period) * 30000)
    sample = SfSample(data.astype(np.int16), 44000, A4, 0, (0, data.size), "sine")
    gens = [
        (G.FREQ_VIB_LFO, round(1200 * np.log2(1.0 / 8.176))),
        (G.VIB_LFO_TO_PITCH, 100),
        (G.SAMPLE_MODES, 1),
        (G.SAMPLE_ID, 0),
    ]
    presets = [("vibrato", 0, 0, [SfZone([(G.INSTRUMENT, 0)])])]
    path = tmp_path_factory.mktemp("sf2") / "vibrato.sf2"
    path.write_bytes(sf2_bytes([sample], [("vibrato", [SfZone(gens)])], presets))
    return path


def pitch_track(x: np.ndarray, start: float, seconds: float) -> np.ndarray:
    starts = np.arange(start, start + seconds, STEP)
    return np.array([pitch_at(x, t, t + STEP, A4) for t in starts])


def test_the_vibrato_of_an_sf2_zone_is_a_triangle_as_in_fluidsynth(tmp_path, vibrato_bank):
    events = [(0.0, note_on(A4)), (2.1, note_off(A4))]
    ours = pitch_track(render(tmp_path, vibrato_bank, events), 0.0, 2.0)
    theirs = pitch_track(fluid_render(tmp_path, vibrato_bank, events), 0.0, 2.0)
    # the LFO starts at 0 and rises: a triangle of 100 cents at 1 Hz, read at window centres
    phase = (np.arange(ours.size) * STEP + STEP / 2) % 1.0
    triangle = 100 * np.where(
        phase < 0.25, 4 * phase, np.where(phase < 0.75, 2 - 4 * phase, 4 * phase - 4)
    )
    sine = 100 * np.sin(2 * np.pi * phase)
    assert np.max(np.abs(ours - theirs)) < 3
    assert np.max(np.abs(ours - triangle)) < 4
    assert np.max(np.abs(ours - sine)) > 15
