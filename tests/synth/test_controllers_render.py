"""Portamento, mono/poly mode, RPN 5 and tuning that retunes sounding notes, heard through
`dmusd render` (a MIDI file and a DLS file in, a WAV out, its pitch measured over time)."""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.banks import units
from dmusd.banks.connection import (
    CONN_DST_EG1_ATTACKTIME,
    CONN_DST_PITCH,
    CONN_SRC_CC1,
    CONN_SRC_VIBRATO,
    ConnectionBlock,
    connection,
)
from dmusd.banks.dls_writer import save_dls
from dmusd.banks.model import F_INSTRUMENT_DRUMS, Instrument, Wave, make_patch

from .song_render import (
    at,
    cc,
    level_db,
    master_coarse,
    master_fine,
    note_off,
    note_on,
    pitch_at,
    program,
    render,
    rpn,
    span,
)
from .test_stream import bank_of, instrument, region, sine

VIBRATO = 1  # program: a sine with 50 cents of vibrato on the mod wheel, as GM sets have
SLOW = 2  # program: a sine with a 0.2 s attack
SPLIT = 3  # program (and the drum kit): keys 0-65 a sine, 66-127 the same 12 dB quieter


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    wave = sine()
    wheel = ConnectionBlock(CONN_SRC_VIBRATO, CONN_SRC_CC1, CONN_DST_PITCH, 0, units.fixed(50))
    slow = connection(CONN_DST_EG1_ATTACKTIME, units.timecents(0.2))
    quiet = Wave(wave.samples / 4, wave.sample_rate, wave.wsmp)
    split = [region(wave, 0, 65), region(quiet, 66, 127)]
    path = tmp_path_factory.mktemp("bank") / "sines.dls"
    save_dls(
        bank_of(
            instrument(make_patch(0), region(wave)),
            Instrument(make_patch(VIBRATO), "vibrato", [region(wave)], (wheel,)),
            Instrument(make_patch(SLOW), "slow", [region(wave)], (slow,)),
            Instrument(make_patch(SPLIT), "split", split),
            Instrument(F_INSTRUMENT_DRUMS, "split kit", split),
        ),
        path,
    )
    return path


def pitch_track(x, start, end, key, step=0.02):
    return np.array([pitch_at(x, t, t + step, key) for t in np.arange(start, end, step)])


# -- portamento ------------------------------------------------------------------------------------
def test_portamento_glides_from_the_last_key_at_the_cc5_speed(tmp_path, bank):
    events = [*at(0.0, [cc(65, 127), cc(5, 40)]), (0.0, note_on(60)), (0.5, note_off(60)),
              (0.5, note_on(72)), (1.5, note_off(72))]  # fmt: skip
    x = render(tmp_path, bank, events)
    glide = pitch_track(x, 0.5, 1.0, 72)
    assert glide[0] < -900  # starts at the old key (an octave below)
    assert np.all(np.diff(glide[:10]) > 0)  # and rises steadily
    # CC5 = 40: 36 semitones take 0.71 s, so the octave takes 0.24 s
    arrive = 0.5 + 0.02 * np.argmax(glide > -5)
    assert 0.70 < arrive < 0.80
    assert abs(pitch_at(x, 0.9, 1.4, 72)) < 2


def test_portamento_off_jumps_and_cc84_glides_one_note_from_its_key(tmp_path, bank):
    events = [(0.0, note_on(60)), (0.5, note_off(60)), (0.5, note_on(72)), (1.0, note_off(72)),
              *at(1.0, [cc(5, 40), cc(84, 48)]), (1.0, note_on(60)), (1.5, note_off(60)),
              (1.5, note_on(67)), (2.0, note_off(67))]  # fmt: skip
    x = render(tmp_path, bank, events)
    assert abs(pitch_at(x, 0.51, 0.53, 72)) < 5  # no CC65: the new key at once
    glide = pitch_track(x, 1.0, 1.3, 60)
    assert glide[0] < -1000 and abs(glide[-1]) < 3  # from key 48 (CC84) up to 60
    assert abs(pitch_at(x, 1.51, 1.53, 67)) < 5  # CC84 was for one note only


