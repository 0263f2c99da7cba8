"""JACK's clock, read through libjack: what JACK-Client 0.5 does not wrap.

JACK keeps its own delay-locked loop over the driver's wake-ups, so the time it gives a cycle's
first frame is smooth where the time a callback happens to start is not. dmusd reads that time
for two things: the master clock's observations (audio sink) and MIDI events' frame times (MIDI
ports). JACK's clock is CLOCK_MONOTONIC_RAW in jack2 (not CLOCK_MONOTONIC: an offset apart, and
not slewed by NTP), so its times are used as ages (JACK now minus a JACK time), never compared
with monotonic readings directly.

jack_get_time may only be called while a client is open (it crashes before the first one);
jack_frames_to_time is only right for frames of the current cycle (jack2 takes the frame
difference unsigned).
"""

from __future__ import annotations

import ctypes
import time

import jack

from dmusd.io.libjack import client_pointer, libjack


class JackClock:
    """libjack's time functions bound to one open jack.Client."""

    def __init__(self, client: jack.Client) -> None:
        lib = libjack()
        self.get_time = lib.jack_get_time  # µs on JACK's clock
        self.get_time.restype, self.get_time.argtypes = ctypes.c_uint64, []
        self._frames_to_time = lib.jack_frames_to_time
        self._frames_to_time.restype = ctypes.c_uint64
        self._frames_to_time.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        self._cycle_times = lib.jack_get_cycle_times
        self._cycle_times.restype = ctypes.c_int
        self._cycle_times.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_uint32),
            ctypes.POINTER(ctypes.c_uint64),
            ctypes.POINTER(ctypes.c_uint64),
            ctypes.POINTER(ctypes.c_float),
        ]
        self._client = client_pointer(client)
        self.client = self._client  # for native code that reads the cycle times itself
        self.cycle_times_function = self._cycle_times
        self.cycle_frames = 0  # JACK's frame counter at the cycle cycle_start_ns last read
        # out-parameters made once: the audio thread calls cycle_start_ns every period
        self._frames = ctypes.c_uint32()
        self._now = ctypes.c_uint64()
        self._next = ctypes.c_uint64()
        self._period = ctypes.c_float()
        self._out = (
            ctypes.byref(self._frames),
            ctypes.byref(self._now),
            ctypes.byref(self._next),
            ctypes.byref(self._period),
        )

    def frames_to_time(self, frame: int) -> int:
        """JACK time (µs) of a frame of the current cycle."""
        return self._frames_to_time(self._client, frame & 0xFFFFFFFF)

    SAME_INSTANT_NS = 100_000  # both clocks read within this: nothing came between

    def jack_to_monotonic_ns(self, usecs: int) -> int:
        """Monotonic time (ns) of a time on JACK's clock (us), by its age now."""
        for _ in range(3):
            before = time.monotonic_ns()
            jack_now = self.get_time()
            after = time.monotonic_ns()
            if after - before <= self.SAME_INSTANT_NS:
                break
        return (before + after) // 2 - (jack_now - usecs) * 1000

    def cycle_start_ns(self) -> int | None:
        """Monotonic time (ns) at which the current cycle began, by JACK's loop (and its first
        frame in `cycle_frames`); None if JACK cannot say. Its age on JACK's clock is taken from
        monotonic readings on both sides of JACK's, retried when a preemption split them."""
        if self._cycle_times(self._client, *self._out) != 0:
            return None
        self.cycle_frames = self._frames.value
        return self.jack_to_monotonic_ns(self._now.value)
