"""Dropout benchmark: dmusd's audio while its control plane is busy, beside a quiet baseline.

For each JACK period (1024 and 256 frames, a private `jackd -d dummy` each, as bench/live.py
starts them), dmusd runs with TimGM6mb and the JACK harness of the daemon tests plays bench/
dense_midi.py's seeded dense 16-channel song into it (every event at its exact frame) and records
its stereo output. Three phases of the same length:

- idle: the daemon running, nothing played (the server's own xrun rate; 256 frames on the dummy
  driver has xruns even idle);
- song: the song alone (the baseline);
- song + ctl: the same song while one thread loads TimGM6mb onto the pin and unloads it 5 times
  over the control socket and another sends `status` requests back to back meanwhile.

Per phase: xruns (the daemon's `status` count and the harness's JACK xrun callback) and silent
gaps: runs of >= 64 frames with both channels below 1e-7 while the song sounds. An organ pad is
held under the song from start to end, so the output is never silent: any gap is a dropout.
The control threads run in a child process: in this one they would hold the GIL that the
harness's Python process callback needs, and the bench would record its own dropouts. The
harness's `late` count (events it wrote after their frame: it missed a cycle) is reported too.

Usage: .venv/bin/python bench/dropouts.py [--seconds N]. Prints a table; the last line is one
JSON object. Targets: under load, 0 extra xruns and no gap vs the song baseline, at both periods.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import signal
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import mido
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dense_midi import PROGRAMS, dense_song  # noqa: E402
from live import TIMGM, Synth, private_dmusd  # noqa: E402

from dmusd.commands.ctl import send  # noqa: E402
from tests.daemon.control_load import ControlLoad  # noqa: E402
from tests.daemon.jack_harness import JackHarness, held_note, silent_gaps  # noqa: E402

PERIODS = (1024, 256)
VOICES = 512  # room for the song's 200-300 voices and the pad: no stealing
CYCLES = 5  # bank loads and unloads under load
LOAD_PAUSE_S = 0.5  # between a load and its unload, and before the next load
LOADS_FROM_S = 1.0  # into the song
PAD_CHANNEL = 2  # the song's organ channel (GM program 17)
PAD_KEY = 30  # below every key the song plays (36 and up), so no note-off of it ends the pad
GAP_FRAMES = 64
GAP_FLOOR = 1e-7
EDGE_S = 0.3  # gaps are looked for from the pad's attack to its end, this far inside the song


def song_events(path: Path, rate: int, seconds: float) -> list[tuple[int, bytes]]:
    """The MIDI file as (frame, bytes) at `rate`, with the pad held under it to its end."""
    events, t = [], 0.0
    for message in mido.MidiFile(path):
        t += message.time
        if not message.is_meta:
            events.append((round(t * rate), bytes(message.bytes())))
    assert PROGRAMS[PAD_CHANNEL] == 16, "the pad's channel plays an organ in the song"
    pad = held_note(100, int(seconds * rate), channel=PAD_CHANNEL, key=PAD_KEY)
    silence = [(int(seconds * rate) + 1, bytes([0xB0 | ch, 120, 0])) for ch in range(16)]
    return events + pad + silence  # All Sound Off: the next phase starts from silence


def _ctl(socket: str, cmd: str, **args) -> dict:
    return send(socket, {"cmd": cmd, **args})


def _control_load(socket: str, go, results) -> None:
    """The child process: waits for `go`, runs the load, puts its figures on `results`."""
    load = ControlLoad(partial(_ctl, socket), "synth", TIMGM, CYCLES, LOAD_PAUSE_S, status=True)
    go.wait()
    load.start().join()
    results.put(
        {
            "loads": len(load.load_seconds),
            "unloads": len(load.unload_seconds),
            "load_s_mean": round(float(np.mean(load.load_seconds or [0.0])), 3),
            "load_s_max": round(max(load.load_seconds, default=0.0), 3),
            "loads_took_s": round(load.seconds, 2),
            "status_requests": load.status_requests,
            "status_wait_max_s": round(load.status_max_seconds, 3),
            "errors": load.errors,
        }
    )


class ChildLoad:
    """ControlLoad in a spawned child process, started before the phase (its imports cost CPU)
    and let go when the phase wants it."""

    def __init__(self, socket: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._go, self._results = context.Event(), context.Queue()
        self.process = context.Process(
            target=_control_load, args=(socket, self._go, self._results), daemon=True
        )
        self.process.start()

    def start(self) -> None:
        self._go.set()

    def result(self, timeout: float = 90.0) -> dict:
        out = self._results.get(timeout=timeout)
        self.process.join(5)
        return out

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)


def audio_counts(synth: Synth) -> tuple[int, int, int]:
    """The daemon's xruns, Python audio callbacks and native-mode switches so far."""
    audio = send(synth.socket, {"cmd": "status"})["result"]["audio"]
    native = audio["native"] or {"switches": 0}
    return audio["xruns"], audio["python_callbacks"], native["switches"]


