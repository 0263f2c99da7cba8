"""The unpacker: timestamped raw MIDI bytes -> complete DMUS_KERNEL_EVENTs.

A MIDI 1.0 byte-stream parser with the stream's full rules:
- running status for channel messages (system common messages cancel it);
- real-time bytes (F8-FF) anywhere, even inside a message or a SysEx, come out as their own
  one-byte events at once;
- SysEx of any length: pieces of up to one allocator buffer each, all but the last flagged
  DMUS_KEF_EVENT_INCOMPLETE, every piece stamped with the time of its F0 so the sequencer keeps
  them together; a SysEx cut short by another status byte ends with that piece (no F7) and is
  counted in `sysex_truncated`, and so does one that STOP cuts short after some of its pieces
  went on (the held piece follows them as the last), so a run of pieces always ends;
- data bytes with no status to belong to and undefined status bytes (F4, F5, F9, FD) are dropped
  and counted in `dropped`; events lost to an empty pool are counted in `lost`.
The parser state survives between calls, so a message may be split across any number of buffers.
"""

from __future__ import annotations

from collections.abc import Iterable

from dmusd.kernel.allocator import AllocatorMXF
from dmusd.kernel.event import (
    DMUS_KEF_EVENT_INCOMPLETE,
    DMUS_KEF_PACKAGE_EVENT,
    DMUS_KERNEL_EVENT,
    INLINE_SIZE,
    link_chain,
)
from dmusd.kernel.mxf import KSSTATE, MXF


def _data_length(status: int) -> int:
    """Data bytes that follow a status byte (-1: SysEx, -2: undefined)."""
    if status < 0xF0:
        return 1 if 0xC0 <= status < 0xE0 else 2
    return {0xF0: -1, 0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF6: 0, 0xF7: -2}.get(status, -2)


# messages a put_messages chain carries at most: up to INLINE_SIZE events each, half the
# default pool (allocator.DEFAULT_EVENTS)
CHAIN_MESSAGES = 256
_LENGTH = [0] * 0x80 + [_data_length(s) for s in range(0x80, 0x100)]
_UNDEFINED_REALTIME = (0xF9, 0xFD)


