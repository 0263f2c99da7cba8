"""PortDMus: the port driver. It opens pins on a miniport and routes property requests to them.

Each pin instance is an independent virtual synthesizer with its own allocator and its own IMXF
chain, built around the stream the miniport returns from NewStream:

- render:    Unpacker -> Sequencer(prefetch) -> miniport stream
- capture:   miniport stream -> Unpacker (as the capture sink) -> Packer
- wave sink: the miniport stream alone (ISynthSinkDMus; the audio sink pulls from it)

A state change walks every node of the pin one KSSTATE step at a time. Going up, downstream nodes
move first so that nothing is handed to a node that is not ready; going down, upstream nodes move
first so that the nodes below can take back what is still in flight.

Property requests follow KS semantics (see ks.py); KSPROPSETID_SynthClock is the port's own, the
rest is dispatched to the miniport's handlers with the targeted pin's stream.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from dmusd.errors import DmusdError, PropertyError, StateError
from dmusd.kernel.allocator import (
    DEFAULT_BUFFER_SIZE,
    DEFAULT_BUFFERS,
    DEFAULT_EVENTS,
    AllocatorMXF,
)
from dmusd.kernel.clock import IMasterClock
from dmusd.kernel.event import DMUS_KERNEL_EVENT
from dmusd.kernel.ks import (
    PropertyDescriptor,
    PropertyDispatcher,
    PropertyRequest,
    PropertyResult,
)
from dmusd.kernel.miniport import DMUS_STREAM_TYPE, IMiniportDMus, PinDescriptor
from dmusd.kernel.mxf import KSSTATE, MXF
from dmusd.kernel.packer import Packer
from dmusd.kernel.sequencer import Sequencer
from dmusd.kernel.synth_props import (
    KSPROPERTY_SYNTHCLOCK,
    SET_NAMES,
    KSPROPSETID_SynthClock,
    synth_item,
)
from dmusd.kernel.unpacker import Unpacker


class Pin:
    """One open pin instance: its allocator, its chain of IMXF nodes and the miniport's stream."""

    __slots__ = (
        "id",
        "factory",
        "descriptor",
        "allocator",
        "stream",
        "prefetch",
        "nodes",
        "unpacker",
        "sequencer",
        "packer",
        "state",
    )

    def __init__(
        self,
        pin_id: int,
        factory: int,
        descriptor: PinDescriptor,
        allocator: AllocatorMXF,
        stream: MXF,
        prefetch: int,
        master_clock: IMasterClock,
    ) -> None:
        self.id = pin_id
        self.factory = factory
        self.descriptor = descriptor
        self.allocator = allocator
        self.stream = stream
        self.prefetch = prefetch
        self.unpacker: Unpacker | None = None
        self.sequencer: Sequencer | None = None
        self.packer: Packer | None = None
        self.state = KSSTATE.STOP
        kind = descriptor.stream_type
        if kind == DMUS_STREAM_TYPE.MIDI_RENDER:
            self.unpacker = Unpacker(allocator)
            self.sequencer = Sequencer(allocator, master_clock, prefetch)
            self.unpacker.ConnectOutput(self.sequencer)
            self.sequencer.ConnectOutput(stream)
            nodes: tuple[MXF, ...] = (self.unpacker, self.sequencer, stream)
        elif kind == DMUS_STREAM_TYPE.MIDI_CAPTURE:
            self.unpacker = Unpacker(allocator)  # parses the raw bytes the stream captures
            self.packer = Packer(allocator)
            stream.ConnectOutput(self.unpacker)
            self.unpacker.ConnectOutput(self.packer)
            nodes = (stream, self.unpacker, self.packer)
        else:
            nodes = (stream,)
        self.nodes = nodes  # upstream first

    @property
    def stream_type(self) -> DMUS_STREAM_TYPE:
        return self.descriptor.stream_type

    def SetState(self, state: KSSTATE) -> None:
        """Walk every node to `state`, one KSSTATE step at a time."""
        state = KSSTATE(state)
        while self.state != state:
            up = state > self.state
            step = KSSTATE(self.state + (1 if up else -1))
            for node in reversed(self.nodes) if up else self.nodes:
                node.SetState(step)
            self.state = step

    # -- render ---------------------------------------------------------------------------
    def put_bytes(self, data: bytes, time: int, group: int = 1) -> None:
        """Raw MIDI bytes stamped `time` (100 ns, master clock) for channel group `group`.

        A pin in STOP discards what it is given (the DDI's render rule); parsing it would leave
        a half-built SysEx held in a pin that has no further state change to give it back.
        """
        unpacker = self._render_only("put_bytes")
        if self.state != KSSTATE.STOP:
            unpacker.put_bytes(data, time, group)

    def put_messages(self, messages: Iterable[tuple[int, bytes]], group: int = 1) -> None:
        """(time in 100 ns, raw MIDI bytes) pairs for channel group `group`, parsed in turn and
        sent down the chain as one chain of events (the STOP rule as put_bytes)."""
        unpacker = self._render_only("put_messages")
        if self.state != KSSTATE.STOP:
            unpacker.put_messages(messages, group)

    def PutMessage(self, chain: DMUS_KERNEL_EVENT | None) -> None:
        """Events (complete, raw INCOMPLETE bytes or packages) into the head of the chain."""
        unpacker = self._render_only("PutMessage")
        if self.state == KSSTATE.STOP:
            if chain is not None:
                self.allocator.PutMessage(chain)
        else:
            unpacker.PutMessage(chain)

    def service(self, now: int | None = None) -> int:
        """Release the events due at `now` (default: the master clock); returns how many."""
        return self.sequencer.service(now) if self.sequencer is not None else 0

    def _render_only(self, what: str) -> Unpacker:
        if self.stream_type != DMUS_STREAM_TYPE.MIDI_RENDER or self.unpacker is None:
            raise StateError(f"{what}: pin {self.id} is a {self.stream_type.name} pin, not render")
        return self.unpacker

    def __repr__(self) -> str:
        return f"<Pin {self.id} {self.descriptor.name} {self.stream_type.name} {self.state.name}>"


