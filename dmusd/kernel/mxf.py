"""The IMXF protocol: every node of a pin's MIDI graph (unpacker, sequencer, synth stream, ...).

A node takes event chains by PutMessage and hands them on to the node connected by ConnectOutput;
with no output connected it returns them to its allocator, the terminal node of every graph.
States follow KSSTATE and change one step at a time (STOP <-> ACQUIRE <-> PAUSE <-> RUN). Render
rules from the DDI: outside RUN hold data without playing it; in STOP return everything held.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

from dmusd.errors import StateError

if TYPE_CHECKING:
    from dmusd.kernel.allocator import AllocatorMXF
    from dmusd.kernel.event import DMUS_KERNEL_EVENT


class KSSTATE(IntEnum):
    STOP = 0
    ACQUIRE = 1
    PAUSE = 2
    RUN = 3


class MXF:
    """Base IMXF node. Subclasses override PutMessage and, when they hold events, on_state."""

    def __init__(self, allocator: AllocatorMXF) -> None:
        self.allocator = allocator
        self.sink: MXF = allocator
        self.state = KSSTATE.STOP

    def SetState(self, state: KSSTATE) -> None:
        state = KSSTATE(state)
        if abs(state - self.state) > 1:
            raise StateError(
                f"{type(self).__name__}: KSSTATE goes one step at a time, "
                f"not {self.state.name} -> {state.name}"
            )
        old, self.state = self.state, state
        if old != state:
            self.on_state(old, state)

    def on_state(self, old: KSSTATE, new: KSSTATE) -> None:
        """Hook for nodes that hold events or state; called after each real transition."""

    def PutMessage(self, chain: DMUS_KERNEL_EVENT | None) -> None:
        if chain is not None:
            self.sink.PutMessage(chain)

    def ConnectOutput(self, sink: MXF) -> None:
        if self.sink is not self.allocator:
            raise StateError(f"{type(self).__name__}: an output is already connected")
        self.sink = sink

    def DisconnectOutput(self, sink: MXF) -> None:
        if sink is not self.sink or sink is self.allocator:
            raise StateError(f"{type(self).__name__}: that output is not connected")
        self.sink = self.allocator


def step_state(node: MXF, target: KSSTATE) -> None:
    """Walk `node` to `target` through every intermediate state, as KS does for a pin."""
    while node.state != target:
        node.SetState(node.state + (1 if target > node.state else -1))
