"""The control logic (engine/note_logic.py), heard through a SynthStream: pitch, bend and
tuning, key groups, retrigger, pedals, channel-mode messages, resets, programs and banks,
layering and stereo pairs."""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.banks.model import (
    F_INSTRUMENT_DRUMS,
    F_RGN_OPTION_SELFNONEXCLUSIVE,
    F_WAVELINK_PHASE_MASTER,
    WAVELINK_CHANNEL_LEFT,
    WAVELINK_CHANNEL_RIGHT,
    Wave,
    WaveLink,
    WaveSample,
    make_patch,
)

from .test_stream import (
    A4,
    RATE,
    WAVE_RATE,
    Rig,
    bank_of,
    cc,
    instrument,
    note_off,
    note_on,
    peak,
    pitch_cents,
    region,
    sine,
    sine_bank,
)

NOTE = 12000  # samples each measured note plays (0.25 s)


def rpn(number: int, msb: int, lsb: int | None = None, ch: int = 0) -> list[bytes]:
    msgs = [cc(101, number >> 7, ch), cc(100, number & 0x7F, ch), cc(6, msb, ch)]
    return msgs + ([cc(38, lsb, ch)] if lsb is not None else [])


def wheel(value: int, ch: int = 0) -> bytes:
    return bytes([0xE0 | ch, value & 0x7F, value >> 7])


def measure(rig: Rig, key: int, *setup: bytes, ch: int = 0) -> np.ndarray:
    """Play `key` for NOTE samples after `setup`, from the rig's current position."""
    t = rig.position
    rig.send(t, *setup, note_on(key, ch=ch))
    rig.send(t + NOTE - 600, note_off(key, ch=ch))
    return rig.render(NOTE)[2000 : NOTE - 1000, 0]


# -- pitch ------------------------------------------------------------------------------------
def test_every_key_plays_its_pitch_within_3_cents():
    rig = Rig()
    for key in (21, 33, 45, 50, 57, 60, 64, 69, 71, 81, 88, 96, 101, 108):
        assert abs(pitch_cents(measure(rig, key), key)) < 3.0, key


def test_unity_note_and_fine_tune_of_the_region_wsmp_shift_the_pitch():
    wave = sine()
    shifted = region(wave, wsmp=WaveSample(unity_note=60, fine_tune=-30, loops=wave.wsmp.loops))
    rig = Rig(bank_of(instrument(make_patch(0), shifted)))
    # the wave's 440 Hz now sounds on key 60, 30 cents flat; key 64 four semitones above that
    assert abs(pitch_cents(measure(rig, 60), A4) + 30) < 3.0
    assert abs(pitch_cents(measure(rig, 64), A4 + 4) + 30) < 3.0


@pytest.mark.parametrize(
    "setup, bend",
    [
        ([wheel(0x3FFF)], 200 * 8191 / 8192),  # default range: 2 semitones
        ([wheel(0)], -200),
        ([wheel(0x2000)], 0),
        ([*rpn(0, 12), wheel(0x3000)], 600),  # 12 semitones, half way up
        ([*rpn(0, 1, 50), wheel(0x3FFF)], 150 * 8191 / 8192),  # RPN 0 LSB is cents
        ([*rpn(0, 24), wheel(0x1000)], -1200),
        ([*rpn(1, 0x50, 0)], 25),  # fine tuning: (0x2800 - 8192) / 8192 x 100 cents
        ([*rpn(2, 62)], -200),  # coarse tuning: two semitones down
    ],
)
def test_pitch_bend_rpn0_ranges_and_channel_tuning(setup, bend):
    rig = Rig()
    assert abs(pitch_cents(measure(rig, 60, *setup), 60) - bend) < 3.0


def test_data_increment_steps_the_bend_range_by_a_cent():
    rig = Rig()
    steps = [cc(96, 0)] * 30  # 2 semitones + 30 cents
    assert abs(pitch_cents(measure(rig, 60, *rpn(0, 2), *steps, wheel(0x3FFF)), 60) - 230) < 3


def test_master_tuning_sysex_retunes_the_notes_that_follow():
    rig = Rig()
    fine = 0x2000 + 0x1000  # +50 cents
    fine_sysex = bytes([0xF0, 0x7F, 0x7F, 0x04, 0x03, fine & 0x7F, fine >> 7, 0xF7])
    coarse_sysex = bytes([0xF0, 0x7F, 0x7F, 0x04, 0x04, 0x00, 0x40 + 3, 0xF7])
    assert abs(pitch_cents(measure(rig, 60, fine_sysex), 60) - 50) < 3.0
    assert abs(pitch_cents(measure(rig, 60, coarse_sysex), 60) - 350) < 3.0


# -- key groups and retrigger ----------------------------------------------------------------
def one_shot(period: int, frames: int, unity: int) -> Wave:
    data = np.sin(2 * np.pi * np.arange(frames) / period).astype(np.float32)
    return Wave(data, WAVE_RATE, WaveSample(unity_note=unity))


