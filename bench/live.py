"""Live benchmark: dmusd through JACK against FluidSynth's JACK mode, side by side.

Measures, with the JACK harness of the daemon tests (tests/daemon/jack_harness.py):
- MIDI-in -> audio-out latency and jitter: 100 notes written at JACK period starts and 50 at
  random offsets inside a period, each onset found in the recording to the sample;
- xruns at 256- and 1024-frame periods with 256 and 512 voices sounding (a private jackd per
  period, so the shared server is never disturbed);
- time from start to READY (the daemon's "ready in" log line), numba cache warm and cold (cold =
  NUMBA_CACHE_DIR pointed at an empty directory);
- idle CPU (% of one core over 10 s, from /proc/PID/stat) and RSS with TimGM6mb loaded.

Usage: .venv/bin/python bench/live.py [--quick]. Prints figures; the last line is one JSON object.
Targets (issue 5): jitter <= 0.1 ms, READY <= 2 s warm, idle CPU <= 1 %, RSS <= 150 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.daemon.jack_harness import JackHarness, onsets  # noqa: E402

TIMGM = "/usr/share/sounds/sf2/TimGM6mb.sf2"
CLIENT = "dmusd-bench"
TICKS = os.sysconf("SC_CLK_TCK")


# -- servers and synths ---------------------------------------------------------------------
class Jackd:
    def __init__(self, period: int, rate: int = 48000) -> None:
        self.name = f"dmusd-bench-{uuid.uuid4().hex[:6]}"
        self.env = dict(os.environ, JACK_DEFAULT_SERVER=self.name, JACK_NO_AUDIO_RESERVATION="1")
        cmd = ["jackd", "-n", self.name, "-d", "dummy", "-r", str(rate), "-p", str(period)]
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["jack_wait", "-w", "-t", "10"], env=self.env, capture_output=True)
        os.environ["JACK_DEFAULT_SERVER"] = self.name  # for the harness in this process

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        os.environ.pop("JACK_DEFAULT_SERVER", None)


class Synth:
    """A synth process on the JACK server: its MIDI input port and audio output ports."""

    name = ""
    midi_port = ""
    audio_client = ""

    def __init__(self, cmd: list[str], env: dict[str, str], ready: str, timeout: float) -> None:
        self.log = tempfile.NamedTemporaryFile("w+b", suffix=".log", delete=False)  # noqa: SIM115
        self.started = time.monotonic()
        self.process = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = self.started + timeout
        while not re.search(ready, self.text()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{cmd[0]} did not start:\n{self.text()[-3000:]}")
            time.sleep(0.02)
        self.ready_wall = time.monotonic() - self.started

    def text(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def dmusd(tmp: Path, env: dict[str, str], period: int = 1024, voices: int = 256) -> Synth:
    sock = tmp / "control.sock"
    config = tmp / "dmusd.toml"
    config.write_text(
        f'[audio]\nbackend = "jack"\nperiod = {period}\nclient_name = "{CLIENT}"\n'
        f'[midi]\nclient_name = "{CLIENT}"\n'
        f'[[pins]]\nname = "synth"\nvoices = {voices}\nbanks = ["{TIMGM}"]\n'
        "reverb = false\nchorus = false\n"  # as FluidSynth runs here; tails would hide onsets
        f'[control]\nsocket = "{sock}"\n'
    )
    code = "import sys; from dmusd.cli import main; sys.exit(main())"
    cmd = [sys.executable, "-c", code, "run", "--config", str(config)]
    s = Synth(cmd, env, r" ready in [0-9.]+ s", 300)
    s.name = "dmusd"
    s.midi_port = f"{CLIENT} synth 1:synth 1"
    s.audio_client = CLIENT
    s.ready_logged = float(re.search(r" ready in ([0-9.]+) s", s.text()).group(1))
    return s


def fluidsynth(env: dict[str, str], voices: int = 256) -> Synth:
    cmd = [
        "fluidsynth", "-a", "jack", "-m", "jack", "-i", "-s", "-g", "0.2",
        "-o", "audio.jack.autoconnect=0", "-o", "midi.autoconnect=0",
        "-o", "audio.jack.id=fluidsynth-bench", "-o", "midi.jack.id=fluidsynth-bench-midi",
        "-o", f"synth.polyphony={voices}", "-o", "synth.reverb.active=0",
        "-o", "synth.chorus.active=0", TIMGM,
    ]  # fmt: skip
    s = Synth(cmd, env, r"", 30)
    # FluidSynth prints nothing when ready: wait for its MIDI port.
    with JackHarness("bench-probe") as h:
        h.wait_for_port(r"fluidsynth-bench.*:midi", is_midi=True)
        s.midi_port = h.midi_ports_of(r"fluidsynth-bench.*:midi")[0]
        audio = h.wait_for_port(r"fluidsynth-bench", is_audio=True, is_output=True)
        s.audio_client = audio[0].split(":")[0]
    time.sleep(1.0)  # its client is activated a moment after the ports exist
    s.name = "fluidsynth"
    return s


# -- measurements ---------------------------------------------------------------------------
def latencies(h: JackHarness, offsets: list[int]) -> np.ndarray:
    slot = 3 * h.period
    start = (h.frame_time // h.period + 4) * h.period
    events = [(start, b"\xc0\x50")]
    notes = []
    for i, off in enumerate(offsets):
        t = start + (i + 1) * slot + off
        notes.append(t - start)
        events += [(t, b"\x90\x45\x64"), (t + 1500, b"\xb0\x78\x00")]
    h.record(start, (len(offsets) + 2) * slot)
    h.play(events)
    rec = h.wait_recorded()
    found = np.array(onsets(rec[:, 0], notes, slot, 1e-4))
    ok = found >= 0
    return (found[ok] - np.array(notes)[ok]).astype(float)


def timing(synth: Synth, quick: bool) -> dict:
    with JackHarness(f"bench-daw-{synth.name}") as h:
        h.connect_midi(synth.midi_port)
        h.connect_audio(sorted(p.name for p in h.client.get_ports(
            f"^{synth.audio_client}:", is_audio=True, is_output=True)))  # fmt: skip
        now = h.frame_time + h.period
        h.play([(now, b"\x90\x30\x40"), (now + 2000, b"\xb0\x78\x00")])  # warm the path up
        time.sleep(1.0)
        aligned = latencies(h, [0] * (30 if quick else 100))
        rng = np.random.default_rng(3)
        offsets = [int(x) for x in rng.integers(0, h.period, 20 if quick else 50)]
        rand = latencies(h, offsets)
        ms = 1000.0 / h.rate
        out = {
            "notes": int(aligned.size),
            "latency_ms": round(float(aligned.mean()) * ms, 3),
            "jitter_aligned_samples": int(aligned.max() - aligned.min()),
            "jitter_aligned_ms": round(float(aligned.max() - aligned.min()) * ms, 3),
            "jitter_random_samples": int(rand.max() - rand.min()),
            "jitter_random_ms": round(float(rand.max() - rand.min()) * ms, 3),
        }
    print(
        f"  {synth.name:10s} latency {out['latency_ms']:7.2f} ms; jitter at period starts "
        f"{out['jitter_aligned_samples']} samples ({out['jitter_aligned_ms']} ms), at random "
        f"offsets {out['jitter_random_samples']} samples ({out['jitter_random_ms']} ms)"
    )
    return out


def xruns(period: int, voices: int, tmp: Path, seconds: float) -> dict:
    server = Jackd(period)
    try:
        synth = dmusd(tmp, server.env, period=period, voices=voices)
        try:
            with JackHarness("bench-load") as h:
                h.connect_midi(synth.midi_port)
                now = h.frame_time + h.period
                # Sustained organ notes on 16 channels x 32 keys = up to 512 voices.
                events = [(now, bytes([0xC0 | ch, 16])) for ch in range(16) if ch != 9]
                n = 0
                for key in range(36, 100):
                    for ch in (c for c in range(16) if c != 9):
                        if n < voices:
                            events.append((now + 10 + n, bytes([0x90 | ch, key, 90])))
                            n += 1
                h.play(events)
                time.sleep(1.0)
                before = h.xruns
                time.sleep(seconds)
                count = h.xruns - before
        finally:
            synth.stop()
    finally:
        server.stop()
    print(f"  period {period:5d}, {voices} voices: {count} xruns in {seconds:.0f} s")
    return {"period": period, "voices": voices, "seconds": seconds, "xruns": count}


def cpu_and_rss(pid: int, seconds: float) -> tuple[float, float]:
    def ticks() -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    t0, c0 = time.monotonic(), ticks()
    time.sleep(seconds)
    t1, c1 = time.monotonic(), ticks()
    cpu = 100.0 * (c1 - c0) / TICKS / (t1 - t0)
    rss = next(
        int(line.split()[1]) / 1024
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    return cpu, rss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer notes, shorter runs")
    args = parser.parse_args()
    result: dict = {}
    tmp = Path(tempfile.mkdtemp(prefix="dmusd-bench-live-"))

    print("start to READY (dmusd run with TimGM6mb, JACK dummy 1024):")
    server = Jackd(1024)
    try:
        cold_env = dict(server.env, NUMBA_CACHE_DIR=str(tmp / "numba-cold"))
        for sub in ("cold", "warm"):
            (tmp / sub).mkdir()
        cold = dmusd(tmp / "cold", cold_env)
        cold.stop()
        warm = dmusd(tmp / "warm", cold_env)  # the cache the cold start just filled
        print(f"  cold numba cache: {cold.ready_logged:.2f} s (wall {cold.ready_wall:.2f} s)")
        print(f"  warm numba cache: {warm.ready_logged:.2f} s (wall {warm.ready_wall:.2f} s)")
        result["ready_cold_s"] = round(cold.ready_logged, 2)
        result["ready_warm_s"] = round(warm.ready_logged, 2)
        result["ready_warm_wall_s"] = round(warm.ready_wall, 2)

        cpu, rss = cpu_and_rss(warm.process.pid, 3.0 if args.quick else 10.0)
        print(f"idle: {cpu:.2f} % of a core, RSS {rss:.1f} MB")
        result["idle_cpu_percent"] = round(cpu, 2)
        result["rss_mb"] = round(rss, 1)

        print("MIDI in -> audio out through JACK (period 1024, 48 kHz):")
        result["dmusd"] = timing(warm, args.quick)
        warm.stop()
        fluid = fluidsynth(server.env)
        try:
            result["fluidsynth"] = timing(fluid, args.quick)
        finally:
            fluid.stop()
    finally:
        server.stop()

    print("xruns under load (dmusd, a private jackd per period):")
    runs = []
    for period in (256, 1024):
        for voices in (256, 512):
            sub = tmp / f"x{period}-{voices}"
            sub.mkdir()
            runs.append(xruns(period, voices, sub, 3.0 if args.quick else 10.0))
    result["xruns"] = runs
    result["targets"] = {
        "jitter_ms": 0.1,
        "ready_warm_s": 2.0,
        "idle_cpu_percent": 1.0,
        "rss_mb": 150.0,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
