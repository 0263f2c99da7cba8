"""`dmusd run` as a subprocess for the daemon tests: its config (two pins: "a" with the built-in
GM bank and two channel groups, "b" with TimGM6mb), log and control socket, and the names of its
JACK ports. The `daemon` and `harness` fixtures (conftest.py) start one per test module.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon.jack_harness import JackHarness

TIMGM = "/usr/share/sounds/sf2/TimGM6mb.sf2"
READY_TIMEOUT = 180.0  # a cold numba cache compiles the engine first
CLIENT = "dmusd-e2e"

CONFIG = """\
[audio]
backend = "{backend}"
device = "{device}"
period = {period}
schedule_ahead_ms = 60.0  # > a 1024-frame period (21.3 ms) + a busy machine's wake-ups
client_name = "{client}"
on_server_loss = "{on_loss}"

[midi]
client_name = "{client}-midi"

[[pins]]
name = "a"
channel_groups = 2
reverb = false
chorus = false

[[pins]]
name = "b"
banks = ["{timgm}"]
reverb = false
chorus = false

[control]
socket = "{socket}"
"""


class Daemon:
    """A `dmusd run` subprocess with its config, log and control socket."""

    def __init__(
        self,
        tmp: Path,
        env: dict[str, str] | None = None,
        period: int = 1024,
        flags: tuple[str, ...] = (),  # `dmusd run` flags after --config
        config: str = CONFIG,  # str.format: period, client, timgm, socket, backend, device, on_loss
        client: str = CLIENT,
        backend: str = "jack",
        device: str = "",
        wrapper: tuple[str, ...] = (),
        on_loss: str = "exit",
    ) -> None:
        """wrapper: a command the daemon runs under (("pw-jack",): PipeWire's JACK)."""
        self.socket = str(tmp / "control.sock")
        self.config = tmp / "dmusd.toml"
        self.config.write_text(
            config.format(
                period=period, client=client, timgm=TIMGM, socket=self.socket, backend=backend,
                device=device, on_loss=on_loss,
            )
        )  # fmt: skip
        self.log_path = tmp / "dmusd.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (open while the daemon runs)
        code = "import sys; from dmusd.cli import main; sys.exit(main())"
        cmd = [*wrapper, sys.executable, "-c", code, "run", "--config", str(self.config), *flags]
        self.process = subprocess.Popen(
            cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env or dict(os.environ)
        )
        deadline = time.monotonic() + READY_TIMEOUT
        while " ready in " not in self.log:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"dmusd run did not get ready:\n{self.log}")
            time.sleep(0.05)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def ctl(self, cmd: str, **args) -> dict:
        """One request over the control socket (raw JSON lines); returns the reply."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(30)
            s.connect(self.socket)
            s.sendall(json.dumps({"cmd": cmd, **args}).encode() + b"\n")
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                reply += chunk
        return json.loads(reply)

    @contextlib.contextmanager
    def harness(self) -> Iterator[JackHarness]:
        """A JACK harness recording this daemon's audio outputs (MIDI is wired per test)."""
        with JackHarness("dmusd-e2e-daw") as h:
            # the main pair (each pin has its own pair too: PinOutput)
            outputs = h.wait_for_port(f"^{CLIENT}:out_[01]$", is_audio=True, is_output=True)
            h.connect_audio(sorted(outputs))
            yield h

    def exits_after(self, since: float, what: str, timeout: float = 10.0) -> float:
        """Seconds from `since` (monotonic) until the daemon exited by itself after `what`;
        the test fails (and the daemon is killed) if it still runs `timeout` s later."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop(signal.SIGKILL)
            pytest.fail(f"dmusd still runs {timeout:g} s after {what}:\n{self.log}")
        return time.monotonic() - since

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()
        return self.process.returncode


MIDI_CLIENT = f"{CLIENT}-midi"


def port_of(daemon: Daemon, short: str) -> str:
    """Full JACK name of the daemon's MIDI port `short` (e.g. 'a 1'): on the MIDI client, whose
    name the config gives apart from the audio client's."""
    return f"{MIDI_CLIENT}:{short}"
