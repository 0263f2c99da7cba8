"""Voice allocation with DirectMusic voice priorities (ddi-digest 4.5): one budget per pin.

Every sounding voice has a record here: where it plays (channel group, channel, key), its
priority, what it plays (instrument, region, wave) and how far it is (key down, released,
stopping). The budget counts the voices that still sound on their own; a voice being
quick-stopped (stolen, cut by its key group or by a retrigger) fades out in a few ms and no
longer counts, so the engine gets spare slots for those fades, as the DDK synth keeps its
"extra" voices.

When the budget is full, a new voice may take the place of one whose priority is not higher
than its own, chosen in this order: a voice already released, then the lowest priority, then the
oldest. The victim fades out by quick-stop. When every candidate outranks the new voice, the new
voice is refused. Both count as lost notes, as the DDK synth counts them (SYNTH_STATS.LostNotes).

Priorities: a DWORD per (channel group, channel); bigger is more important. The default is
DAUD_STANDARD_VOICE_PRIORITY | the channel's offset (channel 10 highest, then 1, 2, ... 16), the
same in every group.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from dmusd.banks.model import Instrument, Region, Wave
from dmusd.errors import PropertyError
from dmusd.kernel.synth_props import default_voice_priority
from dmusd.synth.engine import Engine, VoiceSpec


@dataclass(slots=True)
class VoiceRecord:
    """One voice the control logic started: the DDK's CVoice bookkeeping fields."""

    voice: int  # engine slot
    serial: int  # start order (bigger = newer)
    group: int  # channel group, 0-based
    channel: int  # 0..15
    key: int  # the key as played (note-offs match on it)
    priority: int
    instrument: Instrument
    region: Region
    wave: Wave
    key_down: bool = True  # no note-off yet
    sostenuto: bool = False  # latched by the sostenuto pedal
    released: bool = False  # release sent to the engine
    stopping: bool = False  # quick-stop sent: fading out, outside the budget


class VoiceAllocator:
    """The voice budget, the priorities and the records of one pin's voices."""

    def __init__(self, engine: Engine, budget: int) -> None:
        if not 1 <= budget <= engine.max_voices:
            raise ValueError(f"voice budget {budget} is outside 1..{engine.max_voices}")
        self.engine = engine
        self.budget = budget
        self._records: dict[int, VoiceRecord] = {}  # by engine slot
        # the same records by (group, channel), in start order: note-offs and pedals look up
        # one channel's voices on every message, which must not cost a scan of the whole pin
        self._by_channel: dict[tuple[int, int], dict[int, VoiceRecord]] = {}
        self.priorities: dict[tuple[int, int], int] = {}  # (group, channel) -> set priority
        self._serial = 0
        self._sounding = 0  # records not stopping
        self.stolen = 0  # voices quick-stopped to make room
        self.refused = 0  # voices not started: every candidate outranked them or no slot left
        self.started = 0

    # -- priorities -------------------------------------------------------------------------
    def priority(self, group: int, channel: int) -> int:
        """The voice priority of a 0-based group's channel."""
        return self.priorities.get((group, channel), default_voice_priority(channel))

    def set_priority(self, group: int, channel: int, priority: int) -> None:
        if not 0 <= channel < 16:
            raise PropertyError("STATUS_INVALID_PARAMETER", f"channel {channel} is not 0..15")
        self.priorities[(group, channel)] = priority & 0xFFFFFFFF

    # -- voices ----------------------------------------------------------------------------
    @property
    def lost_notes(self) -> int:
        return self.stolen + self.refused

    @property
    def sounding(self) -> int:
        """Voices inside the budget (started, not being quick-stopped)."""
        return self._sounding

    def records(self) -> Iterator[VoiceRecord]:
        return iter(list(self._records.values()))

    def voices_of(self, group: int, channel: int) -> list[VoiceRecord]:
        """The live (not stopping) voices of one channel, oldest first."""
        voices = self._by_channel.get((group, channel))
        return [r for r in voices.values() if not r.stopping] if voices else []

    def start(
        self,
        spec: VoiceSpec,
        offset: int,
        *,
        group: int,
        channel: int,
        key: int,
        instrument: Instrument,
        region: Region,
    ) -> VoiceRecord | None:
        """Start a voice at sample `offset`, stealing if the budget is full; None if refused."""
        priority = self.priority(group, channel)
        if self.engine.free_count == 0:  # every spare slot is still fading out
            self.refused += 1
            return None
        if self._sounding >= self.budget:
            victim = self._victim(priority)
            if victim is None:
                self.refused += 1
                return None
            self.quick_stop(victim, offset)
            self.stolen += 1
        voice = self.engine.start(spec, offset)
        self._serial += 1
        record = VoiceRecord(
            voice, self._serial, group, channel, key, priority, instrument, region, region.wave
        )
        record.wave.acquire()
        self._records[voice] = record
        self._by_channel.setdefault((group, channel), {})[voice] = record
        self._sounding += 1
        self.started += 1
        return record

    def _victim(self, priority: int) -> VoiceRecord | None:
        best = None
        best_key = None
        for r in self._records.values():
            if r.stopping or r.priority > priority:
                continue
            key = (not r.released, r.priority, r.serial)
            if best_key is None or key < best_key:
                best, best_key = r, key
        return best

    def release(self, record: VoiceRecord, offset: int) -> None:
        """Note-off reached the voice: its envelopes go to release."""
        if not record.released and not record.stopping:
            record.released = True
            self.engine.release(record.voice, offset)

    def quick_stop(self, record: VoiceRecord, offset: int) -> None:
        """Fade the voice out in a few ms; it leaves the budget at once."""
        if not record.stopping:
            record.stopping = True
            self._sounding -= 1
            self.engine.quick_stop(record.voice, offset)

    def retire(self, finished: Iterable[int]) -> None:
        """Forget the voices the engine reports silent (after each render)."""
        for voice in finished:
            record = self._records.pop(int(voice), None)
            if record is not None:
                del self._by_channel[(record.group, record.channel)][record.voice]
                self._sounding -= not record.stopping
                record.wave.release()

    def clear(self) -> None:
        """Forget every record (the engine was replaced); wave references are given back."""
        for record in self._records.values():
            record.wave.release()
        self._records.clear()
        self._by_channel.clear()
        self._sounding = 0
