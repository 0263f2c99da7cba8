"""JACK's latency API (jack_port_get_latency_range), read through libjack: what JACK-Client 0.5
does not wrap.

A port's playback latency range is how many frames pass between a cycle writing to the port and
the sound leaving the last port downstream (the DAC, a sink): JACK sums it along the
connections. It is the output latency of the ports dmusd plays into, taken at the source: on
JACK2 the driver's own figure (the dummy driver at -p 1024: 2048 frames), on PipeWire's JACK
what its sinks report (a null sink: 0). PortAudio 19.6 derives its outputLatency from the same
figure minus the buffer size in unsigned frames, which wraps to 4294966272 on PipeWire.
"""

from __future__ import annotations

import ctypes
import re

import jack

from dmusd.io.libjack import client_pointer, libjack

JACK_PLAYBACK_LATENCY = 1  # jack_latency_callback_mode_t JackPlaybackLatency


class _LatencyRange(ctypes.Structure):
    _fields_ = [("min", ctypes.c_uint32), ("max", ctypes.c_uint32)]


def _libjack() -> ctypes.CDLL:
    lib = libjack()
    lib.jack_port_by_name.restype = ctypes.c_void_p
    lib.jack_port_by_name.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.jack_port_get_latency_range.restype = None
    lib.jack_port_get_latency_range.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.POINTER(_LatencyRange),
    ]
    return lib


def output_ports(client: jack.Client, owner: str) -> list[str]:
    """Full names of the audio output ports of the JACK client named `owner`."""
    pattern = f"^{re.escape(owner)}:"
    return [p.name for p in client.get_ports(pattern, is_audio=True, is_output=True)]


def playback_latency(client: jack.Client, ports: list[str]) -> int | None:
    """The largest playback latency (frames) of `ports` as JACK reports it, read through the
    open `client`; None when none of them exists."""
    lib = _libjack()
    pointer = client_pointer(client)
    worst = None
    for name in ports:
        port = lib.jack_port_by_name(pointer, name.encode())
        if not port:
            continue
        latency = _LatencyRange()
        lib.jack_port_get_latency_range(port, JACK_PLAYBACK_LATENCY, ctypes.byref(latency))
        worst = latency.max if worst is None else max(worst, latency.max)
    return worst
