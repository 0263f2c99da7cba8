"""ControlServer through a real Unix socket: modes, stale and live sockets, the peer check, every
kind of bad request, line limits, and that the server keeps serving through all of it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dmusd.control_protocol import COMMANDS, MAX_LINE, ControlProtocol, is_report
from dmusd.errors import DmusdError
from dmusd.io.control_socket import MAX_CLIENTS


class Client:
    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.reader = self.sock.makefile("rb")

    def send(self, raw: bytes) -> None:
        self.sock.sendall(raw)

    def reply(self) -> dict:
        line = self.reader.readline()
        assert line.endswith(b"\n"), f"no reply line, got {line!r}"
        return json.loads(line)

    def ask(self, request: dict | bytes) -> dict:
        raw = request if isinstance(request, bytes) else json.dumps(request).encode()
        self.send(raw + b"\n")
        return self.reply()

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def test_folder_is_0700_socket_0600_and_stop_removes_it(serve, tmp_path):
    server = serve(tmp_path / "new" / "dmusd" / "ctl.sock")
    assert os.stat(tmp_path / "new" / "dmusd").st_mode & 0o777 == 0o700
    assert os.stat(server.path).st_mode & 0o777 == 0o600
    client = Client(server.path)
    assert client.ask({"cmd": "ping"})["result"] == {"pong": True, "pid": os.getpid()}
    server.stop()
    assert not os.path.exists(server.path)
    assert client.reader.readline() == b""  # the connection was closed
    client.close()


def test_requests_and_replies(serve):
    client = Client(serve().path)
    status = client.ask({"cmd": "status", "id": 7})
    assert status["ok"] and status["id"] == 7
    assert [p["name"] for p in status["result"]["pins"]] == ["a"]
    assert client.ask({"cmd": "stats"})["result"]["a"]["lost_notes"] == 0
    volume = client.ask({"cmd": "volume", "pin": "a", "db": -3})
    assert volume == {"ok": True, "result": {"volume_db": {"a": -3.0}}}
    got = client.ask({"cmd": "property", "pin": "a", "set": "KSPROPSETID_Synth", "item": "VOLUME"})
    assert got["result"]["int"] == -300
    assert client.ask({"cmd": "volume", "db": 0})["ok"]
    assert client.ask({"cmd": "panic"})["result"] == {"pins": ["a"]}
    assert client.ask({"cmd": "reload"})["result"] == {"reloaded": True}
    client.close()


BAD = [
    (b"not json", "request", "not JSON"),
    (b"", "request", "not JSON"),
    (b"\xff\xfe{}", "request", "not JSON"),
    (b"[1, 2]", "request", "a JSON object, not list"),
    (b'{"pin": "a"}', "request", 'needs "cmd"'),
    (b'{"cmd": 5}', "request", 'needs "cmd"'),
    (b'{"cmd": [1]}', "request", 'needs "cmd"'),
    (b'{"cmd": {"a": 1}}', "request", 'needs "cmd"'),
    (b"[" * 60000, "request", "nested too deeply"),
    (b'{"cmd": "fly"}', "request", "unknown command 'fly'"),
    (b'{"cmd": "ping", "id": [1]}', "request", '"id" must be a string or an integer'),
    (b'{"cmd": "load", "pin": "a"}', "load", "missing argument 'path'"),
    (b'{"cmd": "unload", "pin": "a", "bank": "1"}', "unload", "'bank' must be an integer"),
    (b'{"cmd": "unload", "pin": "a", "bank": true}', "unload", "'bank' must be an integer"),
    (b'{"cmd": "volume", "db": "loud"}', "volume", "'db' must be a number"),
    (b'{"cmd": "status", "verbose": 1}', "status", "unknown argument 'verbose'"),
    (b'{"cmd": "unload", "pin": "zz", "bank": 1}', "unload", "no pin named 'zz'"),
    (b'{"cmd": "unload", "pin": "a", "bank": 99}', "unload", "no bank 99"),
    (b'{"cmd": "volume", "db": 99}', "volume", "outside -200..20"),
    (b'{"cmd": "load", "pin": "a", "path": "/nonexistent.sf2"}', "/nonexistent.sf2", "cannot open"),
    (
        b'{"cmd": "load", "pin": "a", "path": "/etc/hostname"}',
        "/etc/hostname: offset 0",
        "not a DLS",
    ),
    (
        b'{"cmd": "property", "pin": "a", "set": "KSPROPSETID_Synth", "item": 99}',
        "property",
        "STATUS_NOT_FOUND",
    ),
    (
        b'{"cmd": "property", "pin": "a", "set": "KSPROPSETID_Synth", "item": 0, "verb": "set", '
        b'"value": 123456}',
        "KSPROPERTY_SYNTH_VOLUME on pin 0",
        "STATUS_INVALID_PARAMETER",
    ),
    (
        b'{"cmd": "property", "pin": "a", "set": "x", "item": 0}',
        "property.set",
        "neither a known name",
    ),
]


def test_every_bad_request_gets_an_error_and_the_server_keeps_serving(serve, service):
    client = Client(serve().path)
    banks = service.status()["pins"][0]["banks"]
    for raw, where, error in BAD:
        reply = client.ask(raw)
        assert reply["ok"] is False, raw
        assert reply["where"] == where, raw
        assert error in reply["error"], (raw, reply)
        assert client.ask({"cmd": "ping"})["ok"]  # the same connection goes on
    assert service.status()["pins"][0]["banks"] == banks  # nothing lost on the way
    assert client.ask(b'{"cmd": "fly", "id": "x1"}')["id"] == "x1"
    client.close()


def test_a_failing_reload_or_a_bug_is_an_error_reply(serve):
    def broken() -> dict:
        raise RuntimeError("the config exploded")

    client = Client(serve(reload=broken).path)
    reply = client.ask({"cmd": "reload"})
    assert reply == {
        "ok": False,
        "error": "internal error: RuntimeError('the config exploded')",
        "where": "reload",
    }
    assert client.ask({"cmd": "ping"})["ok"]
    client.close()


def test_line_length_is_bounded(serve):
    client = Client(serve().path)
    ping = b'{"cmd": "ping"}'
    assert client.ask(ping + b" " * (MAX_LINE - len(ping)))["ok"]  # exactly MAX_LINE: fine
    too_long = client.ask(ping + b" " * (MAX_LINE - len(ping) + 1))
    assert too_long["ok"] is False and "longer than 65536" in too_long["error"]
    # A line that never ends within the limit: refused once, skipped to its newline.
    client.send(b"x" * (3 * MAX_LINE))
    assert "longer than" in client.reply()["error"]
    client.send(b"y" * 1000 + b"\n" + ping + b"\n")
    assert client.reply()["result"]["pong"] is True
    client.close()


def test_split_and_joined_lines(serve):
    client = Client(serve().path)
    client.send(b'{"cmd": "pi')
    time.sleep(0.05)
    client.send(b'ng", "id": 1}\n{"cmd": "ping", "id": 2}\n{"cmd": "status", "id": 3}\n')
    assert [client.reply()["id"] for _ in range(3)] == [1, 2, 3]
    client.close()


def test_several_clients_and_a_newcomer_takes_the_quietest_slot(serve):
    server = serve()
    clients = [Client(server.path) for _ in range(MAX_CLIENTS)]
    for i, client in enumerate(clients):
        assert client.ask({"cmd": "ping", "id": i})["id"] == i
    extra = Client(server.path)  # the 17th: the connection quiet for longest makes room
    assert extra.ask({"cmd": "status"})["ok"]
    evicted = clients.pop(0)
    assert "closed to make room" in evicted.reply()["error"]
    assert evicted.reader.readline() == b""
    evicted.close()
    for client in [*clients, extra]:
        assert client.ask({"cmd": "ping"})["ok"]
        client.close()
    assert server.evicted == 1


def test_stale_socket_is_replaced_and_a_live_one_refused(serve, tmp_path):
    path = tmp_path / "ctl.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))  # a socket file no one listens on: a daemon that died
    dead.close()
    server = serve(path)
    assert Client(server.path).ask({"cmd": "ping"})["ok"]
    with pytest.raises(DmusdError, match="another dmusd is running"):
        serve(path)
    assert Client(server.path).ask({"cmd": "ping"})["ok"]  # the first one is untouched
    other = tmp_path / "file"
    other.write_text("not a socket")
    with pytest.raises(DmusdError, match="is not a socket"):
        serve(other)
    assert other.read_text() == "not a socket"


def test_unsafe_folder_is_refused(serve, tmp_path):
    folder = tmp_path / "open"
    folder.mkdir()
    folder.chmod(0o777)
    with pytest.raises(DmusdError, match="writable by others"):
        serve(folder / "ctl.sock")
    with pytest.raises(DmusdError, match="longer than 107 bytes"):
        serve(tmp_path / ("x" * 120))


def test_peer_uid_must_be_ours(serve):
    server = serve(uid=os.getuid() + 4242)
    client = Client(server.path)
    reply = client.reply()
    assert reply["ok"] is False and reply["where"] == "control socket"
    assert f"peer uid {os.getuid()} is not the daemon's uid {os.getuid() + 4242}" in reply["error"]
    assert client.reader.readline() == b""  # closed
    client.close()
    assert server.refused == 1


CONNECT = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
try:
    s.connect(sys.argv[1])
except PermissionError:
    print("permission denied")
    sys.exit(0)
try:
    s.sendall(b'{"cmd": "status"}\\n')
except BrokenPipeError:
    pass  # refused before it could ask: the refusal is still there to read
print(s.makefile("rb").readline().decode().strip())
"""


