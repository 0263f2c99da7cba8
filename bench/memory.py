"""Where the idle daemon's resident memory goes, beside FluidSynth on the same bank.

1. Step by step, in a fresh process, as the daemon starts: the interpreter, numpy, the engine's
   C entries loaded from its shared library (engine_library.py: no numba, no LLVM), PortAudio
   and the JACK/MIDI modules, the rest of the daemon, a SynthService with TimGM6mb, and what
   start-up gives back. Each step: VmRSS, and its anonymous and file-backed parts
   (/proc/self/status). The engine library is built first if the cache has none.
2. `dmusd run` with TimGM6mb on a private JACK dummy server, idle: RSS, PSS, USS, and the RSS
   of every mapping grouped by what it is (/proc/PID/smaps).
3. FluidSynth (Debian's, JACK audio and MIDI, the same SF2) on the same server, the same way.

Usage: .venv/bin/python bench/memory.py. Prints figures; the last line is one JSON object.
Target (issue 14): the idle daemon with TimGM6mb <= 100 MB RSS.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.live import TIMGM, Jackd, dmusd, fluidsynth, memory  # noqa: E402

IDLE = 3.0  # seconds after READY before measuring: past the start-up's last work

STEPS = r"""
import sys
def status():
    d = {}
    for line in open("/proc/self/status"):
        if line.startswith(("VmRSS", "RssAnon", "RssFile")):
            key, value = line.split(":")
            d[key] = int(value.split()[0]) / 1024
    return d
def step(name):
    print(name, status()["VmRSS"], status()["RssAnon"], status()["RssFile"], sep="\t", flush=True)
step("interpreter")
import numpy
step("numpy")
from dmusd.engine_library import engine_entries
engine_entries()
step("engine library")
import sounddevice, jack, rtmidi
step("PortAudio, JACK, rtmidi")
import dmusd.daemon
step("rest of the daemon")
from dmusd.config import load_config
config = load_config(sys.argv[1])
from dmusd.kernel.clock import MasterClock
from dmusd.service import SynthService
service = SynthService(config, MasterClock(config.audio.sample_rate))
step("SynthService + TimGM6mb")
import gc
gc.collect()
from dmusd.resident import give_back_start_up_memory
give_back_start_up_memory()
step("start-up memory given back")
assert "numba" not in sys.modules and "llvmlite" not in sys.modules, "numba was loaded"
"""


def steps(script: str, argument: str) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-c", script, argument], capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise SystemExit(f"the step-by-step import failed:\n{done.stderr}")
    out = []
    for line in done.stdout.splitlines():
        name, rss, anon, file = line.split("\t")
        out.append({"step": name, "rss_mb": float(rss), "anon_mb": float(anon),
                    "file_mb": float(file)})  # fmt: skip
    return out


# groups of file mappings, first match wins (the path's file name)
LIBRARY_GROUPS = (
    ("llvmlite", r"libllvmlite"),
    ("python", r"libpython|/lib-dynload/|\.cpython-3\d+"),
    ("numpy libs", r"numpy\.libs|libgfortran|openblas"),
    ("audio + MIDI", r"libportaudio|libjack|libasound\.so|_rtmidi|libsndfile|_soundfile"),
    ("ALSA plugins + deps", r"alsa-lib/|libav|libx26|librav1e|libaom|libSvt|libdav1d|libpulse|"
                            r"libpipewire|librsvg|libcairo|libglib|libgio|libgobject|libX|"
                            r"libicu|libspeex|libvpx|libcodec2|libzvbi"),
    ("libc, libstdc++, ld.so", r"libc\.so|libm\.so|libstdc\+\+|ld-linux|libgcc_s|libpthread"),
    ("crypto", r"libcrypto|libssl"),
)  # fmt: skip


def by_group(pid: int) -> dict[str, dict[str, float]]:
    """RSS in MB, and how much of it other processes map too, per group of what is mapped:
    anonymous memory (heap, arrays, the sample pool, thread stacks),
    JACK's shared memory, and libraries by group. The kernel pages out only what no other
    process maps, so a library another program on the machine uses stays resident here."""
    groups: dict[str, dict[str, float]] = {}
    name = ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            name = " ".join(head[5:]) if len(head) > 5 else ""
            continue
        if head[0] not in ("Rss:", "Shared_Clean:", "Shared_Dirty:"):
            continue
        if not name or name.startswith("["):
            group = "anon " + (name or "[mmap]")
        elif "/dev/shm/jack" in name:
            group = "JACK shm"
        else:
            group = next((g for g, rx in LIBRARY_GROUPS if re.search(rx, name)), "other files")
        part = groups.setdefault(group, {"rss_mb": 0.0, "shared_mb": 0.0})
        part["rss_mb" if head[0] == "Rss:" else "shared_mb"] += int(head[1]) / 1024
    ordered = sorted(groups.items(), key=lambda kv: -kv[1]["rss_mb"])
    return {k: {n: round(v, 1) for n, v in p.items()} for k, p in ordered if p["rss_mb"] >= 0.05}


def fluid_port_up(fluid, timeout: float = 30.0) -> None:
    """Wait until FluidSynth's MIDI port exists (it prints nothing when it is ready)."""
    import jack

    client = jack.Client("bench-memory-watch", no_start_server=True)
    try:
        deadline = time.monotonic() + timeout
        while not client.get_ports(fluid.midi_pattern, is_midi=True):
            if fluid.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"FluidSynth did not start:\n{fluid.text()[-2000:]}")
            time.sleep(0.05)
    finally:
        client.close()


