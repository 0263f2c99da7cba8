"""A JACK client's process callback that enters Python only in cycles with MIDI to read.

JACK-Client's set_process_callback runs a Python function every cycle, 47 times a second at
1024 frames, even when no MIDI arrives. This sets native_callbacks.jack_midi_process as the
client's process callback instead (through libjack's own jack_set_process_callback): it asks
each input port how many events it holds this cycle and calls `process(frames)` only if one
holds any. Set it before the client is activated.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable, Sequence

import jack
import numpy as np

from dmusd.io.native_callbacks import (
    JACK_EVENT_COUNT,
    JACK_PORT_COUNT,
    JACK_PORT_GET_BUFFER,
    JACK_PORTS,
    JACK_PY_PROCESS,
    JACK_PYTHON_CYCLES,
    jack_midi_process,
)

log = logging.getLogger(__name__)

_PYTHON_PROCESS = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint32, ctypes.c_void_p)


class JackMidiGate:
    """The native process callback of one jack.Client, over its MIDI input ports."""

    def __init__(
        self, client: jack.Client, ports: Sequence[jack.OwnPort], process: Callable[[int], None]
    ) -> None:
        self._process = process
        self._python = _PYTHON_PROCESS(self._enter)  # kept alive as long as the client runs
        ffi, lib = jack._ffi, jack._lib  # libjack as JACK-Client binds it

        def address(pointer: object) -> int:
            return int(ffi.cast("uintptr_t", pointer))

        state = np.zeros(JACK_PORTS + len(ports), dtype=np.int64)
        state[JACK_PY_PROCESS] = ctypes.cast(self._python, ctypes.c_void_p).value or 0
        state[JACK_PORT_GET_BUFFER] = address(ffi.addressof(lib, "jack_port_get_buffer"))
        state[JACK_EVENT_COUNT] = address(ffi.addressof(lib, "jack_midi_get_event_count"))
        state[JACK_PORT_COUNT] = len(ports)
        for i, port in enumerate(ports):
            state[JACK_PORTS + i] = address(port._ptr)
        self.state = state  # read by the callback through its pointer: kept alive here
        error = lib.jack_set_process_callback(
            client._ptr,
            ffi.cast("JackProcessCallback", jack_midi_process.address),
            ffi.cast("void*", state.ctypes.data),
        )
        if error:
            raise jack.JackError(f"jack_set_process_callback failed ({error})")

    @property
    def python_cycles(self) -> int:
        """Cycles that had MIDI to read, so entered Python."""
        return int(self.state[JACK_PYTHON_CYCLES])

    def _enter(self, frames: int, arg: int) -> int:
        try:
            self._process(frames)
        except BaseException:  # never into JACK's thread: the input thread will not hear of it
            log.exception("the JACK MIDI process callback failed")
        return 0
