"""StreamInput: the IMXF end of a pin's chain, turning kernel events into event-ring records.

SynthStream.PutMessage hands its chains here, on whatever thread feeds the pin. Each event
becomes one fixed-size record for the compiled pin call (engine/pin_layout.py EV_*): its
sample from the stream's RefTimeToSample (time 0: as soon as possible), its channel group
(0-based; group 0 of the DDI, every group, is -1) and its bytes. SysEx pieces flagged INCOMPLETE
are joined per channel group, and a whole SysEx is decoded here into the compact parameter
record of what it asks for (sysex.py): the audio thread never parses one. Package events are
unwrapped (the wrapper's pointer cleared first, the DDI rule). Every event goes back to the
allocator as soon as its record is written; a full ring loses the record and counts it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from dmusd.kernel.event import DMUS_KEF_EVENT_INCOMPLETE, DMUS_KEF_PACKAGE_EVENT, DMUS_KERNEL_EVENT
from dmusd.synth import sysex as S
from dmusd.synth.engine import pin_layout as P
from dmusd.synth.event_ring import EventRing

MAX_SYSEX = 65536  # bytes a joined SysEx may reach; longer ones are dropped

_SYSEX_KINDS = {
    S.GM_ON: P.EK_GM_ON,
    S.GM2_ON: P.EK_GM2_ON,
    S.GS_RESET: P.EK_GS_RESET,
    S.XG_ON: P.EK_XG_ON,
    S.GS_RHYTHM: P.EK_GS_RHYTHM,
    S.MASTER_VOLUME: P.EK_MASTER_VOLUME,
    S.MASTER_FINE_TUNING: P.EK_MASTER_FINE,
    S.MASTER_COARSE_TUNING: P.EK_MASTER_COARSE,
    S.SCALE_TUNING: P.EK_SCALE_TUNING,
}


class StreamInput:
    def __init__(self, ring: EventRing) -> None:
        self.ring = ring
        self.groups = 1  # channel groups of the synth now (set by the stream)
        self.to_sample: Callable[[int], int] = lambda ref: 0  # the stream's RefTimeToSample
        self._sysex: dict[int, bytearray] = {}  # INCOMPLETE pieces by channel group
        self._lock = threading.Lock()
        self.stray = 0  # events for a channel group the synth does not have
        self.sysex_dropped = 0  # SysEx cut short or longer than MAX_SYSEX

    def put(self, chain: DMUS_KERNEL_EVENT) -> DMUS_KERNEL_EVENT | None:
        """Write a chain's events to the ring; returns them as one chain, for the allocator."""
        done: DMUS_KERNEL_EVENT | None = None
        todo = deque([chain])
        with self._lock:
            while todo:
                ev = todo.popleft()
                while ev is not None:
                    nxt = ev.pNextEvt
                    if ev.usFlags & DMUS_KEF_PACKAGE_EVENT:
                        # unwrap, and clear the pointer before the wrapper goes home (DDI rule);
                        # the package's events follow the rest of this chain
                        sub, ev.pPackageEvt, ev.cbEvent = ev.pPackageEvt, None, 0
                        if sub is not None:
                            todo.appendleft(sub)
                    else:
                        self._record(ev)
                    ev.pNextEvt = done
                    done = ev
                    ev = nxt
        return done

    def clear(self) -> None:
        with self._lock:
            self._sysex.clear()

    def _record(self, ev: DMUS_KERNEL_EVENT) -> None:
        data = self._message(ev)
        if not data:
            return
        group = ev.usChannelGroup
        if group == 0:
            target = -1  # every group
        elif group <= self.groups:
            target = group - 1
        else:
            self.stray += 1
            return
        t = ev.ullPresTime100ns
        sample = P.ASAP if t == 0 else self.to_sample(t)
        status = data[0]
        if status == 0xF0:
            action = S.decode_sysex(bytes(data))
            kind = None if action is None else _SYSEX_KINDS.get(action.kind)
            if kind == P.EK_SCALE_TUNING:  # one record per channel and pitch class
                now = int(action.realtime)  # 1: retune the notes sounding too
                for channel in action.channels:
                    for pitch_class, cents in enumerate(action.cents):
                        self.ring.put(sample, target, kind, channel, pitch_class, now, cents)
            elif kind is not None:
                self.ring.put(sample, target, kind, action.channel, 0, 0, action.value)
        elif 0x80 <= status < 0xF0:
            b = data[1] & 0x7F if len(data) > 1 else 0
            c = data[2] & 0x7F if len(data) > 2 else 0
            self.ring.put(sample, target, P.EK_MIDI, status, b, c)
        # system common and real-time messages do nothing to a synth's channels

    def _message(self, ev: DMUS_KERNEL_EVENT) -> bytes:
        """The complete message an event finishes (SysEx pieces joined per channel group);
        empty for a piece that is not the last."""
        group = ev.usChannelGroup
        data = ev.data()
        pending = self._sysex.get(group)
        if ev.usFlags & DMUS_KEF_EVENT_INCOMPLETE:
            if pending is None:
                self._sysex[group] = bytearray(data)
            elif len(pending) + len(data) > MAX_SYSEX:
                del self._sysex[group]
                self.sysex_dropped += 1
            else:
                pending += data
            return b""
        if pending is not None and data and (data[0] < 0x80 or data[0] == 0xF7):
            del self._sysex[group]
            return bytes(pending) + data  # the last piece of a SysEx
        if pending is not None and not (len(data) == 1 and data[0] >= 0xF8):
            del self._sysex[group]  # a SysEx cut short by another message
            self.sysex_dropped += 1
        return data
