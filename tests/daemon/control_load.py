"""Control-plane load on a running daemon, for the dropout test and bench/dropouts.py.

One thread loads a bank onto a pin and unloads it again, `cycles` times; with `status=True`
another sends `status` requests back to back for as long as the loads run. Both go through the
control socket, so they cost the daemon what a user's `dmusd ctl` would: parsing the bank and
downloading it while the audio callback plays.

`ctl(cmd, **args) -> reply` is the daemon's request function (Daemon.ctl in the tests,
dmusd.commands.ctl.send in the bench). A failed request is kept in `errors`, never raised in
the thread, so the caller sees it after join().
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Ctl = Callable[..., dict]


class ControlLoad:
    def __init__(
        self, ctl: Ctl, pin: str, path: str, cycles: int, pause: float = 0.1, status: bool = False
    ) -> None:
        self.ctl, self.pin, self.path, self.cycles, self.pause = ctl, pin, path, cycles, pause
        self.load_seconds: list[float] = []
        self.unload_seconds: list[float] = []
        self.status_requests = 0
        self.status_max_seconds = 0.0  # the longest wait for a status reply (it waits for loads)
        self.errors: list[str] = []
        self.started = self.finished = 0.0  # time.monotonic() around the load cycles
        self._done = threading.Event()
        self._threads = [threading.Thread(target=self._cycle, daemon=True)]
        if status:
            self._threads.append(threading.Thread(target=self._poll, daemon=True))

    def start(self) -> ControlLoad:
        self.started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def join(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
        if any(thread.is_alive() for thread in self._threads):
            self._done.set()  # the status thread stops; a hung load stays an error
            self.errors.append(f"control load still running after {timeout:g} s")

    @property
    def seconds(self) -> float:
        """How long the load cycles took."""
        return self.finished - self.started

    def _request(self, cmd: str, **args) -> dict | None:
        try:
            reply = self.ctl(cmd, **args)
        except Exception as error:  # any failure: the caller reports it after join()
            self.errors.append(f"{cmd}: {error!r}")
            return None
        if not reply.get("ok"):
            self.errors.append(f"{cmd}: {reply}")
            return None
        return reply["result"]

    def _cycle(self) -> None:
        try:
            for _ in range(self.cycles):
                t = time.monotonic()
                loaded = self._request("load", pin=self.pin, path=self.path)
                if loaded is None:
                    return
                self.load_seconds.append(time.monotonic() - t)
                time.sleep(self.pause)  # notes start on the loaded bank meanwhile
                t = time.monotonic()
                if self._request("unload", pin=self.pin, bank=loaded["bank"]) is None:
                    return
                self.unload_seconds.append(time.monotonic() - t)
                time.sleep(self.pause)
        finally:
            self.finished = time.monotonic()
            self._done.set()

    def _poll(self) -> None:
        while not self._done.is_set():
            t = time.monotonic()
            if self._request("status") is None:
                return
            self.status_max_seconds = max(self.status_max_seconds, time.monotonic() - t)
            self.status_requests += 1
