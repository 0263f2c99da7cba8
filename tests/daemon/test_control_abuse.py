"""The control socket under abuse, through real sockets and real clients: idle connections that
hold every slot, clients that send but never read, unfinished lines, a long request beside a
status, FIFOs and other paths that are not banks. The server must keep answering others at once.

No timed assertions: each client's socket timeout (a few seconds, where the old server stalled
for 30) is what fails a stall.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from dmusd.commands.ctl import send
from dmusd.io.control_socket import MAX_CLIENTS
from tests.daemon.test_control_socket import Client

STALL = 5.0  # seconds a client waits for a reply before the test calls it a stall


def status(path: str) -> dict:
    reply = send(path, {"cmd": "status"}, timeout=STALL)
    assert reply["ok"], reply
    return reply["result"]


def test_idle_connections_do_not_lock_out_a_status(serve):
    server = serve()
    idle = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(MAX_CLIENTS)]
    for sock in idle:
        sock.connect(server.path)
    time.sleep(0.2)  # all accepted
    assert status(server.path)["pins"]  # the 17th client, through dmusd's own ctl client
    # and through the real command line too
    ctl = subprocess.run(
        [sys.executable, "-m", "dmusd.cli", "ctl", "--socket", server.path, "status"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ctl.returncode == 0, ctl.stderr
    assert server.evicted == 1  # the first status took an idle one's slot, then left its own
    for sock in idle:
        sock.close()


def flood_without_reading(path: str) -> socket.socket:
    """A client that sends status requests until its socket takes no more, and never reads."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    sock.setblocking(False)
    line = json.dumps({"cmd": "status"}).encode() + b"\n"
    try:
        for _ in range(20000):
            sock.send(line)
    except BlockingIOError:
        pass
    return sock


def test_clients_that_send_but_never_read_do_not_stall_the_server(serve):
    server = serve(slow_timeout=1.0)
    floods = [flood_without_reading(server.path) for _ in range(MAX_CLIENTS - 1)]
    for _ in range(5):
        assert status(server.path)["pins"]
    # each stops being read once its reply is stuck, and is closed after slow_timeout
    deadline = time.monotonic() + 30
    while server.timed_out < len(floods) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.timed_out == len(floods)
    for sock in floods:
        sock.close()
    assert status(server.path)["pins"]


def test_idle_and_unfinished_clients_are_timed_out_with_a_reason(serve):
    server = serve(idle_timeout=0.5, slow_timeout=0.5)
    idle, partial = Client(server.path), Client(server.path)
    partial.send(b'{"cmd": "sta')
    assert "asked nothing for 0.5 s" in idle.reply()["error"]
    assert "left a request line unfinished for 0.5 s" in partial.reply()["error"]
    for client in (idle, partial):
        assert client.reader.readline() == b""
        client.close()
    assert server.timed_out == 2


def test_a_long_request_does_not_hold_up_a_status(serve):
    started, release = threading.Event(), threading.Event()

    def slow_reload() -> dict:
        started.set()
        release.wait(30)
        return {"reloaded": True}

    server = serve(reload=slow_reload)
    slow = Client(server.path)
    slow.send(b'{"cmd": "reload"}\n')
    assert started.wait(10)
    assert status(server.path)["pins"]  # answered while the reload runs
    release.set()
    assert slow.reply()["result"] == {"reloaded": True}
    slow.close()


def test_a_request_then_hang_up_still_gets_its_reply(serve):
    server = serve()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(STALL)
    sock.connect(server.path)
    sock.sendall(b'{"cmd": "ping", "id": 1}\n')
    sock.shutdown(socket.SHUT_WR)
    assert json.loads(sock.makefile("rb").readline())["id"] == 1
    sock.close()


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "bank.sf2"
    os.mkfifo(path)
    return str(path)


def test_loading_a_fifo_answers_at_once_and_the_server_goes_on(serve, fifo):
    client = Client(serve().path)
    reply = client.ask({"cmd": "load", "pin": "a", "path": fifo})
    assert reply["ok"] is False and reply["kind"] == "BankError"
    assert reply["where"] == fifo and "is a FIFO (named pipe)" in reply["error"]
    assert client.ask({"cmd": "status"})["ok"]
    client.close()


@pytest.mark.parametrize(
    ("path", "where", "words"),
    [
        ("/proc/self/mem", "/proc/self/mem: offset 0", "not a DLS or SoundFont file"),
        ("/tmp/bank\0.sf2", "/tmp/bank\0.sf2", "the path holds a NUL byte"),
        ("/dev/zero", "/dev/zero", "is a character device"),
    ],
)
def test_paths_that_are_not_banks_are_typed_errors(serve, path, where, words):
    client = Client(serve().path)
    reply = client.ask({"cmd": "load", "pin": "a", "path": path})
    assert reply["ok"] is False and reply["kind"] == "BankError", reply
    assert reply["where"] == where and words in reply["error"]
    assert not reply["error"].startswith("internal error")
    client.close()


def test_deeply_nested_json_is_a_request_error(serve, caplog):
    client = Client(serve().path)
    for raw in (b"[" * 60000, b'{"cmd": "ping", "x": ' + b"[" * 20000 + b"]" * 20000 + b"}"):
        reply = client.ask(raw)
        assert reply == {
            "ok": False,
            "error": "JSON nested too deeply for a request",
            "where": "request",
        }
    assert client.ask({"cmd": "ping"})["ok"]
    client.close()
    assert "Traceback" not in caplog.text and "internal error" not in caplog.text
