"""sd_notify against a real datagram socket standing in for systemd's."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid

import pytest

from dmusd.io.sd_notify import Notifier, StartTimeoutExtender, Watchdog, watchdog_interval


@pytest.fixture(params=["path", "abstract"])
def systemd(request, tmp_path):
    """A bound AF_UNIX datagram socket and the NOTIFY_SOCKET value that reaches it."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if request.param == "path":
        address = str(tmp_path / "notify")
        sock.bind(address)
    else:
        name = f"dmusd-test-{uuid.uuid4().hex}"
        sock.bind(b"\0" + name.encode())
        address = "@" + name
    sock.settimeout(5)
    yield sock, address
    sock.close()


def receive(sock: socket.socket) -> list[str]:
    return sock.recv(4096).decode().split("\n")


def test_messages_reach_the_socket(systemd, monkeypatch):
    sock, address = systemd
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    notifier = Notifier()
    assert notifier.enabled
    assert notifier.ready("3 voices, 0 xruns")
    assert receive(sock) == ["READY=1", "STATUS=3 voices, 0 xruns"]
    assert notifier.status("5 voices, 1 xruns")
    assert receive(sock) == ["STATUS=5 voices, 1 xruns"]
    assert notifier.watchdog()
    assert receive(sock) == ["WATCHDOG=1"]
    assert notifier.stopping()
    assert receive(sock) == ["STOPPING=1"]
    notifier.close()
    assert not notifier.notify("READY=1")


def test_without_notify_socket_nothing_is_sent(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier()
    assert not notifier.enabled
    assert not notifier.ready()
    assert not Notifier("relative/path").enabled  # neither a path nor @abstract: ignored


def test_a_vanished_socket_is_not_an_error(tmp_path):
    notifier = Notifier(str(tmp_path / "gone"))
    assert notifier.enabled
    assert not notifier.status("x")  # ENOENT: reported as False, never raised


def test_a_socket_nobody_reads_never_blocks_the_sender(systemd):
    """The queue holds a few datagrams (net.unix.max_dgram_qlen, 10 by default); past that a
    blocking send would wedge the daemon's main loop, which sends STATUS every second."""
    sock, address = systemd
    notifier = Notifier(address)
    results: list[bool] = []
    sender = threading.Thread(
        target=lambda: results.extend(notifier.status(str(i)) for i in range(200))
    )
    sender.start()
    sender.join(10)
    assert not sender.is_alive(), "notify blocked on a full socket"
    assert results[0] and not results[-1]  # the first got through, the overflow was dropped
    assert receive(sock) == ["STATUS=0"]
    notifier.close()


def test_watchdog_interval(monkeypatch):
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    monkeypatch.setenv("WATCHDOG_USEC", "10000000")
    assert watchdog_interval() == 10.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog_interval() == 10.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert watchdog_interval() is None  # meant for another process
    monkeypatch.delenv("WATCHDOG_PID")
    for bad in ("", "0", "ten"):
        monkeypatch.setenv("WATCHDOG_USEC", bad)
        assert watchdog_interval() is None


def test_watchdog_pings_only_while_healthy(systemd):
    sock, address = systemd
    healthy = threading.Event()
    healthy.set()
    dog = Watchdog(Notifier(address), 0.1, healthy.is_set)  # pings every 50 ms
    dog.start()
    try:
        for _ in range(3):
            assert receive(sock) == ["WATCHDOG=1"]
        healthy.clear()
        pings = dog.pings
        time.sleep(0.5)  # ten ping periods
        sock.setblocking(False)
        arrived = 0
        with contextlib.suppress(BlockingIOError):
            while arrived < 20:
                receive(sock)
                arrived += 1
        assert arrived <= 1 and dog.pings <= pings + 1  # at most one sent before the switch
        healthy.set()
        sock.setblocking(True)
        sock.settimeout(5)
        assert receive(sock) == ["WATCHDOG=1"]  # pings resume when the audio does
    finally:
        dog.stop()
    assert not dog._thread.is_alive()


def test_the_start_timeout_is_extended_until_the_step_ends(systemd):
    sock, address = systemd
    extender = StartTimeoutExtender(Notifier(address), "compiling", period=0.05, extension=30)
    extender.start()
    try:
        for _ in range(3):  # at once, then every period
            assert receive(sock) == ["EXTEND_TIMEOUT_USEC=30000000", "STATUS=compiling"]
    finally:
        extender.stop()
    assert not extender._thread.is_alive()
    sent = extender.sent
    sock.setblocking(False)
    drained = 0
    with contextlib.suppress(BlockingIOError):
        while True:
            receive(sock)
            drained += 1
    assert sent >= 3 and drained == sent - 3  # nothing sent after stop()
    time.sleep(0.2)
    assert extender.sent == sent


def test_without_notify_socket_the_extender_starts_no_thread():
    extender = StartTimeoutExtender(Notifier(""), "compiling", period=0.01)
    extender.start()
    assert not extender._thread.is_alive() and extender.sent == 0
    extender.stop()
