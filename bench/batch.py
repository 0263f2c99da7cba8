"""Batch rendering, whole program against whole program: `dmusd render -j 2` on a folder of songs
against FluidSynth 2.6 `-F` run two at a time on the same files.

The songs are seeded (bench/dense_midi.py: the same notes every run): short clips of a few
parts (short_song, 10-25 voices) by default, or the dense 16-channel song (--dense). Both
programs use TimGM6mb at 48 kHz with 4-point interpolation, 256 voices, reverb and chorus, and
each renders every song to a WAV file. Timed in wall-clock seconds from the start of the
command(s) to the last file, start-up included (dmusd's workers open their synth once;
FluidSynth starts once per file), best of --runs, one program after the other in each run so
the ratio holds on a shared, noisy machine. CPU seconds (user + system of the children and
theirs) are given beside, with files per CPU second (the throughput were the cores ours alone),
and each program's start-up: the same command on `--jobs` empty songs.

FluidSynth is 2.6.0, built in ../shared/tools/fluidsynth-2.6/ (see fluidsynth26.py).

Usage: python bench/batch.py [--songs 24] [--seconds 5] [--runs 3] [--jobs 2] [--dense]
The last line is one JSON object with the figures. Target (issue 15): files per second of
dmusd -j 2 >= 2x FluidSynth run two at a time.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fluidsynth26  # noqa: E402
from dense_midi import dense_song, polyphony_song, short_song  # noqa: E402
from render import DMUSD, RATE, SOUNDFONT, fluidsynth_cmd  # noqa: E402


def timed(run) -> tuple[float, float]:
    """(wall seconds, children's CPU seconds) of run()."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def dmusd_batch(songs: Path, out: Path, jobs: int) -> None:
    cmd = [str(DMUSD), "render", str(songs), "-o", str(out), "-j", str(jobs), "--bank",
           str(SOUNDFONT), "--rate", str(RATE), "--voices", "256", "--interp", "cubic"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"dmusd failed:\n{done.stderr}")


def fluidsynth_batch(songs: list[Path], out: Path, jobs: int) -> None:
    """Every song through its own FluidSynth process, `jobs` of them running at a time."""
    waiting = list(songs)
    running: list[subprocess.Popen] = []
    while waiting or running:
        while waiting and len(running) < jobs:
            song = waiting.pop(0)
            command = fluidsynth_cmd(song, out / f"{song.stem}.wav", 256)
            running.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))
        for process in running[:]:
            if process.poll() is not None:
                if process.returncode != 0:
                    raise SystemExit(f"FluidSynth failed on a song ({process.args})")
                running.remove(process)
        time.sleep(0.002)


def audio_seconds(folder: Path) -> float:
    return sum(soundfile.info(str(p)).duration for p in folder.glob("*.wav"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=24, help="how many songs")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each song")
    parser.add_argument("--runs", type=int, default=3, help="runs (best kept)")
    parser.add_argument("--jobs", type=int, default=2, help="processes at a time, for both")
    parser.add_argument("--dense", action="store_true", help="the dense 16-channel song")
    args = parser.parse_args()
    if not (SOUNDFONT.exists() and DMUSD.exists()):
        raise SystemExit("needs TimGM6mb (bash .ci/setup) and the dmusd command")
    make = dense_song if args.dense else short_song
    kind = "dense 16-channel" if args.dense else "short few-part"
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        (tmp / "songs").mkdir()
        songs = [make(tmp / "songs" / f"song{i:03d}.mid", args.seconds, seed=i + 1)
                 for i in range(args.songs)]  # fmt: skip
        print(f"{args.songs} {kind} songs of {args.seconds:g} s, TimGM6mb, {RATE} Hz, "
              f"256 voices, 4-point, effects, {args.jobs} at a time:")  # fmt: skip
        (tmp / "empty").mkdir()
        empty = [polyphony_song(tmp / "empty" / f"e{i}.mid", 0, 0.0) for i in range(args.jobs)]
        runs = {
            "dmusd": lambda songs, folder, out: dmusd_batch(folder, out, args.jobs),
            "fluidsynth": lambda songs, folder, out: fluidsynth_batch(songs, out, args.jobs),
        }
        inf = (float("inf"), 0.0)
        best, startup, audio = dict.fromkeys(runs, inf), dict.fromkeys(runs, inf), {}
        for _ in range(args.runs):
            for name, run in runs.items():
                out = tmp / name
                for what, batch, folder in (("songs", songs, "songs"), ("empty", empty, "empty")):
                    shutil.rmtree(out, ignore_errors=True)
                    out.mkdir()
                    figures = timed(lambda r=run, b=batch, f=folder, o=out: r(b, tmp / f, o))
                    if what == "songs":
                        best[name] = min(best[name], figures)
                        audio[name] = audio_seconds(out)
                    else:
                        startup[name] = min(startup[name], figures)
        result = {}
        for name, (wall, cpu) in best.items():
            rate = args.songs / wall
            result[name] = {
                "wall_s": round(wall, 3),
                "cpu_s": round(cpu, 3),
                "files_per_s": round(rate, 2),
                "files_per_cpu_s": round(args.songs / cpu, 2),
                "startup_wall_s": round(startup[name][0], 3),
                "startup_cpu_s": round(startup[name][1], 3),
                "audio_s": round(audio[name], 1),
            }
            print(f"  {name:10s} {wall:6.2f} s wall ({cpu:5.2f} s CPU): {rate:5.1f} files/s, "
                  f"{args.songs / cpu:5.1f} files per CPU s, {audio[name]:.0f} s of audio; "
                  f"start-up {startup[name][0]:.2f} s ({startup[name][1]:.2f} s CPU)")  # fmt: skip
    d, f = result["dmusd"], result["fluidsynth"]
    ratio = d["files_per_s"] / f["files_per_s"]
    cpu_ratio = d["files_per_cpu_s"] / f["files_per_cpu_s"]
    print(f"  dmusd -j {args.jobs} / FluidSynth {args.jobs} at a time: files per second "
          f"{ratio:.2f}, files per CPU second {cpu_ratio:.2f}")  # fmt: skip
    print(json.dumps({
        "songs": args.songs, "seconds": args.seconds, "kind": kind, "jobs": args.jobs,
        "fluidsynth": fluidsynth26.version(), **result, "ratio": round(ratio, 3),
        "cpu_ratio": round(cpu_ratio, 3), "meets_target": ratio >= 2.0,
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
