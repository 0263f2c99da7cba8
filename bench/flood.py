"""MIDI flood benchmark: dmusd fed 10k, 50k and 100k MIDI events a second through JACK.

For each JACK period (1024 and 256 frames, a private `jackd -d dummy` each, as bench/live.py
starts them) dmusd runs with TimGM6mb, and a JACK client writes a flood into its MIDI port at
exact frame offsets, spread evenly over every cycle: short notes (a note-on, and its note-off
10 ms later) over 16 channels, with a controller change on every fifth event. First an idle
stretch gives the server's own xrun rate (the dummy driver has xruns at 256 frames even idle);
then each rate runs for --seconds. Per run:

- xruns (the daemon's `status` count) beyond the idle rate over the same time;
- events lost: written by the client but refused by the JACK port buffer (the client counts
  them), and what the daemon itself lost (its `stats`: event pool exhausted, unpacker, the
  synth's event ring) or dropped (`status`: a pin or group that does not exist);
- the daemon's RSS at the start and the end of the run;
- `ctl status` round trips measured every 0.2 s during the flood (median and worst).

Usage: .venv/bin/python bench/flood.py [--seconds 60] [--rates 10000,50000,100000]
[--periods 1024,256]. Prints a table; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import jack
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from live import Synth, private_dmusd  # noqa: E402

from dmusd.commands.ctl import send  # noqa: E402
from tests.daemon.jack_harness import JackHarness  # noqa: E402

VOICES = 256
NOTE_FRAMES = 480  # a flood note lasts 10 ms at 48 kHz
IDLE_S = 10.0
STATUS_EVERY_S = 0.2


class Flood:
    """Writes `rate` events a second into the harness's MIDI port in its process callback (the
    harness's `source`), evenly spaced over each cycle, and counts what the port took."""

    def __init__(self, h: JackHarness, rate: int) -> None:
        self.per_frame = rate / h.rate
        self.written = 0
        self.refused = 0
        self.running = False
        self._due = 0.0  # events owed so far (fractional)
        self._count = 0
        self._pending_offs: list[tuple[int, bytes]] = []  # (frame, note-off)
        h.source = self._cycle

    def _message(self, frame: int) -> bytes:
        n = self._count
        self._count += 1
        ch = n % 16
        if n % 5 == 4:
            return bytes([0xB0 | ch, 1, n % 128])
        key = 36 + (n // 16) % 48
        self._pending_offs.append((frame + NOTE_FRAMES, bytes([0x80 | ch, key, 0])))
        return bytes([0x90 | ch, key, 64])

    def _cycle(self, now: int, frames: int, out) -> None:
        if not self.running and not self._pending_offs:
            return
        start = self._due
        self._due += self.per_frame * frames
        events = []
        offs, self._pending_offs = self._pending_offs, []
        for frame, data in offs:
            if frame < now + frames:
                events.append((max(frame - now, 0), data))
            else:
                self._pending_offs.append((frame, data))
        # the rate counts every event: the note-offs due now take their share first
        count = max(int(self._due) - int(start) - len(events), 0) if self.running else 0
        for i in range(count):
            offset = min(int(i * frames / max(count, 1)), frames - 1)
            events.append((offset, self._message(now + offset)))
        events.sort(key=lambda e: e[0])
        for offset, data in events:
            try:
                out.write_midi_event(offset, data)
                self.written += 1
            except jack.JackError:  # the port's buffer is full this cycle
                self.refused += 1


def _status(synth: Synth) -> dict:
    return send(synth.socket, {"cmd": "status"})["result"]


def _lost(synth: Synth) -> int:
    """Events the daemon lost: behind its MIDI input thread, in a pin's event pool or ring."""
    stats = send(synth.socket, {"cmd": "stats"})["result"]
    midi = _status(synth)["midi"]
    return sum(pin["lost_events"] for pin in stats.values()) + midi["overflowed"]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _poll_status(synth: Synth, stop: threading.Event, waits: list[float]) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        _status(synth)
        waits.append(time.perf_counter() - t)
        stop.wait(STATUS_EVERY_S)


def run(synth: Synth, h: JackHarness, flood: Flood, rate: int, seconds: float) -> dict:
    flood.per_frame = rate / h.rate
    flood.written = flood.refused = 0
    pid = synth.process.pid
    before = _status(synth)
    lost0, rss0 = _lost(synth), _rss_mb(pid)
    waits: list[float] = []
    stop = threading.Event()
    poller = threading.Thread(target=_poll_status, args=(synth, stop, waits), daemon=True)
    poller.start()
    flood.running = True
    time.sleep(seconds)
    flood.running = False
    time.sleep(0.5)  # the last notes' offs, and the daemon's queue
    stop.set()
    poller.join(5)
    after = _status(synth)
    return {
        "rate": rate,
        "seconds": seconds,
        "xruns": after["audio"]["xruns"] - before["audio"]["xruns"],
        "written": flood.written,
        "refused_by_port": flood.refused,
        "lost_in_daemon": _lost(synth) - lost0,
        "dropped_in_daemon": after["dropped_midi"] - before["dropped_midi"],
        "rss_start_mb": round(rss0, 1),
        "rss_end_mb": round(_rss_mb(pid), 1),
        "status_median_ms": round(1000 * float(np.median(waits)), 2) if waits else None,
        "status_max_ms": round(1000 * max(waits), 2) if waits else None,
        "status_requests": len(waits),
    }


def run_period(period: int, rates: list[int], seconds: float, tmp: Path) -> dict:
    with private_dmusd(period, VOICES, tmp, "bench-flood", audio=False) as (synth, h):
        flood = Flood(h, rates[0])
        time.sleep(1.0)  # past the start-up's last work
        x0 = _status(synth)["audio"]["xruns"]
        time.sleep(IDLE_S)
        idle = (_status(synth)["audio"]["xruns"] - x0) / IDLE_S  # xruns a second
        runs = [run(synth, h, flood, rate, seconds) for rate in rates]
        for r in runs:
            r["extra_xruns"] = round(r["xruns"] - idle * r["seconds"], 1)
        return {"period": period, "idle_xruns_per_s": round(idle, 2), "runs": runs}


def report(results: list[dict]) -> None:
    print(
        f"{'period':>6} {'ev/s':>7} {'xruns':>5} {'extra':>6} {'written':>9} {'port':>7} "
        f"{'lost':>7} {'RSS start/end MB':>17} {'status ms med/max':>18}"
    )
    for result in results:
        for r in result["runs"]:
            print(
                f"{result['period']:>6} {r['rate']:>7} {r['xruns']:>5} {r['extra_xruns']:>6} "
                f"{r['written']:>9} {r['refused_by_port']:>7} "
                f"{r['lost_in_daemon'] + r['dropped_in_daemon']:>7} "
                f"{r['rss_start_mb']:>8.1f}/{r['rss_end_mb']:<8.1f} "
                f"{r['status_median_ms']:>8}/{r['status_max_ms']:<8}"
            )
        print(f"{'':>6} idle: {result['idle_xruns_per_s']} xruns a second")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rates", default="10000,50000,100000")
    parser.add_argument("--periods", default="1024,256")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for period in [int(p) for p in args.periods.split(",")]:
            print(f"period {period}: idle {IDLE_S:.0f} s, then {rates} events/s, "
                  f"{args.seconds:.0f} s each ...", flush=True)  # fmt: skip
            results.append(run_period(period, rates, args.seconds, Path(folder)))
    report(results)
    print(json.dumps({"voices": VOICES, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
