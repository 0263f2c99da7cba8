"""`dmusd run` as users and systemd run it: a subprocess on a real JACK server (dummy backend),
its ports seen from JACK, its control socket, its sd_notify messages, its signals and exit codes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from dmusd.daemon import exact_delay
from tests.daemon.conftest import JackServer

pytestmark = pytest.mark.realtime

START_TIMEOUT = 120  # seconds: a cold numba cache compiles the engine first


class Systemd:
    """A datagram socket standing in for systemd's notify socket."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages: list[list[str]] = []

    def wait_for(self, key: str, timeout: float) -> list[str]:
        """The first message (since the last match) holding `key`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                message = self.sock.recv(4096).decode().split("\n")
            except TimeoutError:
                break
            self.messages.append(message)
            if any(line.startswith(key) for line in message):
                return message
        raise AssertionError(f"no {key} from the daemon within {timeout} s: {self.messages}")

    def close(self) -> None:
        self.sock.close()


class Daemon:
    """`dmusd run --config FILE` in a subprocess; stderr goes to a file the test reads."""

    def __init__(self, tmp_path: Path, config: str, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.config_file = tmp_path / "dmusd.toml"
        self.config_file.write_text(config)
        self.socket = tmp_path / "control.sock"
        self.systemd = Systemd(tmp_path / "notify")
        self.log_path = tmp_path / "stderr.log"
        env = dict(env, NOTIFY_SOCKET=self.systemd.path, WATCHDOG_USEC="400000")
        env.pop("WATCHDOG_PID", None)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "dmusd.cli", "run", "--config", str(self.config_file)],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=env,
            )

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def wait_ready(self) -> list[str]:
        try:
            return self.systemd.wait_for("READY=1", START_TIMEOUT)
        except AssertionError:
            code = self.process.poll()
            raise AssertionError(f"not ready; exit {code}; log:\n{self.log}") from None

    def request(self, **request) -> dict:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(self.socket))
            sock.sendall(json.dumps(request).encode() + b"\n")
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = sock.recv(65536)
                assert chunk, "the daemon closed the connection"
                reply += chunk
        return json.loads(reply)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.systemd.close()


def config_text(tmp_path: Path, name: str, backend: str = "jack", extra: str = "") -> str:
    return f"""
[audio]
backend = "{backend}"
client_name = "{name}"

[midi]
backend = "jack"
client_name = "{name}-midi"

[[pins]]
name = "synth"
voices = 32
volume_db = 0.0
{extra}

