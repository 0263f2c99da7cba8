"""ControlServer: the daemon's Unix control socket (JSON lines, see control_protocol.py).

Safety: the socket's folder is created 0700 when missing (an existing folder must be ours or
root's and not writable by others unless sticky, as /tmp is); the socket is made 0600 before it
listens, and every connection's peer uid (SO_PEERCRED) must be ours, else it gets one error line
and is closed. A socket file left by a dead daemon is removed; one a live daemon answers on
makes start() refuse, so two daemons never fight over it.

One thread serves everything: it accepts, reads each connection's lines as they come
(a selector over the listening socket and the clients) and answers each request in turn, so
control requests never run two at a time. A line longer than MAX_LINE gets an error reply and
is skipped up to its newline, so no client can make the server hold more than MAX_LINE bytes.
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
from collections.abc import Callable

from dmusd.control_protocol import MAX_LINE, ControlProtocol, error_line
from dmusd.errors import DmusdError
from dmusd.service import SynthService

log = logging.getLogger("dmusd.control")

MAX_CLIENTS = 16  # connections open at once; more are refused with an error line
SEND_TIMEOUT = 2.0  # seconds a reply may wait for a client that does not read
_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


class _Client:
    __slots__ = ("sock", "pending", "skipping")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pending = bytearray()  # bytes of a line not yet complete
        self.skipping = False  # inside a line that was too long: drop up to its newline


class ControlServer:
    """Serves `service` on the Unix socket `path`; `reload()` is the daemon's config reload."""

    def __init__(
        self,
        path: str,
        service: SynthService,
        reload: Callable[[], dict],
        *,
        uid: int | None = None,
    ) -> None:
        self.path = path
        self.protocol = ControlProtocol(service, reload)
        self.uid = os.getuid() if uid is None else uid  # the peer uid accepted
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._clients: dict[socket.socket, _Client] = {}
        self._inode: tuple[int, int] | None = None
        self.refused = 0  # connections closed for a wrong peer uid or too many clients

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
        self._thread = threading.Thread(target=self._serve, name="dmusd-control", daemon=True)
        self._thread.start()
        log.info("control socket listening on %s", self.path)

    def stop(self) -> None:
        """Stop serving, close every connection and remove the socket file (if still ours)."""
        if self._thread is not None and self._wake is not None:
            self._wake[1].send(b"x")
            self._thread.join(timeout=5.0)
            self._thread = None
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

    # -- the server thread --------------------------------------------------------------------
    def _serve(self) -> None:
        assert self._listener is not None and self._wake is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ, "accept")
            selector.register(self._wake[0], selectors.EVENT_READ, "stop")
            while True:
                for key, _ in selector.select():
                    if key.data == "stop":
                        return
                    if key.data == "accept":
                        self._accept(selector)
                    else:
                        self._read(selector, key.data)

    def _accept(self, selector: selectors.BaseSelector) -> None:
        try:
            sock, _ = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        sock.setblocking(True)
        sock.settimeout(SEND_TIMEOUT)  # recv only runs when data is there; this bounds sends
        uid = _peer_uid(sock)
        if uid != self.uid:
            self._refuse(sock, f"peer uid {uid} is not the daemon's uid {self.uid}")
            return
        if len(self._clients) >= MAX_CLIENTS:
            self._refuse(sock, f"too many control connections (at most {MAX_CLIENTS})")
            return
        client = _Client(sock)
        self._clients[sock] = client
        selector.register(sock, selectors.EVENT_READ, client)

    def _refuse(self, sock: socket.socket, why: str) -> None:
        self.refused += 1
        log.warning("control socket: %s; connection closed", why)
        with contextlib.suppress(OSError):
            sock.sendall(error_line(why, "control socket"))
        sock.close()

    def _read(self, selector: selectors.BaseSelector, client: _Client) -> None:
        try:
            data = client.sock.recv(MAX_LINE)
        except OSError:
            data = b""
        if not data:
            self._drop(selector, client)
            return
        try:
            for reply in self._lines(client, data):
                client.sock.sendall(reply)
        except OSError:  # the client went away or does not read its replies
            self._drop(selector, client)

    def _lines(self, client: _Client, data: bytes):
        """The replies to the complete lines in `data`; a client never holds more than MAX_LINE
        bytes of an incomplete line."""
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            if client.skipping:
                client.skipping = False
            elif len(client.pending) + end - start > MAX_LINE:
                yield _too_long()
            else:
                yield self.protocol.handle_line(bytes(client.pending) + data[start:end])
            client.pending.clear()
            start = end + 1
        if not client.skipping and start < len(data):
            if len(client.pending) + len(data) - start > MAX_LINE:
                client.pending.clear()
                client.skipping = True
                yield _too_long()
            else:
                client.pending += data[start:]

    def _drop(self, selector: selectors.BaseSelector, client: _Client) -> None:
        selector.unregister(client.sock)
        self._clients.pop(client.sock, None)
        client.sock.close()


def _too_long() -> bytes:
    return error_line(f"request line longer than {MAX_LINE} bytes: skipped", "request")


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
