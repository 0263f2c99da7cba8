"""Offline rendering, whole program against whole program: `dmusd render` and `fluidsynth -F`.

1. A dense 16-channel song (bench/dense_midi.py, seeded: the same notes every run), 70 s, with
   TimGM6mb at 48 kHz, 4-point interpolation, reverb and chorus on, rendered to a WAV file by
   each program at 256 voices, 1024 voices and uncapped (4096, dmusd's largest budget). Both
   are timed in CPU seconds of the child process (user + system),
   best of --runs, one after the other in the same run, so the ratio holds on a noisy machine.
   Each program's start-up (imports, bank loading, numba's cache; FluidSynth's SF2 loading) is
   measured on a song with no notes and reported apart, so the ratio is given with and without it.
2. A polyphony ramp: songs holding N looped organ notes with the voice cap at N (more notes than
   voices where the keys allow), for rising N. A line through (N, CPU seconds per second of
   audio, start-up removed) gives the polyphony each renders in real time on one core.

FluidSynth is 2.6.0, the newest release, built in ../shared/tools/fluidsynth-2.6/ (see
fluidsynth26.py; FLUIDSYNTH names another binary).

Usage: python bench/render.py [--seconds 70] [--runs 2] [--voices 256,1024,4096]
       [--ramp 128,512,1024]
The last line is one JSON object with the figures. Target (issue 11): dmusd <= 0.6x FluidSynth's
CPU on the dense song at 256 voices.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fluidsynth26  # noqa: E402
from dense_midi import dense_song, polyphony_song  # noqa: E402

RATE = 48000
SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
DMUSD = Path(sys.executable).with_name("dmusd")
FLUIDSYNTH = fluidsynth26.command()


def cpu_seconds(cmd: list[str], runs: int) -> float:
    """Least CPU time (user + system) of the child over `runs` runs."""
    best = float("inf")
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(cmd, capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"{cmd[0]} failed:\n{done.stderr}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = min(best, cpu)
    return best


def dmusd_cmd(song: Path, out: Path, voices: int) -> list[str]:
    return [
        str(DMUSD),
        "render",
        str(song),
        "-o",
        str(out),
        "--bank",
        str(SOUNDFONT),
        "--rate",
        str(RATE),
        "--voices",
        str(voices),
        "--interp",
        "cubic",
    ]


def fluidsynth_cmd(song: Path, out: Path, voices: int) -> list[str]:
    return [
        *FLUIDSYNTH,
        "-ni",
        "-q",
        "-g",
        "0.2",
        "-r",
        str(RATE),
        "-o",
        f"synth.polyphony={voices}",
        "-o",
        "synth.cpu-cores=1",
        "-R",
        "1",
        "-C",
        "1",
        "-F",
        str(out),
        str(SOUNDFONT),
        str(song),
    ]


COMMANDS = {"dmusd": dmusd_cmd, "fluidsynth": fluidsynth_cmd}


def dense(tmp: Path, seconds: float, runs: int, voices: int) -> dict:
    song = dense_song(tmp / "dense.mid", seconds)
    empty = polyphony_song(tmp / "empty.mid", 0, seconds=1.0)
    figures = {}
    for name, make in COMMANDS.items():
        total = cpu_seconds(make(song, tmp / f"{name}.wav", voices), runs)
        startup = cpu_seconds(make(empty, tmp / f"{name}-empty.wav", voices), runs)
        figures[name] = {"cpu_s": round(total, 3), "startup_cpu_s": round(startup, 3)}
        print(
            f"  {name:10s} {total:7.2f} s CPU ({startup:.2f} s of it start-up) "
            f"for {seconds:.0f} s of audio: {seconds / total:5.1f}x real time"
        )
    d, f = figures["dmusd"], figures["fluidsynth"]
    ratio = d["cpu_s"] / f["cpu_s"]
    render_ratio = (d["cpu_s"] - d["startup_cpu_s"]) / (f["cpu_s"] - f["startup_cpu_s"])
    print(f"  dmusd / FluidSynth CPU: {ratio:.2f} (start-up excluded: {render_ratio:.2f})")
    return {**figures, "ratio": round(ratio, 3), "ratio_without_startup": round(render_ratio, 3)}


def ramp(tmp: Path, counts: list[int], seconds: float, runs: int) -> dict:
    result = {}
    for name, make in COMMANDS.items():
        times = {}
        for n in [0, *counts]:
            song = polyphony_song(tmp / f"held{n}.mid", min(2 * n, 15 * 84), seconds)
            times[n] = cpu_seconds(make(song, tmp / f"{name}-held.wav", max(n, 1)), runs)
        load = {n: (times[n] - times[0]) / seconds for n in counts}  # cores busy per voice count
        slope, intercept = np.polyfit(counts, [load[n] for n in counts], 1)
        realtime = int((1.0 - intercept) / slope)
        ns = {n: round(load[n] / (n * RATE) * 1e9, 2) for n in counts}
        print(f"  {name:10s} ns per voice-sample {ns}; real-time polyphony on one core {realtime}")
        result[name] = {"ns_per_voice_sample": ns, "realtime_polyphony": realtime}
    ratio = result["dmusd"]["realtime_polyphony"] / result["fluidsynth"]["realtime_polyphony"]
    print(f"  dmusd / FluidSynth real-time polyphony: {ratio:.2f}")
    return {**result, "ratio": round(ratio, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=70.0, help="length of the dense song")
    parser.add_argument("--runs", type=int, default=2, help="runs per measurement (best kept)")
    parser.add_argument("--voices", default="256,1024,4096", help="voice caps of the dense song")
    parser.add_argument("--ramp", default="128,512,1024", help="voice counts of the ramp ('' none)")
    parser.add_argument("--ramp-seconds", type=float, default=4.0)
    args = parser.parse_args()
    if not (SOUNDFONT.exists() and DMUSD.exists()):
        raise SystemExit("needs TimGM6mb (bash .ci/setup) and the dmusd command")
    songs = {}
    poly = None
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for voices in [int(n) for n in args.voices.split(",")]:
            print(f"dense 16-channel song, TimGM6mb, {RATE} Hz, {voices} voices, 4-point, effects:")
            songs[voices] = dense(tmp, args.seconds, args.runs, voices)
        if args.ramp:
            print("polyphony ramp (held organ notes, voice cap = notes):")
            counts = [int(n) for n in args.ramp.split(",")]
            poly = ramp(tmp, counts, args.ramp_seconds, args.runs)
    first = songs[min(songs)]
    result = {
        "rate": RATE,
        "fluidsynth": fluidsynth26.version(),
        "dense_seconds": args.seconds,
        "dense": songs,
        "polyphony": poly,
        "meets_cpu_target": min(songs) == 256 and first["ratio"] <= 0.6,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
