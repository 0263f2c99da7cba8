"""Client: one control connection's state, as the control server's I/O thread keeps it.

Everything here is touched by that thread only (workers get a request line and give a reply
back). The bounds: at most MAX_LINE bytes of an unfinished request line (a longer one is
answered with an error and skipped to its newline), one request on a worker, one reply being
sent; nothing more is read while a request runs or a complete line waits, so a client that
floods or never reads costs the server a line and a reply, and its own socket buffer the rest.
"""

from __future__ import annotations

import selectors
import socket

from dmusd.control_protocol import MAX_LINE, error_line


def too_long() -> bytes:
    return error_line(f"request line longer than {MAX_LINE} bytes: skipped", "request")


class Client:
    __slots__ = (
        "sock", "inbox", "skipping", "out", "busy", "hung_up", "registered", "last_active",
        "partial_since", "unsent_since",
    )  # fmt: skip

    def __init__(self, sock: socket.socket, now: float) -> None:
        self.sock = sock
        self.inbox = bytearray()  # received, not yet taken as a line
        self.skipping = False  # inside a line that was too long: drop up to its newline
        self.out = bytearray()  # the reply not yet sent
        self.busy = False  # a request of this client is on a worker
        self.hung_up = False  # the client will send nothing more
        self.registered = False  # in the server's selector
        self.last_active = now  # a request taken or a reply sent
        self.partial_since: float | None = None  # an unfinished line is waiting since
        self.unsent_since: float | None = None  # a reply is waiting to be read since

    # -- what the server should watch for ---------------------------------------------------
    @property
    def ready_for_input(self) -> bool:
        return (
            not self.busy
            and not self.hung_up
            and len(self.inbox) <= MAX_LINE
            and b"\n" not in self.inbox
        )

    @property
    def ready_for_request(self) -> bool:
        return not self.busy and not self.out

    @property
    def finished(self) -> bool:
        return self.hung_up and not self.busy and not self.out and b"\n" not in self.inbox

    @property
    def events(self) -> int:
        return (selectors.EVENT_READ if self.ready_for_input else 0) | (
            selectors.EVENT_WRITE if self.out else 0
        )

    # -- I/O (non-blocking) ------------------------------------------------------------------
    def receive(self, now: float) -> None:
        """Read what the socket has (raises OSError on a reset); an end of file marks the
        client hung up."""
        try:
            data = self.sock.recv(MAX_LINE + 1)
        except (BlockingIOError, InterruptedError):
            return
        if not data:
            self.hung_up = True
            return
        if self.skipping:
            newline = data.find(b"\n")
            if newline < 0:
                return
            self.skipping = False
            data = data[newline + 1 :]
        if data and not self.inbox:
            self.partial_since = now
        self.inbox += data

    def flush(self, now: float) -> None:
        """Send what the socket takes of the waiting reply (raises OSError when gone)."""
        if not self.out:
            return
        try:
            sent = self.sock.send(self.out)
        except (BlockingIOError, InterruptedError):
            return
        del self.out[:sent]
        if not self.out:
            self.unsent_since = None
            self.last_active = now

    # -- requests and replies ----------------------------------------------------------------
    def take(self, now: float) -> tuple[bytes | None, bytes | None] | None:
        """The next request line (request, None), or a reply made here for a line too long
        (None, reply), or None when no complete line is waiting."""
        newline = self.inbox.find(b"\n")
        if newline >= 0:
            line = bytes(self.inbox[:newline])
            del self.inbox[: newline + 1]
            self.last_active = now
            self.partial_since = now if self.inbox else None
            return (None, too_long()) if len(line) > MAX_LINE else (line, None)
        if len(self.inbox) > MAX_LINE:
            self.inbox.clear()
            self.skipping = True
            self.partial_since = now
            return None, too_long()
        return None

    def answered(self, reply: bytes, now: float) -> None:
        self.busy = False
        self.out += reply
        if self.unsent_since is None:
            self.unsent_since = now

    def overdue(self, now: float, idle: float, slow: float) -> str | None:
        """Why this client should be closed now, or None."""
        if self.busy:
            return None  # its own request is running: not the client's delay
        if self.out and now - self.unsent_since > slow:
            return f"did not read its reply for {slow:g} s"
        if (self.inbox or self.skipping) and now - (self.partial_since or now) > slow:
            return f"left a request line unfinished for {slow:g} s"
        if not self.out and not self.inbox and now - self.last_active > idle:
            return f"asked nothing for {idle:g} s"
        return None
