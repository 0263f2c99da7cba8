"""Live benchmark: dmusd through JACK against FluidSynth's JACK mode, side by side.

Measures, with the JACK harness of the daemon tests (tests/daemon/jack_harness.py):
- MIDI-in -> audio-out latency and jitter: 100 notes written at JACK period starts and 50 at
  random offsets inside a period, each onset found in the recording to the sample;
- xruns at 256- and 1024-frame periods with 256 and 512 voices sounding (a private jackd per
  period, so the shared server is never disturbed);
- time from start to READY (the daemon's "ready in" log line), cold and warm (cold: an empty
  cache folder, so numba compiles and the engine library is built; warm: the library it left);
- idle CPU (% of one core over 10 s, from /proc/PID/stat) and RSS with TimGM6mb loaded.

Then the same per backend on a headless PipeWire session (bench/live_backends.py: PipeWire's
JACK, Pulse and ALSA, FluidSynth beside dmusd on each).

Usage: .venv/bin/python bench/live.py [--quick]. Prints figures; the last line is one JSON object.
Targets (issue 5): jitter <= 0.1 ms, READY <= 2 s warm, idle CPU <= 1 %, RSS <= 150 MB; (issue
13) jitter 0 samples on both JACKs, pulse/alsa <= 1 ms, idle CPU at or under FluidSynth's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import jack
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.daemon.jack_harness import JackHarness, onsets  # noqa: E402

TIMGM = "/usr/share/sounds/sf2/TimGM6mb.sf2"
CLIENT = "dmusd-bench"
TICKS = os.sysconf("SC_CLK_TCK")


# -- servers and synths ---------------------------------------------------------------------
def _reap(process: subprocess.Popen) -> None:
    process.kill()
    process.wait()


class Jackd:
    def __init__(self, period: int, rate: int = 48000) -> None:
        self.name = f"dmusd-bench-{uuid.uuid4().hex[:6]}"
        self.env = dict(os.environ, JACK_DEFAULT_SERVER=self.name, JACK_NO_AUDIO_RESERVATION="1")
        cmd = ["jackd", "-n", self.name, "-d", "dummy", "-r", str(rate), "-p", str(period)]
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            subprocess.run(["jack_wait", "-w", "-t", "10"], env=self.env, capture_output=True)
        except BaseException:  # Ctrl-C while it starts: nobody else holds it to stop it
            _reap(self.process)
            raise
        os.environ["JACK_DEFAULT_SERVER"] = self.name  # for the harness in this process

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            _reap(self.process)
        os.environ.pop("JACK_DEFAULT_SERVER", None)


class Synth:
    """A synth process on the JACK server: its MIDI input port and audio output ports, found by
    pattern once it runs (client names are not fixed: JACK renames a taken name "x-01")."""

    name = ""
    midi_pattern = ""  # regex of its MIDI input port's full name
    audio_pattern = ""  # regex of its audio output ports' full names
    socket = ""  # dmusd's control socket

    def __init__(self, cmd: list[str], env: dict[str, str], ready: str, timeout: float) -> None:
        self.log = tempfile.NamedTemporaryFile("w+b", suffix=".log", delete=False)  # noqa: SIM115
        self.started = time.monotonic()
        self.process = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = self.started + timeout
        try:
            while not re.search(ready, self.text()):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{cmd[0]} did not start:\n{self.text()[-3000:]}")
                time.sleep(0.02)
        except BaseException:  # failed or interrupted: nobody else holds it to stop it
            _reap(self.process)
            raise
        self.ready_wall = time.monotonic() - self.started

    def text(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def wire(self, h: JackHarness, audio: bool = True, timeout: float = 20.0) -> None:
        """Connect the harness to this synth. A port is visible before its client is active,
        and connecting then fails (JackErrorCode -1): retry until it holds."""
        midi = h.wait_for_port(self.midi_pattern, timeout, is_midi=True, is_input=True)[0]
        outs = h.wait_for_port(self.audio_pattern, timeout, is_audio=True, is_output=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                h.disconnect_all()
                h.connect_midi(midi)
                if audio:
                    h.connect_audio(sorted(outs))
                return
            except jack.JackError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # The server drops a dead client's ports a moment later; a synth started before then
        # would find its client name taken.
        with JackHarness("bench-reaper") as h:
            deadline = time.monotonic() + 5.0
            while time.monotonic() < deadline and (
                h.client.get_ports(self.midi_pattern) or h.client.get_ports(self.audio_pattern)
            ):
                time.sleep(0.05)
        return self.process.returncode


def dmusd(tmp: Path, env: dict[str, str], period: int = 1024, voices: int = 256) -> Synth:
    sock = tmp / "control.sock"
    config = tmp / "dmusd.toml"
    config.write_text(
        f'[audio]\nbackend = "jack"\nperiod = {period}\nclient_name = "{CLIENT}"\n'
        f'[midi]\nclient_name = "{CLIENT}-midi"\n'
        f'[[pins]]\nname = "synth"\nvoices = {voices}\nbanks = ["{TIMGM}"]\n'
        "reverb = false\nchorus = false\n"  # as FluidSynth runs here; tails would hide onsets
        f'[control]\nsocket = "{sock}"\n'
    )
    code = "import sys; from dmusd.cli import main; sys.exit(main())"
    cmd = [sys.executable, "-c", code, "run", "--config", str(config)]
    s = Synth(cmd, env, r" ready in [0-9.]+ s", 300)
    s.name = "dmusd"
    s.socket = str(sock)
    # MIDI: the one JACK client "dmusd-bench-midi"; audio: PortAudio's "dmusd-bench" (or "-01").
    s.midi_pattern = rf"^{re.escape(CLIENT)}-midi:synth 1$"
    s.audio_pattern = rf"^{re.escape(CLIENT)}(-[0-9]+)?:out_[01]$"  # the main pair
    s.ready_logged = float(re.search(r" ready in ([0-9.]+) s", s.text()).group(1))
    s.midi_backend = re.search(r" MIDI (\w+) ports", s.text()).group(1)  # alsa | jack
    return s


def free_tcp_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fluidsynth(
    server: str, env: dict[str, str], voices: int = 256, options: tuple[str, ...] = ()
) -> Synth:
    # The server is named in its settings, not left to JACK_DEFAULT_SERVER; audio and MIDI share
    # one JACK client ("fluidsynth-bench", MIDI port "midi_00", audio "left"/"right"). Its shell
    # server (-s: what keeps it running without a terminal) gets a free port: with 9800 taken
    # by another FluidSynth on the machine it would exit at once.
    cmd = [
        "fluidsynth", "-a", "jack", "-m", "jack", "-i", "-s", "-g", "0.2",
        "-o", f"shell.port={free_tcp_port()}",
        "-o", f"audio.jack.server={server}", "-o", f"midi.jack.server={server}",
        "-o", "audio.jack.autoconnect=0", "-o", "midi.autoconnect=0",
        "-o", "audio.jack.id=fluidsynth-bench", "-o", "midi.jack.id=fluidsynth-bench",
        "-o", f"synth.polyphony={voices}", "-o", "synth.reverb.active=0",
        "-o", "synth.chorus.active=0", *options, TIMGM,
    ]  # fmt: skip
    s = Synth(cmd, env, r"", 30)  # FluidSynth prints nothing when ready: wire() waits for ports
    s.name = "fluidsynth"
    s.midi_pattern = r"^fluidsynth-bench[^:]*:midi"
    s.audio_pattern = r"^fluidsynth-bench[^:]*:(left|right)$"
    return s


# -- measurements ---------------------------------------------------------------------------
def latencies(h: JackHarness, offsets: list[int]) -> np.ndarray:
    slot = 8 * h.period  # room for the latency (up to two periods), the note and its cut tail
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
        synth.wire(h)
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


@contextlib.contextmanager
def private_dmusd(
    period: int, voices: int, tmp: Path, harness: str, audio: bool = True
) -> Iterator[tuple[Synth, JackHarness]]:
    """dmusd on a jackd of its own at `period` frames, wired to a harness named `harness`; the
    harness, the daemon and the server are stopped after, in that order, however it ends."""
    server = Jackd(period)
    try:
        synth = dmusd(tmp, server.env, period=period, voices=voices)
        try:
            with JackHarness(harness) as h:
                synth.wire(h, audio=audio)
                yield synth, h
        finally:
            synth.stop()
    finally:
        server.stop()


def xruns(period: int, voices: int, tmp: Path, seconds: float) -> dict:
    with private_dmusd(period, voices, tmp, "bench-load", audio=False) as (_, h):
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
    print(f"  period {period:5d}, {voices} voices: {count} xruns in {seconds:.0f} s")
    return {"period": period, "voices": voices, "seconds": seconds, "xruns": count}


def cpu_percent(pid: int, seconds: float) -> float:
    """% of one core a process used over `seconds`: the scheduler's run time of all its threads
    (ns, /proc/PID/task/*/schedstat), not clock ticks, which miss short wake-ups."""

    def run_ns() -> dict[str, int]:
        out = {}
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a thread ended
                out[task.name] = int((task / "schedstat").read_text().split()[0])
        return out

    t0, c0 = time.monotonic(), run_ns()
    time.sleep(seconds)
    t1, c1 = time.monotonic(), run_ns()
    used = sum(ns - c0.get(task, 0) for task, ns in c1.items())
    return 100.0 * used / 1e9 / (t1 - t0)


# The floor of the required stack: a process with an empty sounddevice output stream (Python
# callback, zeros) on PortAudio's JACK host API, as the daemon opens it (PortAudio's default
# device here is ALSA's "jack" plugin, which costs twice as much), and a JACK-Client MIDI input
# with an empty process callback, as the daemon has when MIDI goes through JACK.
FLOOR = """
import sys, time, jack, sounddevice as sd
def play(outdata, frames, t, status):
    outdata.fill(0.0)
api = next(a for a in sd.query_hostapis() if a["name"] == "JACK Audio Connection Kit")
stream = sd.OutputStream(
    device=api["default_output_device"], samplerate=48000, channels=2, dtype="float32",
    callback=play,
)
stream.start()
if sys.argv[1] == "midi":
    client = jack.Client("dmusd-bench-floor-midi", no_start_server=True)
    port = client.midi_inports.register("in")
    @client.set_process_callback
    def process(frames):
        for _ in port.incoming_midi_events():
            pass
    client.activate()
print("ready", flush=True)
time.sleep(600)
"""


def floor_idle(env: dict[str, str], with_midi: bool, seconds: float) -> tuple[float, dict]:
    cmd = [sys.executable, "-c", FLOOR, "midi" if with_midi else "audio"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    try:
        p.stdout.readline()
        time.sleep(2.0)
        return cpu_percent(p.pid, seconds), memory(p.pid)
    finally:
        p.kill()
        p.wait()


def _kind(path: str) -> str:
    """What a mapping of /proc/PID/smaps holds, for the memory breakdown."""
    if "jack" in path and (path.startswith("/dev/shm") or "(deleted)" in path or "memfd" in path):
        return "jack_shm"  # the server's segments, mapped by every JACK client of the process
    if path.startswith("/dev/shm") or path.startswith("/SYSV") or "memfd:" in path:
        return "other_shm"
    if re.search(r"\.so(\.[0-9.]+)?( \(deleted\))?$", path):
        return "libs"  # shared objects: numpy, llvmlite, libjack, PortAudio, ...
    if path.startswith("/"):
        return "files"  # e.g. the soundfont or a numba cache if mmapped
    return "anon"  # heap, numpy arrays, [stack] and anonymous mmaps (bank samples, pools)


def memory(pid: int) -> dict:
    """RSS, PSS and USS (private clean + dirty) in MB from /proc/PID/smaps_rollup, and the same
    split by what is mapped (JACK shared memory, libraries, anonymous memory, files)."""
    roll = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, value = line.split(":", 1)
        roll[key] = int(value.split()[0]) / 1024
    out = {
        "rss_mb": round(roll["Rss"], 1),
        "pss_mb": round(roll["Pss"], 1),
        "uss_mb": round(roll["Private_Clean"] + roll["Private_Dirty"], 1),
        # Private_Clean is file pages only this process maps (libllvmlite's code): page cache
        # that a second dmusd would share. Private_Dirty is what this process alone costs.
        "private_dirty_mb": round(roll["Private_Dirty"], 1),
        "shared_mb": round(roll["Shared_Clean"] + roll["Shared_Dirty"], 1),
    }
    parts: dict[str, dict[str, float]] = {}
    kind = "anon"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            kind = _kind(" ".join(head[5:]) if len(head) > 5 else "")
            continue
        key = {"Rss:": "rss_mb", "Private_Clean:": "clean_mb", "Private_Dirty:": "dirty_mb"}
        if head[0] in key:
            part = parts.setdefault(kind, {"rss_mb": 0.0, "clean_mb": 0.0, "dirty_mb": 0.0})
            part[key[head[0]]] += int(head[1]) / 1024
    out["by_kind"] = {
        k: {name: round(v, 1) for name, v in part.items()} for k, part in sorted(parts.items())
    }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer notes, shorter runs")
    args = parser.parse_args()
    result: dict = {}
    tmp = Path(tempfile.mkdtemp(prefix="dmusd-bench-live-"))

    print("start to READY (dmusd run with TimGM6mb, JACK dummy 1024):")
    server = Jackd(1024)
    try:
        cache = tmp / "cache-cold"  # no engine library, no numba cache
        cold_env = dict(server.env, XDG_CACHE_HOME=str(cache))
        cold_env["NUMBA_CACHE_DIR"] = str(cache / "dmusd" / "numba")
        for sub in ("cold", "warm"):
            (tmp / sub).mkdir()
        cold = dmusd(tmp / "cold", cold_env)
        cold.stop()
        warm = dmusd(tmp / "warm", cold_env)  # the library the cold start just built
        print(f"  cold (compile + build): {cold.ready_logged:.2f} s (wall {cold.ready_wall:.2f} s)")
        print(f"  warm (library loaded):  {warm.ready_logged:.2f} s (wall {warm.ready_wall:.2f} s)")
        result["ready_cold_s"] = round(cold.ready_logged, 2)
        result["ready_warm_s"] = round(warm.ready_logged, 2)
        result["ready_warm_wall_s"] = round(warm.ready_wall, 2)

        time.sleep(2.0)  # past the start-up's last work
        cpu = cpu_percent(warm.process.pid, 3.0 if args.quick else 10.0)
        mem = memory(warm.process.pid)
        print(f"idle: {cpu:.2f} % of a core")
        print(
            f"memory: RSS {mem['rss_mb']:.1f} MB, PSS {mem['pss_mb']:.1f} MB, "
            f"USS {mem['uss_mb']:.1f} MB (private dirty {mem['private_dirty_mb']:.1f} MB), "
            f"shared {mem['shared_mb']:.1f} MB"
        )
        print(
            "  by mapping, MB RSS/private clean/private dirty: "
            + ", ".join(
                f"{k} {v['rss_mb']:.1f}/{v['clean_mb']:.1f}/{v['dirty_mb']:.1f}"
                for k, v in mem["by_kind"].items()
            )
        )
        result["idle_cpu_percent"] = round(cpu, 2)
        result["memory"] = mem
        result["rss_mb"] = mem["rss_mb"]
        result["uss_mb"] = mem["uss_mb"]

        idle_s = 3.0 if args.quick else 10.0
        fluid = fluidsynth(server.name, server.env)
        try:
            time.sleep(2.0)
            fluid_cpu, fluid_mem = cpu_percent(fluid.process.pid, idle_s), memory(fluid.process.pid)
        finally:
            fluid.stop()
        floor_cpu, floor_mem = floor_idle(server.env, warm.midi_backend == "jack", idle_s)
        print(
            f"  beside it: FluidSynth (JACK audio + MIDI) {fluid_cpu:.2f} %, RSS "
            f"{fluid_mem['rss_mb']:.1f} MB (USS {fluid_mem['uss_mb']:.1f}); an empty "
            f"sounddevice stream{' + JACK MIDI client' if warm.midi_backend == 'jack' else ''} "
            f"in Python {floor_cpu:.2f} %, RSS {floor_mem['rss_mb']:.1f} MB"
        )
        print(
            f"  ratios: idle CPU dmusd/FluidSynth {cpu / fluid_cpu:.1f}, dmusd/empty stream "
            f"{cpu / floor_cpu:.2f}; RSS dmusd/FluidSynth "
            f"{mem['rss_mb'] / fluid_mem['rss_mb']:.2f}"
        )
        result["fluidsynth_idle_cpu_percent"] = round(fluid_cpu, 2)
        result["fluidsynth_rss_mb"] = fluid_mem["rss_mb"]
        result["fluidsynth_uss_mb"] = fluid_mem["uss_mb"]
        result["empty_stream_idle_cpu_percent"] = round(floor_cpu, 2)
        result["empty_stream_rss_mb"] = floor_mem["rss_mb"]

        print("MIDI in -> audio out through JACK (period 1024, 48 kHz):")
        result["dmusd"] = timing(warm, args.quick)
        warm.stop()
        fluid = fluidsynth(server.name, server.env)
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
    from live_backends import pipewire_backends

    result.update(pipewire_backends(args.quick))
    result["targets"] = {
        "jitter_ms": 0.1,
        "ready_warm_s": 2.0,
        "idle_cpu_percent": 1.0,
        "rss_mb": 150.0,  # issue 5 says RSS; USS is what dmusd itself costs
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
