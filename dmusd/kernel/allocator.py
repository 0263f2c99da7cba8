"""IAllocatorMXF: a fixed pool of events and of data buffers, sized at creation.

Every event in the system comes from an allocator and ends back in it. The pool never grows and
never raises on the real-time path: when it is empty, GetMessage / GetBuffer return None and the
caller counts a lost event. list.append and list.pop are atomic under the GIL, so the MIDI input
thread may take events while the audio thread returns them.
"""

from __future__ import annotations

from dmusd.kernel.event import DMUS_KEF_PACKAGE_EVENT, DMUS_KERNEL_EVENT, INLINE_SIZE
from dmusd.kernel.mxf import MXF

DEFAULT_EVENTS = 4096
DEFAULT_BUFFERS = 64
DEFAULT_BUFFER_SIZE = 4096  # as ReactOS's portcls (PAGE_SIZE)


class AllocatorMXF(MXF):
    def __init__(
        self,
        events: int = DEFAULT_EVENTS,
        buffers: int = DEFAULT_BUFFERS,
        buffer_size: int = DEFAULT_BUFFER_SIZE,
    ) -> None:
        if events < 1 or buffers < 0 or buffer_size <= INLINE_SIZE:
            raise ValueError("allocator: need events >= 1, buffers >= 0, buffer_size > INLINE_SIZE")
        super().__init__(self)
        self.capacity = events
        self.buffer_capacity = buffers
        self.buffer_size = buffer_size
        self._events = tuple(DMUS_KERNEL_EVENT(self) for _ in range(events))
        for ev in self._events:
            ev._pooled = True
        self._free = list(self._events)
        self._buffers = tuple(bytearray(buffer_size) for _ in range(buffers))
        self._free_buffers = list(self._buffers)
        self._buffer_ids = {id(b) for b in self._buffers}
        self._free_buffer_ids = set(self._buffer_ids)
        self.exhausted = 0  # GetMessage / GetBuffer calls that found the pool empty
        self.rejected = 0  # events or buffers put back twice, or not from this pool

    # -- events ---------------------------------------------------------------------------
    def GetMessage(self) -> DMUS_KERNEL_EVENT | None:
        """A zeroed event, or None when the pool is empty (the caller counts a lost event)."""
        try:
            ev = self._free.pop()
        except IndexError:
            self.exhausted += 1
            return None
        ev._pooled = False
        return ev

    def PutMessage(self, chain: DMUS_KERNEL_EVENT | None) -> None:
        """Take back a whole chain: every event, its data buffer and any package sub-chain."""
        free = self._free
        while chain is not None:
            ev = chain
            chain = ev.pNextEvt
            if ev._owner is not self or ev._pooled:
                self.rejected += 1
                continue
            if ev.usFlags & DMUS_KEF_PACKAGE_EVENT and ev.pPackageEvt is not None:
                self.PutMessage(ev.pPackageEvt)  # a consumer that did not unwrap it
            if ev.pbData is not None:
                self.PutBuffer(ev.pbData)
            ev.zero()
            ev._pooled = True
            free.append(ev)

    # -- data buffers ---------------------------------------------------------------------
    def GetBufferSize(self) -> int:
        return self.buffer_size

    def GetBuffer(self) -> bytearray | None:
        try:
            buffer = self._free_buffers.pop()
        except IndexError:
            self.exhausted += 1
            return None
        self._free_buffer_ids.discard(id(buffer))
        return buffer

    def PutBuffer(self, buffer: bytearray) -> None:
        key = id(buffer)
        if key not in self._buffer_ids or key in self._free_buffer_ids:
            self.rejected += 1
            return
        self._free_buffer_ids.add(key)
        self._free_buffers.append(buffer)

    def SetState(self, state) -> None:  # the terminal node has no state to keep
        pass

    # -- accounting -----------------------------------------------------------------------
    @property
    def free(self) -> int:
        return len(self._free)

    @property
    def in_use(self) -> int:
        """Events handed out and not yet returned, counted from the events' own marks."""
        return sum(1 for ev in self._events if not ev._pooled)

    @property
    def free_buffers(self) -> int:
        return len(self._free_buffers)

    def check(self) -> None:
        """Assert the pool invariant: free + in use == capacity, nothing put back wrongly."""
        free, in_use = self.free, self.in_use
        assert free + in_use == self.capacity, f"free {free} + in use {in_use} != {self.capacity}"
        assert len({id(ev) for ev in self._free}) == free, "an event is in the free list twice"
        assert all(ev._pooled for ev in self._free), "a handed-out event is in the free list"
        assert len(self._free_buffer_ids) == self.free_buffers <= self.buffer_capacity
        assert self.rejected == 0, f"{self.rejected} events or buffers were put back wrongly"

    def all_home(self) -> bool:
        """True when every event and buffer is back in the pool."""
        return self.free == self.capacity and self.free_buffers == self.buffer_capacity
