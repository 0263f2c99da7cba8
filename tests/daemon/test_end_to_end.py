"""The daemon end to end: `dmusd run` as a subprocess on a JACK dummy server, played and recorded
by the JACK harness like a DAW would.

One daemon serves the module (the `daemon` fixture: two pins, "a" with the built-in GM bank and
two channel groups, "b" with TimGM6mb), the last test stops it with SIGTERM. The server-loss
test runs its own daemon on its own private jackd. Timing facts measured here are printed
(pytest -s shows them).
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.daemon.daemon_process import CLIENT, MIDI_CLIENT, TIMGM, Daemon, port_of
from tests.daemon.jack_harness import (
    JackHarness,
    held_note,
    latency_events,
    latency_frames,
    note_latencies,
    pitch_cents,
    pitch_events,
    rms,
    window_levels,
)

pytestmark = pytest.mark.realtime


def play_and_record(h: JackHarness, port: str, events, seconds: float, lead: int = 4):
    """Play (frame offset, bytes) events from a period boundary `lead` periods ahead; returns
    (start frame, recording)."""
    h.disconnect_midi()
    h.connect_midi(port)
    h.late = 0
    start = h.play_recorded(events, int(seconds * h.rate), lead)
    return start, h.wait_recorded()


def note(ch: int, key: int, on: int, off: int, velocity: int = 100):
    return [(on, bytes([0x90 | ch, key, velocity])), (off, bytes([0x80 | ch, key, 0]))]


# -- pitch ------------------------------------------------------------------------------------
def test_notes_sound_at_the_right_pitch(daemon, harness):
    h = harness
    _, rec = play_and_record(h, port_of(daemon, "a 1"), pitch_events(h.rate), 2.4)
    errors = pitch_cents(rec, h.rate)
    assert max(abs(e) for e in errors) <= 3.0, errors


# -- timing -----------------------------------------------------------------------------------
ONSET_THRESHOLD = 1e-4
HARNESS_ATTEMPTS = 3  # recordings the harness may spoil by its own lateness


@functools.lru_cache(maxsize=1)
def onset_found_after() -> int:
    """How many samples after its start the note the timing tests play (program 80, key 69,
    velocity 100, built-in GM bank, no effects, as pin "a") is found: its attack's first steps
    lie under the onset threshold. Rendered offline on the same pin, so the tests follow the
    bank's levels (gm_levels.py) instead of a number taken from one version of them."""
    from dmusd.config import PinConfig
    from dmusd.kernel.clock import SampleCountClock
    from dmusd.pin import BUILTIN, SynthPin, parse_bank

    rate = 48000
    pin = SynthPin(
        PinConfig("a", reverb=False, chorus=False), rate, SampleCountClock(rate), idle=False
    )
    try:
        pin.download(parse_bank(BUILTIN), 1)
        pin.put(b"\xc0\x50", 0, 1)
        pin.put(b"\x90\x45\x64", 0, 1)
        out = np.zeros((1024, 2), dtype=np.float32)
        pin.render(out, 1024, 0, 0, True)
    finally:
        pin.close()
    loud = np.flatnonzero(np.abs(out[:, 0]) > ONSET_THRESHOLD)
    assert loud.size, "the reference note is silent"
    return int(loud[0])


def _latencies(h: JackHarness, port: str, offsets: list[int]) -> np.ndarray:
    """Latency in samples of one note per slot of eight periods, written at `offsets` into the
    slot's first period (jack_harness.latency_events)."""
    events, notes = latency_events(offsets, h.period)
    for _ in range(HARNESS_ATTEMPTS):
        start, rec = play_and_record(h, port, events, latency_frames(offsets, h.period) / h.rate)
        if h.late == 0:
            break
        # the harness (Python under the GIL) sent an event after its frame: that recording
        # measures the harness, not the daemon (seen in a full suite run on a 2-core VM)
        print(f"the harness was late with {h.late} events: again")
    assert h.late == 0, "the harness kept missing its own deadlines"
    return note_latencies(rec, notes, h.period)


