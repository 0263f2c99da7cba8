"""Fidelity guard: a handful of notes through the whole pipeline (`dmusd render`), measured the
way bench/fidelity.py measures, against the tolerances of its report: pitch within 3 cents,
onsets at the stamped sample, level steps as the bank's attenuation says within 1.5 dB,
envelope times within 5 %. FluidSynth renders the same file as a cross-check of the
expectations (pitch and level steps): FluidSynth 2.6.0, the reference of bench/fidelity.py.

The bank is built here: a looped 48 kHz sine at root key 69 in two presets, the second with
100 cB of initialAttenuation (x0.4, the EMU factor: 4 dB quieter), attack 100 ms and release
1 s, so every expected figure follows from the spec alone.
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile

from bench import fluidsynth26
from dmusd.commands.render import render_song
from tests.banks.builders import SfSample, SfZone, sf2_bytes

RATE = 48000
PERIOD = 64  # samples per cycle of the stored sine: 750 Hz at 48 kHz, played at root key 69
ROOT_HZ = RATE / PERIOD
ATTACK_S, RELEASE_S = 0.1, 1.0
ATTENUATION_CB = 100
TICKS = 480  # 120 bpm: a tick is 1/960 s = 50 samples
# (tick, preset, key, length in ticks): onsets on 50-sample steps, mostly off any 64-grid
# Tick 4380 is a whole number of 100 ns units (3 ticks = 3.125 ms); tick 5845 is not.
NOTES = [(0, 0, 69, 300), (1447, 0, 81, 300), (2913, 1, 69, 300), (4380, 0, 69, 300)]
NOTES += [(5845, 0, 69, 300), (7311, 0, 62, 300)]


def timecents(seconds: float) -> int:
    return round(1200 * np.log2(seconds))


def build_bank(path: Path) -> None:
    cycles = 400
    data = np.round(12000 * np.sin(2 * np.pi * np.arange(PERIOD * cycles) / PERIOD)).astype(
        np.int16
    )
    sample = SfSample(data, RATE, 69, 0, (PERIOD * 10, PERIOD * cycles), "sine")
    env = [(34, timecents(ATTACK_S)), (38, timecents(RELEASE_S)), (54, 1)]  # attack, release, loop
    inst = [
        ("sine", [SfZone([*env, (53, 0)])]),
        ("quiet", [SfZone([*env, (48, ATTENUATION_CB), (53, 0)])]),
    ]
    presets = [("sine", 0, 0, [SfZone([(41, 0)])]), ("quiet", 0, 1, [SfZone([(41, 1)])])]
    path.write_bytes(sf2_bytes([sample], inst, presets))


def build_song(path: Path) -> list[tuple[int, int, int, int]]:
    """The MIDI file, and (on sample, off sample, preset, key) of every note."""
    mid = mido.MidiFile(ticks_per_beat=TICKS)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    events = []
    for tick, preset, key, length in NOTES:
        events.append((tick, 0, mido.Message("program_change", channel=0, program=preset)))
        events.append((tick, 1, mido.Message("note_on", channel=0, note=key, velocity=127)))
        events.append((tick + length, 2, mido.Message("note_off", channel=0, note=key)))
    now = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=3 * TICKS))
    mid.save(str(path))
    per_tick = RATE // 960
    return [(t * per_tick, (t + n) * per_tick, p, k) for t, p, k, n in NOTES]


@pytest.fixture(scope="module")
def renders(tmp_path_factory) -> dict[str, np.ndarray]:
    work = tmp_path_factory.mktemp("fidelity")
    bank, song = work / "sine.sf2", work / "notes.mid"
    build_bank(bank)
    build_song(song)
    args = argparse.Namespace(
        song=str(song),
        output=str(work / "dmusd.wav"),
        bank=str(bank),
        rate=RATE,
        block=1024,
        voices=32,
        interp="cubic",
        no_effects=True,
        volume=0.0,
        sample_memory=0,
    )
    render_song(args)
    fluid = work / "fluid.wav"
    subprocess.run(
        [
            *fluidsynth26.command(),  # the reference of bench/fidelity.py
            "-ni",
            "-q",
            "-g",
            "1",
            "-r",
            str(RATE),
            "-F",
            str(fluid),
            "-o",
            "synth.reverb.active=0",
            "-o",
            "synth.chorus.active=0",
            "-o",
            "audio.file.format=float",
            str(bank),
            str(song),
        ],
        check=True,
        timeout=60,
        capture_output=True,
    )
    out = {}
    for name, path in (("dmusd", work / "dmusd.wav"), ("fluid", fluid)):
        audio, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
        assert rate == RATE
        out[name] = audio.mean(axis=1)
    return out


def notes() -> list[tuple[int, int, int, int]]:
    per_tick = RATE // 960
    return [(t * per_tick, (t + n) * per_tick, p, k) for t, p, k, n in NOTES]


def peak_hz(x: np.ndarray) -> float:
    """The strongest spectral peak, refined by a parabola through the log magnitudes."""
    n = 1 << 20
    mag = np.log(np.abs(np.fft.rfft(x * np.hanning(len(x)), n)) + 1e-12)
    k = int(np.argmax(mag[1:-1])) + 1
    y0, y1, y2 = mag[k - 1], mag[k], mag[k + 1]
    return (k + 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)) * RATE / n


def sustain(x: np.ndarray, on: int, off: int) -> np.ndarray:
    """The note after its attack has finished, up to its release."""
    return x[on + int(1.2 * ATTACK_S * RATE) : off]


def level_db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(x**2))


@pytest.mark.parametrize("synth", ["dmusd", "fluid"])
def test_pitch_within_3_cents(renders, synth):
    for on, off, _, key in notes():
        want = ROOT_HZ * 2 ** ((key - 69) / 12)
        got = peak_hz(sustain(renders[synth], on, off))
        assert abs(1200 * np.log2(got / want)) < 3.0, (synth, key, got, want)


def same_as_first(x: np.ndarray, index: int) -> None:
    """Note `index` (the first note's sound again) sounds like the first, sample for sample from
    its note-on: nothing before it, nothing moved."""
    (on0, off0, p0, k0), (on1, _, p1, k1) = notes()[0], notes()[index]
    assert (p0, k0) == (p1, k1)
    assert on1 % 64 and on1 % 1024  # neither FluidSynth's grid nor the render's blocks
    assert not np.any(x[on1 - 2000 : on1]), "sound before the note-on"
    length = off0 - on0
    np.testing.assert_array_equal(x[on1 : on1 + length], x[on0 : on0 + length])
    assert np.abs(x[on1 : on1 + 96]).max() > 0  # and it starts there (the attack ramps from 0)


def test_onsets_are_at_the_stamped_sample(renders):
    same_as_first(renders["dmusd"], 3)


def test_onsets_off_the_100ns_grid_are_at_the_stamped_sample(renders):
    same_as_first(renders["dmusd"], 4)


@pytest.mark.parametrize("synth", ["dmusd", "fluid"])
def test_attenuation_step_within_1_5_db(renders, synth):
    loud = [
        level_db(sustain(renders[synth], on, off))
        for on, off, p, k in notes()
        if k == 69 and p == 0
    ]
    quiet = [level_db(sustain(renders[synth], on, off)) for on, off, p, k in notes() if p == 1]
    expected = -0.4 * ATTENUATION_CB / 10  # SF2 cB x 0.4 (EMU), in dB
    assert abs((quiet[0] - loud[0]) - expected) < 1.5, (synth, quiet[0] - loud[0])


def envelope_db(x: np.ndarray) -> np.ndarray:
    hop = 48
    n = len(x) // hop * hop
    return 10 * np.log10(np.maximum((x[:n] ** 2).reshape(-1, hop).mean(axis=1), 1e-20))


def test_attack_and_release_times_within_5_percent(renders):
    x = renders["dmusd"]
    env = envelope_db(x)
    on, off, _, _ = notes()[0]
    # attack is linear in amplitude (SF2.04 8.1.2, gen 34): 10 % -> 90 % takes 0.8 of it
    amp = np.sqrt(10 ** (env[on // 48 : off // 48] / 10))
    top = amp[int(1.5 * ATTACK_S * 1000) :].mean()
    t10 = np.argmax(amp >= 0.1 * top)
    t90 = np.argmax(amp >= 0.9 * top)
    rise = (t90 - t10) / 1000
    assert abs(rise - 0.8 * ATTACK_S) <= 0.05 * 0.8 * ATTACK_S, rise
    # release is linear in dB over 96 dB (SF2.04 8.1.2, gen 38): -20 dB takes 20/96 of it
    level = env[off // 48 - 5 : off // 48].mean()
    tail = env[off // 48 :]
    drop = (np.argmax(tail <= level - 20) + 0.5) / 1000
    assert abs(drop - RELEASE_S * 20 / 96) <= 0.05 * RELEASE_S * 20 / 96, drop


def test_dense_song_channels_keep_the_songs_times(tmp_path, monkeypatch):
    """bench/fidelity_channels: each channel alone keeps the song's tempo map, so its notes
    fall on the same samples as in the song, and no other channel's message is left."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "bench"))
    from fidelity_channels import renumbered, split_channels
    from fidelity_notes import read_notes

    song = mido.MidiFile(ticks_per_beat=480)
    conductor = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=300_000, time=0)])
    song.tracks.append(conductor)
    for ch, keys in ((0, (60, 62)), (3, (50, 52, 53))):
        track = mido.MidiTrack()
        for i, key in enumerate(keys):
            track.append(mido.Message("note_on", channel=ch, note=key, velocity=90, time=100 + i))
            track.append(mido.Message("note_off", channel=ch, note=key, velocity=0, time=200))
        song.tracks.append(track)
    path = tmp_path / "song.mid"
    song.save(str(path))

    parts = split_channels(path, tmp_path)
    assert [p.name for p in parts] == ["song-ch01.mid", "song-ch04.mid"]
    whole = read_notes(path, 48000)
    for part, channel in zip(parts, (0, 3), strict=True):
        channels = {m.channel for t in mido.MidiFile(str(part)).tracks for m in t if not m.is_meta}
        assert channels == {channel}
        alone = renumbered(read_notes(part, 48000), whole)
        expected = [(n.index, n.on, n.off) for n in whole if n.channel == channel]
        assert [(n.index, n.on, n.off) for n in alone] == expected