def _traversable_tmp() -> str:
    """A temporary folder other users can pass through (some machines make /tmp 0700): the
    test's subject is the socket's own mode and the peer check, not the folders above it."""
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        if os.path.isdir(folder) and os.stat(folder).st_mode & 0o001:
            return folder
    pytest.fail("no temporary folder other users can pass through: /tmp, /var/tmp, /dev/shm")


@pytest.mark.skipif(os.getuid() != 0 or not os.path.exists("/usr/bin/python3"), reason="as root")
def test_another_user_is_kept_out(serve):
    """A real process of another uid (nobody): the 0600 mode stops it; with the mode opened
    up on purpose, the peer check still does."""
    folder = tempfile.mkdtemp(prefix="dmusd-ctl-", dir=_traversable_tmp())
    try:
        os.chmod(folder, 0o755)  # others may reach the socket file, not use it
        server = serve(os.path.join(folder, "ctl.sock"))

        def connect_as_nobody() -> str:
            done = subprocess.run(
                ["/usr/bin/python3", "-c", CONNECT, server.path],
                user=65534,
                group=65534,
                capture_output=True,
                timeout=20,
                cwd="/",
            )
            assert done.returncode == 0, done.stderr
            return done.stdout.decode().strip()

        assert connect_as_nobody() == "permission denied"
        os.chmod(server.path, 0o666)
        reply = json.loads(connect_as_nobody())
        assert reply["ok"] is False and "peer uid 65534" in reply["error"]
        assert server.refused == 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
REQUESTS = st.fixed_dictionaries(
    {"cmd": st.sampled_from([*COMMANDS, "nope"])},
    optional={
        key: JSON_VALUES | st.sampled_from(["a", "KSPROPSETID_Synth", "VOLUME", "get", 0, -600])
        for key in ("pin", "path", "bank", "db", "set", "item", "verb", "value", "size", "id")
    },
)


@settings(max_examples=300, deadline=None)
@given(line=st.binary(max_size=200) | REQUESTS.map(lambda r: json.dumps(r).encode()))
def test_any_line_gets_exactly_one_reply_line(service, line):
    protocol = ControlProtocol(service, lambda: {"reloaded": True})
    assert is_report(line) in (True, False)  # the server's choice of worker never raises
    out = protocol.handle_line(line.replace(b"\n", b" "))
    assert out.endswith(b"\n") and out.count(b"\n") == 1
    reply = json.loads(out)
    assert isinstance(reply["ok"], bool)
    assert ("result" in reply) == reply["ok"]
    if not reply["ok"]:
        assert reply["error"] and reply["where"]
        assert not reply["error"].startswith("internal error"), reply
