"""Bank loading: time and peak memory for TimGM6mb.sf2 and its DLS conversion, beside FluidSynth.

Each load runs in a fresh Python process so its peak RSS is honest (nothing cached, nothing
shared with earlier runs). Inside the child, the imports are timed apart from the load, and the
RSS added by the load is the peak after it minus the peak before it. FluidSynth is timed the
same way on the same SF2 (`fluidsynth -ni -q` with the file audio driver and an empty shell),
and also without a SoundFont, so its load cost can be read as the difference.

Target (the bank issue): TimGM6mb loads in <= 0.5 s with peak RSS <= 3x its sample data.
Run: .venv/bin/python bench/banks.py [--rounds N] [--sf2 PATH]. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SF2 = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")

# VmHWM (this process's peak RSS) rather than ru_maxrss, which a child inherits from its parent.
CHILD = r"""
import json, sys, time
def hwm_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
t0 = time.perf_counter()
from dmusd.banks.loader import load_bank
t1 = time.perf_counter()
before = hwm_kb()
bank = load_bank(sys.argv[1])
t2 = time.perf_counter()
after = hwm_kb()
print(json.dumps({
    "import_s": t1 - t0, "load_s": t2 - t1, "rss_before_kb": before, "rss_peak_kb": after,
    "instruments": len(bank.instruments), "regions": bank.region_count,
    "sample_memory": bank.sample_memory,
}))
"""


def run_child(path: Path) -> dict:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    result = json.loads(out.stdout)
    result["process_s"] = time.perf_counter() - start
    return result


CONVERT = r"""
import json, sys, time
from dmusd.banks.dls_writer import save_dls
from dmusd.banks.loader import load_bank
from dmusd.banks.riff import RiffReader
t = time.perf_counter()
save_dls(load_bank(sys.argv[1]), sys.argv[2])
seconds = time.perf_counter() - t
with RiffReader.open(sys.argv[1]) as r:
    sdta = next(c for c in r.children(r.root("sfbk")) if c.form == "sdta")
    data = sum(c.data_size for c in r.children(sdta) if c.id in ("smpl", "sm24"))
