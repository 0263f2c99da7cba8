"""LateCollector: frees an unloaded bank's samples once the engine lets go of them.

An unloaded wave can be freed only when the engine has rendered a block with the tables that no
longer reach it and no voice still plays it, which is some time after the UNLOAD returns. Without
a later `collect()` its memory would wait for the next download or unload; this helper thread
retries while something waits, then ends. It holds the manager only weakly, so a closed pin's
manager goes away with its thread.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable


class LateCollector:
    """Calls a collect method every `interval` seconds until it says nothing waits."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()  # never held while collecting (the caller holds its own)
        self._thread: threading.Thread | None = None
        self._again = False  # start() came while a round was collecting

    def start(self, collect: Callable[[], bool]) -> None:
        """Retry `collect` (a bound method; True while something still waits) until False."""
        with self._lock:
            self._again = True
            if self._thread is None:
                ref = weakref.WeakMethod(collect)
                self._thread = threading.Thread(
                    target=self._run, args=(ref,), name="dmusd-collect", daemon=True
                )
                self._thread.start()

    def _run(self, ref: weakref.WeakMethod) -> None:
        while True:
            time.sleep(self.interval)
            with self._lock:
                self._again = False
            collect = ref()
            waiting = collect is not None and collect()
            del collect  # the thread must not keep the manager alive while it sleeps
            with self._lock:
                if not waiting and (not self._again or ref() is None):
                    self._thread = None
                    return
