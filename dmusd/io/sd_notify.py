"""sd_notify: tell systemd how the service is doing (the sd_notify(3) datagram protocol).

systemd passes a Unix datagram socket in $NOTIFY_SOCKET (a path, or "@name" for the abstract
namespace); each datagram is newline-separated KEY=VALUE lines: READY=1, STATUS=..., WATCHDOG=1,
STOPPING=1, EXTEND_TIMEOUT_USEC=N (start-up goes on: wait N more microseconds from now). Without
$NOTIFY_SOCKET (not run by systemd) every call does nothing. The protocol is a dozen lines, so it
is written here rather than pulling in a dependency.

The watchdog (WatchdogSec= in the unit, $WATCHDOG_USEC here) wants WATCHDOG=1 more often than
its interval; Watchdog pings from its own thread at half the interval, but only while `healthy()`
says so (for the daemon: audio callbacks keep arriving), so a stalled audio path stops the pings
and systemd restarts the service. Sends never block: a message systemd has no room for is
dropped (and logged at debug level), so the caller goes on.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

log = logging.getLogger("dmusd.notify")


class Notifier:
    """A connection to systemd's notify socket (or nothing, when there is none)."""

    def __init__(self, address: str | None = None) -> None:
        address = os.environ.get("NOTIFY_SOCKET", "") if address is None else address
        self.address: str | bytes | None = None
        self._socket: socket.socket | None = None
        if not address:
            return
        if address.startswith("@"):  # abstract namespace: a leading NUL byte
            self.address = b"\0" + address[1:].encode()
        elif address.startswith("/"):
            self.address = address
        else:
            log.warning("NOTIFY_SOCKET=%r is neither a path nor @abstract: not notifying", address)
            return
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def notify(self, *lines: str) -> bool:
        """Send KEY=VALUE lines as one datagram; False when there is no socket or it failed."""
        if self._socket is None:
            return False
        try:
            # Never waits: a notify socket nobody reads (its queue holds 10 datagrams) must not
            # stop the main loop, which sends STATUS between looks at signals and the audio.
            self._socket.sendto("\n".join(lines).encode(), socket.MSG_DONTWAIT, self.address)
            return True
        except OSError as error:
            log.debug("sd_notify failed: %s", error)
            return False

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def stopping(self, status: str = "") -> bool:
        return self.notify("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def extend_timeout(self, seconds: float, status: str = "") -> bool:
        """Ask for `seconds` more of TimeoutStartSec from now (only before READY=1)."""
        usec = f"EXTEND_TIMEOUT_USEC={round(seconds * 1e6)}"
        return self.notify(usec, *([f"STATUS={status}"] if status else []))

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def watchdog_interval() -> float | None:
    """The watchdog interval in seconds systemd asked for, or None (no watchdog for us)."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None  # meant for another process (we were started by a wrapper)
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1e6 if value > 0 else None


class _NotifyThread:
    """A thread of its own that sends to systemd until stop()."""

    name = "sd-notify"

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1.0)


class Watchdog(_NotifyThread):
    """Pings WATCHDOG=1 every interval/2 from its own thread while `healthy()` is true."""

    name = "watchdog"

    def __init__(self, notifier: Notifier, interval: float, healthy: Callable[[], bool]) -> None:
        super().__init__(notifier)
        self.interval = interval
        self.healthy = healthy
        self.pings = 0

    def _run(self) -> None:
        period = self.interval / 2
        silent = False
        while not self._stop.wait(period):
            if self.healthy():
                silent = False
                if self.notifier.watchdog():
                    self.pings += 1
            elif not silent:
                silent = True
                log.error("watchdog: the audio path stalled; no more pings (systemd will act)")


class StartTimeoutExtender(_NotifyThread):
    """While a long start-up step runs (a cold compile), EXTEND_TIMEOUT_USEC every `period`
    seconds from its own thread, each asking for `extension` seconds from then: systemd keeps
    waiting as long as the step makes progress, and gives up `extension` seconds after the
    process stops asking (hung), whatever TimeoutStartSec says."""

    name = "start-timeout"

    def __init__(
        self, notifier: Notifier, status: str, period: float = 10.0, extension: float = 30.0
    ) -> None:
        super().__init__(notifier)
        self.status = status
        self.period = period
        self.extension = extension
        self.sent = 0

    def start(self) -> None:
        if self.notifier.enabled:
            super().start()

    def _run(self) -> None:
        while True:
            if self.notifier.extend_timeout(self.extension, self.status):
                self.sent += 1
            if self._stop.wait(self.period):
                return
