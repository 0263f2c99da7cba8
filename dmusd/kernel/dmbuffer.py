"""The DirectMusic event buffer format (dmusbuff.h): what clients and the port exchange.

A buffer is a run of records, each a 20-byte DMUS_EVENTHEADER
`{DWORD cbEvent; DWORD dwChannelGroup; REFERENCE_TIME rtDelta; DWORD dwFlags}` (packed to 4)
followed by cbEvent data bytes, padded to 8 bytes. A record's time is the buffer's base time plus
rtDelta. DMUS_EVENT_STRUCTURED marks a complete MIDI message; without it the bytes are a raw
stream that may split messages across records.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from dmusd.errors import EventBufferError

DMUS_EVENTHEADER = struct.Struct("<IIqI")
HEADER_SIZE = DMUS_EVENTHEADER.size  # 20
DMUS_EVENT_STRUCTURED = 0x1


def DMUS_EVENT_SIZE(cb: int) -> int:
    """Bytes one record of `cb` data bytes takes, header and padding included."""
    return (HEADER_SIZE + cb + 7) & ~7


@dataclass(slots=True, frozen=True)
class EventRecord:
    offset: int  # of the header in the buffer
    channel_group: int
    rt_delta: int
    flags: int
    data: memoryview


def pack_record(out: bytearray, data: bytes, channel_group: int, rt_delta: int, flags: int) -> None:
    """Append one padded record to `out`."""
    out += DMUS_EVENTHEADER.pack(len(data), channel_group, rt_delta, flags)
    out += data
    out += bytes(DMUS_EVENT_SIZE(len(data)) - HEADER_SIZE - len(data))


def iter_records(buffer: bytes | bytearray | memoryview) -> Iterator[EventRecord]:
    """Yield every record, checking each header and size against the buffer's end."""
    view = memoryview(buffer)
    end = len(view)
    pos = 0
    while pos < end:
        if end - pos < HEADER_SIZE:
            raise EventBufferError(
                f"{end - pos} bytes left, too few for a {HEADER_SIZE}-byte DMUS_EVENTHEADER",
                offset=pos,
            )
        cb, group, delta, flags = DMUS_EVENTHEADER.unpack_from(view, pos)
        if cb > end - pos - HEADER_SIZE:
            raise EventBufferError(
                f"cbEvent {cb} runs past the end of the {end}-byte buffer", offset=pos
            )
        if cb == 0:
            raise EventBufferError("cbEvent is 0: a record carries at least one byte", offset=pos)
        if group > 0xFFFF:
            raise EventBufferError(f"dwChannelGroup {group} is past 65535", offset=pos)
        yield EventRecord(
            pos, group, delta, flags, view[pos + HEADER_SIZE : pos + HEADER_SIZE + cb]
        )
        pos += min(DMUS_EVENT_SIZE(cb), end - pos)