print(json.dumps({"convert_s": seconds, "sample_bytes": data}))
"""


def convert(sf2: Path, dls: Path) -> dict:
    """Convert in a child too: the bench process stays small, so children inherit nothing."""
    out = subprocess.run(
        [sys.executable, "-c", CONVERT, str(sf2), str(dls)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    return json.loads(out.stdout)


def run_fluidsynth(sf2: Path | None) -> tuple[float, int]:
    """Wall time and peak RSS (kB) of fluidsynth starting, loading `sf2` and quitting."""
    args = ["fluidsynth", "-n", "-i", "-q", "-a", "file", "-o", "audio.file.name=/dev/null"]
    if sf2 is not None:
        args.append(str(sf2))
    start = time.perf_counter()
    with open(os.devnull, "rb") as stdin:
        proc = subprocess.Popen(
            args, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - start, usage.ru_maxrss


def summarize(runs: list[dict]) -> dict:
    return {
        "load_s": statistics.median(r["load_s"] for r in runs),
        "import_s": statistics.median(r["import_s"] for r in runs),
        "process_s": statistics.median(r["process_s"] for r in runs),
        "rss_peak_mb": max(r["rss_peak_kb"] for r in runs) / 1024,
        "rss_added_mb": max(r["rss_peak_kb"] - r["rss_before_kb"] for r in runs) / 1024,
        "instruments": runs[0]["instruments"],
        "regions": runs[0]["regions"],
        "sample_memory_mb": runs[0]["sample_memory"] / 1048576,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sf2", type=Path, default=DEFAULT_SF2)
    args = parser.parse_args()
    if not args.sf2.is_file():
        print(f"bench: {args.sf2} is missing (install timgm6mb-soundfont)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        dls = Path(tmp) / "converted.dls"
        converted = convert(args.sf2, dls)
        convert_s = converted["convert_s"]
        data_mb = converted["sample_bytes"] / 1048576
        sf2_runs = [run_child(args.sf2) for _ in range(args.rounds)]
        dls_runs = [run_child(dls) for _ in range(args.rounds)]
        dls_mb = dls.stat().st_size / 1048576
    fs_empty = [run_fluidsynth(None) for _ in range(args.rounds)]
    fs_loaded = [run_fluidsynth(args.sf2) for _ in range(args.rounds)]
    sf2 = summarize(sf2_runs)
    dlsr = summarize(dls_runs)
    fs_empty_s = statistics.median(t for t, _ in fs_empty)
    fs_loaded_s = statistics.median(t for t, _ in fs_loaded)
    fs_rss_empty = max(r for _, r in fs_empty) / 1024
    fs_rss_loaded = max(r for _, r in fs_loaded) / 1024

    print(f"bank: {args.sf2} ({data_mb:.2f} MiB of 16-bit sample data), {args.rounds} rounds each")
    print(f"converted to DLS Level 2 in {convert_s:.2f} s ({dls_mb:.2f} MiB file)")
    print()
    head = ("", "load s", "process s", "peak RSS MiB", "added MiB", "added/data")
    print(f"{head[0]:36}{head[1]:>8}{head[2]:>11}{head[3]:>14}{head[4]:>11}{head[5]:>12}")
    for name, r in (("dmusd load_bank(SF2)", sf2), ("dmusd load_bank(DLS conversion)", dlsr)):
        print(
            f"{name:36}{r['load_s']:8.3f}{r['process_s']:11.3f}{r['rss_peak_mb']:14.1f}"
            f"{r['rss_added_mb']:11.1f}{r['rss_added_mb'] / data_mb:12.2f}"
        )
    fs_added = fs_rss_loaded - fs_rss_empty
    fs_load = fs_loaded_s - fs_empty_s
    print(
        f"{'fluidsynth -ni (same SF2)':36}{fs_load:8.3f}{fs_loaded_s:11.3f}{fs_rss_loaded:14.1f}"
        f"{fs_added:11.1f}{fs_added / data_mb:12.2f}"
    )
    print(f"{'fluidsynth -ni (no SoundFont)':36}{'':8}{fs_empty_s:11.3f}{fs_rss_empty:14.1f}")
    print()
    print("load s: median time of the load alone (FluidSynth: with minus without the SF2, which")
    print("is within its start-up noise); process s: whole process, interpreter start included;")
    print(
        "added: the peak RSS the load added. dmusd holds samples as float32 (2x the 16-bit data)."
    )
    ratio = sf2["process_s"] / fs_loaded_s
    print(f"whole-process time, dmusd / FluidSynth: {ratio:.1f}x")
    target_ok = sf2["load_s"] <= 0.5 and sf2["rss_added_mb"] <= 3 * data_mb
    print(f"target (<= 0.5 s, <= 3x sample data added): {'met' if target_ok else 'NOT met'}")
    print(
        json.dumps(
            {
                "bench": "banks",
                "sf2": str(args.sf2),
                "sample_data_mb": round(data_mb, 3),
                "sf2_load_s": round(sf2["load_s"], 4),
                "sf2_process_s": round(sf2["process_s"], 4),
                "sf2_rss_peak_mb": round(sf2["rss_peak_mb"], 2),
                "sf2_rss_added_mb": round(sf2["rss_added_mb"], 2),
                "dls_load_s": round(dlsr["load_s"], 4),
                "dls_process_s": round(dlsr["process_s"], 4),
                "dls_rss_peak_mb": round(dlsr["rss_peak_mb"], 2),
                "dls_rss_added_mb": round(dlsr["rss_added_mb"], 2),
                "dls_file_mb": round(dls_mb, 3),
                "convert_s": round(convert_s, 3),
                "fluidsynth_process_s": round(fs_loaded_s, 4),
                "fluidsynth_empty_s": round(fs_empty_s, 4),
                "fluidsynth_rss_mb": round(fs_rss_loaded, 2),
                "fluidsynth_rss_added_mb": round(fs_rss_loaded - fs_rss_empty, 2),
                "process_ratio_vs_fluidsynth": round(ratio, 2),
                "target_met": target_ok,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
