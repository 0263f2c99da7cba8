"""ControlWorkers: the threads control requests run on, off the socket's I/O thread.

Reports (ping, status, stats, fonts, inst) run on one, MIDI from `dmusd ctl` (noteon, cc ...)
on another, everything else on a third, one at a time each: a bank load that parses for seconds
holds up other changes but never a status or a note (control_protocol.lane chooses). Each
worker hands (client, reply) back through a queue and wakes the I/O thread. The threads are
daemons: stop() does not wait for a request still running, so a stuck request can never hold up
a shutdown (its reply is dropped).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from dmusd.control_protocol import lane

_STOP = None


class ControlWorkers:
    def __init__(self, handle: Callable[[bytes], bytes], wake: Callable[[], None]) -> None:
        self._handle = handle
        self._wake = wake
        self._done: queue.SimpleQueue[tuple[Any, bytes]] = queue.SimpleQueue()
        self._queues: dict[str, queue.SimpleQueue] = {}
        for kind in ("reports", "midi", "changes"):
            work: queue.SimpleQueue = queue.SimpleQueue()
            self._queues[kind] = work
            threading.Thread(
                target=self._run, args=(work,), name=f"dmusd-control-{kind}", daemon=True
            ).start()

    def submit(self, client: Any, line: bytes) -> None:
        self._queues[lane(line)].put((client, line))

    def finished(self) -> Iterator[tuple[Any, bytes]]:
        """The replies ready since the last call, with their clients."""
        while True:
            try:
                yield self._done.get_nowait()
            except queue.Empty:
                return

    def stop(self) -> None:
        for work in self._queues.values():
            work.put(_STOP)

    def _run(self, work: queue.SimpleQueue) -> None:
        while (item := work.get()) is not _STOP:
            client, line = item
            self._done.put((client, self._handle(line)))  # handle_line never raises
            self._wake()
