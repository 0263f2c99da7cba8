"""ControlServer: the daemon's Unix control socket (JSON lines, see control_protocol.py).

Safety: the socket's folder is created 0700 when missing (an existing folder must be ours or
root's and not writable by others unless sticky, as /tmp is); the socket is made 0600 before it
listens, and every connection's peer uid (SO_PEERCRED) must be ours, else it gets one error line
and is closed. A socket file left by a dead daemon is removed; one a live daemon answers on
makes start() refuse, so two daemons never fight over it.

No client can hold the server up (control_clients.py holds the per-connection state):
- One I/O thread owns every socket, all non-blocking, behind a selector: it accepts, reads,
  writes and times out; it never waits for one client, and never runs a request itself.
- Requests run on two workers (control_workers.py): reports (ping, status, stats) on one,
  everything else (loads, reloads, volume, properties) one at a time on the other, so a long
  bank load never keeps a `ctl status` waiting for more than the moment the service lock holds.
- A client has at most one request running and one reply waiting to be sent; until the reply is
  out, nothing more is read from it. So the server holds at most one request line (MAX_LINE)
  and one reply per client, and one that sends without reading only fills its own socket.
- Timeouts: a client that keeps a reply unread or a request line unfinished for SLOW_TIMEOUT
  seconds, or asks nothing for IDLE_TIMEOUT seconds, is closed with one error line.
- A slot for a newcomer: when MAX_CLIENTS are connected, the one that has been quiet longest
  (and has no request running) is closed to make room, so idle connections cannot lock out a
  `ctl status`; only when every client is in the middle of a request is a newcomer refused.
A line longer than MAX_LINE gets an error reply and is skipped up to its newline.
stop() wakes the thread, closes every socket and removes the socket file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import socket
import stat
import struct
import threading
import time
from collections.abc import Callable

from dmusd.control_protocol import ControlProtocol, error_line
from dmusd.errors import DmusdError
from dmusd.io.control_clients import Client
from dmusd.io.control_workers import ControlWorkers
from dmusd.service import SynthService

log = logging.getLogger("dmusd.control")

MAX_CLIENTS = 16  # connections open at once; the quietest makes room for a new one
IDLE_TIMEOUT = 300.0  # seconds a connection may ask nothing
SLOW_TIMEOUT = 10.0  # seconds a reply may stay unread or a request line unfinished
TICK = 0.5  # seconds between looks at the clients' timeouts when nothing happens
_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


class ControlServer:
    """Serves `service` on the Unix socket `path`; `reload()` is the daemon's config reload."""

    def __init__(
        self,
        path: str,
        service: SynthService,
        reload: Callable[[], dict],
        *,
        uid: int | None = None,
        idle_timeout: float = IDLE_TIMEOUT,
        slow_timeout: float = SLOW_TIMEOUT,
    ) -> None:
        self.path = path
        self.protocol = ControlProtocol(service, reload)
        self.uid = os.getuid() if uid is None else uid  # the peer uid accepted
        self.idle_timeout = idle_timeout
        self.slow_timeout = slow_timeout
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._stopping = False
        self._workers: ControlWorkers | None = None
        self._clients: dict[socket.socket, Client] = {}
        self._inode: tuple[int, int] | None = None
        self.refused = 0  # connections closed for a wrong peer uid or too many clients
        self.timed_out = 0  # connections closed for being idle or slow
        self.evicted = 0  # quiet connections closed to make room for a new one

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Bind and listen, then serve on a thread. Raises DmusdError naming the path."""
        if len(os.fsencode(self.path)) > 107:
            raise DmusdError("the socket path is longer than 107 bytes", where=self.path)
        _prepare_folder(os.path.dirname(os.path.abspath(self.path)))
        _remove_stale(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(self.path)
            os.chmod(self.path, 0o600)
            listener.listen(MAX_CLIENTS)
            listener.setblocking(False)
            st = os.stat(self.path)
        except OSError as error:
            listener.close()
            raise DmusdError(
                f"cannot listen on the control socket: {error.strerror or error}", where=self.path
            ) from None
        self._inode = (st.st_dev, st.st_ino)
        self._listener = listener
        self._wake = socket.socketpair()
        for end in self._wake:
            end.setblocking(False)
        self._stopping = False
        self._workers = ControlWorkers(self.protocol.handle_line, self._wake_up)
        self._thread = threading.Thread(target=self._serve, name="dmusd-control", daemon=True)
        self._thread.start()
        log.info("control socket listening on %s", self.path)

    def stop(self) -> None:
        """Stop serving, close every connection and remove the socket file (if still ours).
        A request still running on a worker is left to finish on its own (its reply is lost)."""
        if self._thread is not None:
            self._stopping = True
            self._wake_up()
            self._thread.join(timeout=5.0)
            self._thread = None
        if self._workers is not None:
            self._workers.stop()
            self._workers = None
        for client in list(self._clients.values()):
            client.sock.close()
        self._clients.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._wake is not None:
            for s in self._wake:
                s.close()
            self._wake = None
        try:
            st = os.stat(self.path)
            if (st.st_dev, st.st_ino) == self._inode:
                os.unlink(self.path)
        except OSError:
            pass  # already gone
        self._inode = None

    def __enter__(self) -> ControlServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wake_up(self) -> None:
        """Make the I/O thread look again (from a worker, or stop())."""
        wake = self._wake
        if wake is None:
            return  # stopped
        with contextlib.suppress(OSError):  # full: a wake-up is pending anyway; closed: stopped
            wake[1].send(b"x")

    # -- the I/O thread -----------------------------------------------------------------------
    def _serve(self) -> None:
        assert self._listener is not None and self._wake is not None
        with selectors.DefaultSelector() as selector:
            self._selector = selector
            selector.register(self._listener, selectors.EVENT_READ, None)
            selector.register(self._wake[0], selectors.EVENT_READ, None)
            while not self._stopping:
                # with no client there is no timeout to look at: sleep until one comes
                for key, events in selector.select(TICK if self._clients else None):
                    if key.fileobj is self._wake[0]:
                        with contextlib.suppress(OSError):
                            self._wake[0].recv(4096)
                    elif key.fileobj is self._listener:
                        self._accept()
                    else:
                        try:
                            self._io(key.data, events)
                        except Exception:  # a bug: lose this connection, never the server
                            log.exception("control socket: a connection failed")
                            self._drop(key.data, None)
                if self._stopping:
                    return
                for client, reply in self._workers.finished():
                    if client.sock in self._clients:
                        client.answered(reply, time.monotonic())
                        self._advance(client)
                self._expire(time.monotonic())

    def _accept(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except OSError:  # gone again, or out of descriptors: the next one may work
            return
        sock.setblocking(False)
        uid = _peer_uid(sock)
        if uid != self.uid:
            self.refused += 1
            self._close(sock, f"peer uid {uid} is not the daemon's uid {self.uid}", "refused")
            return
        if len(self._clients) >= MAX_CLIENTS and not self._make_room():
            self.refused += 1
            self._close(
                sock,
                f"too many control connections (at most {MAX_CLIENTS}, each with a request "
                "running)",
                "refused",
            )
            return
        client = Client(sock, time.monotonic())
        self._clients[sock] = client
        self._watch(client)

    def _make_room(self) -> bool:
        """Close the connection quiet for longest (no request running) for a newcomer."""
        waiting = [c for c in self._clients.values() if not c.busy]
        if not waiting:
            return False
        quietest = min(waiting, key=lambda c: c.last_active)
        self.evicted += 1
        self._drop(quietest, "closed to make room for a new connection (this one was quietest)")
        return True

    def _io(self, client: Client, events: int) -> None:
        if client.sock not in self._clients:
            return  # closed earlier in this round (made room for a newcomer)
        try:
            if events & selectors.EVENT_WRITE:
                client.flush(time.monotonic())
            if events & selectors.EVENT_READ:
                client.receive(time.monotonic())
        except OSError:  # reset, or the peer went away mid-reply
            self._drop(client, None)
            return
        self._advance(client)

    def _advance(self, client: Client) -> None:
        """Hand the client's next complete line to a worker when it may have one, then watch
        its socket for what it needs next."""
        if client.sock not in self._clients:
            return
        now = time.monotonic()
        try:
            client.flush(now)
        except OSError:
            self._drop(client, None)
            return
        while client.ready_for_request:
            taken = client.take(now)
            if taken is None:
                break
            request, reply = taken
            if request is not None:
                client.busy = True
                self._workers.submit(client, request)
            else:  # a reply made here (a line too long): no worker needed
                client.answered(reply, now)
                try:
                    client.flush(now)
                except OSError:
                    self._drop(client, None)
                    return
        if client.finished:  # hung up, and every request it sent is answered and sent
            self._drop(client, None)
            return
        self._watch(client)

    def _watch(self, client: Client) -> None:
        events = client.events
        registered = client.registered
        if events and registered:
            self._selector.modify(client.sock, events, client)
        elif events:
            self._selector.register(client.sock, events, client)
        elif registered:
            self._selector.unregister(client.sock)
        client.registered = bool(events)

    def _expire(self, now: float) -> None:
        for client in list(self._clients.values()):
            why = client.overdue(now, self.idle_timeout, self.slow_timeout)
            if why:
                self.timed_out += 1
                log.info("control socket: a client %s; connection closed", why)
                self._drop(client, f"connection closed: {why}")

    def _drop(self, client: Client, why: str | None) -> None:
        if client.registered:
            self._selector.unregister(client.sock)
            client.registered = False
        self._clients.pop(client.sock, None)
        if why is not None:
            self._close(client.sock, why, "closed")
        else:
            client.sock.close()

    def _close(self, sock: socket.socket, why: str, verb: str) -> None:
        """One error line if the socket takes it at once, then close: never waits."""
        if verb == "refused":
            log.warning("control socket: %s; connection refused", why)
        with contextlib.suppress(OSError):
            sock.send(error_line(why, "control socket"))
        sock.close()


def _peer_uid(sock: socket.socket) -> int:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    return _UCRED.unpack(creds)[1]


def _prepare_folder(folder: str) -> None:
    """Create the socket's folder 0700, or check that an existing one is safe to use."""
    if not os.path.isdir(folder):
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            os.chmod(folder, 0o700)
        except OSError as error:
            raise DmusdError(
                f"cannot create the control socket's folder: {error.strerror or error}",
                where=folder,
            ) from None
        return
    st = os.stat(folder)
    if st.st_uid not in (os.getuid(), 0):
        raise DmusdError(
            f"the control socket's folder belongs to uid {st.st_uid}, not to us", where=folder
        )
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        raise DmusdError(
            "the control socket's folder is writable by others (make it 0700)", where=folder
        )


def _remove_stale(path: str) -> None:
    """Remove a socket file no one listens on; refuse when a live daemon answers on it."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise DmusdError(
            "exists and is not a socket: remove it or set control.socket to another path",
            where=path,
        )
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        os.unlink(path)  # stale: its daemon is gone
        return
    except OSError as error:
        raise DmusdError(
            f"cannot check the existing control socket: {error.strerror or error}", where=path
        ) from None
    finally:
        probe.close()
    raise DmusdError(
        "another dmusd is running and answers on this control socket "
        "(stop it, or set control.socket to another path)",
        where=path,
    )
