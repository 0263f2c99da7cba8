"""Voice engine throughput: ns per voice-sample and the polyphony one core renders in real time.

Our engine renders N sustained voices at 48 kHz in 256-sample blocks: "rich" voices (4-point
interpolation, EG1 and EG2 running, vibrato and modulation LFOs on pitch and gain, a resonant
low-pass swept by EG2, reverb and chorus sends) with the send effects on and off, and "plain"
GM-style voices (EG1 in sustain, a fixed low-pass, no LFOs) with effects on.

Side by side, FluidSynth renders N sustained organ voices from TimGM6mb offline
(`fluidsynth -F`) with polyphony capped at N, so exactly N voices play; its start-up and fixed
per-block cost are taken out by a run with no notes. Both run on one core (FluidSynth with
synth.cpu-cores=1) and both are timed in CPU seconds, one after the other, so the ratio stands
even on this noisy shared machine.

Usage: python bench/engine.py [--voices 64,256,1024] [--seconds 2] [--no-fluidsynth]
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from dmusd.synth.engine import Engine, VoiceSpec, default_connections

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fluidsynth26  # noqa: E402

from dmusd.synth.engine import connections as C
from dmusd.synth.engine import layout as L

RATE = 48000
BLOCK = 256
SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
TARGET_NS = 8.0


def plain_articulation() -> np.ndarray:
    """A typical GM-style voice: volume envelope into sustain, a fixed low-pass, no LFOs."""
    rows = [
        r
        for r in default_connections().tolist()
        if not (r[0] == C.CONN_SRC_NONE and r[2] == C.CONN_DST_FILTER_CUTOFF)
    ]
    rows += [
        (0, 0, C.CONN_DST_EG1_ATTACKTIME, 0, C.timecents_scale(0.01)),
        (0, 0, C.CONN_DST_EG1_DECAYTIME, 0, C.timecents_scale(0.5)),
        (0, 0, C.CONN_DST_EG1_SUSTAINLEVEL, 0, C.percent_scale(80.0)),
        (0, 0, C.CONN_DST_FILTER_CUTOFF, 0, C.pitch_hz_scale(6000.0)),
    ]
    return C.connections_array(rows)


def articulation() -> np.ndarray:
    """The DLS2 defaults plus what a rich instrument uses: envelopes, LFOs, a swept filter."""
    rows = [
        r
        for r in default_connections().tolist()
        if not (r[0] == C.CONN_SRC_NONE and r[2] == C.CONN_DST_FILTER_CUTOFF)
    ]
    rows += [
        (0, 0, C.CONN_DST_EG1_ATTACKTIME, 0, C.timecents_scale(0.01)),
        (0, 0, C.CONN_DST_EG1_DECAYTIME, 0, C.timecents_scale(30.0)),
        (0, 0, C.CONN_DST_EG1_SUSTAINLEVEL, 0, C.percent_scale(80.0)),
        (0, 0, C.CONN_DST_EG2_ATTACKTIME, 0, C.timecents_scale(0.5)),
        (0, 0, C.CONN_DST_EG2_DECAYTIME, 0, C.timecents_scale(30.0)),
        (0, 0, C.CONN_DST_EG2_SUSTAINLEVEL, 0, C.percent_scale(50.0)),
        (0, 0, C.CONN_DST_FILTER_CUTOFF, 0, C.pitch_hz_scale(3000.0)),
        (0, 0, C.CONN_DST_FILTER_Q, 0, 60 * 65536),
        (C.CONN_SRC_EG2, 0, C.CONN_DST_FILTER_CUTOFF, 0, C.cents_scale(1200.0)),
        (C.CONN_SRC_VIBRATO, C.CONN_SRC_CC1, C.CONN_DST_PITCH, 0, C.cents_scale(50.0)),
        (C.CONN_SRC_VIBRATO, 0, C.CONN_DST_PITCH, 0, C.cents_scale(10.0)),
        (C.CONN_SRC_LFO, 0, C.CONN_DST_GAIN, 0, C.gain_scale(1.0)),
    ]
    return C.connections_array(rows)


def engine_time(voices: int, seconds: float, effects: bool, rich: bool = True) -> float:
    """Seconds of CPU to render `seconds` of audio with `voices` voices (best of 3)."""
    engine = Engine(sample_rate=RATE, max_voices=max(voices, 1), max_block=BLOCK)
    rng = np.random.default_rng(1)
    n = 4800
    wave = 0.5 * np.sin(2 * np.pi * np.arange(n) / 96) + 0.05 * rng.standard_normal(n)
    offset = engine.pool.add_wave(wave)
    conns = articulation() if rich else plain_articulation()
    for ch in range(16):
        engine.controller(ch, 91, 40)
        engine.controller(ch, 93, 20)
        engine.controller(ch, 1, 30)
    for i in range(voices):
        spec = VoiceSpec(
            offset,
            n,
            RATE,
            key=36 + i % 48,
            velocity=100,
            channel=i % 16,
            unity_note=60,
            loop_type=L.LOOP_FORWARD,
            loop_start=0,
            loop_length=n,
            connections=conns,
        )
        engine.start(spec, offset=i % BLOCK)
    engine.set_reverb(enabled=effects)
    engine.set_chorus(enabled=effects)
    engine.render(
        BLOCK if rich else RATE // 2
    )  # compile or load, start the voices (plain: sustain)
    blocks = int(seconds * RATE) // BLOCK
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(blocks):
            engine.render(BLOCK)
        best = min(best, time.process_time() - start)
    assert engine.active_count == voices, "a voice ended during the benchmark"
    return best * (seconds * RATE) / (blocks * BLOCK)


def midi_file(path: Path, notes: int, seconds: float) -> None:
    """`notes` organ notes held for `seconds` (more notes than voices: FluidSynth's cap binds)."""
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500_000))  # 960 ticks = 1 s
    for ch in range(16):
        if ch != 9:
            track.append(mido.Message("program_change", channel=ch, program=19))
    pairs = [(ch, key) for key in range(36, 100) for ch in range(16) if ch != 9][:notes]
    for ch, key in pairs:
        track.append(mido.Message("note_on", channel=ch, note=key, velocity=100, time=0))
    first = True
    for ch, key in pairs:
        dt = int(seconds * 960) if first else 0
        track.append(mido.Message("note_off", channel=ch, note=key, velocity=0, time=dt))
        first = False
    mid.save(path)


