"""NRPNs heard through `dmusd render`: SoundFont 2.01 generator offsets (MSB 120), GS/XG part
parameters (MSB 1) and drum instrument parameters (GS 0x18-0x1E, XG 0x14-0x1E), each measured
on the rendered note: pitch, level, brightness, envelope time, vibrato depth."""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.banks import sf2_generators as G
from tests.banks.builders import SfSample, SfZone, sf2_bytes

from .song_render import (
    GS_RESET,
    RATE,
    XG_ON,
    at,
    fluid_render,
    level_db,
    note_off,
    note_on,
    nrpn,
    pitch_at,
    program,
    render,
    span,
)

FILTER_FC, ATTACK_VOL_ENV = G.INITIAL_FILTER_FC, G.ATTACK_VOL_ENV
ATTENUATION, COARSE_TUNE = G.INITIAL_ATTENUATION, G.COARSE_TUNE
INSTRUMENT, SAMPLE_MODES, SAMPLE_ID = G.INSTRUMENT, G.SAMPLE_MODES, G.SAMPLE_ID
SINE, SAW, SLOW, BRIGHT = 0, 1, 2, 3  # melodic presets; bank 128: a sine kit (0), a saw kit (1)


def nrpn_sf2() -> bytes:
    """A sine (440 Hz at key 69), a sawtooth low-passed at 4 kHz, a sine with a 0.25 s attack,
    the sawtooth with no filter; drum kits of the sine and of the unfiltered sawtooth."""
    n = 100 * 40
    t = np.arange(n) / 100
    sine = np.round(np.sin(2 * np.pi * t) * 20000).astype(np.int16)
    saw = sum(np.sin(2 * np.pi * k * t / 2) / k for k in range(1, 40))
    saw = np.round(saw / np.abs(saw).max() * 20000).astype(np.int16)
    samples = [SfSample(sine, 44000, 69, 0, (0, n), "sine"),
               SfSample(saw, 44000, 57, 0, (0, n), "saw")]  # fmt: skip
    cutoff = round(1200 * np.log2(4000 / 8.176))
    zones = [
        [(SAMPLE_MODES, 1), (SAMPLE_ID, 0)],
        [(FILTER_FC, cutoff), (SAMPLE_MODES, 1), (SAMPLE_ID, 1)],
        [(ATTACK_VOL_ENV, -2400), (SAMPLE_MODES, 1), (SAMPLE_ID, 0)],
        [(SAMPLE_MODES, 1), (SAMPLE_ID, 1)],
    ]
    instruments = [(f"i{i}", [SfZone(z)]) for i, z in enumerate(zones)]
    presets = [(f"p{i}", 0, i, [SfZone([(INSTRUMENT, i)])]) for i in range(len(zones))]
    presets.append(("kit", 128, 0, [SfZone([(INSTRUMENT, SINE)])]))
    presets.append(("saw kit", 128, 1, [SfZone([(INSTRUMENT, BRIGHT)])]))
    return sf2_bytes(samples, instruments, presets)


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    path = tmp_path_factory.mktemp("sf2") / "nrpn.sf2"
    path.write_bytes(nrpn_sf2())
    return path


def sf2_nrpn(generator: int, offset: int) -> list[bytes]:
    """SF2.01 NRPN: MSB 120, LSB = generator, data = 8192 + offset (LSB before MSB)."""
    data = 8192 + offset
    return nrpn(120, generator, data >> 7, data & 0x7F)