@pytest.mark.parametrize("groups, cut", [((1, 1), True), ((0, 0), False), ((1, 2), False)])
def test_exclusive_class_cuts_the_earlier_note_of_its_key_group(groups, cut):
    open_hat = region(sine(), 46, 46, key_group=groups[0])
    closed_hat = region(one_shot(50, 440, 42), 42, 42, key_group=groups[1])  # 10 ms, then ends
    rig = Rig(bank_of(instrument(F_INSTRUMENT_DRUMS, open_hat, closed_hat)))
    rig.send(0, note_on(46, ch=9))
    rig.send(6000, note_on(42, ch=9))
    out = rig.render(12000)[:, 0]
    assert peak(out[4000:6000]) > 0.1
    after = peak(out[6000 + 1000 : 12000])  # closed hat over, the 5 ms fade long done
    assert (after == 0.0) if cut else (after > 0.1)


def test_a_key_group_cuts_only_notes_of_its_own_channel():
    hat = region(sine(), 40, 50, key_group=1)
    bank = bank_of(instrument(make_patch(0), hat))
    rig = Rig(bank)
    rig.send(0, note_on(46, ch=0), note_on(46, ch=1))
    rig.send(6000, note_on(42, ch=0))
    rig.render(12000)
    assert [len(rig.logic.held(ch)) for ch in (0, 1)] == [1, 1]
    assert rig.logic.held(0)[0].key == 42


@pytest.mark.parametrize("options, voices", [(0, 1), (F_RGN_OPTION_SELFNONEXCLUSIVE, 2)])
def test_the_same_key_again_quick_stops_the_earlier_voice_unless_self_non_exclusive(
    options, voices
):
    rig = Rig(bank_of(instrument(make_patch(0), region(sine(), options=options))))
    rig.send(0, note_on(60))
    rig.send(4800, note_on(60))
    out = rig.render(9600)[:, 0]
    assert rig.stream.active_voices == voices
    if voices == 1:
        # The cut is a 5 ms (240-sample) fade, not a click: no step is bigger than the two
        # sines' own steps plus 1/240 of the level. A hard cut could step by the whole level.
        level = peak(out[:4800])
        bound = 2 * (2 * np.pi * 261.63 / RATE * level) + level / 240
        assert np.max(np.abs(np.diff(out))) < bound < 0.1 * level


# -- pedals -----------------------------------------------------------------------------------
def test_the_sustain_pedal_holds_released_notes_until_it_comes_up():
    rig = Rig()
    rig.send(0, cc(64, 127), note_on(60))
    rig.send(2400, note_off(60))
    rig.send(9600, cc(64, 0))
    out = rig.render(14400)[:, 0]
    assert peak(out[8000:9600]) > 0.1  # long after its note-off, held by the pedal
    assert peak(out[9600 + 200 :]) == 0.0  # released when the pedal came up (0 s release)
    rig.send(rig.position, note_on(60))
    rig.send(rig.position + 2400, note_off(60))
    out = rig.render(4800)[:, 0]
    assert peak(out[2400 + 200 :]) == 0.0  # no pedal now: the note-off releases


def test_sostenuto_holds_only_the_notes_down_when_it_was_pressed():
    rig = Rig()
    rig.send(0, note_on(57))  # 220 Hz: down when sostenuto is pressed
    rig.send(1200, cc(66, 127))
    rig.send(2400, note_on(81))  # 880 Hz: pressed after the pedal
    rig.send(4800, note_off(57), note_off(81))
    rig.send(24000, cc(66, 0))
    out = rig.render(28800)[:, 0]
    assert abs(pitch_cents(out[6000:23000], 57)) < 3.0  # only 220 Hz is left
    assert peak(out[24000 + 200 :]) == 0.0


def test_all_notes_off_releases_but_respects_the_pedal_and_all_sound_off_cuts():
    rig = Rig(channel_groups=1)
    rig.send(0, note_on(60), note_on(64, ch=1), cc(64, 127, ch=1))
    rig.send(2400, cc(123, 0), cc(123, 0, ch=1))
    out = rig.render(4800)
    assert peak(out[2400 + 200 :, 0]) > 0.1  # channel 2's note stays under its pedal
    assert [len(rig.logic.held(ch)) for ch in (0, 1)] == [0, 1]
    rig.send(rig.position, cc(120, 0, ch=1))  # sound off: cut even under the pedal
    out = rig.render(2400)
    assert peak(out[600:]) == 0.0


@pytest.mark.parametrize("mode_cc", [124, 125, 126, 127])
def test_channel_mode_messages_act_as_all_notes_off(mode_cc):
    rig = Rig()
    rig.send(0, note_on(60), note_on(67))
    rig.send(2400, cc(mode_cc, 0))
    out = rig.render(4800)
    assert peak(out[:2400]) > 0.1 and peak(out[2400 + 200 :]) == 0.0


