"""A headless PipeWire session (what most desktops run) for the daemon tests, in one private
folder so nothing else on the machine sees it: dbus (wireplumber needs a session bus), pipewire,
wireplumber, pipewire-pulse, and a null sink "t" as the default output (no sound card here).

Clients reach it through `env`: PIPEWIRE_RUNTIME_DIR (libpipewire, PipeWire's libjack under
pw-jack, the ALSA pipewire plugin) and PULSE_SERVER (the ALSA pulse plugin, pactl), with
JACK_DEFAULT_SERVER unset (it names a JACK2 server; under pw-jack it would name a missing
PipeWire one). HOME and XDG_* stay the caller's: dmusd's numba cache lives there.

.ci/test runs `python -m tests.daemon.pipewire_session DIR` beside the JACK dummy server
(DIR/ready appears once the session answers) and exports DMUSD_TEST_PIPEWIRE_DIR=DIR; the
`pipewire` fixture uses that session when it answers, else starts one for the test session.
Tests that stop the server start a private one.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROGRAMS = ("dbus-daemon", "pipewire", "wireplumber", "pipewire-pulse", "pactl", "pw-jack")
SINK = "t"  # the null sink: default playback, recorded through its monitor ports
START_TIMEOUT = 15.0


class SessionError(RuntimeError):
    """The session could not start (a program missing, a server that never answered)."""


def missing_programs() -> list[str]:
    return [p for p in PROGRAMS if shutil.which(p) is None]


def client_env(folder: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a client of the session in `folder` needs."""
    env = dict(os.environ if base is None else base)
    run = folder / "run"
    env["PIPEWIRE_RUNTIME_DIR"] = str(run)
    env["PULSE_SERVER"] = f"unix:{run}/pulse/native"
    env.pop("JACK_DEFAULT_SERVER", None)
    return env


def answers(folder: Path) -> bool:
    """Whether the session in `folder` runs: pipewire-pulse answers, with the null sink."""
    try:
        done = subprocess.run(
            ["pactl", "list", "short", "sinks"],
            env=client_env(folder),
            capture_output=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and f"\t{SINK}\t".encode() in done.stdout


class PipeWireSession:
    """The four processes of a headless PipeWire session, started in `folder` (a fresh
    temporary one when None) and stopped in reverse order by stop()."""

    def __init__(self, folder: Path | None = None) -> None:
        missing = missing_programs()
        if missing:
            raise SessionError(
                f"not installed: {', '.join(missing)} (bash .ci/setup installs PipeWire)"
            )
        self.owned = folder is None
        self.folder = Path(folder or tempfile.mkdtemp(prefix="dmusd-pipewire-"))
        self.processes: list[subprocess.Popen] = []
        run = self.folder / "run"
        run.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(run, 0o700)
        for sub in ("config", "state", "home"):
            (self.folder / sub).mkdir(exist_ok=True)
        self.bus = f"unix:path={run}/bus"
        # the servers' own environment: everything of theirs under the folder
        self.server_env = dict(
            os.environ,
            XDG_RUNTIME_DIR=str(run),
            XDG_CONFIG_HOME=str(self.folder / "config"),
            XDG_STATE_HOME=str(self.folder / "state"),
            HOME=str(self.folder / "home"),
            DBUS_SESSION_BUS_ADDRESS=self.bus,
        )
        self.server_env.pop("JACK_DEFAULT_SERVER", None)
        try:
            self.start()
        except BaseException:
            self.stop()
            raise

    @property
    def env(self) -> dict[str, str]:
        return client_env(self.folder)

    @property
    def pipewire(self) -> subprocess.Popen:
        return self.processes[1]

    def _spawn(self, *cmd: str) -> subprocess.Popen:
        log = open(self.folder / f"{Path(cmd[0]).name}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=self.server_env, start_new_session=True
        )
        log.close()  # the child has it
        self.processes.append(process)
        return process

    def _wait(self, what: str, ready) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready():
            dead = [p.args[0] for p in self.processes if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                why = f"{dead[0]} exited" if dead else f"no answer in {START_TIMEOUT:.0f} s"
                raise SessionError(f"PipeWire session: {what}: {why} (logs in {self.folder})")
            time.sleep(0.05)

    def start(self) -> None:
        run = self.folder / "run"
        self._spawn("dbus-daemon", "--session", f"--address={self.bus}", "--nofork", "--nopidfile")
        self._wait("dbus", lambda: (run / "bus").exists())
        self._spawn("pipewire")
        self._wait("pipewire", lambda: (run / "pipewire-0").exists())
        self._spawn("wireplumber")
        self._spawn("pipewire-pulse")
        self._wait("pipewire-pulse", lambda: (run / "pulse" / "native").exists())
        self._pactl("load-module", "module-null-sink", f"sink_name={SINK}",
                    f"sink_properties=device.description={SINK}")  # fmt: skip
        self._pactl("set-default-sink", SINK)
        self._wait("the null sink", lambda: answers(self.folder))

    def _pactl(self, *args: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            done = subprocess.run(["pactl", *args], env=self.env, capture_output=True, timeout=10)
            if done.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise SessionError(f"pactl {' '.join(args)}: {done.stderr.decode().strip()}")
            time.sleep(0.1)

    def stop(self, keep: bool = False) -> None:
        """Stop every process, the last started first (pipewire-pulse and wireplumber before
        pipewire), each by its PID; keep: leave the folder for start() to use again (as a
        desktop's audio server comes back after a crash, its clients' environment still right)."""
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
        self.processes = []
        if self.owned and not keep:
            shutil.rmtree(self.folder, ignore_errors=True)


def main(argv: list[str]) -> int:
    """`python -m tests.daemon.pipewire_session DIR`: run a session in DIR until SIGTERM."""
    if len(argv) != 1:
        print("usage: python -m tests.daemon.pipewire_session DIR", file=sys.stderr)
        return 2
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    try:
        session = PipeWireSession(Path(argv[0]))
    except SessionError as error:
        print(error, file=sys.stderr)
        return 1
    (session.folder / "ready").touch()  # .ci/test waits for it
    try:
        while not stopping and all(p.poll() is None for p in session.processes):
            time.sleep(0.2)
    finally:
        (session.folder / "ready").unlink(missing_ok=True)
        session.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
