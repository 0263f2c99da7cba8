"""Voice allocation (engine/voice_allocation.py): the voice budget, DirectMusic priorities, the
stealing order, lost notes."""

from __future__ import annotations

import numpy as np
import pytest

from dmusd.banks.model import make_patch
from dmusd.kernel.synth_props import (
    DAUD_CRITICAL_VOICE_PRIORITY,
    DAUD_LOW_VOICE_PRIORITY,
    DAUD_STANDARD_VOICE_PRIORITY,
)
from dmusd.synth.engine import Engine
from dmusd.synth.engine import pin_layout as P
from dmusd.synth.event_ring import EventRing
from dmusd.synth.pin_state import PinState

from .test_stream import RATE, Rig, bank_of, instrument, note_off, note_on, peak, region, sine


def keys_held(rig: Rig, ch: int | None = None) -> list[int]:
    records = [r for r in rig.stream.voices() if not r.stopping]
    return sorted(r.key for r in records if ch is None or r.channel == ch)


def test_default_priorities_are_standard_with_the_channel_offsets():
    allocator = Rig(voices=4, channel_groups=8).stream
    got = [allocator.priority(0, ch) for ch in range(16)]
    assert all(p & 0xFFFFFFF0 == DAUD_STANDARD_VOICE_PRIORITY for p in got)
    # channel 10 first, then 1, 2 ... 9, then 11 ... 16
    assert sorted(range(16), key=lambda ch: -got[ch]) == [9, *range(9), *range(10, 16)]
    assert [allocator.priority(7, ch) for ch in range(16)] == got  # the same in every group
    allocator.set_priority(7, 3, DAUD_CRITICAL_VOICE_PRIORITY)
    assert allocator.priority(7, 3) == DAUD_CRITICAL_VOICE_PRIORITY != allocator.priority(0, 3)


def test_a_full_budget_steals_the_oldest_voice_of_equal_priority():
    rig = Rig(voices=2)
    for i, key in enumerate((60, 64, 67, 72)):
        rig.send(2400 * i, note_on(key))
    rig.render(12000)
    voices = rig.stream
    assert keys_held(rig) == [67, 72] and rig.stream.active_voices == 2
    assert (voices.stolen, voices.refused, voices.lost_notes) == (2, 0, 2)


def test_a_released_voice_goes_before_an_older_one_still_held():
    bank = bank_of(instrument(make_patch(0), region(sine()), release=5.0))
    rig = Rig(bank, voices=2)
    rig.send(0, note_on(64))
    rig.send(1000, note_on(60))
    rig.send(2000, note_off(60))  # in its 5 s release: still sounding
    rig.send(3000, note_on(67))
    rig.render(6000)
    assert keys_held(rig) == [64, 67] and rig.stream.stolen == 1


def test_the_lowest_priority_goes_before_the_oldest():
    rig = Rig(voices=2)
    rig.stream.set_priority(0, 1, DAUD_LOW_VOICE_PRIORITY)
    rig.send(0, note_on(60, ch=0))
    rig.send(1000, note_on(64, ch=1))  # newer, but less important
    rig.send(2000, note_on(67, ch=0))
    rig.render(4800)
    assert keys_held(rig, 0) == [60, 67] and keys_held(rig, 1) == []


def test_notes_are_lost_when_every_voice_outranks_them():
    rig = Rig(voices=2)
    rig.send(0, note_on(36, ch=9), note_on(38, ch=9))  # channel 10: the highest priority
    rig.send(2400, note_on(60, ch=15))  # channel 16: the lowest
    out = rig.render(4800)
    voices = rig.stream
    assert keys_held(rig) == [36, 38] and voices.refused == 1 and voices.lost_notes == 1
    assert peak(out[3000:]) > 0.3  # the drums play on, uncut
    rig.send(rig.position, note_on(40, ch=9))  # an equal priority may steal
    rig.render(2400)
    assert keys_held(rig) == [38, 40] and voices.stolen == 1 and voices.lost_notes == 2


def test_a_stolen_voice_fades_out_without_a_click():
    rig = Rig(voices=1)
    rig.send(0, note_on(57))  # 220 Hz
    rig.send(4811, note_on(64))  # 330 Hz takes its voice
    out = rig.render(9600)[:, 0]
    assert rig.stream.stolen == 1
    level = peak(out[:4800])
    # Both sines' own steps plus the 240-sample fade's: a hard cut could step by the level.
    bound = 2 * np.pi * (220 + 330) / RATE * level + level / 240
    assert np.max(np.abs(np.diff(out))) < bound < 0.1 * level
    after = out[4811 + 480 :]  # 10 ms on, only the new note is left
    spectrum = np.abs(np.fft.rfft(after * np.hanning(after.size)))
    bins = np.fft.rfftfreq(after.size, 1 / RATE)
    assert spectrum[np.argmin(abs(bins - 220.0))] < 1e-3 * spectrum.max()


def test_many_steals_in_one_block_use_the_spare_slots_then_refuse():
    rig = Rig(voices=4, block=1024)
    spare = rig.stream.engine.max_voices - 4
    for i in range(4 + spare + 3):  # every note in the same block
        rig.send(10 + i, note_on(30 + i))
    rig.render(1024)
    started = rig.stream.state_arrays.counter(P.ST_STARTED)
    assert started == 4 + spare and rig.stream.refused == 3
    rig.render(2048)  # the fades end and give their slots back
    assert rig.stream.active_voices == 4 and rig.stream.engine.free_count == spare


def test_a_wave_counts_as_played_while_voices_play_it():
    rig = Rig(bank_of(instrument(make_patch(0), region(sine()))))
    offset = int(rig.stream.tables.arrays[1][0, P.RG_WAVE_OFFSET])
    rig.send(0, note_on(60), note_on(64), note_on(67))
    rig.render(2400)
    assert rig.stream.engine.plays(offset) and len(rig.stream.voices()) == 3
    rig.send(rig.position, note_off(60), note_off(64))
    rig.render(2400)
    assert rig.stream.engine.plays(offset) and len(rig.stream.voices()) == 1
    rig.send(rig.position, note_off(67))
    rig.render(2400)
    assert not rig.stream.engine.plays(offset) and rig.stream.active_voices == 0


def test_the_budget_must_fit_the_engine():
    with pytest.raises(ValueError, match="voice budget"):
        PinState(Engine(max_voices=4), 1, 5, 1, EventRing())
    assert Rig(voices=4).stream.state_arrays.counter(P.ST_BUDGET) == 4
