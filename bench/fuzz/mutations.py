"""Fuzz the loaders: seeded mutations of SF2, SF3, DLS and Standard MIDI files, each parsed in a
worker process with a per-file timeout and its own peak RSS.

The only acceptable outcomes are a loaded bank (or song) or dmusd's own typed error (BankError,
MidiFileError): any other exception, a file that takes longer than --timeout, a worker that dies
(a native crash) or a file whose parse grows the peak RSS past 24x its size + 64 MB is a finding.
The mutations are tests/banks/test_fuzz.py's (byte flips, extreme size and count fields,
truncation, splices, floods of empty chunks, deep nesting), so a finding replays there exactly:
each is printed with its target, seed and case number.

Per-file peak RSS: before each file the worker resets its VmHWM (/proc/self/clear_refs, "5") and
reads it again after. Each target runs until --count files or --seconds, whichever comes first.
Run: .venv/bin/python bench/fuzz/mutations.py [--count N] [--seconds S] [--timeout S] [--seed N]
[--targets dls,sf2,sf3,smf]. Prints figures per target; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

MEMORY_FACTOR, MEMORY_SLACK = 24, 64 << 20  # as the CI fuzz tests allow
TARGETS = ("dls", "dls1", "sf2", "sf3", "smf")


def seeds(target: str) -> list[bytes]:
    """The valid files a target mutates."""
    from dmusd.banks.dls_writer import dls_bytes
    from tests.banks.builders import SPEC_TEST_SF2, sample_bank, simple_sf2
    from tests.support import SHARED_DATA

    if target == "dls":
        return [dls_bytes(sample_bank(8)), dls_bytes(sample_bank(16))]
    if target == "dls1":
        return [dls_bytes(sample_bank(16, stereo=False), level=1)]
    if target == "sf2":
        return [simple_sf2()] + ([SPEC_TEST_SF2.read_bytes()] if SPEC_TEST_SF2.exists() else [])
    if target == "sf3":
        return [simple_sf2(vorbis=True)]
    midi = sorted((SHARED_DATA / "test-midi-files" / "midi").glob("*.mid"))
    return [p.read_bytes() for p in midi if p.stat().st_size > 0]


def _hwm() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_hwm() -> None:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def worker(target: str, seed: int, start: int, count: int, seconds: float, timeout: float) -> None:
    """Parse cases start.. of one target; one JSON line per case on stdout (so the parent knows
    where a crash happened), a Timeout per case by SIGALRM."""
    import signal

    from dmusd.banks.loader import parse_bank_bytes
    from dmusd.errors import BankError, MidiFileError
    from dmusd.midifile import parse_midi_bytes
    from tests.banks.test_fuzz import check_invariants, mutate

    class Timeout(BaseException):
        pass

    def alarm(*_: object) -> None:
        raise Timeout

    signal.signal(signal.SIGALRM, alarm)
    parse = (lambda b: parse_midi_bytes(b, "fuzz.mid")) if target == "smf" else (
        lambda b: parse_bank_bytes(b, f"fuzz.{target}")
    )  # fmt: skip
    typed = MidiFileError if target == "smf" else BankError
    originals = seeds(target)
    ends = time.monotonic() + seconds
    for case in range(start, count):
        if time.monotonic() > ends:
            break
        rng = random.Random(f"{seed}/{target}/{case}")
        data = mutate(rng.choice(originals), rng)
        _reset_hwm()
        before = _hwm()
        began = time.perf_counter()
        outcome = "loaded"
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            result = parse(data)
            if target != "smf":
                check_invariants(result)
        except typed:
            outcome = typed.__name__
        except Timeout:
            outcome = "hang"
        except BaseException as error:  # a finding: say what and where
            outcome = f"unexpected {type(error).__name__}: {str(error)[:120]}"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        took = time.perf_counter() - began
        grew = max(0, _hwm() - before)
        over = grew > MEMORY_FACTOR * len(data) + MEMORY_SLACK
        print(json.dumps({"case": case, "size": len(data), "outcome": outcome, "seconds": took,
                          "grew": grew, "rss": _hwm(), "memory": over}), flush=True)  # fmt: skip


def run_target(target: str, args: argparse.Namespace) -> dict:
    """Cases 0..count-1 of a target in workers; a worker that dies is restarted after its case."""
    figures = {"files": 0, "outcomes": Counter(), "findings": [], "max_seconds": 0.0,
               "max_grew": 0, "max_rss": 0}  # fmt: skip
    began = time.monotonic()
    start = 0
    while start < args.count and time.monotonic() - began < args.seconds:
        left = args.seconds - (time.monotonic() - began)
        command = [sys.executable, __file__, "--worker", target, str(args.seed), str(start),
                   str(args.count), str(left), str(args.timeout)]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO)
        last = start - 1
        for line in process.stdout:
            case = json.loads(line)
            last = case["case"]
            figures["files"] += 1
            kind = case["outcome"]
            figures["outcomes"][kind.split(":")[0]] += 1
            figures["max_seconds"] = max(figures["max_seconds"], case["seconds"])
            figures["max_grew"] = max(figures["max_grew"], case["grew"])
            figures["max_rss"] = max(figures["max_rss"], case["rss"])
            if kind.startswith(("unexpected", "hang")) or case["memory"]:
                figures["findings"].append(f"{target} seed {args.seed} case {last}: {kind}"
                                           f"{' (memory)' if case['memory'] else ''}")  # fmt: skip
        code = process.wait()
        if code != 0:  # a native crash (or an exit) inside the case after `last`
            figures["files"] += 1
            figures["outcomes"]["crash"] += 1
            figures["findings"].append(f"{target} seed {args.seed} case {last + 1}: worker "
                                       f"exit {code}")  # fmt: skip
        start = last + 2 if code != 0 else args.count
    return figures


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        target, seed, start, count, seconds, timeout = sys.argv[2:8]
        worker(target, int(seed), int(start), int(count), float(seconds), float(timeout))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="files per target (2000)")
    parser.add_argument("--seconds", type=float, default=60.0, help="time per target (60 s)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per file (20)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--targets", default=",".join(TARGETS))
    args = parser.parse_args()
    results = {}
    total = Counter()
    findings: list[str] = []
    print(f"fuzz: seed {args.seed}, up to {args.count} files or {args.seconds:g} s per target, "
          f"{args.timeout:g} s per file")  # fmt: skip
    print(f"{'target':<7}{'files':>7}{'loaded':>8}{'typed':>8}{'other':>7}{'hangs':>7}"
          f"{'max s':>8}{'max +RSS MB':>13}{'max RSS MB':>12}")  # fmt: skip
    for target in args.targets.split(","):
        f = run_target(target, args)
        outcomes = f["outcomes"]
        typed = outcomes["BankError"] + outcomes["MidiFileError"]
        other = f["files"] - outcomes["loaded"] - typed - outcomes["hang"]
        print(f"{target:<7}{f['files']:>7}{outcomes['loaded']:>8}{typed:>8}{other:>7}"
              f"{outcomes['hang']:>7}{f['max_seconds']:>8.2f}{f['max_grew'] / 2**20:>13.1f}"
              f"{f['max_rss'] / 2**20:>12.1f}")  # fmt: skip
        total.update(outcomes)
        findings += f["findings"]
        results[target] = {"files": f["files"], "outcomes": dict(outcomes),
                           "max_seconds": round(f["max_seconds"], 3),
                           "max_rss_growth_mb": round(f["max_grew"] / 2**20, 1),
                           "max_rss_mb": round(f["max_rss"] / 2**20, 1)}  # fmt: skip
    for finding in findings:
        print(f"finding: {finding}")
    files = sum(r["files"] for r in results.values())
    unexpected = sum(n for k, n in total.items() if k.startswith("unexpected") or k == "crash")
    summary = {
        "bench": "fuzz",
        "seed": args.seed,
        "files": files,
        "errors_by_type": {k: n for k, n in total.items() if k not in ("loaded", "hang")},
        "loaded": total["loaded"],
        "unexpected": unexpected,
        "hangs": total["hang"],
        "memory_findings": sum(1 for f in findings if f.endswith("(memory)")),
        "max_seconds": max((r["max_seconds"] for r in results.values()), default=0.0),
        "max_rss_mb": max((r["max_rss_mb"] for r in results.values()), default=0.0),
        "targets": results,
    }
    print(json.dumps(summary))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
