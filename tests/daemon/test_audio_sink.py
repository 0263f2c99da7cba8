"""AudioSink through a real JACK server (dummy backend).

Each scenario runs in its own Python process: PortAudio keeps a JACK client from the moment it
initializes, and a process whose PortAudio outlived its JACK server aborts at exit (pa_jack's
Terminate asserts), so the pytest process itself never initializes PortAudio on JACK.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from dmusd.config import AudioConfig
from dmusd.errors import AudioDeviceError

pytestmark = pytest.mark.realtime

# Plays through AudioSink for ~1 s: render writes a constant the test recognises (0.25 left,
# -0.5 right) and logs its (frames, position) calls; a jack.Client records what reaches JACK.
PLAY = textwrap.dedent(
    """
    import json, sys, threading, time
    import jack, numpy as np
    from dmusd.config import AudioConfig
    from dmusd.io.audio_sink import AudioSink
    from dmusd.kernel.clock import MasterClock

    calls = []
    def render(buffer, frames, position):
        assert buffer.shape == (frames, 2) and buffer.dtype == np.float32
        zero = bool(not buffer.any())
        buffer[:, 0] += 0.25
        buffer[:, 1] -= 0.5
        calls.append((frames, position, zero))

    clock = MasterClock(48000)
    device = sys.argv[3] if len(sys.argv) > 3 else ""
    sink = AudioSink(AudioConfig(backend=sys.argv[1], device=device, client_name="sinktest"),
                     render, clock)
    sink.start()
    recorder = jack.Client("recorder", no_start_server=True)
    inputs = [recorder.inports.register(f"in_{i}") for i in (1, 2)]
    seen = [[], []]
    @recorder.set_process_callback
    def process(frames):
        for port, out in zip(inputs, seen):
            out.append(float(port.get_array()[0]))
    recorder.activate()
    pattern = sys.argv[2] if len(sys.argv) > 2 else "^sinktest:"
    ports = [p.name for p in recorder.get_ports(pattern, is_audio=True, is_output=True)]
    for source, target in zip(ports, inputs):
        recorder.connect(source, target)
    t0 = clock.GetTime()
    time.sleep(1.0)
    t1 = clock.GetTime()
    recorder.deactivate()
    recorder.close()
    sink.stop()
    print(json.dumps({
        "backend": sink.backend, "device": sink.device, "ports": ports, "calls": calls,
        "callbacks": sink.callbacks, "position": sink.position, "lost": sink.lost.is_set(),
        "abandoned": sink.abandoned, "elapsed": (t1 - t0) / 1e7, "rate": clock.measured_rate,
        "left": seen[0][-5:], "right": seen[1][-5:],
    }))
    """
)

# Starts a sink, stops the server (SIGTERM; the daemon test kills one with SIGKILL) and reports
# how the sink noticed and stopped.
KILL = textwrap.dedent(
    """
    import json, os, signal, sys, threading, time
    from dmusd.config import AudioConfig
    from dmusd.io.audio_sink import AudioSink
    from dmusd.kernel.clock import MasterClock

    clock = MasterClock(48000)
    sink = AudioSink(AudioConfig(backend="jack", client_name="killtest"),
                     lambda b, f, p: None, clock)
    sink.start()
    time.sleep(0.3)
    before = sink.callbacks
    os.kill(int(sys.argv[1]), signal.SIGTERM)
    lost = sink.lost.wait(3.0)
    stopper = threading.Thread(target=sink.stop, daemon=True)
    stopper.start()
    stopper.join(3.0)
    print(json.dumps({"before": before, "lost": lost, "reason": sink.lost_reason,
                      "stopped": not stopper.is_alive(), "abandoned": sink.abandoned}),
          flush=True)
    os._exit(0)  # the abandoned stream must never meet PortAudio's exit handler
    """
)


def run_script(script: str, args: list[str], env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("backend", ["jack", "auto"])
def test_plays_through_jack_under_the_configured_name(private_jack_server, backend):
    server = private_jack_server()
    result = run_script(PLAY, [backend], server.env)
    assert result["backend"] == "jack"
    assert result["ports"] == ["sinktest:out_0", "sinktest:out_1"]
    calls = result["calls"]
    assert len(calls) == result["callbacks"] >= 20  # ~47 cycles of 1024 frames in a second
    # One callback per JACK cycle, positions contiguous from 0, the buffer zeroed every time.
    assert {frames for frames, _, _ in calls} == {server.period}
    assert [position for _, position, _ in calls] == [server.period * i for i in range(len(calls))]
    assert all(zero for _, _, zero in calls)
    assert result["position"] == server.period * len(calls)
    # What render wrote is what JACK carried.
    assert result["left"] and set(result["left"]) == {0.25}
    assert set(result["right"]) == {-0.5}
    # The master clock follows the device: ~1 s of master time in ~1 s, at the device's rate.
    assert 0.8 < result["elapsed"] < 1.5
    assert abs(result["rate"] - server.rate) < 0.01 * server.rate
    assert not result["lost"] and not result["abandoned"]


def test_plays_through_alsa(private_jack_server):
    """backend = "alsa": PortAudio's ALSA host API, here on ALSA's JACK plugin (the PCM "jack"
    of libasound2-plugins), named explicitly: with pipewire-alsa installed ALSA's default is
    PipeWire. The path is ALSA's own: blocks of the configured period, times from the stream's
    frame clock, the plugin's client in JACK."""
    server = private_jack_server()
    # the plugin names its JACK client after the process: "python.P.<pid>.<n>"
    result = run_script(PLAY, ["alsa", r"\.P\.[0-9]+\.[0-9]+:out_", "jack"], server.env)
    assert result["backend"] == "alsa" and result["device"].startswith("jack"), result["device"]
    assert len(result["ports"]) == 2, result["ports"]
    calls = result["calls"]
    assert len(calls) == result["callbacks"] >= 20
    assert {frames for frames, _, _ in calls} == {AudioConfig().period}
    assert [position for _, position, _ in calls] == [
        AudioConfig().period * i for i in range(len(calls))
    ]
    assert all(zero for _, _, zero in calls)
    assert result["left"] and set(result["left"]) == {0.25}
    assert set(result["right"]) == {-0.5}
    assert 0.8 < result["elapsed"] < 1.5
    assert abs(result["rate"] - server.rate) < 0.02 * server.rate
    assert not result["lost"] and not result["abandoned"]


