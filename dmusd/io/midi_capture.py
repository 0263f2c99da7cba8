"""A pin's capture port: what came in goes out again through the kernel's capture path.

The capture sink (an Unpacker: bytes -> complete events) feeds the Packer, which writes
DMUS_EVENTHEADER buffers as a DirectMusic capture client would read them; each completed buffer
is unpacked again (BufferUnpacker) and its messages are sent out of the backend's output port.
Shared by the MIDI backends (midi_jack.py, midi_alsa.py); runs on the MIDI input thread only.
"""

from __future__ import annotations

from collections.abc import Callable

from dmusd.kernel.allocator import AllocatorMXF
from dmusd.kernel.buffer_unpacker import BufferUnpacker
from dmusd.kernel.event import DMUS_KEF_EVENT_INCOMPLETE, DMUS_KERNEL_EVENT
from dmusd.kernel.mxf import KSSTATE, MXF, step_state
from dmusd.kernel.packer import Packer
from dmusd.kernel.unpacker import Unpacker


class _MidiOutSink(MXF):
    """The end of a capture chain: complete events out of a MidiOut port, then to the pool."""

    def __init__(self, allocator: AllocatorMXF, send: Callable[[bytes], None]) -> None:
        super().__init__(allocator)
        self.send = send
        self._sysex = bytearray()  # INCOMPLETE pieces of a long SysEx

    def PutMessage(self, chain: DMUS_KERNEL_EVENT | None) -> None:
        ev = chain
        while ev is not None:
            data = ev.data()
            if ev.usFlags & DMUS_KEF_EVENT_INCOMPLETE:
                self._sysex += data
            else:
                if self._sysex:
                    data = bytes(self._sysex) + data
                    self._sysex.clear()
                if data:
                    self.send(data)
            ev = ev.pNextEvt
        if chain is not None:
            self.allocator.PutMessage(chain)


class CaptureOutput:
    """A pin's capture port: what came in goes out again through the kernel's capture path.

    The capture sink (an Unpacker: bytes -> complete events) feeds the Packer, which writes
    DMUS_EVENTHEADER buffers as a DirectMusic capture client would read them; each completed
    buffer is unpacked again (BufferUnpacker) and its messages are sent out of a MidiOut port.
    Runs on the MIDI input thread only.
    """

    def __init__(self, send: Callable[[bytes], None], events: int = 512) -> None:
        self.allocator = AllocatorMXF(events, buffers=16, buffer_size=1024)
        self.capture_sink = Unpacker(self.allocator)
        self.packer = Packer(self.allocator)
        self.capture_sink.ConnectOutput(self.packer)
        self.unpacker = BufferUnpacker(self.allocator)
        self.out = _MidiOutSink(self.allocator, send)
        self.unpacker.ConnectOutput(self.out)
        self._nodes = (self.out, self.unpacker, self.packer, self.capture_sink)
        for node in self._nodes:  # downstream first, as the port does
            step_state(node, KSSTATE.RUN)

    def put(self, data: bytes, time: int, group: int) -> None:
        self.capture_sink.put_bytes(data, time, group)

    def flush(self) -> int:
        """Send every completed buffer; returns how many buffers went out."""
        self.packer.flush()
        n = 0
        completed = self.packer.completed
        while completed:
            buffer = completed.popleft()
            self.unpacker.put_buffer(buffer.data, buffer.base_time)
            n += 1
        return n

    def close(self) -> None:
        for node in reversed(self._nodes):  # upstream first
            step_state(node, KSSTATE.STOP)