# -- resets, programs, banks ------------------------------------------------------------------
def test_gm_reset_brings_controllers_back_and_counts_as_a_reset():
    rig = Rig()
    rig.send(0, cc(7, 0), note_on(60))
    out = rig.render(2400)
    assert peak(out) < 1e-4  # volume 0: -96 dB
    rig.send(rig.position, bytes([0xF0, 0x7E, 0x7F, 0x09, 0x01, 0xF7]))
    rig.send(rig.position + 1, note_on(60))
    out = rig.render(4800)
    assert peak(out[1000:]) > 0.1 and rig.logic.mode == "GM"
    assert rig.logic.cc(0, 7) == 100


def test_missing_patches_fall_back_the_gm_way_and_are_counted_once():
    bank = sine_bank(programs=(0, 5))
    rig = Rig(bank)
    logic = rig.logic
    rig.send(0, cc(0, 3), bytes([0xC0, 5]), note_on(60))  # bank 3 program 5: not there
    rig.render(2400)
    assert logic.missed_patches == 1 and len(logic.held(0)) == 1  # played bank 0 program 5
    rig.send(rig.position, note_on(62), note_on(64))  # the same patch: not counted again
    rig.send(rig.position, cc(0, 0, ch=1), bytes([0xC1, 9]), note_on(60, ch=1))
    rig.render(2400)
    assert logic.missed_patches == 2 and logic.held(1) == []  # program 9 is nowhere
    rig.send(rig.position, bytes([0xC1, 0]), note_on(60, ch=1))
    rig.render(2400)
    assert logic.missed_patches == 2 and len(logic.held(1)) == 1


def test_channel_10_is_drums_and_gs_use_for_rhythm_makes_another_channel_drums():
    rig = Rig()
    drums = measure(rig, 60, ch=9)  # the drum kit's sine is an octave up
    assert abs(pitch_cents(drums, 72)) < 3.0
    gs_rhythm = bytes([0xF0, 0x41, 0x10, 0x42, 0x12, 0x40, 0x12, 0x15, 0x01, 0x18, 0xF7])
    assert abs(pitch_cents(measure(rig, 60, gs_rhythm, ch=1), 72)) < 3.0  # part 2 = channel 2
    assert rig.logic.drum(1)
    gs_normal = bytes([0xF0, 0x41, 0x10, 0x42, 0x12, 0x40, 0x10, 0x15, 0x00, 0x1B, 0xF7])
    assert abs(pitch_cents(measure(rig, 60, gs_normal, ch=9), 60)) < 3.0  # part 0 = channel 10


def test_xg_bank_127_is_a_drum_kit_on_any_channel():
    rig = Rig()
    xg_on = bytes([0xF0, 0x43, 0x10, 0x4C, 0x00, 0x00, 0x7E, 0x00, 0xF7])
    assert abs(pitch_cents(measure(rig, 60, xg_on, cc(0, 127), bytes([0xC0, 0])), 72)) < 3.0
    assert rig.logic.mode == "XG" and rig.logic.missed_patches == 0


# -- layering and stereo ----------------------------------------------------------------------
def test_dls2_layering_sounds_every_region_holding_key_and_velocity():
    low, high = sine(), sine(period=25)
    layers = [
        region(low, 0, 127, vel=(0, 127)),
        region(high, 60, 72, vel=(100, 127), layer=1),
    ]
    rig = Rig(bank_of(instrument(make_patch(0), *layers)))
    rig.send(0, note_on(60, 127), note_on(62, 50), note_on(80, 127))
    rig.render(2400)
    assert sorted(len([r for r in rig.logic.held(0) if r.key == k]) for k in (60, 62, 80)) == [
        1,
        1,
        2,
    ]
    assert [r.key for r in rig.logic.held(0) if r.region is layers[1]] == [60]


def test_a_stereo_wave_link_pair_is_placed_hard_left_and_right():
    left, right = sine(), sine(period=25)
    pair = [
        region(left, wave_link=WaveLink(F_WAVELINK_PHASE_MASTER, 1, WAVELINK_CHANNEL_LEFT)),
        region(right, wave_link=WaveLink(0, 1, WAVELINK_CHANNEL_RIGHT)),
    ]
    rig = Rig(bank_of(instrument(make_patch(0), *pair)))
    rig.send(0, note_on(A4))
    out = rig.render(12000)[2000:]
    assert abs(pitch_cents(out[:, 0], A4)) < 3.0 and abs(pitch_cents(out[:, 1], A4 + 24)) < 3.0
    # hard pan: what leaks into the other side is far below the signal
    for side, other in ((0, 1760.0), (1, 440.0)):
        spectrum = np.abs(np.fft.rfft(out[:, side] * np.hanning(len(out))))
        bins = np.fft.rfftfreq(len(out), 1 / RATE)
        assert spectrum[np.argmin(abs(bins - other))] < 1e-3 * spectrum.max()