[control]
socket = "{tmp_path / "control.sock"}"
"""


@pytest.fixture
def daemons():
    started: list[Daemon] = []

    def make(tmp_path: Path, config: str, env: dict[str, str]) -> Daemon:
        daemon = Daemon(tmp_path, config, env)
        started.append(daemon)
        return daemon

    yield make
    for daemon in started:
        daemon.stop()


def jack_ports(env: dict[str, str], prefix: str) -> list[str]:
    """Port names under `prefix`, asked of the server `env` points at (in a subprocess, so this
    process never holds a client of a server a test kills)."""
    code = "import jack, sys; c = jack.Client('dmusd-test-lsp', no_start_server=True); "
    code += "print('\\n'.join(p.name for p in c.get_ports(sys.argv[1]))); c.close()"
    done = subprocess.run(
        [sys.executable, "-c", code, prefix], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_runs_on_jack_notifies_systemd_and_stops_cleanly_on_sigterm(jack_server, daemons, tmp_path):
    name = f"dmusd-test-{uuid.uuid4().hex[:6]}"
    env = dict(os.environ)
    daemon = daemons(tmp_path, config_text(tmp_path, name), env)
    ready = daemon.wait_ready()
    assert any(line.startswith("STATUS=0 voices, ") for line in ready), ready
    # What READY promises: the audio client named from the config, the MIDI port, the socket.
    # the main pair, then the pin's own pair (PinOutput)
    ours = [f"{name}:out_0", f"{name}:out_1", f"{name}:synth L", f"{name}:synth R"]
    assert jack_ports(env, f"{name}:") == ours
    midi = jack_ports(env, f"{name}-midi")
    assert len(midi) == 1 and midi[0].endswith(":synth 1"), midi
    assert daemon.socket.exists() and daemon.socket.stat().st_mode & 0o777 == 0o600
    assert daemon.request(cmd="ping")["result"]["pid"] == daemon.process.pid
    # the engine runs from its shared library: numba and LLVM never load in the daemon
    maps = Path(f"/proc/{daemon.process.pid}/maps").read_text()
    assert "/dmusd-engine-" in maps and "llvmlite" not in maps and "numba" not in maps
    # The watchdog pings (WATCHDOG_USEC=0.4 s) while audio runs; STATUS comes every second.
    daemon.systemd.wait_for("WATCHDOG=1", 5)
    daemon.systemd.wait_for("STATUS=", 5)
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=2) == 0, daemon.log
    assert any("STOPPING=1" in message for message in daemon.systemd.messages) or (
        daemon.systemd.wait_for("STOPPING=1", 1)
    )
    assert not daemon.socket.exists()
    assert "Traceback" not in daemon.log
    assert "SIGTERM: shutting down" in daemon.log and "stopped" in daemon.log
    assert jack_ports(env, f"{name}:") == []  # the stream and its client are closed


def test_sigint_stops_it_too(jack_server, daemons, tmp_path):
    name = f"dmusd-test-{uuid.uuid4().hex[:6]}"
    daemon = daemons(tmp_path, config_text(tmp_path, name), dict(os.environ))
    daemon.wait_ready()
    daemon.process.send_signal(signal.SIGINT)
    assert daemon.process.wait(timeout=2) == 0, daemon.log
    assert not daemon.socket.exists()


def test_a_schedule_ahead_too_short_for_the_device_is_raised_and_said(
    jack_server, daemons, tmp_path
):
    """The default 10 ms cannot keep latency constant on a 1024-frame JACK period (21.3 ms):
    the daemon raises it to one block and says so. The output latency it logs is JACK's own
    figure for the ports it plays into (the dummy driver's playback ports: two periods)."""
    name = f"dmusd-test-{uuid.uuid4().hex[:6]}"
    daemon = daemons(tmp_path, config_text(tmp_path, name), dict(os.environ))
    daemon.wait_ready()
    found = re.search(r"(\d+)-frame blocks, output latency ([0-9.]+) ms", daemon.log)
    used = re.search(r"schedule_ahead_ms = 10.0 is shorter .* using ([0-9.]+) ms", daemon.log)
    assert found is not None and used is not None, daemon.log
    block, latency = int(found.group(1)), float(found.group(2))
    assert block == 1024 and latency == round(2 * block / 48, 1), daemon.log
    assert abs(float(used.group(1)) - block / 48) <= 0.15  # printed to 0.1 ms
    daemon.stop()


def test_sighup_and_reload_apply_a_good_config_and_refuse_a_bad_one(jack_server, daemons, tmp_path):
    name = f"dmusd-test-{uuid.uuid4().hex[:6]}"
    daemon = daemons(tmp_path, config_text(tmp_path, name), dict(os.environ))
    daemon.wait_ready()

    def volume() -> float:
        return daemon.request(cmd="status")["result"]["pins"][0]["volume_db"]

    assert volume() == 0.0
    daemon.config_file.write_text(daemon.config_file.read_text().replace("= 0.0", "= -6.0"))
    daemon.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while volume() != -6.0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert volume() == -6.0
    # A bad config is refused, over the socket and on SIGHUP; the old one keeps playing.
    good = daemon.config_file.read_text()
    daemon.config_file.write_text(good.replace("voices = 32", "voices = 0").replace("-6.0", "-9"))
    reply = daemon.request(cmd="reload")
    assert not reply["ok"] and "voices" in reply["error"] + reply.get("where", "")
    daemon.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while daemon.log.count("reload refused") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert daemon.log.count("reload refused") == 2, daemon.log
    assert "pins[0].voices" in daemon.log
    assert volume() == -6.0 and daemon.process.poll() is None
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=5) == 0, daemon.log