def test_latency_is_constant_over_100_notes(daemon, harness):
    """100 notes written at random frame offsets inside JACK periods: every onset keeps one
    latency, to the sample (the JACK input keeps each event's frame, and the audio sink knows
    which of its frames that is)."""
    h = harness
    rng = np.random.default_rng(7)
    offsets = [int(x) for x in rng.integers(0, h.period, 100)]
    resyncs = daemon.ctl("status")["result"]["audio"]["clock_resyncs"]
    latency = _latencies(h, port_of(daemon, "a 1"), offsets)
    jitter = int(latency.max() - latency.min())
    print(
        f"latency over 100 notes at random offsets: {latency.min()}..{latency.max()} samples "
        f"({latency.mean() / h.rate * 1e3:.2f} ms), jitter {jitter} samples "
        f"({jitter / h.rate * 1e3:.3f} ms)"
    )
    # Every note plays the schedule-ahead (60 ms) after its frame, exactly: a MIDI event's JACK
    # frame is turned into an output frame by integer arithmetic, no clock is read. Only a stall
    # long enough to re-anchor the master clock (a loaded machine's dummy driver late by over
    # 4 ms) can move the notes stamped around it: then those may be off by the stall (13 ms
    # once under the full suite on a 2-core VM), and every other note is still exact.
    ahead = round(0.060 * h.rate) + onset_found_after()
    if daemon.ctl("status")["result"]["audio"]["clock_resyncs"] == resyncs:
        assert np.all(latency == ahead), f"latencies {sorted(set(latency.tolist()))}"
    else:
        assert np.mean(latency == ahead) >= 0.9, f"latencies {sorted(set(latency.tolist()))}"
        assert np.all(np.abs(latency - ahead) <= round(0.05 * h.rate)), latency.tolist()


def _audio(daemon: Daemon) -> dict:
    return daemon.ctl("status")["result"]["audio"]


def _until_asleep(daemon: Daemon, timeout: float = 6.0) -> dict:
    deadline = time.monotonic() + timeout
    while not (audio := _audio(daemon))["asleep"]:
        assert time.monotonic() < deadline, f"never fell asleep: {audio}"
        time.sleep(0.1)
    return audio


def test_an_idle_daemon_sleeps_in_native_code_and_wakes_on_time(daemon, harness):
    """Idle, every cycle is answered without Python; a note wakes it on time to the sample and
    it sleeps again once the note is over."""
    before = _until_asleep(daemon)
    time.sleep(1.0)
    after = _audio(daemon)
    assert after["callbacks"] - before["callbacks"] >= 30  # 47 cycles a second at 1024 frames
    assert after["python_callbacks"] == before["python_callbacks"], (before, after)
    assert after["slept_frames"] > before["slept_frames"]
    assert after["position"] - before["position"] >= 30 * 1024  # time played on while asleep
    latency = _latencies(harness, port_of(daemon, "a 1"), [333])
    if _audio(daemon)["clock_resyncs"] == after["clock_resyncs"]:
        assert latency.tolist() == [round(0.060 * harness.rate) + onset_found_after()]
    assert _audio(daemon)["python_callbacks"] > after["python_callbacks"]
    _until_asleep(daemon)


def test_the_daemon_holds_little_of_jacks_shared_segment(daemon, harness):
    """libjack locks the server's whole segment (~100 MB) into every client; the daemon lets go
    of it once its clients are open and keeps only the pages it touches, while it plays."""
    _latencies(harness, port_of(daemon, "a 1"), [100, 200])
    jack_kb, inside = 0, False
    for line in Path(f"/proc/{daemon.process.pid}/smaps").read_text().splitlines():
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and ":" in head[3]:  # a mapping's first line
            inside = len(head) >= 6 and head[5].startswith("/dev/shm/jack-")
        elif inside and head[0] == "Rss:":
            jack_kb += int(head[1])
    assert jack_kb < 8 * 1024, f"{jack_kb} kB of JACK's segment resident"


