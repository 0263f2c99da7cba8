"""SF2's shapes, heard through `dmusd render` against FluidSynth 2.6: its LFOs are triangles
(SF2.04 8.1.2), so the pitch of a note under 100 cents of 1 Hz vibrato follows a triangle where
a DLS region's LFO is a sine; its modulation envelope's attack is convex (8.1.3, gen 26), so a
low-pass swept open by it brightens early in the attack, where DLS's EG2 rises linearly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dmusd.banks import load_bank
from dmusd.banks import sf2_generators as G
from dmusd.banks.dls_writer import DlsWriter
from tests.banks.builders import SfSample, SfZone, sf2_bytes

from .song_render import fluid_render, level_db, note_off, note_on, pitch_at, render

A4 = 69
STEP = 0.02  # s: the pitch is read over windows this long


@pytest.fixture(scope="module")
def vibrato_bank(tmp_path_factory):
    """A looped 440 Hz sine (A4) with the vibrato LFO at 1 Hz, 100 cents deep."""
    period = 100
    data = np.round(np.sin(2 * np.pi * np.arange(period * 48) / period) * 30000)
    sample = SfSample(data.astype(np.int16), 44000, A4, 0, (0, data.size), "sine")
    gens = [(G.FREQ_VIB_LFO, round(1200 * np.log2(1.0 / 8.176))), (G.VIB_LFO_TO_PITCH, 100)]
    return one_zone_bank(tmp_path_factory, "vibrato", sample, gens)


def one_zone_bank(tmp_path_factory, name: str, sample: SfSample, gens: list) -> Path:
    """An SF2 of one preset of one zone: `sample`, looped, with `gens`."""
    zone = SfZone([*gens, (G.SAMPLE_MODES, 1), (G.SAMPLE_ID, 0)])
    presets = [(name, 0, 0, [SfZone([(G.INSTRUMENT, 0)])])]
    path = tmp_path_factory.mktemp("sf2") / f"{name}.sf2"
    path.write_bytes(sf2_bytes([sample], [(name, [zone])], presets))
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


@pytest.fixture(scope="module")
def sweep_bank(tmp_path_factory):
    """A looped band-limited sawtooth (220.5 Hz) low-passed at 50 Hz and swept up 7 octaves
    by a 2 s modulation-envelope attack."""
    period = 200
    t = np.arange(period * 20) / period
    saw = sum(np.sin(2 * np.pi * k * t) / k for k in range(1, 40))
    data = np.round(saw / np.abs(saw).max() * 32000).astype(np.int16)
    sample = SfSample(data, 44100, 57, 0, (0, data.size), "saw")
    gens = [
        (G.INITIAL_FILTER_FC, round(1200 * np.log2(50 / 8.176))),
        (G.MOD_ENV_TO_FILTER_FC, 8400),
        (G.ATTACK_MOD_ENV, round(1200 * np.log2(2.0))),
    ]
    return one_zone_bank(tmp_path_factory, "sweep", sample, gens)


def test_the_modulation_envelope_attack_of_an_sf2_zone_is_convex_as_in_fluidsynth(
    tmp_path, sweep_bank
):
    events = [(0.0, note_on(57)), (2.5, note_off(57))]
    ours = render(tmp_path, sweep_bank, events)
    theirs = fluid_render(tmp_path, sweep_bank, events)
    # each synth's level through the attack against its own level once the filter is open
    windows = [(0.2, 0.3), (0.5, 0.6), (1.0, 1.1)]
    ours_rise = [level_db(ours, *w) - level_db(ours, 2.1, 2.3) for w in windows]
    theirs_rise = [level_db(theirs, *w) - level_db(theirs, 2.1, 2.3) for w in windows]
    assert np.max(np.abs(np.subtract(ours_rise, theirs_rise))) < 1.5
    # convex: an eighth into the attack the cutoff is past half its sweep and the sawtooth near
    # its open level; the same zone as a DLS region (DLS's linear EG2) is far under there
    bank = load_bank(sweep_bank)
    for region in bank.instruments[0].regions:
        region.sf2_shapes = False
    dls = tmp_path / "sweep.dls"
    dls.write_bytes(DlsWriter(bank).write())
    linear = render(tmp_path, dls, events, name="linear")
    assert ours_rise[0] > -3
    assert level_db(linear, *windows[0]) - level_db(linear, 2.1, 2.3) < -10
