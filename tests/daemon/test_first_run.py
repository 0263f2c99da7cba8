"""The first start as a user meets it: `dmusd run` with no device says so before compiling
anything, the unit and a hand-started daemon share one numba cache, and a cold compile is said in
the log and keeps systemd waiting (EXTEND_TIMEOUT_USEC on a real notify socket), and leaves the
engine library the next start loads."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.daemon.daemon_process import Daemon
from tests.daemon.test_systemd_unit import UNIT, unit_keys

DMUSD = [sys.executable, "-c", "import sys; from dmusd.cli import main; sys.exit(main())"]
COMPILING = "compiling the voice engine"


def compiled_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.suffix in (".nbi", ".nbc")]


def clean_env(**extra: str) -> dict[str, str]:
    """os.environ without the cache variables (this process's dmusd import set NUMBA_CACHE_DIR)."""
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(extra)
    return env


def test_no_audio_device_exits_3_before_compiling(tmp_path):
    cache = tmp_path / "numba"  # empty: a compile would fill it
    env = clean_env(
        NUMBA_CACHE_DIR=str(cache),
        JACK_DEFAULT_SERVER="dmusd-test-no-such-server",
        JACK_NO_START_SERVER="1",
        XDG_CONFIG_HOME=str(tmp_path / "config"),  # the built-in defaults: audio "auto"
    )
    done = subprocess.run(
        [*DMUSD, "run"], env=env, capture_output=True, text=True, timeout=30
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert "no usable audio output" in done.stderr and "no JACK server answers" in done.stderr
    assert COMPILING not in done.stderr and "Traceback" not in done.stderr
    assert compiled_files(tmp_path) == []  # numba never ran


@pytest.mark.parametrize("xdg", [False, True])
def test_the_unit_and_the_cli_use_one_cache_folder(tmp_path, xdg):
    """The unit's %C/dmusd (CacheDirectory=dmusd, writable in its sandbox) is where dmusd puts
    numba's cache: %C is $XDG_CACHE_HOME for a user unit, else ~/.cache (systemd.unit(5))."""
    keys = unit_keys(UNIT.read_text())
    assert keys["CacheDirectory"] == ["dmusd"]
    assert "%C/dmusd" in keys["ReadWritePaths"][0].split()
    assert not any("NUMBA_CACHE_DIR" in v for v in keys.get("Environment", []))
    home = tmp_path / "home"
    env = clean_env(HOME=str(home))
    if xdg:
        env["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")
    percent_c = env.get("XDG_CACHE_HOME") or str(home / ".cache")
    code = "import dmusd.cli, numba; print(numba.config.CACHE_DIR)"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{percent_c}/dmusd/numba"


class NotifySocket:
    """A bound datagram socket standing in for systemd's, collecting what arrives."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages: list[list[str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _collect(self) -> None:
        while not self._stop.is_set():
            try:
                self.messages.append(self.sock.recv(4096).decode().split("\n"))
            except TimeoutError:
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def before_ready(self) -> list[list[str]]:
        ready = next(i for i, m in enumerate(self.messages) if "READY=1" in m)
        return self.messages[:ready]


@pytest.mark.slow
@pytest.mark.realtime
def test_a_cold_start_says_it_compiles_extends_the_timeout_and_the_next_start_does_not(
    private_jack_server, tmp_path
):
    server = private_jack_server()
    cache = tmp_path / "cache"  # dmusd's cache folder: the engine library, numba's under it
    runs = []
    for run in ("cold", "warm"):
        folder = tmp_path / run
        folder.mkdir()
        notify = NotifySocket(folder / "notify")
        numba = str(cache / "dmusd" / "numba")
        env = dict(server.env, XDG_CACHE_HOME=str(cache), NUMBA_CACHE_DIR=numba)
        env["NOTIFY_SOCKET"] = notify.path
        daemon = Daemon(folder, env)
        try:
            assert daemon.stop() == 0
        finally:
            notify.close()
        runs.append((daemon.log, notify.before_ready()))
    (cold_log, cold_notes), (warm_log, warm_notes) = runs
    assert cold_log.count(COMPILING) == 1, cold_log
    assert "voice engine compiled in " in cold_log
    extends = [m for m in cold_notes if m[0].startswith("EXTEND_TIMEOUT_USEC=")]
    assert extends and all(m == ["EXTEND_TIMEOUT_USEC=30000000", f"STATUS={COMPILING}"]
                           for m in extends), cold_notes  # fmt: skip
    assert compiled_files(cache)
    assert len(list((cache / "dmusd").glob("dmusd-engine-*.so"))) == 1  # the library it built
    # the second start loads the library the first built: nothing said, nothing extended
    assert COMPILING not in warm_log and "compiled in" not in warm_log, warm_log
    assert not any(m[0].startswith("EXTEND_TIMEOUT_USEC=") for m in warm_notes)
