"""No dropout while banks load: a held note through the real daemon on JACK, recorded by the
harness while a bank is loaded and unloaded three times over the control socket; and the audio
thread takes no page fault when new voices start.

Bank loading runs in the daemon's control thread and holds the GIL most of the time. While
notes sound the audio thread renders in native code and needs neither the GIL nor a page of
memory the kernel has yet to map; an audio callback that waited would show as a missed period
that JACK plays (and the harness records): 21 ms of silence at 1024 frames, an xrun in the
daemon's count.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest

from tests.daemon.control_load import ControlLoad
from tests.daemon.daemon_process import TIMGM, Daemon, port_of
from tests.daemon.jack_harness import held_note, rms, window_levels

pytestmark = pytest.mark.realtime

CYCLES = 3
SETTLE_S = 0.5  # the organ's attack, before the reference
REFERENCE_S = 3.0  # idle playing, before the loads: the level and xruns they are held to
LOADS_BUDGET_S = 10.0  # the recording holds this much load time (a loaded CI machine is slow)
WINDOW_S = 0.02


def _xruns(daemon: Daemon) -> int:
    return daemon.ctl("status")["result"]["audio"]["xruns"]


@pytest.fixture
def alone(private_jack_server, tmp_path, monkeypatch):
    """A daemon and its harness on a 1024-frame server of their own: other clients on the
    shared server (other modules', other test runs') would add their xruns to the count and can
    hold the daemon's JACK client names."""
    server = private_jack_server(period=1024)
    monkeypatch.setenv("JACK_DEFAULT_SERVER", server.name)  # for the harness in this process
    daemon = Daemon(tmp_path, env=server.env)
    try:
        with daemon.harness() as h:
            yield daemon, h
    finally:
        daemon.stop()


def test_a_held_note_never_drops_while_banks_load_and_unload(alone):
    daemon, h = alone
    r = h.rate
    loads_at = int((SETTLE_S + REFERENCE_S) * r)
    frames = loads_at + int((LOADS_BUDGET_S + 0.3) * r)
    h.disconnect_midi()
    h.connect_midi(port_of(daemon, "a 1"))
    start = h.play_recorded(held_note(1000, frames - int(0.1 * r)), frames)

    h.wait_until(start + int(SETTLE_S * r))
    xruns_before, harness_before = _xruns(daemon), h.xruns
    h.wait_until(start + loads_at)
    xruns_reference, harness_reference = _xruns(daemon) - xruns_before, h.xruns - harness_before
    xruns_before, harness_before = _xruns(daemon), h.xruns
    load = ControlLoad(daemon.ctl, "a", TIMGM, CYCLES).start()
    load.join()
    assert not load.errors, load.errors
    # The loads are held to an interval at least as long as the reference.
    loads_frames = max(int(load.seconds * r), int(REFERENCE_S * r))
    h.wait_until(start + loads_at + loads_frames)
    xruns_loads, harness_loads = _xruns(daemon) - xruns_before, h.xruns - harness_before
    rec = h.wait_recorded()[:, 0]
    assert load.seconds <= LOADS_BUDGET_S, f"the loads took {load.seconds:.1f} s"

    win = int(WINDOW_S * r)
    reference = window_levels(rec, int(SETTLE_S * r), loads_at, win)
    ref = float(np.median(reference))
    during = window_levels(rec, loads_at, loads_at + loads_frames, win)
    low = int(np.argmin(during))
    # An xrun rate no higher than idle playing's: the reference's count scaled to the loads'
    # length, rounded up (0 stays 0: at 1024 frames the dummy server runs without xruns).
    allowed = math.ceil(xruns_reference * loads_frames / (REFERENCE_S * r))
    loads = ", ".join(f"{s:.2f}" for s in load.load_seconds)
    print(
        f"{CYCLES} loads ({loads} s) + unloads in {load.seconds:.2f} s; held note: reference "
        f"{ref:.3e}, during the loads {during.min():.3e}..{during.max():.3e} (lowest at "
        f"+{low * WINDOW_S:.2f} s); daemon xruns {xruns_reference} in the reference, "
        f"{xruns_loads} during the loads (harness: {harness_reference}, {harness_loads})"
    )
    assert ref > 1e-3, "the held note did not sound"
    assert during.min() > 0.5 * ref, f"a 20 ms window at +{low * WINDOW_S:.2f} s dropped"
    assert min(reference) > 0.5 * ref, "the note dropped before the loads"
    assert xruns_loads <= allowed, (xruns_loads, xruns_reference)


SCHED_FIFO = 1
BURST = 96  # notes started at once, each in a voice slot no note has used yet


def _real_time_faults(pid: int) -> int | None:
    """Minor page faults so far of the process's SCHED_FIFO threads (the JACK clients' process
    threads: audio and MIDI); None when it has none."""
    total, found = 0, False
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # the thread ended
            continue
        # fields after the name, from "state" (proc(5) field 3): minflt is 10, policy 41
        if int(fields[41 - 3]) == SCHED_FIFO:
            total += int(fields[10 - 3])
            found = True
    return total if found else None


def _python_blocks(daemon: Daemon) -> int:
    return daemon.ctl("status")["result"]["audio"]["python_callbacks"]


def test_new_voices_take_no_page_fault_on_the_audio_thread(alone):
    # A first touch of a page (a voice slot's rows that no note used yet) is a page fault,
    # which waits for the process's memory map while a control thread maps or unmaps arrays:
    # the pin's arrays are mapped before the audio thread renders from them.
    daemon, h = alone
    r = h.rate
    h.disconnect_midi()
    h.connect_midi(port_of(daemon, "a 1"))
    burst_at, off_at = int(1.5 * r), int(3.0 * r)
    keys = [(ch, 70 + k) for ch in range(16) for k in range(BURST // 16)]  # not the held 64
    burst = [(burst_at, bytes([0x90 | ch, key, 90])) for ch, key in keys]
    burst += [(off_at, bytes([0x80 | ch, key, 0])) for ch, key in keys]
    start = h.play_recorded(held_note(0, int(3.5 * r)) + burst, int(3.6 * r))
    h.wait_until(start + int(1.0 * r))  # the held note plays: the native render is on
    before = _real_time_faults(daemon.process.pid)
    if before is None:
        pytest.skip("the daemon has no SCHED_FIFO thread (JACK runs without real-time here)")
    python_before = _python_blocks(daemon)
    h.wait_until(start + off_at + int(0.3 * r))
    time.sleep(0.05)
    faults = _real_time_faults(daemon.process.pid) - before
    # (a block the Python callback renders faults in CPython's own frame stack: said if any)
    python_blocks = _python_blocks(daemon) - python_before
    rec = h.wait_recorded()[:, 0]
    held = float(np.median(window_levels(rec, int(0.5 * r), burst_at, int(0.1 * r))))
    assert rms(rec[burst_at : burst_at + int(0.5 * r)]) > 2.0 * held, "the burst did not sound"
    assert faults <= 4, (
        f"the real-time threads took {faults} page faults as {BURST} voices began "
        f"({python_blocks} blocks of them rendered by the Python callback)"
    )