def test_ctl_status_shows_the_device_and_the_clock(daemon, harness):
    code = "import sys; from dmusd.cli import main; sys.exit(main())"
    cmd = [sys.executable, "-c", code, "ctl", "--socket", daemon.socket]
    out = subprocess.run([*cmd, "status"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    audio = next(line for line in out.stdout.splitlines() if line.startswith("audio: "))
    # on JACK the device is dmusd's own client (jack_output.py)
    assert audio.startswith(f"audio: jack '{CLIENT}', output latency ")
    assert " xruns, clock " in audio
    result = json.loads(subprocess.run([*cmd, "--json", "status"], capture_output=True).stdout)
    clock = result["result"]["audio"]
    assert clock["callbacks"] > 0 and abs(clock["measured_rate"] - 48000) < 48  # within 0.1 %


def test_each_channel_group_reaches_its_own_group(daemon, harness):
    h = harness
    r = h.rate
    # Group 1 channel 1 is muted (CC7 = 0); group 2 channel 1 keeps its volume.
    _, rec1 = play_and_record(
        h, port_of(daemon, "a 1"), [(0, b"\xb0\x07\x00"), *note(0, 60, 0.1 * r, 0.5 * r)], 0.7
    )
    _, rec2 = play_and_record(h, port_of(daemon, "a 2"), note(0, 60, int(0.1 * r), 0.5 * r), 0.7)
    _, rec3 = play_and_record(
        h, port_of(daemon, "a 1"), [(0, b"\xb0\x07\x64"), *note(0, 60, 0.1 * r, 0.5 * r)], 0.7
    )
    levels = f"{rms(rec1):.2e}, group 2: {rms(rec2):.2e}, group 1 unmuted: {rms(rec3):.2e}"
    print(f"rms with group 1 muted: {levels}")
    assert rms(rec1) < 1e-5
    assert rms(rec2) > 1e-3
    assert rms(rec3) > 1e-3


def _harmonics(x: np.ndarray, rate: int, f0: float, n: int = 12) -> np.ndarray:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    levels = []
    for k in range(1, n + 1):
        band = (freqs > f0 * k * 0.97) & (freqs < f0 * k * 1.03)
        levels.append(spectrum[band].max())
    levels = np.array(levels)
    return 20 * np.log10(levels / levels.max() + 1e-9)


def test_two_pins_with_different_banks_sound_different(daemon, harness):
    h = harness
    r = h.rate
    events = [(0, b"\xc0\x00"), *note(0, 60, int(0.05 * r), int(0.6 * r))]
    _, built_in = play_and_record(h, port_of(daemon, "a 1"), events, 0.7)
    _, timgm = play_and_record(h, port_of(daemon, "b 1"), events, 0.7)
    seg = slice(int(0.15 * r), int(0.55 * r))
    a = _harmonics(built_in[seg, 0], r, 261.63)
    b = _harmonics(timgm[seg, 0], r, 261.63)
    diff = float(np.mean(np.abs(a - b)))
    print(f"piano C4, built-in vs TimGM6mb: harmonics differ by {diff:.1f} dB on average")
    assert rms(built_in[seg]) > 1e-3 and rms(timgm[seg]) > 1e-3
    assert diff > 3.0


# -- banks over the control socket while notes play -------------------------------------------
def test_bank_download_and_unload_while_notes_play(daemon, harness):
    h = harness
    r = h.rate
    seconds = 3.0
    h.disconnect_midi()
    h.connect_midi(port_of(daemon, "a 1"))
    # An organ held for the whole window: it has no decay to confuse a dropout.
    start = h.play_recorded(held_note(1000, int(2.8 * r)), int(seconds * r))
    h.wait_until(start + int(0.5 * r))
    loaded = daemon.ctl("load", pin="a", path=TIMGM)
    assert loaded["ok"], loaded
    bank = loaded["result"]["bank"]
    h.wait_until(start + int(1.5 * r))
    unloaded = daemon.ctl("unload", pin="a", bank=bank)
    assert unloaded["ok"], unloaded
    rec = h.wait_recorded()[:, 0]
    # Every 20 ms window while the note is held stays near the level before the download.
    win = int(0.02 * r)
    levels = window_levels(rec, int(0.2 * r), int(2.7 * r), win)
    ref = np.median(levels[:10])
    print(f"held note: window rms {min(levels):.3e}..{max(levels):.3e} (first 0.4 s {ref:.3e})")
    assert ref > 1e-3
    assert min(levels) > 0.5 * ref
    bad = daemon.ctl("unload", pin="a", bank=bank)  # already gone: an error reply, still running
    assert not bad["ok"] and daemon.process.poll() is None


def test_while_notes_sound_the_audio_callback_runs_no_python(daemon, harness):
    h = harness
    r = h.rate
    h.disconnect_midi()
    h.connect_midi(port_of(daemon, "a 1"))
    start = (h.frame_time // h.period + 4) * h.period
    h.record(start, int(2.0 * r))
    h.play([(start + f, m) for f, m in held_note(0, int(1.8 * r))])
    h.wait_until(start + int(0.5 * r))
    first = daemon.ctl("status")["result"]["audio"]
    h.wait_until(start + int(1.5 * r))
    later = daemon.ctl("status")["result"]["audio"]
    rec = h.wait_recorded()[:, 0]
    python = (first["python_callbacks"], later["python_callbacks"])
    print(f"native {first['native']} -> {later['native']}; Python callbacks {python}")
    assert later["native"]["on"] and later["native"]["blocks"] > first["native"]["blocks"]
    # a second of playing: every period rendered natively, none in Python
    assert later["python_callbacks"] == first["python_callbacks"]
    assert later["callbacks"] - first["callbacks"] >= 0.9 * r / h.period
    levels = window_levels(rec, int(0.2 * r), int(1.7 * r), int(0.02 * r))
    assert levels.min() > 0.5 * np.median(levels)  # and the note sounds throughout


# -- config errors, server loss, shutdown ----------------------------------------------------
def test_a_bad_config_stops_start_up_with_code_2(tmp_path):
    bad = tmp_path / "dmusd.toml"
    bad.write_text('[[pins]]\nname = "a"\nvoices = 0\n')
    code = "import sys; from dmusd.cli import main; sys.exit(main())"
    done = subprocess.run(
        [sys.executable, "-c", code, "run", "--config", str(bad)], capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert "dmusd.toml:3: pins[0].voices: must be 1..4096, got 0" in done.stderr.decode()


def test_killing_jackd_never_hangs_the_daemon(private_jack_server, tmp_path):
    server = private_jack_server()
    d = Daemon(tmp_path, env=server.env)
    killed = time.monotonic()
    server.kill()
    took = d.exits_after(killed, "its JACK server died")
    print(f"exit {d.process.returncode} {took:.2f} s after jackd was killed")
    assert d.process.returncode != 0
    assert took <= 5.0
    d.stop()


def test_sigterm_exits_cleanly(daemon, harness):
    r = harness.rate
    harness.disconnect_midi()
    harness.connect_midi(port_of(daemon, "a 1"))
    harness.play([(harness.frame_time + harness.period, b"\x90\x3c\x64")])  # a note sounds
    time.sleep(0.3)
    t = time.monotonic()
    code = daemon.stop(signal.SIGTERM)
    took = time.monotonic() - t
    print(f"SIGTERM: exit {code} in {took:.2f} s")
    assert code == 0 and took <= 2.0
    assert not harness.midi_ports_of(f"^{MIDI_CLIENT}:")
    assert not os.path.exists(daemon.socket)
    assert r > 0
