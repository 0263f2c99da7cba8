"""`dmusd render --bank A --bank B`: banks stack in the order given, as a pin's `banks` list does
(issue 12 item 4). Real DLS files written here, rendered through the CLI, pitches measured."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from dmusd.banks.dls_writer import save_dls
from dmusd.banks.model import make_patch
from dmusd.cli import main
from tests.synth.audio import cents, zero_crossing_frequency
from tests.synth.test_stream import bank_of, instrument, region, sine, sine_bank

RATE = 48000
A4 = 69
# (channel, bank MSB, bank LSB, program) of the three notes, one second each, all at A4
PARTS = [(0, 0, 0, 0), (1, 121, 6, 0), (2, 0, 0, 1)]


@pytest.fixture(scope="module")
def banks(tmp_path_factory) -> dict[str, Path]:
    """'gm': a GM set, every program a 440 Hz sine at A4. 'layer': a bank meant to sit on a GM
    set: one variation at MSB 121 / LSB 6 (880 Hz) and an override of program 1 (220 Hz)."""
    folder = tmp_path_factory.mktemp("stack")
    paths = {"gm": folder / "gm.dls", "layer": folder / "layer.dls"}
    save_dls(sine_bank(), paths["gm"])
    layer = bank_of(
        instrument(make_patch(0, msb=121, lsb=6), region(sine(period=50))),
        instrument(make_patch(1), region(sine(period=200))),
    )
    save_dls(layer, paths["layer"])
    return paths


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("song") / "parts.mid"
    track = mido.MidiTrack()
    for channel, msb, lsb, program in PARTS:
        track.append(mido.Message("control_change", channel=channel, control=0, value=msb))
        track.append(mido.Message("control_change", channel=channel, control=32, value=lsb))
        track.append(mido.Message("program_change", channel=channel, program=program))
        track.append(mido.Message("note_on", channel=channel, note=A4, velocity=100))
        track.append(mido.Message("note_off", channel=channel, note=A4, time=960))
    mid = mido.MidiFile(type=0, ticks_per_beat=480)
    mid.tracks.append(track)
    mid.save(path)
    return path


def render_parts(capsys, song: Path, out: Path, *banks: Path) -> tuple[list[float], str]:
    """The pitch (Hz, 0 for silence) heard in each part's second, and the summary line."""
    options = [item for bank in banks for item in ("--bank", str(bank))]
    code = main(["render", str(song), "-o", str(out), "--no-effects", *options])
    err = capsys.readouterr().err
    assert code == 0, err
    x, rate = sf.read(out)
    assert rate == RATE
    heard = []
    for i in range(len(PARTS)):
        part = x[i * RATE + 4800 : (i + 1) * RATE - 4800, 0]
        heard.append(zero_crossing_frequency(part, RATE) if np.abs(part).max() > 0.01 else 0.0)
    return heard, err.strip().splitlines()[-1]


def assert_pitches(heard: list[float], want: list[float]) -> None:
    for got, hz in zip(heard, want, strict=True):
        if hz == 0:
            assert got == 0
        else:
            assert got and abs(cents(got, hz)) < 3, (heard, want)


def test_a_layer_on_a_gm_set_plays_with_the_set_under_it(capsys, tmp_path, banks, song):
    heard, line = render_parts(capsys, song, tmp_path / "a.wav", banks["gm"], banks["layer"])
    # GM program 0; the layer's MSB 121/LSB 6 variation; the layer's program 1 over the GM one
    assert_pitches(heard, [440, 880, 220])
    assert "0 missed patches" in line


def test_the_later_bank_overrides_the_same_patch(capsys, tmp_path, banks, song):
    heard, _ = render_parts(capsys, song, tmp_path / "b.wav", banks["layer"], banks["gm"])
    assert_pitches(heard, [440, 880, 440])  # the GM set's program 1 now wins; 121/6 is only B's


def test_one_bank_alone_is_all_there_is(capsys, tmp_path, banks, song):
    heard, line = render_parts(capsys, song, tmp_path / "c.wav", banks["layer"])
    assert_pitches(heard, [0, 880, 220])  # no program 0 at bank 0/0 in the layer
    assert "1 missed patches" in line
