"""libjack through ctypes, for what JACK-Client 0.5 does not wrap (its clock, latency ranges,
the addresses the native MIDI callback calls): loaded once, the library JACK-Client itself
loaded (PipeWire's under pw-jack, which comes first on the library path)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

import jack


@functools.cache
def libjack() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("jack") or "libjack.so.0")


def client_pointer(client: jack.Client) -> ctypes.c_void_p:
    """The jack_client_t* of a JACK-Client client, for ctypes calls into libjack."""
    return ctypes.c_void_p(int(jack._ffi.cast("uintptr_t", client._ptr)))
