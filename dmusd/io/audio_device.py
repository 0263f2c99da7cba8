"""Choosing the audio output: which server or device `dmusd run` will play on.

Kept apart from AudioSink and free of numba, so that the daemon knows whether it has a device
before it compiles or loads the voice engine: with none it says so and exits 3 at once.

"auto" is JACK when a JACK server answers, else PortAudio's default output; "jack" is dmusd's
own JACK client (jack_output.py), so PortAudio is not even initialized; "alsa" and "pulse"
(ALSA's pulse plugin, which PipeWire also serves) open PortAudio's ALSA host API. PortAudio
opens a JACK client of its own when it initializes and a server runs, so its name is set to
the config's through PaJack_SetClientName between a terminate and an initialize.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dmusd.errors import AudioDeviceError

if TYPE_CHECKING:
    from dmusd.config import AudioConfig

log = logging.getLogger("dmusd.audio")

ALSA_HOSTAPI = "ALSA"
FIX = (
    "start JACK or PipeWire (with pipewire-jack), or pick an output with `dmusd devices` and set "
    "[audio] backend/device in the config"
)

_client_name_buffer: ctypes.Array[ctypes.c_char] | None = None  # PortAudio keeps the pointer


@dataclass(frozen=True, slots=True)
class AudioOutput:
    """The output chosen: backend ("jack" | "alsa" | "pulse" | "portaudio"), PortAudio's device
    index, and what was tried on the way (for the error when opening it fails)."""

    backend: str
    index: int
    tried: tuple[str, ...] = ()


def choose_output(audio: AudioConfig) -> AudioOutput:
    """The output `audio` asks for, with PortAudio initialized for it; AudioDeviceError (exit 3)
    naming what was tried when there is none."""
    tried: list[str] = []
    choice = audio.backend
    jack_rate = 0
    if choice in ("auto", "jack"):
        jack_rate, why = jack_server(f"{audio.client_name}-probe")
        if jack_rate:
            choice = "jack"
        else:
            tried.append(f"JACK: {why}")
            if choice == "jack":
                raise no_device(tried)
            choice = "portaudio"
    if choice == "jack" and jack_rate != audio.sample_rate:
        raise AudioDeviceError(
            f"the JACK server runs at {jack_rate} Hz but [audio] sample_rate is "
            f"{audio.sample_rate}: set sample_rate = {jack_rate} in the config"
        )
    if choice == "jack":  # dmusd's own JACK client plays (jack_output.py): no PortAudio
        return AudioOutput(choice, -1, tuple(tried))
    _reinitialize_portaudio(audio.client_name)
    hostapi = {"alsa": ALSA_HOSTAPI, "pulse": ALSA_HOSTAPI}.get(choice)
    device = audio.device or ("pulse" if choice == "pulse" else "")
    index, why = _find_output(hostapi, device)
    if index is None:
        tried.append(f"{choice}: {why}")
        raise no_device(tried)
    return AudioOutput(choice, index, tuple(tried))


def no_device(tried: list[str]) -> AudioDeviceError:
    return AudioDeviceError(f"no usable audio output (tried {'; '.join(tried)}): {FIX}")


def jack_server(probe_name: str = "dmusd-probe") -> tuple[int, str]:
    """(sample rate, "") when a JACK server answers (never starting one), else (0, why not)."""
    try:
        import jack
    except (ImportError, OSError) as error:
        return 0, f"the JACK-Client module cannot load ({error})"
    jack.set_error_function(lambda message: log.debug("libjack: %s", message))
    jack.set_info_function(lambda message: log.debug("libjack: %s", message))
    try:
        client = jack.Client(probe_name, no_start_server=True)
    except jack.JackError:
        server = os.environ.get("JACK_DEFAULT_SERVER", "")
        return 0, "no JACK server answers" + (f" (JACK_DEFAULT_SERVER={server})" if server else "")
    try:
        return client.samplerate, ""
    finally:
        client.close()


def terminate_portaudio() -> None:
    """Close PortAudio (and its JACK client) now, as its exit handler would; only when no
    stream was abandoned (it would hang)."""
    import sys

    if "sounddevice" not in sys.modules:  # never initialized (on JACK): nothing to close
        return
    import sounddevice as sd

    if sd._initialized:
        sd._terminate()


def _reinitialize_portaudio(client_name: str) -> None:
    """(Re)start PortAudio so that its JACK client opens under `client_name`. The first time,
    the name is set before sounddevice's import initializes PortAudio, which spares a second
    initialization (each scans every ALSA device: a third of a second here)."""
    global _client_name_buffer
    import sys

    first = "sounddevice" not in sys.modules
    # PaJack_SetClientName stores the pointer, not a copy: keep the buffer alive.
    _client_name_buffer = ctypes.create_string_buffer(client_name.encode())
    if first:
        library = ctypes.util.find_library("portaudio")  # what sounddevice loads on Linux
        if library:
            _set_client_name(library)
            import sounddevice as sd

            if sd._libname == library:  # its first initialization had the name to use
                return
    import sounddevice as sd

    sd._terminate()
    try:
        _set_client_name(sd._libname)
    finally:
        sd._initialize()


def _set_client_name(library: str) -> None:
    try:
        if ctypes.CDLL(library).PaJack_SetClientName(_client_name_buffer) != 0:
            log.warning("PortAudio refused the JACK client name (too long?)")
    except (OSError, AttributeError):
        log.warning("this PortAudio has no PaJack_SetClientName: the JACK client keeps its name")


def _find_output(hostapi: str | None, device: str) -> tuple[int | None, str]:
    """The output device index on `hostapi` (None = any host API) whose name contains `device`
    ("" = the host API's default output), and a reason when there is none."""
    import sounddevice as sd

    apis = sd.query_hostapis()
    if hostapi is None:
        candidates = [i for i, d in enumerate(sd.query_devices()) if d["max_output_channels"] >= 2]
        default = sd.default.device[1]
        where = "PortAudio"
    else:
        api = next((a for a in apis if a["name"] == hostapi), None)
        if api is None:
            return None, f"PortAudio has no {hostapi} host API"
        candidates = [i for i in api["devices"] if sd.query_devices(i)["max_output_channels"] >= 2]
        default = api["default_output_device"]
        where = f"PortAudio's {hostapi}"
    if device:
        for i in candidates:
            if device.lower() in sd.query_devices(i)["name"].lower():
                return i, ""
        names = ", ".join(repr(sd.query_devices(i)["name"]) for i in candidates) or "none"
        return None, f"{where} has no stereo output named like {device!r} (it has: {names})"
    if default is not None and default >= 0 and default in candidates:
        return default, ""
    if candidates:
        return candidates[0], ""
    return None, f"{where} found no stereo output device"
