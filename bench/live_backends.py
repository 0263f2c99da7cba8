"""Live figures per backend on a headless PipeWire session, dmusd beside Debian's FluidSynth on
the same server: PipeWire's JACK (pw-jack), its Pulse server and its ALSA plugin (bench/live.py
has JACK2's dummy server).

For each backend and synth: latency and jitter over 100 notes at random frame offsets (played
by the pw-jack recorder of the tests into the synth's JACK MIDI port, recorded from the null
sink's monitor ports: MIDI frame to sound at the default output; on the jack backend from the
synth's own ports, as bench/live.py records on JACK2, since the sink's monitor adds a quantum),
idle CPU (% of one core over
10 s, from /proc/PID/task/*/schedstat) and xruns (dmusd's own count from `ctl status`; the
recorder's graph xruns for both). Both synths take MIDI through PipeWire's JACK.

Usage: .venv/bin/python bench/live_backends.py [--quick] (also run by bench/live.py). Prints
figures; the last line is one JSON object. Targets (issue 13): jitter 0 samples on PipeWire's
JACK at JACK2's latency; pulse/alsa jitter <= 1 ms; idle CPU at or under FluidSynth's.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from live import TIMGM, Synth, cpu_percent  # noqa: E402

from tests.daemon.jack_harness import latency_events, latency_frames, onsets  # noqa: E402
from tests.daemon.pipewire_session import PipeWireSession  # noqa: E402
from tests.daemon.pw_recorder import record  # noqa: E402

BACKENDS = ("jack", "pulse", "alsa")
MONITOR = ["t:monitor_FL", "t:monitor_FR"]
PERIOD = 256  # pulse/alsa block size for both synths (JACK takes PipeWire's quantum)
QUANTUM = 1024  # PipeWire's default quantum here: the recorder's period
CLIENT = "dmusd-bench"


def dmusd(tmp: Path, env: dict[str, str], backend: str) -> Synth:
    sock = tmp / "control.sock"
    config = tmp / "dmusd.toml"
    device = "pipewire" if backend == "alsa" else ""
    config.write_text(
        f'[audio]\nbackend = "{backend}"\ndevice = "{device}"\nperiod = {PERIOD}\n'
        f'client_name = "{CLIENT}"\n[midi]\nbackend = "jack"\nclient_name = "{CLIENT}-midi"\n'
        f'[[pins]]\nname = "synth"\nbanks = ["{TIMGM}"]\nreverb = false\nchorus = false\n'
        f'[control]\nsocket = "{sock}"\n'
    )
    code = "import sys; from dmusd.cli import main; sys.exit(main())"
    cmd = ["pw-jack", sys.executable, "-c", code, "run", "--config", str(config)]
    s = Synth(cmd, env, r" ready in [0-9.]+ s", 300)
    s.name, s.socket = "dmusd", str(sock)
    s.midi_port = f"{CLIENT}-midi:synth 1"
    s.outputs = [f"{CLIENT}:out_0", f"{CLIENT}:out_1"] if backend == "jack" else MONITOR
    return s


def fluidsynth(env: dict[str, str], backend: str) -> Synth:
    audio = {
        "jack": ["-a", "jack", "-o", "audio.jack.autoconnect=1", "-o", "audio.jack.id=fs-bench"],
        "pulse": ["-a", "pulseaudio"],
        "alsa": ["-a", "alsa", "-o", "audio.alsa.device=pipewire"],
    }[backend]
    cmd = [
        "pw-jack", "fluidsynth", *audio, "-m", "jack", "-i", "-s", "-g", "0.2",
        "-o", "midi.autoconnect=0", "-o", "midi.jack.id=fs-bench-midi",
        "-o", f"audio.period-size={PERIOD}", "-o", "audio.periods=2",
        "-o", "synth.reverb.active=0", "-o", "synth.chorus.active=0", TIMGM,
    ]  # fmt: skip
    s = Synth(cmd, env, r"", 30)
    s.name = "fluidsynth"
    s.outputs = MONITOR
    deadline = time.monotonic() + 20
    while True:  # FluidSynth prints nothing when ready: its ports say so
        ports = subprocess.run(["pw-jack", "jack_lsp"], env=env, capture_output=True, text=True)
        names = ports.stdout.splitlines()
        found = [p for p in names if re.match(r"^fs-bench[^:]*:midi", p)]
        audio = [p for p in names if re.match(r"^fs-bench[^:]*:(left|right)$", p)]
        if found and (backend != "jack" or len(audio) == 2):
            s.midi_port = found[0]
            if backend == "jack":
                s.outputs = audio
            return s
        if time.monotonic() > deadline or s.process.poll() is not None:
            raise RuntimeError(f"FluidSynth did not start:\n{s.text()[-2000:]}")
        time.sleep(0.1)


def _ctl_xruns(synth: Synth) -> int | None:
    if not synth.socket:
        return None
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(synth.socket)
        s.sendall(b'{"cmd": "status"}\n')
        reply = b""
        while not reply.endswith(b"\n"):
            reply += s.recv(65536)
    return json.loads(reply)["result"]["audio"]["xruns"]


def timing(env: dict[str, str], synth: Synth, notes: int) -> dict:
    rng = np.random.default_rng(3)
    offsets = [int(x) for x in rng.integers(0, QUANTUM, notes)]
    events, starts = latency_events(offsets, QUANTUM)
    request = {
        "midi": synth.midi_port,
        "audio": synth.outputs,
        "events": [[f, d.hex()] for f, d in events],
        "seconds": latency_frames(offsets, QUANTUM) / 48000,
    }
    before = _ctl_xruns(synth)
    rec, facts = record(env, request)
    after = _ctl_xruns(synth)
    found = np.array(onsets(rec[:, 0], starts, 8 * QUANTUM, 1e-4))
    ok = found >= 0
    lat = (found[ok] - np.array(starts)[ok]).astype(float)
    settled = lat[8:] if lat.size > 16 else lat  # past the stream's first 1.4 s
    return {
        "notes": int(ok.sum()),
        "latency_ms": round(float(lat.mean()) / 48, 3) if lat.size else None,
        "jitter_samples": int(lat.max() - lat.min()) if lat.size else None,
        "jitter_settled_samples": int(settled.max() - settled.min()) if lat.size else None,
        "latencies_samples": [int(x) for x in lat],
        "xruns": None if before is None else after - before,
        "graph_xruns": facts["xruns"],
    }


def measure(backend: str, session: PipeWireSession, tmp: Path, quick: bool) -> dict:
    row: dict = {}
    idle_s = 3.0 if quick else 10.0
    for make in (dmusd, fluidsynth):
        sub = tmp / f"{backend}-{make.__name__}"
        sub.mkdir()
        synth = make(sub, session.env, backend) if make is dmusd else make(session.env, backend)
        try:
            time.sleep(2.0)  # past the start-up's last work
            figures = {"idle_cpu_percent": round(cpu_percent(synth.process.pid, idle_s), 2)}
            figures.update(timing(session.env, synth, 30 if quick else 100))
        finally:
            synth.process.terminate()
            synth.process.wait(10)
        row[synth.name] = figures
        print(
            f"  {backend:5s} {synth.name:10s} latency {figures['latency_ms']} ms, jitter "
            f"{figures['jitter_samples']} samples ({figures['jitter_settled_samples']} after the "
            f"first 1.4 s), idle CPU {figures['idle_cpu_percent']:.2f} %, xruns "
            f"{figures['xruns']} (graph {figures['graph_xruns']})"
        )
    d, f = row["dmusd"], row["fluidsynth"]
    if f["idle_cpu_percent"] > 0:
        row["idle_cpu_ratio"] = round(d["idle_cpu_percent"] / f["idle_cpu_percent"], 2)
        print(f"  {backend:5s} ratio idle CPU dmusd/FluidSynth {row['idle_cpu_ratio']}")
    return row


def pipewire_backends(quick: bool, backends: tuple[str, ...] = BACKENDS) -> dict:
    """The per-backend rows on one private PipeWire session."""
    tmp = Path(tempfile.mkdtemp(prefix="dmusd-bench-pw-"))
    print("on PipeWire (headless: null sink, quantum 1024 at 48 kHz; MIDI through its JACK):")
    session = PipeWireSession()
    try:
        return {f"pipewire_{b}": measure(b, session, tmp, quick) for b in backends}
    finally:
        session.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer notes, shorter runs")
    parser.add_argument("--backend", action="append", choices=BACKENDS, help="only these")
    args = parser.parse_args()
    print(json.dumps(pipewire_backends(args.quick, tuple(args.backend or BACKENDS))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
