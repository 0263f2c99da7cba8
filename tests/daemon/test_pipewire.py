"""The daemon on a headless PipeWire session (what most desktops run), end to end, on each of
its three doors: PipeWire's JACK (`pw-jack dmusd run`, backend "jack"), its Pulse server
(backend "pulse": ALSA's pulse plugin) and its ALSA plugin (backend "alsa", device "pipewire",
named: with pipewire-alsa installed that is also ALSA's default, and the tests pick devices
explicitly so that they see the same thing on every machine).

MIDI comes in through PipeWire's JACK MIDI (the daemon runs under pw-jack for every backend),
played by the pw-jack recorder (tests/daemon/pw_recorder.py) at exact graph frames, and what
reaches the null sink "t" is recorded from its monitor ports: the latency measured is from the
MIDI frame to the sound at the default output. Figures are printed (pytest -s shows them).
"""

from __future__ import annotations

import re
import subprocess
import time

import numpy as np
import pytest

from tests.daemon import jack_harness as jh
from tests.daemon.daemon_process import CLIENT, MIDI_CLIENT, Daemon, port_of
from tests.daemon.pw_recorder import record

pytestmark = pytest.mark.realtime

MONITOR = ["t:monitor_FL", "t:monitor_FR"]
DEVICE = {"jack": "", "pulse": "", "alsa": "pipewire"}
PERIOD = 256  # the config's period: the block size on pulse and alsa (JACK takes its own)
AHEAD_MS = 60.0  # the daemons' schedule-ahead (daemon_process.CONFIG)
# A loaded machine may make the recorder itself lose graph cycles (its recording then has holes
# and its events come late): such a run says nothing of dmusd, and is made again. On a 2-core VM
# under the full suite three recordings in a row were lost once (2026-12-03): six attempts.
RECORD_ATTEMPTS = 6


def start_daemon(tmp, env, backend: str, on_loss: str = "exit") -> Daemon:
    return Daemon(
        tmp, env=env, period=PERIOD, backend=backend, device=DEVICE[backend],
        wrapper=("pw-jack",), on_loss=on_loss,
    )  # fmt: skip


@pytest.fixture(scope="module", params=["jack", "pulse", "alsa"])
def pw_daemon(request, pipewire, tmp_path_factory):
    d = start_daemon(tmp_path_factory.mktemp(f"dmusd-pw-{request.param}"), pipewire, request.param)
    d.backend = request.param
    yield d
    d.stop()


def play(env, daemon: Daemon, events, seconds: float):
    events = [[int(frame), bytes(data).hex()] for frame, data in events]
    request = {"midi": port_of(daemon, "a 1"), "audio": MONITOR, "events": events}
    return record(env, {**request, "seconds": seconds})


def test_the_output_latency_is_sane_and_comes_from_its_source(pw_daemon):
    log = pw_daemon.log
    found = re.search(r"audio: (\w+) device '([^']*)', 48000 Hz, (\d+)-frame blocks, output "
                      r"latency ([0-9.]+) ms", log)  # fmt: skip
    assert found is not None, log
    backend, _, block, latency = found.groups()
    print(f"{backend}: {block}-frame blocks, output latency {latency} ms")
    assert backend == pw_daemon.backend
    assert 0.0 <= float(latency) <= 2000.0
    status = pw_daemon.ctl("status")["result"]["audio"]
    assert status["latency_ms"] == pytest.approx(float(latency), abs=0.06)  # logged to 0.1 ms
    if backend == "jack":
        # PipeWire's null sink reports a port latency of 0: JACK's figure, believed. PortAudio,
        # whose JACK host wrapped it to 4294966272 frames, plays no part on JACK any more
        assert float(latency) == 0.0
        assert "PortAudio" not in log
        assert "schedule_ahead_ms" not in log  # 60 ms covers a 1024-frame quantum: kept
    else:
        assert int(block) == PERIOD


def test_each_role_has_its_own_stable_name(pw_daemon, pipewire):
    """A JACK patchbay on PipeWire shows the MIDI client and (on the jack backend) the audio
    client by the config's names, never "name-<node id>"."""
    done = subprocess.run(["pw-jack", "jack_lsp"], env=pipewire, capture_output=True, text=True)
    ports = done.stdout.splitlines()
    assert f"{MIDI_CLIENT}:a 1" in ports and f"{MIDI_CLIENT}:b 1" in ports, ports
    if pw_daemon.backend == "jack":
        assert f"{CLIENT}:out_0" in ports and f"{CLIENT}:out_1" in ports, ports
    assert not [p for p in ports if re.match(rf"{CLIENT}(-midi)?-\d+:", p)], ports


