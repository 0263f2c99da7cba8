"""Test doubles and paths shared across the suite (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path

from dmusd.kernel.allocator import AllocatorMXF
from dmusd.kernel.event import DMUS_KERNEL_EVENT, iter_chain
from dmusd.kernel.mxf import MXF

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


class Collector(MXF):
    """A consumer node: records what reaches it, then returns the events to the allocator."""

    def __init__(self, allocator: AllocatorMXF) -> None:
        super().__init__(allocator)
        self.received: list[tuple[int, int, int, bytes]] = []  # (time, group, flags, data)
        self.calls = 0

    def PutMessage(self, chain: DMUS_KERNEL_EVENT | None) -> None:
        self.calls += 1
        for ev in iter_chain(chain):
            self.received.append((ev.ullPresTime100ns, ev.usChannelGroup, ev.usFlags, ev.data()))
        self.allocator.PutMessage(chain)

    def messages(self) -> list[bytes]:
        """Payloads with the INCOMPLETE pieces of each SysEx joined back into one message."""
        out, pending = [], b""
        for _, _, flags, data in self.received:
            if flags & 1:
                pending += data
            elif pending and len(data) == 1 and data[0] >= 0xF8:
                out.append(data)  # real-time bytes may come between a SysEx's pieces
            else:
                out.append(pending + data)
                pending = b""
        assert pending == b"", "a SysEx ended on an INCOMPLETE piece"
        return out


class ManualClock:
    """A master clock a test sets by hand (100 ns units)."""

    def __init__(self, now: int = 0) -> None:
        self.now = now

    def GetTime(self) -> int:
        return self.now


def resident_mb() -> float:
    """This process's resident set (VmRSS of /proc/self/status), in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")
