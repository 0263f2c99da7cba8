"""Start-up as a user meets it: `dmusd run` beside FluidSynth, from a fresh process each time.

- time to the MIDI input port being up in JACK and to READY (dmusd's "ready in" line), with
  the engine library built (the state .ci/setup leaves), dmusd with TimGM6mb and with the
  built-in GM bank; FluidSynth (Debian's, JACK audio and MIDI, TimGM6mb) to its MIDI port, on
  the same private JACK dummy server, each ROUNDS times (medians);
- `dmusd run` with no audio device (no JACK server, no PortAudio device) and an empty cache
  (no engine library, no numba cache): how long until it exits, and with which code (3
  expected, and nothing compiled or built).

Usage: .venv/bin/python bench/start_up.py. Prints figures; the last line is one JSON object.
Target (issue 14): READY <= 3 s warm; no device: exit 3 in well under a second.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import jack

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.live import CLIENT, Jackd, Synth, dmusd, fluidsynth  # noqa: E402

ROUNDS = 3
DMUSD = [sys.executable, "-c", "import sys; from dmusd.cli import main; sys.exit(main())"]


class PortWatch:
    """From a JACK client of its own: when a MIDI input port named like `pattern` shows up."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.started = time.monotonic()
        self.seen: float | None = None
        self._client = jack.Client("bench-start-up-watch", no_start_server=True)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._client.get_ports(self.pattern, is_midi=True, is_input=True):
                self.seen = time.monotonic() - self.started
                return
            time.sleep(0.005)

    def wait(self, timeout: float = 60.0) -> float:
        self._thread.join(timeout)
        self._stop.set()
        self._client.close()
        if self.seen is None:
            raise RuntimeError(f"no port {self.pattern!r} within {timeout} s")
        return self.seen


def timed(start, pattern: str) -> tuple[float, Synth]:
    watch = PortWatch(pattern)
    synth = start()
    return watch.wait(), synth


def dmusd_builtin(tmp: Path, env: dict[str, str]) -> Synth:
    """dmusd with the default pin (the built-in GM bank) on JACK."""
    config = tmp / "builtin.toml"
    config.write_text(
        f'[audio]\nbackend = "jack"\nclient_name = "{CLIENT}"\n[midi]\n'
        f'client_name = "{CLIENT}-midi"\n'
        f'[control]\nsocket = "{tmp / "builtin.sock"}"\n'
    )
    s = Synth([*DMUSD, "run", "--config", str(config)], env, r" ready in [0-9.]+ s", 300)
    s.midi_pattern = r"^dmusd-bench[^:]*:synth 1$"
    s.audio_pattern = r"^dmusd-bench(-[0-9]+)?:"
    return s


def no_device(tmp: Path) -> dict:
    env = dict(
        os.environ,
        JACK_DEFAULT_SERVER="dmusd-bench-none",
        JACK_NO_START_SERVER="1",
        XDG_CACHE_HOME=str(tmp / "cache-empty"),  # no engine library, no numba cache
        NUMBA_CACHE_DIR=str(tmp / "cache-empty" / "dmusd" / "numba"),
        XDG_CONFIG_HOME=str(tmp / "none"),
    )
    started = time.monotonic()
    done = subprocess.run([*DMUSD, "run"], env=env, capture_output=True, text=True, timeout=300)
    seconds = time.monotonic() - started
    compiled = list((tmp / "cache-empty").rglob("*.nbi"))
    compiled += list((tmp / "cache-empty").rglob("dmusd-engine-*.so"))
    return {"seconds": round(seconds, 2), "exit": done.returncode, "compiled": len(compiled)}


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="dmusd-bench-start-up-"))
    result: dict = {}
    server = Jackd(1024)
    try:
        runs: dict[str, list[tuple[float, float]]] = {"dmusd TimGM6mb": [], "dmusd built-in": []}
        fluid_runs: list[float] = []
        for i in range(ROUNDS):
            folder = tmp / f"t{i}"
            folder.mkdir()
            for name, start in (
                ("dmusd TimGM6mb", lambda f=folder: dmusd(f, server.env)),
                ("dmusd built-in", lambda: dmusd_builtin(tmp, server.env)),
            ):
                up, synth = timed(start, rf"^{CLIENT}[^:]*:synth 1$")
                runs[name].append((up, synth.ready_wall))
                synth.stop()
            up, synth = timed(lambda: fluidsynth(server.name, server.env), r"^fluidsynth-bench")
            fluid_runs.append(up)
            synth.stop()
    finally:
        server.stop()
    print(f"from a fresh process, the engine library built, median of {ROUNDS} (s):")
    for name, pairs in runs.items():
        up = statistics.median(p[0] for p in pairs)
        ready = statistics.median(p[1] for p in pairs)
        print(f"  {name:16s} MIDI port up {up:5.2f}, READY {ready:5.2f}")
        result[name] = {"ports_up_s": round(up, 2), "ready_s": round(ready, 2)}
    fluid = statistics.median(fluid_runs)
    print(f"  {'FluidSynth':16s} MIDI port up {fluid:5.2f}")
    result["fluidsynth_ports_up_s"] = round(fluid, 2)
    result["ready_ratio"] = round(result["dmusd TimGM6mb"]["ports_up_s"] / fluid, 2)
    nd = no_device(tmp)
    print(f"no audio device, empty cache: exit {nd['exit']} after {nd['seconds']:.2f} s, "
          f"{nd['compiled']} functions compiled")  # fmt: skip
    result["no_device"] = nd
    print(json.dumps({"bench": "start_up", **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