def centroid_hz(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    freqs = np.fft.rfftfreq(x.size, 1 / RATE)
    return float((spectrum * freqs).sum() / spectrum.sum())


def rise_time(x: np.ndarray, start: float, end: float) -> float:
    """Seconds from `start` until the envelope is within 1 dB of its level at `end`."""
    part = np.abs(span(x, start, end))
    hop = RATE // 200
    env = np.array([part[i : i + hop].max() for i in range(0, part.size - hop, hop)])
    return float(np.argmax(env >= env[-1] * 10 ** (-1 / 20)) * hop / RATE)


def vibrato_depth(x, start, end, key) -> float:
    track = [pitch_at(x, t, t + 0.01, key) for t in np.arange(start, end, 0.01)]
    return float((max(track) - min(track)) / 2)


# -- SoundFont 2.01 NRPNs: FluidSynth 2.6 plays the same file as a cross-check ---------------------
SYNTHS = {"dmusd": render, "fluidsynth 2.6": fluid_render}


@pytest.mark.parametrize("synth", SYNTHS)
def test_sf2_nrpn_coarse_tune_and_attenuation_change_the_sounding_note(tmp_path, bank, synth):
    events = [(0.0, note_on(69)), *at(0.5, sf2_nrpn(COARSE_TUNE, 2)),
              *at(1.0, sf2_nrpn(ATTENUATION, 100)), (1.5, note_off(69))]  # fmt: skip
    x = SYNTHS[synth](tmp_path, bank, events)
    assert abs(pitch_at(x, 0.1, 0.45, 69)) < 1
    assert abs(pitch_at(x, 0.55, 0.95, 71)) < 1  # +2 semitones, the note already sounding
    # 100 cB more attenuation: 10 dB quieter (the EMU 0.4 is for the file's value only)
    assert level_db(x, 1.05, 1.45) - level_db(x, 0.55, 0.95) == pytest.approx(-10.0, abs=0.3)


@pytest.mark.parametrize("synth", SYNTHS)
def test_sf2_nrpn_cutoff_darkens_the_note(tmp_path, bank, synth):
    events = [(0.0, program(SAW)), (0.0, note_on(57)), *at(0.5, sf2_nrpn(FILTER_FC, -1200)),
              (1.0, note_off(57))]  # fmt: skip
    x = SYNTHS[synth](tmp_path, bank, events)
    before = centroid_hz(span(x, 0.1, 0.45))
    after = centroid_hz(span(x, 0.55, 0.95))  # cutoff 2 x -1200 cents: two octaves lower
    assert after < 0.6 * before


@pytest.mark.parametrize("synth", SYNTHS)
def test_sf2_nrpn_attack_time_lengthens_the_next_note(tmp_path, bank, synth):
    events = [(0.0, program(SLOW)), (0.0, note_on(69)), (0.9, note_off(69)),
              *at(1.0, sf2_nrpn(ATTACK_VOL_ENV, 600)), (1.0, note_on(69)),
              (2.9, note_off(69))]  # fmt: skip
    x = SYNTHS[synth](tmp_path, bank, events)
    plain = rise_time(x, 0.0, 0.85)  # 0.25 s (-2400 time cents)
    longer = rise_time(x, 1.0, 2.85)  # + 2 x 600 time cents: 0.5 s
    assert longer / plain == pytest.approx(2.0, rel=0.15)


# -- GS / XG part NRPNs ----------------------------------------------------------------------------
def test_gs_nrpn_tvf_cutoff_and_vibrato_depth(tmp_path, bank):
    events = [(0.0, GS_RESET), (0.1, program(SAW)), (0.1, note_on(57)),
              *at(0.6, nrpn(1, 0x20, 0)), (1.1, note_off(57)),
              (1.2, program(SINE)), *at(1.2, nrpn(1, 0x09, 127)), (1.2, note_on(69)),
              (2.5, note_off(69))]  # fmt: skip
    x = render(tmp_path, bank, events)
    assert centroid_hz(span(x, 0.65, 1.05)) < 0.6 * centroid_hz(span(x, 0.2, 0.55))
    assert vibrato_depth(x, 1.6, 2.4, 69) == pytest.approx(98.4, rel=0.15)


def test_gs_nrpn_tva_attack_lengthens_the_attack(tmp_path, bank):
    events = [(0.0, GS_RESET), (0.1, program(SLOW)), (0.1, note_on(69)), (0.9, note_off(69)),
              *at(1.0, nrpn(1, 0x63, 64 + 32)), (1.0, note_on(69)),
              (2.9, note_off(69))]  # fmt: skip
    x = render(tmp_path, bank, events)
    ratio = rise_time(x, 1.0, 2.85) / rise_time(x, 0.1, 0.85)
    assert ratio == pytest.approx(2.0, rel=0.15)  # 32 steps of 37.5 time cents: x2


@pytest.mark.parametrize("reset", [GS_RESET, XG_ON], ids=["GS", "XG"])
def test_drum_instrument_nrpns_retune_and_level_their_key(tmp_path, bank, reset):
    events = [(0.0, reset), *at(0.1, nrpn(0x18, 60, 64 + 12, ch=9)),
              *at(0.1, nrpn(0x1A, 62, 64, ch=9)),
              (0.2, note_on(60, ch=9)), (0.7, note_off(60, ch=9)),
              (0.8, note_on(62, ch=9)), (1.3, note_off(62, ch=9)),
              (1.4, note_on(64, ch=9)), (1.9, note_off(64, ch=9))]  # fmt: skip
    x = render(tmp_path, bank, events)
    assert abs(pitch_at(x, 0.3, 0.65, 72)) < 1  # key 60 an octave up
    assert abs(pitch_at(x, 0.9, 1.25, 62)) < 1  # key 62 as the kit has it
    # key 62 at drum level 64 of 127, a volume curve: 40 log10(64/127) = -11.9 dB
    assert level_db(x, 0.9, 1.25) - level_db(x, 1.5, 1.85) == pytest.approx(-11.9, abs=0.3)


def test_xg_drum_fine_tune_and_the_reset_clears_drum_parameters(tmp_path, bank):
    events = [(0.0, XG_ON), *at(0.1, nrpn(0x19, 60, 64 + 20, ch=9)),
              (0.2, note_on(60, ch=9)), (0.7, note_off(60, ch=9)),
              (0.8, XG_ON), (0.9, note_on(60, ch=9)), (1.4, note_off(60, ch=9))]  # fmt: skip
    x = render(tmp_path, bank, events)
    assert pitch_at(x, 0.3, 0.65, 60) == pytest.approx(20, abs=1)
    assert abs(pitch_at(x, 1.0, 1.35, 60)) < 1


def test_a_cutoff_nrpn_filters_a_preset_that_has_no_filter(tmp_path, bank):
    # a GS/XG TVF, like SF2's filter, is open at 13500 cents: the offset counts from there
    events = [(0.0, GS_RESET), (0.1, program(BRIGHT)), (0.1, note_on(57)), (0.6, note_off(57)),
              *at(0.7, nrpn(1, 0x20, 0)), (0.7, note_on(57)), (1.2, note_off(57))]  # fmt: skip
    x = render(tmp_path, bank, events)
    assert centroid_hz(span(x, 0.8, 1.15)) < 0.85 * centroid_hz(span(x, 0.2, 0.55))


def test_xg_drum_cutoff_nrpn_darkens_its_key_only(tmp_path, bank):
    events = [(0.0, XG_ON), (0.1, program(1, ch=9)), *at(0.1, nrpn(0x14, 57, 0, ch=9)),
              (0.2, note_on(57, ch=9)), (0.7, note_off(57, ch=9)),
              (0.8, note_on(45, ch=9)), (1.3, note_off(45, ch=9)),
              (1.4, XG_ON), (1.5, program(1, ch=9)),
              (1.5, note_on(57, ch=9)), (2.0, note_off(57, ch=9))]  # fmt: skip
    x = render(tmp_path, bank, events)
    darker = centroid_hz(span(x, 0.3, 0.65))
    plain = centroid_hz(span(x, 1.6, 1.95))  # after the reset: no drum parameter
    assert darker < 0.85 * plain
    other = centroid_hz(span(x, 0.9, 1.25))  # key 45, an octave lower, untouched: half of it
    assert other == pytest.approx(plain / 2, rel=0.1)