def show(step_list: list[dict]) -> None:
    for s in step_list:
        print(f"  {s['step']:30s} {s['rss_mb']:6.1f} {s['anon_mb']:6.1f} {s['file_mb']:6.1f}")


def report(title: str, mem: dict, groups: dict[str, float]) -> None:
    print(f"{title}: RSS {mem['rss_mb']:.1f} MB, PSS {mem['pss_mb']:.1f}, USS {mem['uss_mb']:.1f}"
          f" (private dirty {mem['private_dirty_mb']:.1f})")  # fmt: skip
    print("  MB (shared with other processes): " + ", ".join(
        f"{k} {v['rss_mb']:.1f} ({v['shared_mb']:.1f})" for k, v in groups.items()))  # fmt: skip


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="dmusd-bench-memory-"))
    config = tmp / "steps.toml"
    config.write_text(f'[[pins]]\nname = "synth"\nbanks = ["{TIMGM}"]\n')
    print("step by step (MB: RSS, anonymous, file-backed; each line includes those above):")
    step_list = steps(STEPS, str(config))
    show(step_list)
    server = Jackd(1024)
    try:
        daemon = dmusd(tmp, server.env)
        try:
            time.sleep(IDLE)
            ours, our_groups = memory(daemon.process.pid), by_group(daemon.process.pid)
        finally:
            daemon.stop()
        fluid = fluidsynth(server.name, server.env)
        try:
            fluid_port_up(fluid)
            time.sleep(IDLE)
            if fluid.process.poll() is not None:
                raise SystemExit(f"FluidSynth exited:\n{fluid.text()[-2000:]}")
            theirs, their_groups = memory(fluid.process.pid), by_group(fluid.process.pid)
        finally:
            fluid.stop()
    finally:
        server.stop()
    report("dmusd run, idle, TimGM6mb", ours, our_groups)
    report("FluidSynth 2.3.1 -a jack -m jack, idle, TimGM6mb", theirs, their_groups)
    ratio = ours["rss_mb"] / theirs["rss_mb"]
    # libjack locks the server's whole segment in every client; dmusd drops its view of it
    # (resident.py), FluidSynth keeps it: compare without it too
    ours_own = ours["rss_mb"] - our_groups.get("JACK shm", {}).get("rss_mb", 0.0)
    theirs_own = theirs["rss_mb"] - their_groups.get("JACK shm", {}).get("rss_mb", 0.0)
    print(f"RSS ratio dmusd / FluidSynth: {ratio:.2f}; without JACK's segment "
          f"{ours_own:.1f} / {theirs_own:.1f} MB = {ours_own / theirs_own:.2f} "
          "(target: dmusd <= 100 MB)")  # fmt: skip
    print(json.dumps({
        "bench": "memory", "steps": step_list, "dmusd": ours,
        "dmusd_groups": our_groups, "fluidsynth": theirs, "fluidsynth_groups": their_groups,
        "rss_ratio": round(ratio, 2), "rss_without_jack_segment_mb": [ours_own, theirs_own],
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