def fluidsynth_time(voices: int, seconds: float, effects: bool, tmp: Path) -> float:
    """CPU seconds FluidSynth takes to render the file with `voices` voices (best of 3)."""
    mid = tmp / f"held{voices}.mid"
    midi_file(mid, min(voices * 2, 960) if voices else 0, seconds)
    cmd = [
        *fluidsynth26.command(),
        "-ni",
        "-q",
        "-g",
        "0.05",
        "-r",
        str(RATE),
        "-o",
        f"synth.polyphony={max(voices, 16)}",
        "-o",
        "synth.cpu-cores=1",
        "-R",
        "1" if effects else "0",
        "-C",
        "1" if effects else "0",
        "-F",
        str(tmp / "out.raw"),
        "-T",
        "raw",
        str(SOUNDFONT),
        str(mid),
    ]
    best = float("inf")
    for _ in range(3):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = min(best, cpu)
    return best


def per_voice_ns(times: dict[int, float], seconds: float) -> dict[int, float]:
    base = times[0]
    return {n: (t - base) / (n * seconds * RATE) * 1e9 for n, t in times.items() if n}


def realtime_polyphony(times: dict[int, float], seconds: float) -> int:
    """Voices one core renders in real time, from a line through (voices, seconds of CPU)."""
    counts = sorted(times)
    slope, intercept = np.polyfit(counts, [times[n] / seconds for n in counts], 1)
    return int((1.0 - intercept) / slope)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", default="64,256,1024")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--no-fluidsynth", action="store_true")
    args = parser.parse_args()
    counts = [0] + [int(x) for x in args.voices.split(",")]
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as FluidSynth gets

    result: dict[str, object] = {"rate": RATE, "block": BLOCK, "seconds": args.seconds}
    runs = (
        ("effects_off", False, True),
        ("effects_on", True, True),
        ("plain_effects_on", True, False),
    )
    for label, effects, rich in runs:
        times = {n: engine_time(n, args.seconds, effects, rich) for n in counts}
        ns = per_voice_ns(times, args.seconds)
        poly = realtime_polyphony(times, args.seconds)
        kind = "rich voices (EG1, EG2, 2 LFOs, swept filter)" if rich else "plain voices"
        print(f"dmusd engine, {kind}, {label.replace('plain_', '')}:")
        for n, value in ns.items():
            print(f"  {n:5d} voices: {value:6.2f} ns per voice-sample")
        print(f"  real-time polyphony on one core: {poly}")
        result[f"dmusd_{label}"] = {"ns_per_voice_sample": ns, "realtime_polyphony": poly}

    have_fs = SOUNDFONT.exists() and not args.no_fluidsynth
    if have_fs:
        with tempfile.TemporaryDirectory() as tmp:
            for effects in (False, True):
                label = "effects_on" if effects else "effects_off"
                times = {n: fluidsynth_time(n, args.seconds, effects, Path(tmp)) for n in counts}
                ns = per_voice_ns(times, args.seconds)
                poly = realtime_polyphony(times, args.seconds)
                print(f"FluidSynth 4-point, {label}:")
                for n, value in ns.items():
                    print(f"  {n:5d} voices: {value:6.2f} ns per voice-sample")
                print(f"  real-time polyphony on one core: {poly}")
                result[f"fluidsynth_{label}"] = {
                    "ns_per_voice_sample": ns,
                    "realtime_polyphony": poly,
                }
                for ours_label in (label, f"plain_{label}"):
                    if f"dmusd_{ours_label}" not in result:
                        continue
                    ours = result[f"dmusd_{ours_label}"]["realtime_polyphony"]
                    result[f"polyphony_ratio_{ours_label}"] = round(ours / max(poly, 1), 2)
                    print(
                        f"  dmusd ({ours_label}) / FluidSynth polyphony: "
                        f"{result[f'polyphony_ratio_{ours_label}']}"
                    )
    else:
        print("FluidSynth or TimGM6mb not found: no side-by-side figures", file=sys.stderr)
    worst = max(result["dmusd_effects_off"]["ns_per_voice_sample"].values())
    result["target_ns_per_voice_sample"] = TARGET_NS
    result["meets_target"] = bool(worst <= TARGET_NS)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
