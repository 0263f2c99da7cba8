"""Control client benchmark: what one `dmusd ctl ...` call costs, beside FluidSynth's.

Both synths run on a private JACK dummy server (period 1024) with TimGM6mb. Measured, each as
the median wall time of --runs fresh processes:
- `dmusd --version`, and `fluidsynth --version` beside it;
- `dmusd ctl status` and `dmusd ctl noteon 0 60 100` against the running daemon (a Python start,
  the socket round trip, the reply printed);
- the same `ctl status` with every sub-command module imported first, as the CLI did before it
  imported lazily (the "before" figure);
- `python -c pass` (the floor any Python CLI pays: on a loaded machine everything here grows
  with it, so the call's cost is best read as the difference);
- `dmusd ctl --config FILE status` (the socket named by a config file, which is parsed and
  validated first);
- the socket round trip alone, in this process: dmusd's `status` and FluidSynth's TCP shell
  answering `fonts` (connect, one command, its answer).

Usage: .venv/bin/python bench/ctl.py [--runs N] [--server JACK_SERVER_NAME].
Target (issue 14): <= 0.15 s a ctl call.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.live import Jackd, dmusd, fluidsynth  # noqa: E402
from dmusd.commands.ctl import send  # noqa: E402

CLI = "import sys; from dmusd.cli import main; sys.exit(main())"
# The CLI before issue 14: every sub-command module imported to build the parser.
EAGER = (
    "import importlib, sys\n"
    "for m in ('run', 'ctl', 'check_config', 'devices', 'render', 'bank', 'trace'):\n"
    "    importlib.import_module('dmusd.commands.' + m)\n"
    "from dmusd.cli import main; sys.exit(main())"
)
SHELL_PORT = 19800 + os.getpid() % 100  # not FluidSynth's default 9800: other runs may hold it


class RunningJack:
    """A JACK server someone else runs (a machine whose JACK registry is full takes no new one)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.env = dict(os.environ, JACK_DEFAULT_SERVER=name)
        os.environ["JACK_DEFAULT_SERVER"] = name  # for the harness in this process

    def stop(self) -> None:
        pass


def wall(argv: list[str], runs: int, env: dict[str, str]) -> float:
    """Median wall seconds of `runs` runs of argv (each must succeed), after one untimed run
    that leaves the bytecode caches written, as an installed package has them."""
    subprocess.run(argv, check=True, capture_output=True, env=env)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def round_trip(call, runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def fluid_fonts() -> None:
    """Connect to FluidSynth's TCP shell, ask `fonts`, read until the bank's line."""
    with socket.create_connection(("127.0.0.1", SHELL_PORT), timeout=10) as s:
        s.sendall(b"fonts\n")
        data = b""
        while b"TimGM6mb.sf2" not in data:
            chunk = s.recv(4096)
            if not chunk:
                raise RuntimeError(f"FluidSynth's shell closed: {data!r}")
            data += chunk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--server", help="a running JACK server's name to use instead of starting one"
    )
    args = parser.parse_args()
    runs = args.runs
    tmp = Path(tempfile.mkdtemp(prefix="dmusd-bench-ctl-"))
    server = Jackd(1024) if args.server is None else RunningJack(args.server)
    synths = []
    try:
        ours = dmusd(tmp, server.env)
        synths.append(ours)
        theirs = fluidsynth(server.name, server.env, options=("-o", f"shell.port={SHELL_PORT}"))
        synths.append(theirs)
        deadline = time.monotonic() + 30
        while True:  # its shell server listens a moment after the process starts
            try:
                fluid_fonts()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        env = dict(server.env)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's Python keeps its .pyc files
        py = sys.executable
        sock = ["--socket", ours.socket]
        figures = {
            "python_pass_s": wall([py, "-c", "pass"], runs, env),
            "dmusd_version_s": wall([py, "-c", CLI, "--version"], runs, env),
            "fluidsynth_version_s": wall(["fluidsynth", "--version"], runs, env),
            "ctl_status_s": wall([py, "-c", CLI, "ctl", *sock, "status"], runs, env),
            "ctl_status_config_s": wall(
                [py, "-c", CLI, "ctl", "--config", str(tmp / "dmusd.toml"), "status"], runs, env
            ),
            "ctl_noteon_s": wall(
                [py, "-c", CLI, "ctl", *sock, "noteon", "0", "60", "1"], runs, env
            ),
            "ctl_status_eager_imports_s": wall(
                [py, "-c", EAGER, "ctl", *sock, "status"], runs, env
            ),
            "dmusd_round_trip_ms": 1000
            * round_trip(lambda: send(ours.socket, {"cmd": "status"}), runs * 5),
            "fluidsynth_round_trip_ms": 1000 * round_trip(fluid_fonts, runs * 5),
        }
    finally:
        for synth in synths:
            synth.stop()
        server.stop()
    f = figures
    print(f"median of {runs} runs each, one JACK dummy server, TimGM6mb loaded in both:")
    print(f"  python -c pass                 {f['python_pass_s']:.3f} s (the floor)")
    ratio = f["dmusd_version_s"] / f["fluidsynth_version_s"]
    print(
        f"  dmusd --version                {f['dmusd_version_s']:.3f} s   fluidsynth --version "
        f"{f['fluidsynth_version_s']:.3f} s (x{ratio:.1f})"
    )
    print(f"  dmusd ctl status               {f['ctl_status_s']:.3f} s (target <= 0.15 s)")
    print(f"  dmusd ctl --config FILE status {f['ctl_status_config_s']:.3f} s")
    print(f"  dmusd ctl noteon 0 60 1        {f['ctl_noteon_s']:.3f} s")
    print(
        f"  ctl status, every module imported (before) {f['ctl_status_eager_imports_s']:.3f} s "
        f"(x{f['ctl_status_eager_imports_s'] / f['ctl_status_s']:.1f} the lazy CLI)"
    )
    print(
        f"  socket round trip: dmusd status {f['dmusd_round_trip_ms']:.2f} ms, FluidSynth shell "
        f"`fonts` {f['fluidsynth_round_trip_ms']:.2f} ms "
        f"(x{f['dmusd_round_trip_ms'] / f['fluidsynth_round_trip_ms']:.1f})"
    )
    print(json.dumps({k: round(v, 4) for k, v in figures.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