class Unpacker(MXF):
    def __init__(self, allocator: AllocatorMXF) -> None:
        super().__init__(allocator)
        self.dropped = 0
        self.lost = 0
        self.sysex_truncated = 0
        self._reset_parser()

    def _reset_parser(self) -> None:
        self._running = 0  # running status of channel messages, 0 = none
        self._msg = bytearray(3)  # the short message being assembled
        self._have = 0  # bytes of it so far
        self._need = 0  # bytes it needs in all (0 = none in progress)
        self._time = 0
        self._sysex: DMUS_KERNEL_EVENT | None = None  # the SysEx piece being filled
        self._sysex_skip = False  # the rest of a SysEx that found no event or buffer
        self._sysex_sent = False  # pieces of the SysEx in progress went on INCOMPLETE

    # -- IMXF -----------------------------------------------------------------------------
    def PutMessage(self, chain: DMUS_KERNEL_EVENT | None) -> None:
        """Parse raw INCOMPLETE byte events; pass complete ones straight on; unwrap packages."""
        while chain is not None:
            ev = chain
            chain = ev.pNextEvt
            ev.pNextEvt = None
            if ev.usFlags & DMUS_KEF_PACKAGE_EVENT:
                sub, ev.pPackageEvt, ev.cbEvent = ev.pPackageEvt, None, 0
                self.allocator.PutMessage(ev)
                self.PutMessage(sub)
            elif ev.usFlags & DMUS_KEF_EVENT_INCOMPLETE:
                data = ev.abData if ev.cbEvent <= INLINE_SIZE else ev.pbData
                self.put_bytes(
                    memoryview(data)[: ev.cbEvent], ev.ullPresTime100ns, ev.usChannelGroup
                )
                self.allocator.PutMessage(ev)
            else:
                self.sink.PutMessage(ev)

    def on_state(self, old: KSSTATE, new: KSSTATE) -> None:
        if new == KSSTATE.STOP:  # a half-built SysEx piece is held
            if self._sysex is not None and self._sysex_sent:
                # Its first pieces went on INCOMPLETE: this one must end them (found by
                # bench/fuzz/unpacker.py), or the consumer holds a SysEx that never ends.
                self.sink.PutMessage(link_chain(self._sysex_end(False)))
            elif self._sysex is not None:  # nothing of it went on: give it back
                self.allocator.PutMessage(self._sysex)
            self._reset_parser()

    # -- the parser -----------------------------------------------------------------------
    def put_bytes(self, data, time: int, group: int = 1) -> None:
        """Parse `data` (any bytes-like) stamped `time` (100 ns) for channel group `group`."""
        head, _ = self._parse(data, time, group, None, None)
        if head is not None:
            self.sink.PutMessage(head)

    def put_messages(self, messages: Iterable[tuple[int, bytes]], group: int = 1) -> None:
        """Parse each (time in 100 ns, bytes) in turn, as put_bytes would, and send the events
        on in few chains: a song's block of messages crosses the chain once, not once each.

        A chain holds its events out of the pool until the consumer gives them back, so one
        carries at most CHAIN_MESSAGES messages, and a message longer than an event's inline
        bytes (a SysEx: its pieces hold pool buffers) goes in a chain of its own."""
        head = tail = None
        held = 0  # messages parsed into the chain
        for time, data in messages:
            alone = len(data) > INLINE_SIZE
            if head is not None and (alone or held == CHAIN_MESSAGES):
                self.sink.PutMessage(head)
                head = tail = None
            if head is None:
                held = 0
            head, tail = self._parse(data, time, group, head, tail)
            held += 1
            if alone and head is not None:
                self.sink.PutMessage(head)
                head = tail = None
        if head is not None:
            self.sink.PutMessage(head)

    def _parse(self, data, time: int, group: int, head, tail):
        """Parse `data`, appending the events it completes to the chain head .. tail; returns
        the chain's new (head, tail)."""
        alloc = self.allocator
        get = alloc.GetMessage
        msg = self._msg
        have, need, running = self._have, self._need, self._running
        length = _LENGTH
        for b in data:
            if b >= 0xF8:  # real-time: its own event, now, whatever is in progress
                if b in _UNDEFINED_REALTIME:
                    self.dropped += 1
                    continue
                ev = get()
                if ev is None:
                    self.lost += 1
                    continue
                ev.cbEvent = 1
                ev.abData[0] = b
                ev.usChannelGroup = group
                ev.ullPresTime100ns = time
                if tail is None:
                    head = tail = ev
                else:
                    tail.pNextEvt = ev
                    tail = ev
                continue
            if self._sysex is not None or self._sysex_skip:
                if b < 0x80:
                    piece = self._sysex
                    if piece is not None and piece.cbEvent < len(piece.pbData):
                        piece.pbData[piece.cbEvent] = b
                        piece.cbEvent += 1
                        continue
                    full = self._sysex_append(b)
                    if full is not None:
                        if tail is None:
                            head = tail = full
                        else:
                            tail.pNextEvt = full
                            tail = full
                    continue
                last = self._sysex_end(b == 0xF7)
                for ev in last:
                    if tail is None:
                        head = tail = ev
                    else:
                        tail.pNextEvt = ev
                        tail = ev
                if b == 0xF7:
                    continue
                # any other status byte ends the SysEx and then counts as itself
            if b < 0x80:
                if need == 0:  # a new message under running status, or a stray byte
                    if not running:
                        self.dropped += 1
                        continue
                    msg[0] = running
                    have, need = 1, 1 + length[running]
                msg[have] = b
                have += 1
                if have < need:
                    continue
            else:
                n = length[b]
                if n == -1:  # F0: SysEx begins
                    running = need = have = 0
                    self._sysex_begin(time, group)
                    continue
                if n == -2:  # undefined status (F4, F5) or a stray F7
                    running = need = have = 0
                    self.dropped += 1
                    continue
                running = b if b < 0xF0 else 0
                msg[0] = b
                have, need = 1, 1 + n
                if have < need:
                    continue
            # a short message is complete
            ev = get()
            if ev is None:
                self.lost += 1
            else:
                ev.cbEvent = need
                ev.abData[:need] = msg[:need]
                ev.usChannelGroup = group
                ev.ullPresTime100ns = time
                if tail is None:
                    head = tail = ev
                else:
                    tail.pNextEvt = ev
                    tail = ev
            have = need = 0
        self._have, self._need, self._running = have, need, running
        return head, tail

    # -- SysEx pieces ---------------------------------------------------------------------
    def _sysex_begin(self, time: int, group: int) -> None:
        self._sysex_skip = self._sysex_sent = False
        self._sysex = self._new_piece(time, group)
        if self._sysex is None:
            self._sysex_skip = True
            return
        self._sysex.pbData[0] = 0xF0
        self._sysex.cbEvent = 1

    def _new_piece(self, time: int, group: int) -> DMUS_KERNEL_EVENT | None:
        ev = self.allocator.GetMessage()
        if ev is None:
            self.lost += 1
            return None
        buf = self.allocator.GetBuffer()
        if buf is None:
            self.allocator.PutMessage(ev)
            self.lost += 1
            return None
        ev.pbData = buf
        ev.usChannelGroup = group
        ev.ullPresTime100ns = time
        return ev

    def _sysex_append(self, b: int) -> DMUS_KERNEL_EVENT | None:
        """Add a byte to the SysEx in progress; returns a full piece that must go out first."""
        piece = self._sysex
        if piece is None:  # skipping the rest of a SysEx that found no room
            return None
        full = None
        if piece.cbEvent == len(piece.pbData):
            # The piece is full and more follows: it goes out INCOMPLETE only once its successor
            # exists, so that a chain of pieces always ends in a complete one.
            nxt = self._new_piece(piece.ullPresTime100ns, piece.usChannelGroup)
            if nxt is None:
                self._sysex_skip = True
                self.sysex_truncated += 1
                return None
            piece.usFlags |= DMUS_KEF_EVENT_INCOMPLETE
            full, self._sysex, piece = piece, nxt, nxt
            self._sysex_sent = True
        piece.pbData[piece.cbEvent] = b
        piece.cbEvent += 1
        return full

    def _sysex_end(self, terminated: bool) -> list[DMUS_KERNEL_EVENT]:
        """Close the SysEx in progress; returns the pieces still to emit, in order."""
        out = []
        if terminated:
            full = self._sysex_append(0xF7)
            if full is not None:
                out.append(full)
        else:
            self.sysex_truncated += 1
        piece, self._sysex, self._sysex_skip, self._sysex_sent = self._sysex, None, False, False
        if piece is None:
            return out
        if piece.cbEvent <= INLINE_SIZE:  # short enough to travel inline: free the buffer
            piece.abData[: piece.cbEvent] = piece.pbData[: piece.cbEvent]
            self.allocator.PutBuffer(piece.pbData)
            piece.pbData = None
        out.append(piece)
        return out
