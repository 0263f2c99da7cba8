"""Saying so when numba compiles the voice engine, and keeping systemd patient meanwhile.

numba fires its "numba:compile" event only on a cache miss, never for machine code it loads from
its cache, so a warm start says nothing and a cold one logs one line when the first compile
begins and one with the time taken when the watched steps end. While compiling, a unit started
with Type=notify hears EXTEND_TIMEOUT_USEC every few seconds (sd_notify.StartTimeoutExtender),
so a slow machine's first start is not killed by TimeoutStartSec.
"""

from __future__ import annotations

import logging
import time

from numba.core import event

from dmusd.io.sd_notify import Notifier, StartTimeoutExtender
from dmusd.user_cache import numba_cache_dir

log = logging.getLogger("dmusd")

COMPILING = "compiling the voice engine"


class CompileWatch(event.Listener):
    """A context manager around steps that may compile: logs and extends on the first compile."""

    def __init__(self, notifier: Notifier | None = None) -> None:
        self.notifier = notifier or Notifier(address="")
        self.started: float | None = None  # monotonic time of the first compile
        self.seconds = 0.0  # how long the watched steps took from that compile on
        self._extender: StartTimeoutExtender | None = None

    def __enter__(self) -> CompileWatch:
        event.register("numba:compile", self)
        return self

    def __exit__(self, *exc: object) -> None:
        event.unregister("numba:compile", self)
        if self._extender is not None:
            self._extender.stop()
        if self.started is not None:
            self.seconds = time.monotonic() - self.started
            if exc[0] is None:
                log.info("voice engine compiled in %.1f s (cached for later starts)", self.seconds)

    def on_start(self, ev: event.Event) -> None:
        if self.started is not None:
            return
        self.started = time.monotonic()
        log.info(
            "%s: numba found no cached machine code in %s (once; about a minute)",
            COMPILING,
            numba_cache_dir(),
        )
        self._extender = StartTimeoutExtender(self.notifier, COMPILING)
        self._extender.start()

    def on_end(self, ev: event.Event) -> None:
        """Nothing: nested compiles end many times; the watched steps' end is what counts."""