class PortDMus:
    """The DMus port driver around one miniport and one master clock."""

    def __init__(self, miniport: IMiniportDMus, master_clock: IMasterClock) -> None:
        self.miniport = miniport
        self.master_clock = master_clock
        self._pins: dict[int, Pin] = {}
        self._next_id = 0
        miniport.Init(self)
        self.description = miniport.GetDescription()
        own = [
            synth_item(
                KSPROPSETID_SynthClock, KSPROPERTY_SYNTHCLOCK.MASTERCLOCK, self._master_clock
            )
        ]
        owned = {(i.descriptor.set_id, i.descriptor.item) for i in own}
        theirs = [
            i
            for i in self.description.properties
            if (i.descriptor.set_id, i.descriptor.item) not in owned
        ]
        self._properties = PropertyDispatcher(own + theirs, self._stream_of, SET_NAMES)

    # -- pins -----------------------------------------------------------------------------
    def open_pin(
        self,
        factory: int,
        *,
        events: int = DEFAULT_EVENTS,
        buffers: int = DEFAULT_BUFFERS,
        buffer_size: int = DEFAULT_BUFFER_SIZE,
    ) -> Pin:
        """Open an instance of pin factory `factory`: a new allocator, NewStream, the chain."""
        pins = self.description.pins
        if not 0 <= factory < len(pins):
            raise DmusdError(f"no pin factory {factory}: the miniport has {len(pins)}")
        desc = pins[factory]
        if desc.stream_type == DMUS_STREAM_TYPE.MIDI_INVALID:
            raise DmusdError(f"pin factory {factory} ({desc.name}) is not a stream pin")
        open_now = sum(1 for p in self._pins.values() if p.factory == factory)
        if desc.max_instances and open_now >= desc.max_instances:
            raise DmusdError(
                f"pin factory {factory} ({desc.name}) allows {desc.max_instances} "
                f"instance(s) and {open_now} are open"
            )
        allocator = AllocatorMXF(events, buffers, buffer_size)
        stream, prefetch = self.miniport.NewStream(
            factory, desc.stream_type, allocator, self.master_clock
        )
        pin = Pin(self._next_id, factory, desc, allocator, stream, prefetch, self.master_clock)
        self._pins[pin.id] = pin
        self._next_id += 1
        return pin

    def close_pin(self, pin: Pin | int) -> None:
        """Stop the pin step by step (every held event goes home) and forget it."""
        pin = self.pin(pin if isinstance(pin, int) else pin.id)
        pin.SetState(KSSTATE.STOP)
        del self._pins[pin.id]

    def close(self) -> None:
        """Stop and close every pin (RUN -> PAUSE -> ACQUIRE -> STOP), returning held events."""
        for pin in list(self._pins.values()):
            self.close_pin(pin)

    def pin(self, pin_id: int) -> Pin:
        try:
            return self._pins[pin_id]
        except KeyError:
            raise DmusdError(f"no pin {pin_id} is open") from None

    @property
    def pins(self) -> list[Pin]:
        """The open pins, in the order they were opened."""
        return list(self._pins.values())

    def service(self, now: int | None = None) -> int:
        """Release due events on every render pin (the sequencers' timer); returns how many."""
        return sum(pin.service(now) for pin in list(self._pins.values()))

    def Notify(self) -> None:
        """A miniport has captured data: ask every capture stream to push it (PutMessage(None))."""
        for pin in list(self._pins.values()):
            if pin.stream_type == DMUS_STREAM_TYPE.MIDI_CAPTURE:
                pin.stream.PutMessage(None)

    # -- properties -----------------------------------------------------------------------
    def property_request(self, request: PropertyRequest) -> PropertyResult:
        """Dispatch one KS property request; raises PropertyError when it fails."""
        return self._properties.dispatch(request)

    def property_items(self) -> list[PropertyDescriptor]:
        """The descriptors of every item this port answers (its own and the miniport's)."""
        return self._properties.items()

    def _stream_of(self, pin_id: int) -> MXF:
        pin = self._pins.get(pin_id)
        if pin is None:
            raise PropertyError("STATUS_INVALID_HANDLE", f"no pin {pin_id} is open")
        return pin.stream

    def _master_clock(self, request: PropertyRequest, stream: object) -> bytes:
        return struct.pack("<Q", self.master_clock.GetTime())
