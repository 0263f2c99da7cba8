"""A JACK client's process callback that reads MIDI without entering Python.

JACK-Client's set_process_callback runs a Python function every cycle, 47 times a second at 1024
frames, even when no MIDI arrives, and a Python callback in the JACK cycle waits for the GIL: a
thread holding it (a bank load) would delay the whole server's cycle. This sets the engine
library's jack_midi_process (callback_entries.py) as the client's process callback instead (through
libjack's own jack_set_process_callback): it copies each cycle's events (port, JACK frame, JACK
time, bytes) into a ring and wakes a reader thread through an eventfd; the reader hands them to
`deliver(port, data, frame, jack_us)` off the JACK thread. Only a cycle holding an event too long
for a ring record (a long SysEx) calls `process(frames)` in Python, as before. Set it up before the
client is activated; close() stops the reader.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from collections.abc import Callable, Sequence

import jack
import numpy as np

from dmusd.engine_library import engine_entries
from dmusd.io.libjack import libjack
from dmusd.io.native_callbacks import (
    JACK_CLIENT_PTR,
    JACK_EVENT_COUNT,
    JACK_EVENT_GET,
    JACK_FRAMES_TO_TIME,
    JACK_LAST_FRAME_TIME,
    JACK_PORT_COUNT,
    JACK_PORT_GET_BUFFER,
    JACK_PORTS,
    JACK_PY_PROCESS,
    JACK_PYTHON_CYCLES,
    MIDI_CAPACITY,
    MIDI_LOST,
    MIDI_READ,
    MIDI_RECORD,
    MIDI_RING,
    MIDI_WRITTEN,
    ONE,
    WAKE_FD,
    WRITE,
)

log = logging.getLogger(__name__)

_PYTHON_PROCESS = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint32, ctypes.c_void_p)
CAPACITY = 8192  # events the ring holds for the reader (a flood beyond it is counted as lost)


class JackMidiGate:
    """The native process callback of one jack.Client, over its MIDI input ports."""

    def __init__(
        self,
        client: jack.Client,
        ports: Sequence[jack.OwnPort],
        process: Callable[[int], None],
        deliver: Callable[[int, bytes, int, int], None],
    ) -> None:
        self._process = process
        self._deliver = deliver
        self._python = _PYTHON_PROCESS(self._enter)  # kept alive as long as the client runs
        ffi, lib = jack._ffi, jack._lib  # libjack as JACK-Client binds it
        libc = ctypes.CDLL(None)

        def address(pointer: object) -> int:
            return int(ffi.cast("uintptr_t", pointer))

        ring = JACK_PORTS + len(ports)
        state = np.zeros(ring + MIDI_RECORD * CAPACITY, dtype=np.int64)
        state[JACK_PY_PROCESS] = ctypes.cast(self._python, ctypes.c_void_p).value or 0
        state[JACK_PORT_GET_BUFFER] = address(ffi.addressof(lib, "jack_port_get_buffer"))
        state[JACK_EVENT_COUNT] = address(ffi.addressof(lib, "jack_midi_get_event_count"))
        state[JACK_EVENT_GET] = address(ffi.addressof(lib, "jack_midi_event_get"))
        state[JACK_LAST_FRAME_TIME] = address(ffi.addressof(lib, "jack_last_frame_time"))
        frames_to_time = libjack().jack_frames_to_time  # not among JACK-Client's bindings
        state[JACK_FRAMES_TO_TIME] = ctypes.cast(frames_to_time, ctypes.c_void_p).value
        state[JACK_CLIENT_PTR] = address(client._ptr)
        state[WRITE] = ctypes.cast(libc.write, ctypes.c_void_p).value
        self._fd = os.eventfd(0, os.EFD_CLOEXEC)
        state[WAKE_FD] = self._fd
        state[ONE] = 1
        state[MIDI_RING] = ring
        state[MIDI_CAPACITY] = CAPACITY
        state[JACK_PORT_COUNT] = len(ports)
        for i, port in enumerate(ports):
            state[JACK_PORTS + i] = address(port._ptr)
        self.state = state  # read by the callback through its pointer: kept alive here
        self._stopping = False
        self._reader = threading.Thread(target=self._read, name="dmusd-jack-midi", daemon=True)
        self._reader.start()
        error = lib.jack_set_process_callback(
            client._ptr,
            ffi.cast("JackProcessCallback", engine_entries().jack_midi_process),
            ffi.cast("void*", state.ctypes.data),
        )
        if error:
            raise jack.JackError(f"jack_set_process_callback failed ({error})")

    @property
    def lost(self) -> int:
        """Events the full ring refused."""
        return int(self.state[MIDI_LOST])

    def close(self) -> None:
        """Stop the reader (after the client is deactivated: no more callbacks)."""
        self._stopping = True
        os.eventfd_write(self._fd, 1)
        self._reader.join(timeout=2.0)
        if not self._reader.is_alive():
            os.close(self._fd)

    def _read(self) -> None:
        """The reader thread: each wake-up, hand over every whole record the callback wrote."""
        state = self.state
        ring, capacity = int(state[MIDI_RING]), CAPACITY
        while True:
            os.eventfd_read(self._fd)  # blocks, without the GIL
            if self._stopping:
                return
            written = int(state[MIDI_WRITTEN])
            for n in range(int(state[MIDI_READ]), written):
                r = ring + MIDI_RECORD * (n % capacity)
                port, frame, jack_us, size = (int(x) for x in state[r : r + 4])
                data = state[r + 4 : r + MIDI_RECORD].tobytes()[:size]
                try:
                    self._deliver(port, data, frame, jack_us)
                except Exception:  # a bad delivery must not end the reader
                    log.exception("a JACK MIDI event could not be delivered")
            state[MIDI_READ] = written  # after the copies: the callback may reuse the slots

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
