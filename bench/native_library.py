"""The engine's two routes at run time: numba's own entries, and the shared library dmusd
builds from them (engine_library.py, engine_build.py; issue 14, item 7).

numba holds the engine's machine code inside its LLVM JIT, so a process that runs numba's
entries imports numba and llvmlite and loads each cached function. The library holds the same
machine code, linked with `ld -shared`, and loads with ctypes alone.

It then measures:
1. in a fresh process each, resident memory and time to reach the entries: numba's route
   (import numba, load the cached cfuncs) against the library's (ctypes.CDLL);
2. in this process, that the library renders the same samples at the same cost: the dense
   song rendered by dmusd.Synth through numba's render_pin and again through the library's,
   compared bit for bit, then timed `--runs` times per route, the routes in turn (CPU of the
   whole render_midi call, the pin's set-up included).

Usage: python bench/native_library.py [--seconds 20] [--runs 3]   (needs `ld`, from binutils)
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dense_midi import dense_song  # noqa: E402
from render import RATE, SOUNDFONT  # noqa: E402


def build(folder: Path) -> Path:
    """The library, built as dmusd builds it (engine_build.py), into folder."""
    from dmusd.engine_build import build_library

    return build_library(folder / "dmusd-engine.so")


PROBE = r"""
import json, sys, time
import numpy, sounddevice  # what a daemon has loaded anyway
base = int(open("/proc/self/statm").read().split()[1]) * 4096
t = time.perf_counter()
from dmusd import engine_library
if sys.argv[1] == "numba":
    entries = engine_library._from_numba()
else:
    entries = engine_library._from_library(sys.argv[2])
addresses = [entries.render_pin_address, entries.pa_output_callback, entries.jack_midi_process]
ready = time.perf_counter() - t
rss = int(open("/proc/self/statm").read().split()[1]) * 4096
print(json.dumps({"base_mb": base / 2**20, "rss_mb": rss / 2**20, "seconds": ready,
                  "numba_loaded": "numba" in sys.modules, "entries": len(addresses)}))
"""


def probe(route: str, library: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, route, str(library)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.splitlines()[-1])


def same_samples(library: Path, seconds: float, runs: int) -> dict:
    """The dense song through numba's render_pin and through the library's: equal? And the CPU
    of each, `runs` renders per route taken in turn (this machine is shared and noisy: the
    fastest of each is the figure)."""
    import numpy as np

    import dmusd
    from dmusd import engine_library

    with tempfile.TemporaryDirectory() as folder:
        song = dense_song(Path(folder) / "dense.mid", seconds)
        synth = dmusd.Synth(banks=[str(SOUNDFONT)], rate=RATE)
        routes = {"numba": engine_library._from_numba(),
                  "library": engine_library._from_library(library)}  # fmt: skip
        kept = engine_library._entries
        audio, cpu = {}, {route: [] for route in routes}
        try:
            for route, entries in routes.items():  # warm: every timed render finds its caches
                engine_library._entries = entries
                audio[route] = synth.render_midi(str(song))
            for _ in range(runs):
                for route, entries in routes.items():
                    engine_library._entries = entries
                    start = time.process_time()
                    synth.render_midi(str(song))
                    cpu[route].append(round(time.process_time() - start, 3))
        finally:
            engine_library._entries = kept
    return {
        "frames": len(audio["numba"]),
        "identical": bool(np.array_equal(audio["numba"], audio["library"])),
        "numba_render_cpu_s": cpu["numba"],
        "library_render_cpu_s": cpu["library"],
        "library_over_numba": round(min(cpu["library"]) / min(cpu["numba"]), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the dense song")
    parser.add_argument("--runs", type=int, default=3, help="timed renders per route")
    args = parser.parse_args()
    if not SOUNDFONT.exists():
        raise SystemExit("needs TimGM6mb (bash .ci/setup)")
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        library = build(Path(folder))
        built = time.perf_counter() - start
        print(f"built {library.name}: {library.stat().st_size / 1024:.0f} KiB in {built:.1f} s "
              "(emit and link; numba compiles first if its cache is cold)")  # fmt: skip
        routes = {route: probe(route, library) for route in ("numba", "library")}
        for route, r in routes.items():
            print(f"  {route:8s} entries ready in {r['seconds']:.3f} s, RSS {r['rss_mb']:.1f} MB "
                  f"(numpy + sounddevice alone {r['base_mb']:.1f} MB), numba loaded: "
                  f"{r['numba_loaded']}")  # fmt: skip
        saved = routes["numba"]["rss_mb"] - routes["library"]["rss_mb"]
        print(
            f"  the library saves {saved:.1f} MB and "
            f"{routes['numba']['seconds'] - routes['library']['seconds']:.2f} s"
        )
        check = same_samples(library, args.seconds, args.runs)
        print(f"  dense song ({check['frames']} frames) through both: identical "
              f"{check['identical']}; render CPU (s, in turn) numba {check['numba_render_cpu_s']}, "
              f"library {check['library_render_cpu_s']}: fastest library / fastest numba "
              f"{check['library_over_numba']}")  # fmt: skip
    print(json.dumps({"build_s": round(built, 2), "routes": routes, "samples": check}))
    return 0 if check["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
