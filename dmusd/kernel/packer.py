"""The packer: complete events -> DirectMusic event buffers, for capture clients.

It is the last node of a capture pin (capture sink -> packer): each event becomes one
DMUS_EVENTHEADER record with rtDelta from the buffer's base time (the first record's time), and a
buffer is completed when the next record would not fit. SysEx pieces flagged INCOMPLETE are joined
back into one structured record; a message larger than a whole buffer is split across buffers as
unstructured records, which the buffer unpacker reassembles. Captured data is only packed in RUN
and PAUSE; in STOP and ACQUIRE it is thrown away, as the DDI asks of capture streams.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from dmusd.kernel.allocator import AllocatorMXF
from dmusd.kernel.dmbuffer import DMUS_EVENT_SIZE, DMUS_EVENT_STRUCTURED, HEADER_SIZE, pack_record
from dmusd.kernel.event import DMUS_KEF_EVENT_INCOMPLETE, DMUS_KERNEL_EVENT
from dmusd.kernel.mxf import KSSTATE, MXF

DEFAULT_BUFFER_SIZE = 4096


@dataclass(slots=True, frozen=True)
class CapturedBuffer:
    base_time: int  # 100 ns; every record's time is base_time + its rtDelta
    data: bytes


class Packer(MXF):
    def __init__(self, allocator: AllocatorMXF, buffer_size: int = DEFAULT_BUFFER_SIZE) -> None:
        if buffer_size < DMUS_EVENT_SIZE(1):
            raise ValueError(f"packer: a buffer needs at least {DMUS_EVENT_SIZE(1)} bytes")
        super().__init__(allocator)
        self.buffer_size = buffer_size
        self.completed: deque[CapturedBuffer] = deque()
        self._buf = bytearray()
        self._base = 0
        self._sysex = bytearray()  # INCOMPLETE pieces waiting for their last piece

    def PutMessage(self, chain: DMUS_KERNEL_EVENT | None) -> None:
        packing = self.state in (KSSTATE.RUN, KSSTATE.PAUSE)
        head = chain
        while packing and chain is not None:
            ev = chain
            chain = ev.pNextEvt
            data = ev.data()
            if ev.usFlags & DMUS_KEF_EVENT_INCOMPLETE:
                self._sysex += data
                continue
            if self._sysex:
                data = bytes(self._sysex) + data
                self._sysex.clear()
            if data:
                self._add(data, ev.usChannelGroup, ev.ullPresTime100ns)
        self.allocator.PutMessage(head)

    def _add(self, data: bytes, group: int, time: int) -> None:
        room = self.buffer_size
        if DMUS_EVENT_SIZE(len(data)) <= room:
            self._record(data, group, time, DMUS_EVENT_STRUCTURED)
            return
        step = room - HEADER_SIZE  # one unstructured record per buffer
        for i in range(0, len(data), step):
            self._record(data[i : i + step], group, time, 0)

    def _record(self, data: bytes, group: int, time: int, flags: int) -> None:
        if len(self._buf) + DMUS_EVENT_SIZE(len(data)) > self.buffer_size:
            self.flush()
        if not self._buf:
            self._base = time
        pack_record(self._buf, data, group, time - self._base, flags)

    def flush(self) -> None:
        """Complete the buffer being filled, if it holds anything."""
        if self._buf:
            self.completed.append(CapturedBuffer(self._base, bytes(self._buf)))
            self._buf.clear()

    def on_state(self, old: KSSTATE, new: KSSTATE) -> None:
        if new == KSSTATE.STOP:
            self._buf.clear()
            self._sysex.clear()
            self.completed.clear()