def test_no_jack_server_is_exit_code_3_naming_what_was_tried(monkeypatch):
    from dmusd.config import AudioConfig
    from dmusd.io.audio_sink import AudioSink
    from dmusd.kernel.clock import MasterClock

    monkeypatch.setenv("JACK_DEFAULT_SERVER", "dmusd-test-no-such-server")
    sink = AudioSink(AudioConfig(backend="jack"), lambda b, f, p: None, MasterClock(48000))
    with pytest.raises(AudioDeviceError) as caught:
        sink.start()
    message = str(caught.value)
    assert caught.value.exit_code == 3
    assert "JACK" in message and "no JACK server answers" in message
    assert "dmusd devices" in message and "start JACK or PipeWire" in message


def test_wrong_sample_rate_for_jack_says_which_to_set(private_jack_server):
    server = private_jack_server(rate=44100)
    script = textwrap.dedent(
        """
        import json
        from dmusd.config import AudioConfig
        from dmusd.errors import AudioDeviceError
        from dmusd.io.audio_sink import AudioSink
        from dmusd.kernel.clock import MasterClock
        sink = AudioSink(AudioConfig(backend="auto", sample_rate=48000),
                         lambda b, f, p: None, MasterClock(48000))
        try:
            sink.start()
        except AudioDeviceError as error:
            print(json.dumps({"error": str(error), "code": error.exit_code}))
        """
    )
    result = run_script(script, [], server.env)
    assert result["code"] == 3
    assert "44100" in result["error"] and "sample_rate = 44100" in result["error"]


def test_server_gone_is_noticed_and_stop_never_hangs(private_jack_server):
    server = private_jack_server()
    result = run_script(KILL, [str(server.process.pid)], server.env)
    assert result["before"] > 0  # it was running
    assert result["lost"], result
    assert "JACK server" in result["reason"] or "no audio callback" in result["reason"]
    assert result["stopped"]  # stop() returned instead of hanging in PortAudio
    assert result["abandoned"]  # ... because it left the stream alone


def test_a_nonsense_latency_is_logged_and_replaced(caplog):
    """PortAudio 19.6 under PipeWire's JACK: 0 - 1024 frames in unsigned arithmetic."""
    from dmusd.io.output_latency import bounded

    with caplog.at_level("WARNING", logger="dmusd.audio"):
        assert bounded(4294966272 / 48000, 48000, "PortAudio's JACK host API", 0.0) == 0.0
        assert bounded(float("nan"), 48000, "PortAudio", 0.01) == 0.01
        assert bounded(-0.5, 48000, "PortAudio", 0.02) == 0.02
        assert bounded(0.0427, 48000, "JACK", 0.0) == 0.0427  # believed: nothing said
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert "PortAudio's JACK host API reported an output latency of 4294966272 frames" in lines[0]
    assert "outside 0..2 s: not believed; using 0.0 ms" in lines[0]
