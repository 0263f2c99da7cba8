"""ControlLogic: one channel group (16 MIDI channels) turning MIDI messages into engine calls.

The DDK sample synth's CControlLogic, one per channel group. Each message comes with the sample
offset (into the block being prepared) at which it takes effect, and everything it causes is
queued in the engine at that offset:

- note-on: the channel's patch picks an instrument (with the GM fallbacks; a fallback counts as
  a missed patch), every region holding the key and velocity sounds (DLS2 layering); first the
  same key's earlier voices are quick-stopped unless the region is self-non-exclusive, and voices
  of the same key group (exclusive class) on the channel and instrument are cut;
- note-off: released, unless the sustain pedal (CC64) or the sostenuto pedal (CC66, for the notes
  that were down when it was pressed) holds the note until the pedal comes up;
- controllers, pitch wheel and pressure: the DLS source values Channel computes; CC120 cuts every
  voice, CC123-127 act as note-offs for every key down;
- SysEx: GM/GS/XG resets, GS use-for-rhythm, and the synth-wide master volume and tuning (kept in
  `MasterControls`, which the stream applies to the whole pin).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from dmusd.banks.model import F_INSTRUMENT_DRUMS, Instrument, make_patch
from dmusd.errors import BankError
from dmusd.synth import sysex as S
from dmusd.synth.channel import (
    CC_ALL_NOTES_OFF,
    CC_ALL_SOUND_OFF,
    CC_RESET_ALL,
    CC_SOSTENUTO,
    CC_SUSTAIN,
    Channel,
)
from dmusd.synth.engine import Engine
from dmusd.synth.voice_allocator import VoiceAllocator, VoiceRecord
from dmusd.synth.voice_builder import VoiceBuilder

GM, GS, XG = "GM", "GS", "XG"
XG_DRUM_MSB = 127  # XG: bank MSB 127 selects a drum kit on any channel


class InstrumentSource(Protocol):
    """What instruments come from: a loaded Bank, or a download manager's InstrumentTable."""

    instruments: Mapping[int, Instrument]

    def find(self, patch: int) -> Instrument | None: ...


@dataclass(slots=True)
class MasterControls:
    """The synth-wide state SysEx can set: master volume (0..1 of full) and master tuning."""

    volume: float = 1.0
    fine_tuning: float = 0.0  # cents
    coarse_tuning: float = 0.0  # semitones

    @property
    def tuning(self) -> float:
        """Cents added to every new note."""
        return self.fine_tuning + 100.0 * self.coarse_tuning