def phase(
    h: JackHarness, synth: Synth, events: list, seconds: float, load: ChildLoad | None = None
) -> dict:
    """Plays `events` (none: idle) for `seconds`, with `load` started LOADS_FROM_S in; counts
    xruns over exactly the recorded frames."""
    rate = h.rate
    h.late = 0
    start = h.play_recorded(events, int(seconds * rate))
    h.wait_until(start)
    daemon0, harness0 = audio_counts(synth), h.xruns
    if load is not None:
        h.wait_until(start + int(LOADS_FROM_S * rate))
        load.start()
    rec = h.wait_recorded()
    daemon1 = audio_counts(synth)
    out = {
        "seconds": seconds,
        "xruns": daemon1[0] - daemon0[0],
        "jack_xruns": h.xruns - harness0,
        # blocks the Python callback rendered (native mode off), and times it went back on
        "python_blocks": daemon1[1] - daemon0[1],
        "native_switches": daemon1[2] - daemon0[2],
    }
    if events:
        edge = int(EDGE_S * rate)
        gaps = silent_gaps(rec[edge:-edge], GAP_FRAMES, GAP_FLOOR)
        out["gaps"] = len(gaps)
        out["gap_frames"] = sum(length for _, length in gaps)
        out["longest_gap_frames"] = max((length for _, length in gaps), default=0)
        out["gaps_at_s"] = [round((edge + at) / rate, 3) for at, _ in gaps[:10]]
        out["harness_late_events"] = h.late
    if load is not None:
        out.update(load.result())
    time.sleep(1.0)  # the song's releases, before the next phase
    return out


def run_period(period: int, song: Path, seconds: float, tmp: Path) -> dict:
    with private_dmusd(period, VOICES, tmp, "bench-dropouts") as (synth, h):
        events = song_events(song, h.rate, seconds)
        time.sleep(1.0)  # past the start-up's last work
        out = {
            "period": period,
            "idle": phase(h, synth, [], seconds),
            "song": phase(h, synth, events, seconds),
        }
        load = ChildLoad(synth.socket)
        try:
            time.sleep(1.0)  # the child's start-up, before the phase
            out["song_ctl"] = phase(h, synth, events, seconds, load)
        finally:
            load.stop()
        return out


def report(runs: list[dict]) -> None:
    print(
        f"{'period':>6} {'phase':<11} {'s':>4} {'xruns':>5} {'jack':>5} {'gaps':>4} "
        f"{'gap frames':>10} {'longest':>7} {'python':>6}  control plane"
    )
    for run in runs:
        for name, label in (("idle", "idle"), ("song", "song"), ("song_ctl", "song + ctl")):
            p = run[name]
            gaps = (p["gaps"], p["gap_frames"], p["longest_gap_frames"]) if "gaps" in p else "---"
            extra = ""
            if "loads" in p:
                extra = (
                    f"{p['loads']}/{CYCLES} loads (mean {p['load_s_mean']:.2f} s, max "
                    f"{p['load_s_max']:.2f} s) in {p['loads_took_s']:.1f} s, "
                    f"{p['status_requests']} status (longest wait {p['status_wait_max_s']:.2f} s)"
                )
                if p["errors"]:
                    extra += f", errors: {p['errors']}"
            print(
                f"{run['period']:>6} {label:<11} {p['seconds']:>4.0f} {p['xruns']:>5} "
                f"{p['jack_xruns']:>5} {gaps[0]:>4} {gaps[1]:>10} {gaps[2]:>7} "
                f"{p['python_blocks']:>6}  {extra}"
            )
    print("targets under load vs the song baseline: 0 extra xruns, no gap")
    for run in runs:
        song, loaded = run["song"], run["song_ctl"]
        extra = loaded["xruns"] - song["xruns"]
        ok = extra <= 0 and loaded["gaps"] <= song["gaps"]
        run["target_met"] = ok
        where = f" at {loaded['gaps_at_s']} s" if loaded["gaps"] else ""
        print(
            f"  period {run['period']:>4}: extra xruns {extra:+d} (idle {run['idle']['xruns']}), "
            f"gaps {loaded['gaps']} vs {song['gaps']}{where}: {'met' if ok else 'NOT met'}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=12.0, help="length of each phase")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, through the finally blocks that stop jackd and the daemon.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    tmp = Path(tempfile.mkdtemp(prefix="dmusd-bench-dropouts-"))
    song = dense_song(tmp / "dense.mid", seconds=args.seconds)
    runs = []
    for period in PERIODS:
        (tmp / str(period)).mkdir()
        print(f"period {period}: idle, song, song + ctl, {args.seconds:g} s each ...", flush=True)
        runs.append(run_period(period, song, args.seconds, tmp / str(period)))
    report(runs)
    print(
        json.dumps(
            {
                "voices": VOICES,
                "cycles": CYCLES,
                "gap_frames_min": GAP_FRAMES,
                "gap_floor": GAP_FLOOR,
                "runs": runs,
                "targets": {"extra_xruns": 0, "extra_gaps": 0},
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
