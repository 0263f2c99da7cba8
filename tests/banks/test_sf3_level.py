"""SF3 plays at the level of the SF2 it was made from (issue 12 item 7).

TimGM6mb is turned into an SF3 here (tests/banks/sf3_convert.py, as MuseScore's sf3convert
lays it out), both files are rendered by `dmusd render` through the whole pipeline, and the
levels of the two renders are compared note by note. A Vorbis stream decodes to the samples it
was encoded from, so the two must agree to the codec's noise (measured: every note of this test
within 0.08 dB, +0.01 dB over TimGM6mb's whole GM file). FluidSynth 2.6 does not: it reads
Vorbis samples with libsndfile's SFC_SET_SCALE_FLOAT_INT_READ, which scales each sample to its
own peak, so its SF3 plays louder than its SF2 (bench/fidelity.py reports by how much).
"""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from dmusd.banks import load_bank
from dmusd.cli import main
from tests.banks.builders import timgm6mb
from tests.banks.sf3_convert import convert_sf2_to_sf3

PROGRAMS = [0, 11, 19, 24, 33, 40, 56, 73, 80, 89]  # piano, vibes, organ, guitar, bass, ...
NOTE_S = 0.5
RATE = 48000


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sf3")
    sf3 = convert_sf2_to_sf3(timgm6mb(), folder / "TimGM6mb.sf3")
    song = folder / "programs.mid"
    track = mido.MidiTrack()
    for program in PROGRAMS:
        track.append(mido.Message("program_change", program=program))
        track.append(mido.Message("note_on", note=60, velocity=100))
        track.append(mido.Message("note_off", note=60, time=round(NOTE_S * 960)))
    track.append(mido.Message("note_on", channel=9, note=38, velocity=100))  # and a snare
    track.append(mido.Message("note_off", channel=9, note=38, time=480))
    mid = mido.MidiFile(type=0, ticks_per_beat=480)
    mid.tracks.append(track)
    mid.save(song)
    return {"sf2": timgm6mb(), "sf3": sf3, "song": song, "folder": folder}


def test_the_converted_file_is_an_sf3_with_every_sample_in_vorbis(files):
    bank = load_bank(files["sf3"])
    original = load_bank(files["sf2"])
    assert bank.format == "SF3" and bank.warnings == []
    assert len(bank.instruments) == len(original.instruments)
    assert files["sf3"].stat().st_size < files["sf2"].stat().st_size * 0.7


def test_sf3_renders_at_the_level_of_its_sf2(capsys, files):
    levels = {}
    for kind in ("sf2", "sf3"):
        out = files["folder"] / f"{kind}.wav"
        code = main(["render", str(files["song"]), "-o", str(out), "--bank", str(files[kind]),
                     "--no-effects", "--volume", "-6"])  # fmt: skip
        assert code == 0, capsys.readouterr().err
        x, rate = sf.read(out, always_2d=True)
        assert rate == RATE
        step = round(NOTE_S * RATE)
        notes = [x[i * step + 480 : (i + 1) * step] for i in range(len(PROGRAMS) + 1)]
        levels[kind] = np.array([10 * np.log10((n**2).mean()) for n in notes])
    assert (levels["sf2"] > -50).all()  # every note sounds
    diff = levels["sf3"] - levels["sf2"]
    assert abs(np.median(diff)) < 0.1, diff  # was the "1.0 dB below"
    assert np.abs(diff).max() < 0.5, diff
