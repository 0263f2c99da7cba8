"""The sequencer: holds each event until its presentation time minus the stream's prefetch.

Events leave in time order, and in arrival order for equal times (a SysEx's pieces share one
time and so stay together). A stream whose prefetch is DONT_HOLD_FOR_SEQUENCING schedules
sample-accurately itself: everything passes straight through. Outside RUN nothing is released;
entering STOP hands everything held back to the allocator.
"""

from __future__ import annotations

import heapq
from typing import Protocol

from dmusd.kernel.allocator import AllocatorMXF
from dmusd.kernel.event import DMUS_KERNEL_EVENT
from dmusd.kernel.mxf import KSSTATE, MXF

DONT_HOLD_FOR_SEQUENCING = 0x8000_0000_0000_0000


class ReferenceClock(Protocol):
    def GetTime(self) -> int: ...


class Sequencer(MXF):
    def __init__(self, allocator: AllocatorMXF, clock: ReferenceClock, prefetch: int = 0) -> None:
        super().__init__(allocator)
        self.clock = clock
        self.prefetch = prefetch
        self.pass_through = prefetch == DONT_HOLD_FOR_SEQUENCING
        self._held: list[tuple[int, int, DMUS_KERNEL_EVENT]] = []  # (time, arrival, event) heap
        self._arrivals = 0

    @property
    def held(self) -> int:
        return len(self._held)

    def PutMessage(self, chain: DMUS_KERNEL_EVENT | None) -> None:
        if chain is None:
            return
        if self.state == KSSTATE.STOP:
            self.allocator.PutMessage(chain)
            return
        if self.pass_through and self.state == KSSTATE.RUN and not self._held:
            self.sink.PutMessage(chain)
            return
        held = self._held
        n = self._arrivals
        while chain is not None:
            ev = chain
            chain = ev.pNextEvt
            ev.pNextEvt = None
            heapq.heappush(held, (ev.ullPresTime100ns, n, ev))
            n += 1
        self._arrivals = n
        self.service()

    def service(self, now: int | None = None) -> int:
        """Release every event due at `now` (default: the clock's time) as one chain."""
        held = self._held
        if self.state != KSSTATE.RUN or not held:
            return 0
        if self.pass_through:
            horizon = 1 << 64
        else:
            horizon = (self.clock.GetTime() if now is None else now) + self.prefetch
        if held[0][0] > horizon:
            return 0
        pop = heapq.heappop
        head = tail = pop(held)[2]
        count = 1
        while held and held[0][0] <= horizon:
            ev = pop(held)[2]
            tail.pNextEvt = ev
            tail = ev
            count += 1
        if not held:
            self._arrivals = 0  # keeps the tie-breaking counter small
        self.sink.PutMessage(head)
        return count

    def next_due(self) -> int | None:
        """Presentation time of the earliest held event, or None."""
        return self._held[0][0] if self._held else None

    def on_state(self, old: KSSTATE, new: KSSTATE) -> None:
        if new == KSSTATE.STOP and self._held:
            head = tail = None
            for _, _, ev in self._held:
                if tail is None:
                    head = tail = ev
                else:
                    tail.pNextEvt = ev
                    tail = ev
            self._held.clear()
            self.allocator.PutMessage(head)
        elif new == KSSTATE.RUN:
            self.service()
