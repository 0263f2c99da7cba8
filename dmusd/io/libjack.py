"""libjack through ctypes, for what JACK-Client 0.5 does not wrap (its clock, latency ranges,
the addresses the native MIDI callback calls): loaded once, the library JACK-Client itself
loaded (PipeWire's under pw-jack, which comes first on the library path)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

import jack

from dmusd.errors import DmusdError

CLIENT_NAME_MAX = 63  # jack_client_name_size() - 1


@functools.cache
def libjack() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("jack") or "libjack.so.0")


def client_pointer(client: jack.Client) -> ctypes.c_void_p:
    """The jack_client_t* of a JACK-Client client, for ctypes calls into libjack."""
    return ctypes.c_void_p(int(jack._ffi.cast("uintptr_t", client._ptr)))


def exact_client(name: str, section: str) -> jack.Client:
    """A client under exactly `name` (never JACK2's "name-01" for a taken one, so every port
    name stays the same from run to run). A name another client holds is a DmusdError that
    names the config key (`section`.client_name); JackError when no server answers."""
    try:
        return jack.Client(name, use_exact_name=True, no_start_server=True)
    except jack.JackError:  # jack2 says "server error" for a taken exact name too
        if not _answers(f"{name[: CLIENT_NAME_MAX - 6]}-probe"):
            raise
    raise DmusdError(
        f"the JACK client name {name!r} is taken (another dmusd, or another program, holds "
        f"it): stop it, or set {section}.client_name to another name",
        where=f"{section} (jack)",
    )


def _answers(probe: str) -> bool:
    """Whether a JACK server takes a client under a name of its choosing."""
    try:
        jack.Client(probe, no_start_server=True).close()
    except jack.JackError:
        return False
    return True
