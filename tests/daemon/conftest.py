"""Fixtures for the daemon tests: a JACK server to play through.

`jack_server` yields the server's name ("" = the default server) once `jack_wait -c` answers. When
no server is running (a bare `pytest` without .ci/test), it starts a dummy-backend jackd for the
session and stops it at the end. It fails, never skips: these tests are the daemon's real path.

Tests that kill a server use `private_jack_server` (a factory): each server gets a distinct name,
so killing it never touches the shared one; clients reach it with JACK_DEFAULT_SERVER=name.

`pipewire` is a headless PipeWire session (tests/daemon/pipewire_session.py): the one .ci/test
started (DMUSD_TEST_PIPEWIRE_DIR) when it answers, else one started for the test session; it
fails, never skips, when PipeWire is not installed. `private_pipewire` starts one for a test
alone (tests that stop the server).

`daemon` runs one `dmusd run` (tests/daemon/daemon_process.py) per test module on the shared
server, and `harness` is a JACK harness recording its output; a module that stops the daemon
stops only its own.

`service` and `serve`: an in-process SynthService (one pin "a", a sine bank) and a factory of
ControlServers on it, for the control socket tests.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from dmusd.banks.dls_writer import save_dls
from dmusd.config import PinConfig
from dmusd.io.control_socket import ControlServer
from dmusd.kernel.clock import SampleCountClock
from dmusd.service import SynthService
from tests.daemon.daemon_process import Daemon
from tests.daemon.pipewire_session import PipeWireSession, SessionError, answers, client_env
from tests.daemon.test_service import RATE, config
from tests.synth.test_stream import sine_bank

JACK_RATE = 48000
JACK_PERIOD = 1024


def jack_answers(name: str = "") -> bool:
    env = dict(os.environ)
    if name:
        env["JACK_DEFAULT_SERVER"] = name
    try:
        done = subprocess.run(["jack_wait", "-c"], env=env, capture_output=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and b"not" not in done.stdout


def reclaim_registry_slot(name: str) -> None:
    """Start a server of this name and stop it cleanly: that frees its registry slot."""
    env = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1", JACK_DEFAULT_SERVER=name)
    server = subprocess.Popen(
        ["jackd", "-n", name, "-d", "dummy", "-r", "48000", "-p", "1024"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    subprocess.run(["jack_wait", "-w", "-t", "5"], env=env, capture_output=True, timeout=10)
    server.terminate()
    server.wait(timeout=10)


class JackServer:
    """A jackd with the dummy backend that this test session started and owns."""

    def __init__(self, name: str = "", rate: int = JACK_RATE, period: int = JACK_PERIOD) -> None:
        if shutil.which("jackd") is None:
            pytest.fail("jackd is not installed (Debian: apt-get install jackd2)")
        self.name, self.rate, self.period = name, rate, period
        cmd = ["jackd"] + (["-n", name] if name else [])
        cmd += ["-d", "dummy", "-r", str(rate), "-p", str(period)]
        env = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1")
        log = f"/tmp/dmusd-test-jackd-{name or 'default'}-{os.getpid()}.log"
        self.log = open(log, "wb")  # noqa: SIM115 (open as long as the server runs)
        self.process = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 10
        while not jack_answers(name):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"could not start {' '.join(cmd)} (see {self.log.name})")
            time.sleep(0.1)

    @property
    def env(self) -> dict[str, str]:
        """The environment a client needs to reach this server."""
        env = dict(os.environ)
        if self.name:
            env["JACK_DEFAULT_SERVER"] = self.name
        return env

    def kill(self) -> None:
        """Kill the server hard (SIGKILL), as a crash would; then free the JACK shm-registry
        slot it left (JACK2 has 8, and a dead server's is reclaimed only by a server of the
        same name): otherwise every run that kills one leaves a slot taken, and the ninth
        server on the machine fails with "Too many servers already active"."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=5)
            reclaim_registry_slot(self.name)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()
        # A server that had to be killed, or whose clients died with a predecessor of its name,
        # can leave its segment and registry slot behind: free them as kill() does.
        if self.name and glob.glob(f"/dev/shm/jack_{glob.escape(self.name)}_*"):
            reclaim_registry_slot(self.name)


@pytest.fixture(scope="session")
def jack_server():
    """The shared JACK server's name ("" for the default one), started here if none answers."""
    if jack_answers():
        yield ""
        return
    server = JackServer()
    try:
        yield ""
    finally:
        server.stop()


@pytest.fixture
def private_jack_server():
    """Factory for JACK servers of this test alone, each with its own name; all stopped after."""
    servers: list[JackServer] = []

    def make(rate: int = JACK_RATE, period: int = JACK_PERIOD) -> JackServer:
        server = JackServer(f"dmusd-test-{uuid.uuid4().hex[:8]}", rate, period)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def _pipewire_session() -> PipeWireSession:
    try:
        return PipeWireSession()
    except SessionError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def pipewire():
    """The client environment of a running headless PipeWire session."""
    given = os.environ.get("DMUSD_TEST_PIPEWIRE_DIR", "")
    if given and answers(Path(given)):
        yield client_env(Path(given))
        return
    session = _pipewire_session()
    try:
        yield session.env
    finally:
        session.stop()


@pytest.fixture
def private_pipewire():
    """Factory for PipeWire sessions of this test alone; all stopped after."""
    sessions: list[PipeWireSession] = []

    def make() -> PipeWireSession:
        sessions.append(_pipewire_session())
        return sessions[-1]

    yield make
    for session in sessions:
        session.stop()


@pytest.fixture(scope="module")
def daemon(jack_server, tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("dmusd-e2e"))
    yield d
    d.stop()


@pytest.fixture(scope="module")
def harness(daemon):
    with daemon.harness() as h:
        yield h


# -- a control socket on an in-process service (test_control_socket, test_control_abuse) --
@pytest.fixture(scope="module")
def service(tmp_path_factory):
    path = tmp_path_factory.mktemp("socket-banks") / "sine.dls"
    save_dls(sine_bank(), path)
    service = SynthService(config(PinConfig("a", banks=(str(path),))), SampleCountClock(RATE))
    yield service
    service.close()


@pytest.fixture
def serve(service, tmp_path):
    """Start a server (closed after the test); returns it."""
    servers: list[ControlServer] = []

    def start(path=None, reload=None, **kw) -> ControlServer:
        server = ControlServer(
            str(path or tmp_path / "run" / "ctl.sock"),
            service,
            reload or (lambda: {"reloaded": True}),
            **kw,
        )
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
