"""Whether the configured PortAudio output opens now, asked in a fresh process.

After the audio server went away (PipeWire or PulseAudio restarted), the daemon's own
PortAudio holds the abandoned stream of the dead server and must never be touched again (its
terminate would hang), so a reconnecting daemon asks a child: it initializes PortAudio afresh,
finds the output by the daemon's own rules (audio_device._find_output), opens and starts a stream
for a moment, and exits 0 when that worked. The JACK backend asks JACK itself (jack_server).
"""

from __future__ import annotations

import subprocess
import sys

PROBE_TIMEOUT = 10.0  # seconds a child may take; a server that hangs a client counts as absent


def output_answers(backend: str, device: str, rate: int) -> bool:
    """Whether `backend` ("alsa", "pulse" or "portaudio") has the output named `device` (the
    name the sink had opened) back."""
    cmd = [sys.executable, "-m", "dmusd.io.device_probe", backend, device, str(rate)]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=PROBE_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def main(argv: list[str]) -> int:
    backend, device, rate = argv[0], argv[1], int(argv[2])
    import sounddevice as sd

    from dmusd.io.audio_device import ALSA_HOSTAPI, _find_output

    hostapi = ALSA_HOSTAPI if backend in ("alsa", "pulse") else None
    index, _ = _find_output(hostapi, device)
    if index is None:
        return 1
    try:
        with sd.OutputStream(device=index, samplerate=rate, channels=2, dtype="float32"):
            pass
    except (sd.PortAudioError, ValueError):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