class ControlLogic:
    """The 16 channels of channel group `group` (0-based) of one pin."""

    def __init__(
        self,
        group: int,
        engine: Engine,
        voices: VoiceAllocator,
        builder: VoiceBuilder,
        instruments: InstrumentSource | None = None,
        master: MasterControls | None = None,
    ) -> None:
        self.group = group
        self.engine = engine
        self.voices = voices
        self.builder = builder
        self.instruments = instruments
        self.master = master if master is not None else MasterControls()
        self.base = 16 * group  # the group's first engine channel
        if self.base + 16 > engine.channels:
            raise ValueError(f"channel group {group + 1} needs {self.base + 16} engine channels")
        self.channels = [Channel(n) for n in range(16)]
        self.mode = GM
        self.missed_patches = 0  # program selections answered by a fallback or by nothing
        self.notes = 0  # note-ons that started at least one voice
        self.unplayable = 0  # regions skipped because the engine cannot play them
        # What the engine was last told, per channel and source: bulk updates send differences.
        self._sent = np.array(engine.chan[self.base : self.base + 16], dtype=np.float64)
        self._resolved: list[tuple[object, int, Instrument | None] | None] = [None] * 16
        for ch in range(16):
            self._sync_sources(ch, None)

    # -- messages ---------------------------------------------------------------------------
    def message(self, data: bytes | bytearray | memoryview, offset: int) -> None:
        """One complete MIDI message (channel message or whole SysEx) at sample `offset`."""
        if not data:
            return
        status = data[0]
        if status == 0xF0:
            self.sysex(bytes(data), offset)
            return
        if status < 0x80 or status >= 0xF0:
            return  # system common and real-time messages do nothing to a synth's channels
        kind, ch = status & 0xF0, status & 0x0F
        a = data[1] & 0x7F if len(data) > 1 else 0
        b = data[2] & 0x7F if len(data) > 2 else 0
        if kind == 0x90:
            if b:
                self.note_on(ch, a, b, offset)
            else:
                self.note_off(ch, a, offset)
        elif kind == 0x80:
            self.note_off(ch, a, offset)
        elif kind == 0xB0:
            self.control_change(ch, a, b, offset)
        elif kind == 0xC0:
            self.channels[ch].program = a
        elif kind == 0xE0:
            self._send(ch, self.channels[ch].set_pitch_wheel(a, b), offset)
        elif kind == 0xD0:
            self._send(ch, self.channels[ch].set_pressure(a), offset)
        elif kind == 0xA0:
            self.engine.poly_pressure(self.base + ch, a, b, offset)

    # -- notes ------------------------------------------------------------------------------
    def note_on(self, ch: int, key: int, velocity: int, offset: int) -> None:
        instrument = self.instrument(ch)
        if instrument is None:
            return
        regions = [r for r in instrument.regions_for(key, velocity) if r.wave.frames > 0]
        if not regions:
            return
        live = self.voices.voices_of(self.group, ch)
        if not all(r.self_non_exclusive for r in regions):
            for record in live:
                if record.key == key:
                    self.voices.quick_stop(record, offset)
        groups = {r.key_group for r in regions if r.key_group}
        if groups:
            for record in live:
                if record.region.key_group in groups and record.instrument is instrument:
                    self.voices.quick_stop(record, offset)
        engine_ch = self.base + ch
        tuning = self.master.tuning
        started = False
        for region in regions:
            try:
                spec = self.builder.build(instrument, region, key, velocity, engine_ch, tuning)
            except BankError:
                self.unplayable += 1  # a region the engine cannot play: the others still sound
                continue
            record = self.voices.start(
                spec,
                offset,
                group=self.group,
                channel=ch,
                key=key,
                instrument=instrument,
                region=region,
            )
            started = started or record is not None
        self.notes += started

    def note_off(self, ch: int, key: int, offset: int) -> None:
        channel = self.channels[ch]
        sustain = channel.cc[CC_SUSTAIN] >= 64
        sostenuto = channel.cc[CC_SOSTENUTO] >= 64
        for record in self.voices.voices_of(self.group, ch):
            if record.key == key and record.key_down:
                record.key_down = False
                if not (sustain or (sostenuto and record.sostenuto)):
                    self.voices.release(record, offset)

    def _release_held(self, ch: int, offset: int) -> None:
        """A pedal came up: release the notes whose keys are up and no pedal still holds."""
        channel = self.channels[ch]
        sustain = channel.cc[CC_SUSTAIN] >= 64
        sostenuto = channel.cc[CC_SOSTENUTO] >= 64
        for record in self.voices.voices_of(self.group, ch):
            if not record.sostenuto or not sostenuto:
                record.sostenuto = False
            if not record.key_down and not sustain and not record.sostenuto:
                self.voices.release(record, offset)

    def all_notes_off(self, ch: int, offset: int) -> None:
        """CC123-127: a note-off for every key down (the pedals still hold what they hold)."""
        for record in self.voices.voices_of(self.group, ch):
            if record.key_down:
                self.note_off(ch, record.key, offset)

    def all_sound_off(self, ch: int | None, offset: int) -> None:
        """CC120 (one channel) or a reset (None: the whole group): cut every voice now."""
        for record in self.voices.records():
            if record.group == self.group and (ch is None or record.channel == ch):
                self.voices.quick_stop(record, offset)

    # -- controllers ------------------------------------------------------------------------
    def control_change(self, ch: int, cc: int, value: int, offset: int) -> None:
        channel = self.channels[ch]
        was_down = channel.cc[cc] >= 64
        if cc == CC_SOSTENUTO and value >= 64 and not was_down:
            for record in self.voices.voices_of(self.group, ch):
                record.sostenuto = record.key_down and not record.released
        changed = channel.control_change(cc, value)
        if cc == CC_RESET_ALL:
            self._sync_sources(ch, offset)
            self._release_held(ch, offset)
            return
        self._send(ch, changed, offset)
        if cc in (CC_SUSTAIN, CC_SOSTENUTO) and was_down and value < 64:
            self._release_held(ch, offset)
        elif cc == CC_ALL_SOUND_OFF:
            self.all_sound_off(ch, offset)
        elif CC_ALL_NOTES_OFF <= cc <= 127:
            self.all_notes_off(ch, offset)

    def _send(self, ch: int, sources: list[tuple[int, float]], offset: int) -> None:
        sent = self._sent[ch]
        engine_ch = self.base + ch
        for source, value in sources:
            sent[source] = value
            self.engine.set_source(engine_ch, source, value, offset)

    def _sync_sources(self, ch: int, offset: int | None) -> None:
        """Send every source value of the channel that differs from what the engine has.
        Offset None: the engine is new and silent, so the values go straight into its channel
        table (a thousand groups would not fit its command queue)."""
        sent = self._sent[ch]
        engine_ch = self.base + ch
        for source, value in self.channels[ch].sources():
            if sent[source] != value:
                sent[source] = value
                if offset is None:
                    self.engine.chan[engine_ch, source] = value
                else:
                    self.engine.set_source(engine_ch, source, value, offset)

    # -- programs ---------------------------------------------------------------------------
    def patch(self, ch: int) -> int:
        """The DirectMusic patch channel `ch` plays now (drum bit from the channel's mode)."""
        c = self.channels[ch]
        if self.mode == XG and c.bank_msb == XG_DRUM_MSB:
            return F_INSTRUMENT_DRUMS | c.program
        return make_patch(c.program, c.bank_msb, c.bank_lsb, c.drum)

    def instrument(self, ch: int) -> Instrument | None:
        """The instrument for the channel's patch. A new patch that only a GM fallback answers
        (or nothing) counts once as a missed patch."""
        source = self.instruments
        if source is None:
            return None
        patch = self.patch(ch)
        cached = self._resolved[ch]
        if cached is not None and cached[0] is source and cached[1] == patch:
            return cached[2]
        found = source.find(patch)
        if patch not in source.instruments:
            self.missed_patches += 1
        self._resolved[ch] = (source, patch, found)
        return found

    # -- SysEx ------------------------------------------------------------------------------
    def sysex(self, msg: bytes, offset: int) -> None:
        action = S.decode_sysex(msg)
        if action is None:
            return
        kind = action.kind
        if kind == S.GM_ON:
            self.reset(GM, offset)
        elif kind == S.GS_RESET:
            self.reset(GS, offset)
        elif kind == S.XG_ON:
            self.reset(XG, offset)
        elif kind == S.GS_RHYTHM and 0 <= action.channel < 16:
            self.channels[action.channel].drum = action.value != 0
        elif kind == S.MASTER_VOLUME:
            self.master.volume = action.value
        elif kind == S.MASTER_FINE_TUNING:
            self.master.fine_tuning = action.value
        elif kind == S.MASTER_COARSE_TUNING:
            self.master.coarse_tuning = action.value

    def reset(self, mode: str, offset: int) -> None:
        """GM System On, GS reset or XG System On: cut the group's voices, every channel to its
        power-on state (channel 10 drums), in the given mode."""
        self.mode = mode
        self.all_sound_off(None, offset)
        for ch, channel in enumerate(self.channels):
            channel.reset(gm=True)
            self._resolved[ch] = None
            self._sync_sources(ch, offset)

    # -- inspection -------------------------------------------------------------------------
    def held(self, ch: int) -> list[VoiceRecord]:
        """The channel's live voices (for tests and status)."""
        return self.voices.voices_of(self.group, ch)