def test_config_error_is_exit_2_with_the_key_and_line(tmp_path):
    config = config_text(tmp_path, "unused").replace("voices = 32", "voices = 0")
    (tmp_path / "dmusd.toml").write_text(config)
    done = subprocess.run(
        [sys.executable, "-m", "dmusd.cli", "run", "--config", str(tmp_path / "dmusd.toml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    line = config.splitlines().index("voices = 0") + 1
    assert f"dmusd.toml:{line}: pins[0].voices: must be 1..4096, got 0" in done.stderr
    assert "Traceback" not in done.stderr


def test_no_audio_server_is_exit_3_saying_what_to_do(tmp_path):
    config = config_text(tmp_path, "unused")
    (tmp_path / "dmusd.toml").write_text(config)
    env = dict(os.environ, JACK_DEFAULT_SERVER=f"dmusd-test-absent-{uuid.uuid4().hex[:6]}")
    done = subprocess.run(
        [sys.executable, "-m", "dmusd.cli", "run", "--config", str(tmp_path / "dmusd.toml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=START_TIMEOUT,
    )
    assert done.returncode == 3, done.stderr
    assert "no JACK server answers" in done.stderr and "dmusd devices" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "control.sock").exists()


def test_killing_jackd_exits_nonzero_within_5_s(private_jack_server, daemons, tmp_path):
    server = private_jack_server()
    name = f"dmusd-test-{uuid.uuid4().hex[:6]}"
    daemon = daemons(tmp_path, config_text(tmp_path, name), server.env)
    daemon.wait_ready()
    server.kill()  # SIGKILL: a crash, no goodbye to the clients
    try:
        code = daemon.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"dmusd still runs 5 s after jackd died:\n{daemon.log}") from None
    assert code == 3, daemon.log
    assert "the JACK server went away" in daemon.log
    assert not daemon.socket.exists()


def test_reconnect_mode_waits_for_jack_and_comes_back(private_jack_server, daemons, tmp_path):
    """on_server_loss = "reconnect": jackd dies, the daemon waits (it does not exit), and when
    a server of the same name returns the daemon re-executes itself and is ready again."""
    server = private_jack_server()
    name = f"dmusd-test-{uuid.uuid4().hex[:6]}"
    config = config_text(tmp_path, name).replace(
        'client_name = "' + name + '"\n',
        'client_name = "' + name + '"\non_server_loss = "reconnect"\n',
        1,
    )
    daemon = daemons(tmp_path, config, server.env)
    daemon.wait_ready()
    server.process.send_signal(signal.SIGKILL)  # a crash; the slot is reclaimed by the restart
    server.process.wait(timeout=5)
    deadline = time.monotonic() + 5
    while "waiting for a JACK server to come back" not in daemon.log:
        assert daemon.process.poll() is None, daemon.log
        assert time.monotonic() < deadline, daemon.log
        time.sleep(0.1)
    time.sleep(1.5)
    assert daemon.process.poll() is None, "the daemon left instead of waiting:\n" + daemon.log
    back = JackServer(server.name)  # the same name: the daemon's environment points there
    try:
        daemon.wait_ready()  # READY=1 from the re-executed daemon (same process, same socket)
        assert daemon.process.poll() is None
        assert daemon.request(cmd="status")["ok"], daemon.log
        assert any(p.startswith(name) for p in jack_ports(back.env, name)), daemon.log
    finally:
        daemon.stop()
        back.stop()


def test_devices_lists_jack_and_the_midi_apis(jack_server):
    done = subprocess.run(
        [sys.executable, "-m", "dmusd.cli", "devices", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["jack"]["running"] and info["jack"]["sample_rate"] > 0
    jack = [api for api in info["audio"]["hostapis"] if api["name"] == "JACK Audio Connection Kit"]
    assert jack and jack[0]["outputs"], info["audio"]
    assert "Jack" in info["midi"]["apis"] and "ALSA" in info["midi"]["apis"]
    alsa = info["midi"]["alsa_sequencer"]
    assert alsa["opens"] == os.path.exists("/dev/snd/seq")
    text = subprocess.run(
        [sys.executable, "-m", "dmusd.cli", "devices"], capture_output=True, text=True, timeout=60
    )
    assert "JACK server" in text.stdout and "answers" in text.stdout


@pytest.mark.parametrize("rate", [48000, 96000, 44100, 22050])
@pytest.mark.parametrize("seconds", [0.0005, 0.010, 0.0426666, 0.06])
def test_the_schedule_ahead_is_a_whole_number_of_frames_and_ticks_where_it_can_be(rate, seconds):
    ticks = exact_delay(seconds, rate)
    assert ticks >= round(seconds * 10_000_000)
    if rate in (48000, 96000):  # a whole-tick frame count every 3 frames: exact, within 3 frames
        assert ticks * rate % 10_000_000 == 0
        assert ticks * rate // 10_000_000 - seconds * rate < 3
    else:  # 441 frames at 44.1 kHz is too coarse a step: to the tick
        assert ticks == round(seconds * 10_000_000)


def test_a_fifo_never_wedges_the_daemon(jack_server, daemons, tmp_path):
    """The attack: `ctl load synth FIFO` blocked the control thread in open() with the service
    lock held, then status, SIGHUP and SIGTERM all hung. Now every step answers at once."""
    name = f"dmusd-test-{uuid.uuid4().hex[:6]}"
    daemon = daemons(tmp_path, config_text(tmp_path, name), dict(os.environ))
    daemon.wait_ready()
    fifo = tmp_path / "pipe.dls"
    os.mkfifo(fifo)
    ctl = [sys.executable, "-m", "dmusd.cli", "ctl", "--socket", str(daemon.socket)]
    load = subprocess.run([*ctl, "load", "synth", str(fifo)], capture_output=True, text=True,
                          timeout=30)  # fmt: skip
    assert load.returncode == 1
    assert load.stderr.strip() == f"dmusd: {fifo}: is a FIFO (named pipe), not a regular file"
    # 16 idle connections hold every slot; `ctl status` still gets in
    idle = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(16)]
    for sock in idle:
        sock.connect(str(daemon.socket))
    status = subprocess.run([*ctl, "status"], capture_output=True, text=True, timeout=30)
    assert status.returncode == 0, status.stderr
    # the FIFO as a config bank: reload (SIGHUP) refuses it, the old setup plays on
    daemon.config_file.write_text(
        daemon.config_file.read_text().replace("voices = 32", f'voices = 32\nbanks = ["{fifo}"]')
    )
    daemon.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "reload refused" not in daemon.log and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "is a FIFO (named pipe)" in daemon.log, daemon.log
    assert daemon.request(cmd="status")["ok"]
    daemon.process.send_signal(signal.SIGTERM)
    try:
        assert daemon.process.wait(timeout=5) == 0, daemon.log
    except subprocess.TimeoutExpired:
        raise AssertionError(f"no exit within 5 s of SIGTERM; log:\n{daemon.log}") from None
    assert "Traceback" not in daemon.log and "internal error" not in daemon.log
    for sock in idle:
        sock.close()
