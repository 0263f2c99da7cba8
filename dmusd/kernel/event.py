"""DMUS_KERNEL_EVENT: the one message record that flows through every IMXF node.

Events are pooled (see allocator.py) and reused, never created on the real-time path. The DDI's
`uData` union is kept as three slots of which the flags and `cbEvent` say which one is meaningful:

- `abData`: inline bytes, used when `cbEvent <= INLINE_SIZE` (every short MIDI message);
- `pbData`: a buffer from the allocator's buffer pool, used when `cbEvent > INLINE_SIZE`;
- `pPackageEvt`: a sub-chain to be processed atomically, used when DMUS_KEF_PACKAGE_EVENT is set.
"""

from __future__ import annotations

from collections.abc import Iterator

DMUS_KEF_EVENT_COMPLETE = 0x0000
DMUS_KEF_EVENT_INCOMPLETE = 0x0001  # continues in a later event, or raw bytes not yet parsed
DMUS_KEF_PACKAGE_EVENT = 0x0002  # pPackageEvt holds a sub-chain

INLINE_SIZE = 8  # sizeof(PBYTE) on a 64-bit build: the inline payload size
CB_STRUCT = 40  # sizeof(DMUS_KERNEL_EVENT) on a 64-bit build
BYTE_POSITION_NONE = 0xFFFF_FFFF_FFFF_FFFF  # kBytePositionNone

_ZERO_INLINE = bytes(INLINE_SIZE)


class DMUS_KERNEL_EVENT:
    """One pooled MIDI event: take it with an allocator's GetMessage, give it back by PutMessage."""

    __slots__ = (
        "bReserved",
        "cbStruct",
        "cbEvent",
        "usChannelGroup",
        "usFlags",
        "ullPresTime100ns",
        "ullBytePosition",
        "pNextEvt",
        "abData",
        "pbData",
        "pPackageEvt",
        "_owner",
        "_pooled",
    )

    def __init__(self, owner: object = None) -> None:
        self.abData = bytearray(INLINE_SIZE)
        self._owner = owner  # the allocator whose pool this event belongs to
        self._pooled = False
        self.zero()

    def zero(self) -> None:
        """Reset every DDI field, as GetMessage promises. Buffers must already be reclaimed."""
        self.bReserved = 0
        self.cbStruct = CB_STRUCT
        self.cbEvent = 0
        self.usChannelGroup = 0
        self.usFlags = 0
        self.ullPresTime100ns = 0
        self.ullBytePosition = 0
        self.pNextEvt: DMUS_KERNEL_EVENT | None = None
        self.abData[:] = _ZERO_INLINE
        self.pbData: bytearray | None = None
        self.pPackageEvt: DMUS_KERNEL_EVENT | None = None

    # The DDI's helper macros.
    def SHORT_EVT(self) -> bool:
        return self.cbEvent <= INLINE_SIZE

    def PACKAGE_EVT(self) -> bool:
        return bool(self.usFlags & DMUS_KEF_PACKAGE_EVENT)

    def INCOMPLETE_EVT(self) -> bool:
        return bool(self.usFlags & DMUS_KEF_EVENT_INCOMPLETE)

    def COMPLETE_EVT(self) -> bool:
        return not (self.usFlags & DMUS_KEF_EVENT_INCOMPLETE)

    def data(self) -> bytes:
        """The payload bytes, wherever the union keeps them (empty for a package)."""
        if self.usFlags & DMUS_KEF_PACKAGE_EVENT:
            return b""
        if self.cbEvent <= INLINE_SIZE:
            return bytes(self.abData[: self.cbEvent])
        return bytes(self.pbData[: self.cbEvent]) if self.pbData is not None else b""

    def __repr__(self) -> str:
        kind = "package" if self.PACKAGE_EVT() else self.data().hex(" ")
        flags = " INCOMPLETE" if self.INCOMPLETE_EVT() else ""
        return (
            f"<DMUS_KERNEL_EVENT t={self.ullPresTime100ns} group={self.usChannelGroup}"
            f"{flags} [{kind}]>"
        )


def iter_chain(head: DMUS_KERNEL_EVENT | None) -> Iterator[DMUS_KERNEL_EVENT]:
    """Walk a chain by pNextEvt. Reads the link before yielding, so callers may unlink."""
    while head is not None:
        nxt = head.pNextEvt
        yield head
        head = nxt


def link_chain(events: list[DMUS_KERNEL_EVENT]) -> DMUS_KERNEL_EVENT | None:
    """Link `events` into one chain in list order and return its head (None for an empty list)."""
    for a, b in zip(events, events[1:], strict=False):
        a.pNextEvt = b
    if events:
        events[-1].pNextEvt = None
        return events[0]
    return None


def chain_length(head: DMUS_KERNEL_EVENT | None) -> int:
    n = 0
    while head is not None:
        n += 1
        head = head.pNextEvt
    return n