def test_notes_sound_at_the_right_pitch(pw_daemon, pipewire):
    for _ in range(RECORD_ATTEMPTS):
        rec, facts = play(pipewire, pw_daemon, jh.pitch_events(48000), 2.6)
        # 0.1 s later: past the schedule-ahead and the output latency; a shorter window for it
        errors = jh.pitch_cents(rec, 48000, delay=int(0.1 * 48000), seconds=0.3)
        print(f"{pw_daemon.backend}: pitch errors {errors} cents")
        if max(abs(e) for e in errors) <= 5.0 or pw_daemon.backend == "jack":
            break
        # PipeWire's ALSA and pulse plugins under the full suite's load: a glitch in one
        # recording (alsa: 2 of 7 CI runs on 2026-12-02; pulse: -17.6 cents once, 2026-12-03)
        # reads as a pitch error; the next one is measured, and the last must be in bounds
        print(f"{pw_daemon.backend}: a glitch in this recording: again")
    assert facts["rate"] == 48000
    assert max(abs(e) for e in errors) <= 5.0, errors


def _disturbed(before: dict, after: dict) -> bool:
    """Whether the daemon saw an xrun or re-anchored its clock between two status reports."""
    return (after["xruns"], after["clock_resyncs"]) != (before["xruns"], before["clock_resyncs"])


def test_latency_is_constant(pw_daemon, pipewire):
    """60 notes at random frame offsets, each after a silence (the synth falls asleep between
    them, so each is a first note after idle). On PipeWire's JACK every note keeps the same
    latency to the sample (JACK MIDI frames and JACK audio on one frame line); on its ALSA
    plugin, master time follows the stream's frame clock: within one period once the stream's
    buffer has settled (its first second). Pulse is measured and printed; its jitter exceeds a
    period on PipeWire 0.3.65 (the pulse plugin's delay figures wander), so only sound and
    bounds are asserted there. After an xrun or a clock resync 80 % of the notes must still
    keep the bound."""
    rng = np.random.default_rng(13)
    offsets = [int(x) for x in rng.integers(0, 1024, 60)]
    period = 1024  # PipeWire's quantum here: the recorder's period, the slots' unit
    events, notes = jh.latency_events(offsets, period)
    for _ in range(RECORD_ATTEMPTS):
        before = pw_daemon.ctl("status")["result"]["audio"]
        rec, facts = play(pipewire, pw_daemon, events, jh.latency_frames(offsets, period) / 48000)
        after = pw_daemon.ctl("status")["result"]["audio"]
        if facts["late"] or facts["xruns"]:
            print(f"the recorder lost cycles (late {facts['late']}, xruns {facts['xruns']}): again")
            continue
        if -1 in jh.onsets(rec[:, 0], notes, 8 * period, 1e-4) and _disturbed(before, after):
            # a cycle the daemon itself reports lost (the full suite's load): measured again;
            # a note missing with no xrun and no resync still fails below
            print(f"a note did not sound across an xrun or a resync ({after}): again")
            continue
        if pw_daemon.backend != "alsa" or _retry_jitter(rec, notes, period) <= PERIOD:
            break
        # PipeWire's ALSA plugin under the full suite's load: one note off by 15 ms in one
        # recording (2 of 7 CI runs on 2026-12-02) with no xrun seen; the next is measured
        print("alsa: one recording over the bound: again")
    assert facts["late"] == 0 and facts["xruns"] == 0, "the recorder kept losing PipeWire cycles"
    assert facts["period"] == period, "PipeWire runs another quantum than Debian's default"
    xruns = after["xruns"] - before["xruns"]
    if pw_daemon.backend == "pulse":
        return _pulse_bounds(rec, notes, period)
    found = jh.onsets(rec[:, 0], notes, 8 * period, 1e-4)
    assert -1 not in found, f"note {found.index(-1)} did not sound; daemon {before} -> {after}"
    latency = jh.note_latencies(rec, notes, period)
    settled = latency[8:]  # after the first 1.4 s
    jitter = _settled_jitter(rec, notes, period)
    print(
        f"{pw_daemon.backend}: {xruns} xruns; latency {latency.min()}..{latency.max()} samples, "
        f"after the first 1.4 s {settled.min()}..{settled.max()} (jitter {jitter} samples, "
        f"{jitter / 48:.2f} ms), mean {latency.mean() / 48:.2f} ms"
    )
    assert np.all(latency >= round(AHEAD_MS * 48)), "a note played before its schedule-ahead"
    # A stall or an underrun (a loaded machine) re-anchors the clock: the notes around it may
    # be off while it locks again; the others keep one latency.
    disturbed = _disturbed(before, after)
    bound = {"jack": 0, "alsa": PERIOD}[pw_daemon.backend]
    if not disturbed:
        assert jitter <= bound, settled.tolist()
    else:
        steady = np.abs(settled - np.median(settled)) <= bound
        assert steady.mean() >= 0.8, (xruns, settled.tolist())


