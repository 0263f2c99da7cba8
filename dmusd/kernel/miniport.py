"""IMiniportDMus: what a DMus miniport (the synth, or a test double) offers its port.

The port asks the miniport for its description (pin factories and the property items it handles),
then opens streams on it with NewStream: one IMXF per pin instance, given the pin's allocator and
the master clock, returning how far ahead of presentation time it wants its events (prefetch).
A wave-sink stream also implements ISynthSinkDMus, through which the port's sink pulls audio.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Protocol

# NewStream's prefetch meaning "send me everything at once, I schedule it myself".
from dmusd.kernel.sequencer import DONT_HOLD_FOR_SEQUENCING as DONT_HOLD_FOR_SEQUENCING

if TYPE_CHECKING:
    from dmusd.kernel.allocator import AllocatorMXF
    from dmusd.kernel.clock import IMasterClock
    from dmusd.kernel.ks import PropertyItem
    from dmusd.kernel.mxf import MXF
    from dmusd.kernel.port import PortDMus


class DMUS_STREAM_TYPE(IntEnum):
    MIDI_INVALID = -1
    MIDI_RENDER = 0  # DirectMusic in: the port's unpacker and sequencer feed the stream
    MIDI_CAPTURE = 1  # MIDI out of the device: the stream feeds the port's capture sink
    WAVE_SINK = 2  # PCM out of a software synth: the port pulls audio by ISynthSinkDMus.Render


DMUS_STREAM_MIDI_INVALID = DMUS_STREAM_TYPE.MIDI_INVALID
DMUS_STREAM_MIDI_RENDER = DMUS_STREAM_TYPE.MIDI_RENDER
DMUS_STREAM_MIDI_CAPTURE = DMUS_STREAM_TYPE.MIDI_CAPTURE
DMUS_STREAM_WAVE_SINK = DMUS_STREAM_TYPE.WAVE_SINK


@dataclass(slots=True, frozen=True)
class PinDescriptor:
    """One pin factory (the DDI's PCPIN_DESCRIPTOR, reduced to what the port uses)."""

    stream_type: DMUS_STREAM_TYPE
    name: str
    max_instances: int = 1  # how many instances may be open at once; 0 = no limit


@dataclass(slots=True, frozen=True)
class FilterDescriptor:
    """What GetDescription returns (the DDI's PCFILTER_DESCRIPTOR, reduced)."""

    pins: tuple[PinDescriptor, ...]
    properties: tuple[PropertyItem, ...] = ()


class ISynthSinkDMus(Protocol):
    """The wave-sink side of a software synth's stream (positions are sample frames)."""

    def Render(self, buffer, length: int, position: int) -> None:
        """Mix `length` frames starting at stream position `position` into `buffer`."""

    def SyncToMaster(self, t: int, fStart: bool) -> None: ...

    def SampleToRefTime(self, sample: int) -> int: ...

    def RefTimeToSample(self, ref: int) -> int: ...


class IMiniportDMus(ABC):
    """The miniport interface. Errors are reported by raising DmusdError children."""

    @abstractmethod
    def Init(self, port: PortDMus) -> None:
        """Keep the port (for Notify); called once, before anything else."""

    @abstractmethod
    def GetDescription(self) -> FilterDescriptor:
        """The pin factories and the property items this miniport handles."""

    @abstractmethod
    def NewStream(
        self,
        pin_id: int,
        stream_type: DMUS_STREAM_TYPE,
        allocator: AllocatorMXF,
        master_clock: IMasterClock,
    ) -> tuple[MXF, int]:
        """A new stream for one instance of pin factory `pin_id`, and its prefetch (100 ns).

        The stream returns every event it consumes to `allocator`. A render stream that wants
        events exactly on time returns prefetch 0; one that schedules sample-accurately itself
        returns DONT_HOLD_FOR_SEQUENCING. A WAVE_SINK stream must implement ISynthSinkDMus.
        """

    def Service(self) -> None:
        """Declared by the DDI and unused by it; kept for completeness."""
        return None