# -- mono / poly -----------------------------------------------------------------------------------
def test_mono_mode_plays_legato_one_voice_and_poly_mode_comes_back(tmp_path, bank):
    events = [(0.0, program(SLOW)), (0.0, cc(126, 1)), (0.0, note_on(60)), (0.5, note_on(64)),
              (1.0, note_off(64)), (1.0, note_off(60)),
              (1.2, cc(127, 0)), (1.2, note_on(60)), (1.7, note_on(64)),
              (2.2, note_off(60)), (2.2, note_off(64))]  # fmt: skip
    x = render(tmp_path, bank, events)
    # legato: the second key takes over the voice, no new attack (the level holds)
    assert abs(pitch_at(x, 0.52, 0.98, 64)) < 2
    assert abs(level_db(x, 0.50, 0.55) - level_db(x, 0.40, 0.45)) < 0.5
    # poly: both keys sound (a new voice starts its 0.2 s attack beside the first)
    both = span(x, 1.95, 2.15)
    spectrum = np.abs(np.fft.rfft(both * np.hanning(both.size)))
    freqs = np.fft.rfftfreq(both.size, 1 / 48000)
    for hz in (261.6, 329.6):
        assert spectrum[np.argmin(abs(freqs - hz))] > 0.3 * spectrum.max()


def test_mono_mode_goes_back_to_the_key_still_held(tmp_path, bank):
    events = [(0.0, program(SLOW)), (0.0, cc(126, 1)), (0.0, note_on(60)), (0.5, note_on(64)),
              (1.0, note_off(64)), (1.5, note_off(60))]  # fmt: skip
    x = render(tmp_path, bank, events)
    assert abs(pitch_at(x, 0.55, 0.95, 64)) < 2
    assert abs(pitch_at(x, 1.02, 1.45, 60)) < 2  # back to 60, the voice never left
    assert abs(level_db(x, 1.0, 1.05) - level_db(x, 0.9, 0.95)) < 0.5
    assert x.size < 1.52 * 48000  # the last key up: released (0 s), the render ends


def test_mono_mode_with_portamento_glides_between_legato_keys(tmp_path, bank):
    events = [*at(0.0, [cc(126, 1), cc(65, 127), cc(5, 40)]), (0.0, note_on(60)),
              (0.5, note_on(72)), (1.2, note_off(72)), (1.2, note_off(60))]  # fmt: skip
    x = render(tmp_path, bank, events)
    glide = pitch_track(x, 0.5, 1.0, 72)
    assert glide[0] < -900 and abs(glide[-1]) < 3
    assert 0.70 < 0.5 + 0.02 * np.argmax(glide > -5) < 0.80


# -- RPN 5 -----------------------------------------------------------------------------------------
def vibrato_depth(x, start, end) -> float:
    """Half the peak-to-peak pitch swing over [start, end) s, in cents."""
    track = pitch_track(x, start, end, 69, step=0.01)
    return float((track.max() - track.min()) / 2)


def test_rpn5_scales_the_mod_wheel_vibrato(tmp_path, bank):
    events = [(0.0, program(VIBRATO)), (0.0, cc(1, 127)), (0.0, note_on(69)),
              *at(1.0, rpn(5, 2, 0)), (2.0, note_off(69))]  # fmt: skip
    x = render(tmp_path, bank, events)
    default = vibrato_depth(x, 0.3, 1.0)  # GM2 default 50 cents
    wide = vibrato_depth(x, 1.3, 2.0)  # 2 semitones, on the note already sounding
    assert 30 < default < 55
    assert wide / default == pytest.approx(4.0, rel=0.15)


# -- tuning ----------------------------------------------------------------------------------------
def test_master_tuning_retunes_the_notes_already_sounding(tmp_path, bank):
    events = [(0.0, note_on(69)), (0.5, master_coarse(2)), (1.0, master_fine(50)),
              (1.5, master_coarse(0)), (2.0, note_off(69))]  # fmt: skip
    x = render(tmp_path, bank, events)
    assert abs(pitch_at(x, 0.1, 0.45, 69)) < 1
    assert abs(pitch_at(x, 0.55, 0.95, 71)) < 1
    assert abs(pitch_at(x, 1.05, 1.45, 71.5)) < 1
    assert abs(pitch_at(x, 1.55, 1.95, 69.5)) < 1


def test_rpn_fine_and_coarse_tuning_retune_the_notes_already_sounding(tmp_path, bank):
    events = [(0.0, note_on(69)), *at(0.5, rpn(2, 64 + 3)), *at(1.0, rpn(1, 0x60, 0)),
              (1.5, note_off(69))]  # fmt: skip
    x = render(tmp_path, bank, events)
    assert abs(pitch_at(x, 0.1, 0.45, 69)) < 1
    assert abs(pitch_at(x, 0.55, 0.95, 72)) < 1
    assert abs(pitch_at(x, 1.05, 1.45, 72.5)) < 1


