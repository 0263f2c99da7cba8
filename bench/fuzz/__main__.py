"""Run every atheris target in turn (each in its own process) and report per target: executions,
seconds, coverage (libFuzzer's cov: edges and ft: features), corpus size, peak RSS, findings.

Run: .venv/bin/python -m bench.fuzz [--runs N] [--seconds S] [--targets sf2,dls,...] [--out DIR]
[-- extra libFuzzer flags]. The corpus grows in bench/out/fuzz/TARGET/corpus (or DIR/TARGET) and
a finding is written there as crash-SHA1 (timeout-, oom- for time and memory); the exit status is
1 when any target found something. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TARGETS = ("sf2", "sf3", "dls", "smf", "download", "unpacker", "control")
STAT = re.compile(r"^stat::(\w+):\s+(\d+)", re.M)
PROGRESS = re.compile(r"cov: (\d+) ft: (\d+) corp: (\d+)/")
ARTIFACT = re.compile(r"Test unit written to (\S+)")


def run_target(name: str, runs: int, seconds: int, out: Path | None, extra: list[str]) -> dict:
    command = [sys.executable, "-m", f"bench.fuzz.{name}", f"-runs={runs}", "-seed=1", *extra]
    if seconds:
        command.append(f"-max_total_time={seconds}")
    env = dict(os.environ, **({"DMUSD_FUZZ_OUT": str(out)} if out else {}))
    began = time.monotonic()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    took = time.monotonic() - began
    log = done.stdout + done.stderr
    stats = {k: int(v) for k, v in STAT.findall(log)}
    progress = PROGRESS.findall(log)
    cov, ft, corpus = (int(x) for x in progress[-1]) if progress else (0, 0, 0)
    findings = ARTIFACT.findall(log)
    if done.returncode != 0 and not findings:
        findings = [f"exit {done.returncode}: {log.strip().splitlines()[-1:]}"]
    return {"executions": stats.get("number_of_executed_units", 0), "seconds": round(took, 1),
            "exec_per_s": stats.get("average_exec_per_sec", 0), "cov": cov, "ft": ft,
            "corpus": corpus, "peak_rss_mb": stats.get("peak_rss_mb", 0),
            "slowest_unit_s": stats.get("slowest_unit_time_sec", 0), "findings": findings,
            "exit": done.returncode}  # fmt: skip


def main() -> int:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=100_000, help="executions per target")
    parser.add_argument("--seconds", type=int, default=0, help="time cap per target (0: none)")
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--out", type=Path, default=None, help="corpus and findings folder")
    args = parser.parse_args(argv)
    results = {}
    print(f"{'target':<10}{'execs':>9}{'s':>8}{'exec/s':>8}{'cov':>6}{'ft':>7}{'corpus':>8}"
          f"{'RSS MB':>8}  findings")  # fmt: skip
    for name in args.targets.split(","):
        r = run_target(name, args.runs, args.seconds, args.out, extra)
        results[name] = r
        print(f"{name:<10}{r['executions']:>9}{r['seconds']:>8}{r['exec_per_s']:>8}{r['cov']:>6}"
              f"{r['ft']:>7}{r['corpus']:>8}{r['peak_rss_mb']:>8}  "
              f"{', '.join(r['findings']) or '-'}", flush=True)  # fmt: skip
    found = sum(len(r["findings"]) for r in results.values())
    print(json.dumps({"bench": "fuzz_atheris", "runs": args.runs, "findings": found,
                      "targets": results}))  # fmt: skip
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
