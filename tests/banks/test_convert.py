"""`bank convert` fidelity: TimGM6mb -> DLS Level 2 -> loaded back.

Stated tolerance: none. Every preset keeps its regions in order with identical key and velocity
ranges, loop type/start/length in samples, unity note and fine tune in cents, attenuation, key
group, and every articulation connection (envelope times, LFOs, filter) as the same 16.16 value;
the sample data is bit-identical (16-bit PCM both ways). Anything less than equality fails.
"""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.banks.articulation import effective_connections
from dmusd.banks.connection import (
    CONN_DST_EG1_ATTACKTIME,
    CONN_DST_EG1_DECAYTIME,
    CONN_DST_EG1_RELEASETIME,
    CONN_DST_EG1_SUSTAINLEVEL,
    CONN_DST_EG2_ATTACKTIME,
    CONN_DST_EG2_DECAYTIME,
)
from dmusd.banks.dls_writer import save_dls
from dmusd.banks.loader import load_bank
from tests.banks.builders import SPEC_TEST_SF2, timgm6mb

ENVELOPE = (
    CONN_DST_EG1_ATTACKTIME,
    CONN_DST_EG1_DECAYTIME,
    CONN_DST_EG1_SUSTAINLEVEL,
    CONN_DST_EG1_RELEASETIME,
    CONN_DST_EG2_ATTACKTIME,
    CONN_DST_EG2_DECAYTIME,
)


@pytest.fixture(scope="module", params=["timgm6mb", "spec"])
def pair(request, tmp_path_factory):
    source = timgm6mb() if request.param == "timgm6mb" else SPEC_TEST_SF2
    sf2 = load_bank(source)
    out = tmp_path_factory.mktemp("convert") / "converted.dls"
    notes = save_dls(sf2, out, level=2)
    return sf2, load_bank(out), notes


def test_every_preset_survives_with_its_regions(pair):
    sf2, dls, notes = pair
    assert notes == [] and dls.warnings == []
    assert dls.format == "DLS" and dls.level == 2
    assert list(dls.instruments) == list(sf2.instruments)
    for patch, inst in sf2.instruments.items():
        back = dls.instruments[patch]
        assert back.name == inst.name
        assert len(back.regions) == len(inst.regions)
        assert back.articulation == inst.articulation


def test_loops_tuning_and_envelopes_are_exact(pair):
    sf2, dls, _ = pair
    for patch, inst in sf2.instruments.items():
        back = dls.instruments[patch]
        for a, b in zip(inst.regions, back.regions, strict=True):
            assert (a.key_low, a.key_high, a.vel_low, a.vel_high) == (
                b.key_low,
                b.key_high,
                b.vel_low,
                b.vel_high,
            )
            assert a.sample.loops == b.sample.loops  # type, start and length in samples
            assert (a.sample.unity_note, a.sample.fine_tune) == (
                b.sample.unity_note,
                b.sample.fine_tune,
            )
            assert a.sample.attenuation == b.sample.attenuation
            assert a.key_group == b.key_group
            ours = effective_connections(inst, a)
            theirs = effective_connections(back, b)
            assert ours == theirs
            for destination in ENVELOPE:
                assert [c for c in ours if c.destination == destination] == [
                    c for c in theirs if c.destination == destination
                ]


def test_sample_data_is_bit_identical(pair):
    sf2, dls, _ = pair
    for patch, inst in sf2.instruments.items():
        for a, b in zip(inst.regions, dls.instruments[patch].regions, strict=True):
            assert a.wave.sample_rate == b.wave.sample_rate
            assert np.array_equal(a.wave.samples, b.wave.samples)
    # the DLS holds each sample once; only a zone's sample-offset slice becomes its own wave
    slices = sum(w.nbytes for w in sf2.waves if w.pool_index < 0)
    assert dls.sample_memory <= sf2.sample_memory + slices


def test_another_reader_plays_the_conversion_like_the_sf2(tmp_path):
    """FluidSynth 2.6's own DLS loader reads `dmusd bank convert`'s file: decaying programs
    (whose shared EG1 decay and sustain the mapping keeps at the instrument level, beside
    region lists of their own) must decay as its SF2 loader plays them. Before region lists
    carried the instrument's connections, Synth Bass 1 stayed at full level (+33 dB at 1.4 s)."""
    import subprocess

    import mido
    import soundfile as sf

    from bench import fluidsynth26
    from dmusd.cli import main

    dls = tmp_path / "TimGM6mb.dls"
    assert main(["bank", "convert", str(timgm6mb()), str(dls)]) == 0
    track = mido.MidiTrack()
    for i, program in enumerate((38, 12, 24)):  # synth bass 1, marimba, nylon guitar
        track.append(mido.Message("program_change", program=program, time=0 if i == 0 else 96))
        track.append(mido.Message("note_on", note=48, velocity=100))
        track.append(mido.Message("note_off", note=48, time=864))
    song = tmp_path / "decay.mid"
    mid = mido.MidiFile(type=0, ticks_per_beat=480)
    mid.tracks.append(track)
    mid.save(song)
    levels = {}
    for name, bank in (("sf2", timgm6mb()), ("dls", dls)):
        out = tmp_path / f"{name}.wav"
        subprocess.run([*fluidsynth26.command(), "-ni", "-q", "-r", "48000", "-F", str(out),
                        "-o", "synth.reverb.active=0", "-o", "synth.chorus.active=0",
                        "-o", "audio.file.format=float", str(bank), str(song)],
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        x, rate = sf.read(out)
        hop = rate // 10
        n = len(x) // hop * hop
        levels[name] = 10 * np.log10(
            (x[:n].mean(axis=1).reshape(-1, hop) ** 2).mean(axis=1) + 1e-20
        )
    n = min(len(levels["sf2"]), len(levels["dls"]))
    loud = levels["sf2"][:n] > -80
    diff = levels["dls"][:n][loud] - levels["sf2"][:n][loud]
    assert loud.sum() > 20 and np.abs(diff).max() < 1.0, np.round(diff, 1)