def test_a_tuned_note_plays_the_region_of_the_key_it_sounds_at(tmp_path, bank):
    # key 60 an octave up sounds at 72, so the region for 66-127 plays it (the sample nearest
    # its pitch, as FluidSynth 2.6 chooses); a drum kit is still mapped by the key played
    events = [(0.0, program(SPLIT)), (0.0, note_on(60)), (0.5, note_off(60)),
              *at(0.6, rpn(2, 64 + 12)), *at(0.6, rpn(2, 64 + 12, ch=9)),
              (0.7, note_on(60)), (1.2, note_off(60)),
              (1.3, note_on(60, ch=9)), (1.8, note_off(60, ch=9))]  # fmt: skip
    x = render(tmp_path, bank, events)
    plain, tuned, kit = level_db(x, 0.1, 0.4), level_db(x, 0.8, 1.1), level_db(x, 1.4, 1.7)
    assert abs(pitch_at(x, 0.8, 1.1, 72)) < 1
    assert abs(plain - tuned - 12) < 0.5
    assert abs(pitch_at(x, 1.4, 1.7, 72)) < 1 and abs(kit - plain) < 0.5


def _scale_tuning(cents: list[int], channels: int = 0x7FFF, realtime: bool = False) -> bytes:
    """MTS scale/octave tuning, 1-byte form (08 08), for the channels of a 16-bit mask."""
    mask = bytes([channels >> 14 & 0x03, channels >> 7 & 0x7F, channels & 0x7F])
    return bytes([0xF0, 0x7F if realtime else 0x7E, 0x7F, 0x08, 0x08, *mask,
                  *(64 + c for c in cents), 0xF7])  # fmt: skip


def test_scale_tuning_tunes_each_pitch_class_of_the_next_notes(tmp_path, bank):
    # A (pitch class 9) +30 cents, E (4) -20; C untouched; channel 2 is not in the mask
    tuning = [0] * 12
    tuning[9], tuning[4] = 30, -20
    events = [(0.0, _scale_tuning(tuning, channels=0x0001)),
              (0.1, note_on(69)), (0.5, note_off(69)), (0.6, note_on(76)), (1.0, note_off(76)),
              (1.1, note_on(72)), (1.5, note_off(72)),
              (1.6, bytes([0x91, 69, 100])), (2.0, bytes([0x81, 69, 0]))]  # fmt: skip
    x = render(tmp_path, bank, events)
    assert abs(pitch_at(x, 0.15, 0.45, 69.3)) < 1
    assert abs(pitch_at(x, 0.65, 0.95, 75.8)) < 1
    assert abs(pitch_at(x, 1.15, 1.45, 72)) < 1
    assert abs(pitch_at(x, 1.65, 1.95, 69)) < 1  # channel 2: equal temperament


@pytest.mark.parametrize("realtime", [True, False])
def test_only_the_real_time_scale_tuning_retunes_the_notes_sounding(tmp_path, bank, realtime):
    tuning = [0] * 12
    tuning[9] = 40  # A +40 cents
    events = [(0.0, note_on(69)), (0.5, _scale_tuning(tuning, realtime=realtime)),
              (1.0, note_off(69)), (1.1, note_on(69)), (1.5, note_off(69))]  # fmt: skip
    x = render(tmp_path, bank, events, name=f"realtime-{realtime}")
    assert abs(pitch_at(x, 0.1, 0.45, 69)) < 1
    assert abs(pitch_at(x, 0.55, 0.95, 69.4 if realtime else 69)) < 1
    assert abs(pitch_at(x, 1.15, 1.45, 69.4)) < 1  # a note begun after it: tuned either way
    # a note begun at the tuning's own sample, after it, is tuned once, not twice
    same = [(0.5, _scale_tuning(tuning, realtime=realtime)), (0.5, note_on(69)),
            (1.0, note_off(69))]  # fmt: skip
    assert abs(pitch_at(render(tmp_path, bank, same, name="same"), 0.55, 0.95, 69.4)) < 1


def test_gm_system_on_puts_scale_tuning_back_to_equal_temperament(tmp_path, bank):
    tuning = [40] * 12
    gm_on = bytes.fromhex("f07e7f0901f7")
    events = [(0.0, _scale_tuning(tuning, realtime=True)), (0.1, note_on(69)),
              (0.5, note_off(69)), (0.6, gm_on), (0.7, note_on(69)),
              (1.1, note_off(69))]  # fmt: skip
    x = render(tmp_path, bank, events)
    assert abs(pitch_at(x, 0.15, 0.45, 69.4)) < 1
    assert abs(pitch_at(x, 0.75, 1.05, 69)) < 1
