"""The JACK harness run under `pw-jack`, as a subprocess: a test process has JACK2's libjack
loaded (the JACK dummy tests), and a process cannot swap its libjack for PipeWire's.

`record(env, request)` runs `pw-jack python -m tests.daemon.pw_recorder` with a JSON request on
stdin: {"midi": MIDI port to play into, "audio": [ports to record], "events": [[frame offset,
hex bytes], ...], "seconds": length, "lead": periods}. The subprocess plays the events from a
period boundary `lead` periods ahead, records the ports (in PipeWire's graph, so the null sink's
monitor ports record what reaches the default output), and saves the recording; `record`
returns (recording, facts) with facts {"start", "rate", "period", "late", "xruns"}.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

TIMEOUT = 60.0


def record(env: dict[str, str], request: dict) -> tuple[np.ndarray, dict]:
    with tempfile.TemporaryDirectory(prefix="dmusd-pw-rec-") as folder:
        out = Path(folder) / "rec.npy"
        cmd = ["pw-jack", sys.executable, "-m", "tests.daemon.pw_recorder", str(out)]
        done = subprocess.run(
            cmd,
            input=json.dumps(request),
            capture_output=True,
            text=True,
            env=env,
            timeout=TIMEOUT + request["seconds"],
            cwd=Path(__file__).resolve().parents[2],
        )
        if done.returncode != 0:
            raise RuntimeError(f"pw_recorder failed ({done.returncode}):\n{done.stderr}")
        facts = json.loads(done.stdout.strip().splitlines()[-1])
        return np.load(out), facts


def main(out: str) -> int:
    from tests.daemon.jack_harness import JackHarness

    request = json.loads(sys.stdin.read())
    with JackHarness("dmusd-pw-recorder") as h:
        h.wait_for_port("^" + request["midi"].split(":")[0] + ":", is_midi=True, is_input=True)
        h.connect_midi(request["midi"])
        h.connect_audio(request["audio"])
        events = [(int(offset), bytes.fromhex(data)) for offset, data in request["events"]]
        # a lead of 16 periods (0.34 s): a loaded machine may hold this process that long
        # between choosing the start and queuing the events
        start = h.play_recorded(events, int(request["seconds"] * h.rate), request.get("lead", 16))
        rec = h.wait_recorded()
        np.save(out, rec)
        facts = {"start": start, "rate": h.rate, "period": h.period, "late": h.late}
        print(json.dumps({**facts, "xruns": h.xruns}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