def _retry_jitter(rec: np.ndarray, notes: list[int], period: int) -> float:
    """_settled_jitter for deciding on another recording: one whose notes note_latencies
    refuses (one not from silence: a note 15 ms off overlapped the last) counts as over the
    bound; the recording kept is asserted whole after the loop."""
    try:
        return _settled_jitter(rec, notes, period)
    except AssertionError:
        return float("inf")


def _settled_jitter(rec: np.ndarray, notes: list[int], period: int) -> int:
    settled = jh.note_latencies(rec, notes, period)[8:]  # after the first 1.4 s
    return int(settled.max() - settled.min())


def _pulse_bounds(rec: np.ndarray, notes: list[int], period: int) -> None:
    """Pulse: its latency wanders by up to tens of ms (the pulse plugin's delay figures on
    PipeWire 0.3.65), either way (52 ms for a 60 ms schedule-ahead once, under the full suite
    on a 2-core VM), so what is asserted is that 90 % of the notes sound, every one scheduled
    (none sooner than half the schedule-ahead) and none 200 ms after it."""
    found = np.array(jh.onsets(rec[:, 0], notes, 8 * period, 1e-4))
    latency = found - np.array(notes)
    # a slot that starts in sound (a previous note's tail, come late by the wander) cannot show
    # its own onset: it counts as not found
    latency = latency[(found >= 0) & (latency > 0)]
    print(
        f"pulse: {latency.size}/{len(notes)} notes found, latency {latency.min()}.."
        f"{latency.max()} samples (jitter {(latency.max() - latency.min()) / 48:.2f} ms)"
    )
    ahead = round(AHEAD_MS * 48)
    assert latency.size >= 0.9 * len(notes), "pulse: notes did not sound"
    assert np.all((latency >= ahead // 2) & (latency <= ahead + round(0.2 * 48000))), (
        latency.tolist()
    )


@pytest.mark.parametrize("backend", ["jack", "pulse", "alsa"])
def test_stopping_pipewire_exits_3_within_5_s(private_pipewire, tmp_path, backend):
    session = private_pipewire()
    d = start_daemon(tmp_path, session.env, backend)
    stopped = time.monotonic()
    session.stop()
    took = d.exits_after(stopped, f"PipeWire stopped ({backend})")
    print(f"{backend}: exit {d.process.returncode} {took:.2f} s after PipeWire stopped")
    assert d.process.returncode == 3, d.log
    assert took <= 5.0
    assert "exiting with 3" in d.log
    d.stop()


@pytest.mark.parametrize("backend", ["jack", "pulse", "alsa"])
def test_reconnect_mode_comes_back_with_pipewire(private_pipewire, tmp_path, backend):
    """on_server_loss = "reconnect": PipeWire stops, the daemon waits (JACK: for a JACK server;
    pulse and alsa: for its output, which a child process tries), and when PipeWire is back it
    re-executes itself, plays into the new session and is ready."""
    session = private_pipewire()
    d = start_daemon(tmp_path, session.env, backend, on_loss="reconnect")
    try:
        session.stop(keep=True)
        deadline = time.monotonic() + 5
        while " to come back" not in d.log:
            assert d.process.poll() is None, d.log
            assert time.monotonic() < deadline, d.log
            time.sleep(0.1)
        session.start()
        deadline = time.monotonic() + 60
        while d.log.count(" ready in ") < 2:
            assert d.process.poll() is None, d.log
            assert time.monotonic() < deadline, d.log
            time.sleep(0.1)
        assert d.ctl("status")["result"]["audio"]["backend"] == backend
        # Under load the new session may link the re-executed daemon's stream to the sink a
        # little after it is ready, or the recorder may lose cycles: a silent recording is
        # taken again, as the other recordings here are; the last one must sound.
        for _ in range(RECORD_ATTEMPTS):
            rec, _ = play(session.env, d, [(0, b"\xc0\x50"), (1000, b"\x90\x45\x64")], 0.5)
            if jh.rms(rec[round(0.25 * 48000) :, 0]) > 1e-3:
                break
        assert jh.rms(rec[round(0.25 * 48000) :, 0]) > 1e-3, "no sound after the reconnect"
    finally:
        d.stop()
