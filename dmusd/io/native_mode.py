"""NativeMode: while the synth plays, the audio callback renders every pin in native code.

The PortAudio callback (callback_entries.pa_output_callback) then calls each pin's C function
(synth/engine/pin_entry.py) itself and enters no Python: a bank load, a reload, a burst of
control requests or a garbage collection holding the GIL cannot delay a period. What the Python
callback did around each render is bookkeeping that can come a little later without changing a
sample: the native callback leaves a record per block (position, frames, JACK's cycle times)
and a keeper thread replays them in order every few milliseconds (advance the master clock,
lock each pin's sample clock, count the block), exactly as the Python callback would have.

The mode is switched on by the Python callback at the end of a block when every pin is in the
steady state (`ready`: voices sounding, no panic or first block or re-opened synth to handle)
and off by the keeper as soon as one is not (the music ends, a panic, a reload): the next
cycle then runs the Python callback, which first replays what is left. Timing is unchanged:
on JACK the clocks lie on one frame line, so a late replay gives the same times.

Threads: enable() and drain() from the audio thread's Python callback; the keeper thread
drains too; a lock keeps their replays in order.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np

from dmusd.engine_library import engine_entries
from dmusd.io.native_callbacks import (
    CYCLE_FRAMES,
    JACK_CLIENT,
    JACK_CYCLE_TIMES,
    MAX_PINS,
    NATIVE,
    NATIVE_BLOCKS,
    NATIVE_POSITION,
    PIN_COLUMNS,
    PIN_COUNT,
    PIN_DESCRIPTOR,
    PIN_OUTPUT,
    PIN_RUNNING,
    PIN_SLOTS,
    PINS,
    RECORD_CAPACITY,
    RECORD_SIZE,
    RECORDS,
    RENDER_PIN,
)
from dmusd.io.sleep_gate import SleepGate
from dmusd.synth.engine.native_pin import PinDescriptor

log = logging.getLogger("dmusd.audio")

KEEPER_PERIOD = 0.004  # seconds between two replays while the mode is on


class NativeMode:
    """The native rendering of one output stream's pins."""

    def __init__(
        self,
        gate: SleepGate,
        ready: Callable[[], Sequence[tuple[PinDescriptor, bool, np.ndarray | None]] | None],
        replay: Callable[[int, int, int, int], None],
    ) -> None:
        """`ready()`: the pins' descriptors, RUN flags and own output areas (None: the block's
        output) when every pin may be rendered natively, else None;
        `replay(position, frames, jack_frames, jack_usecs)`: the
        bookkeeping of one block the native callback rendered (jack_usecs 0: not on JACK)."""
        self.state = gate.state
        self.state[RENDER_PIN] = engine_entries().render_pin_address
        self.ready = ready
        self.replay = replay
        self.blocks = 0  # native blocks replayed
        self.switches = 0  # times the mode went on
        self._taken = 0  # records replayed, as NATIVE_BLOCKS counts them
        self._descriptors: list[PinDescriptor] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._keeper = threading.Thread(target=self._keep, name="dmusd-native", daemon=True)
        self._keeper.start()

    def use_jack(self, client: ctypes.c_void_p | None, cycle_times: object) -> None:
        """Take JACK's cycle times in each native block (the client must stay open)."""
        if client is None or client.value is None:
            self.state[JACK_CLIENT] = 0
            return
        self.state[JACK_CYCLE_TIMES] = ctypes.cast(cycle_times, ctypes.c_void_p).value
        self.state[CYCLE_FRAMES] = 0
        self.state[JACK_CLIENT] = client.value

    @property
    def on(self) -> bool:
        return bool(self.state[NATIVE])

    # -- the audio thread's Python callback --------------------------------------------------
    def drain(self) -> None:
        """Replay what the native blocks left; then no native block runs (the mode is off when
        the Python callback runs): descriptors need not wait for one before a publish."""
        self._replay()
        for descriptor in self._descriptors:
            descriptor.concurrent = False
        self._descriptors = []

    def enable(self, position: int) -> bool:
        """At the end of a Python block: render natively from `position` on, if every pin is
        ready for it."""
        pins = self.ready()
        if not pins or len(pins) > MAX_PINS:
            return False
        state = self.state
        for i, (descriptor, running, own) in enumerate(pins):
            descriptor.concurrent = True  # publishes now wait for the blocks in flight
            slot = PINS + PIN_SLOTS * i
            state[slot + PIN_DESCRIPTOR] = descriptor.address
            state[slot + PIN_RUNNING] = int(running)
            state[slot + PIN_OUTPUT] = 0 if own is None else own.ctypes.data
            state[slot + PIN_COLUMNS] = 2 if own is None else own.shape[1]
        self._descriptors = [pin[0] for pin in pins]
        state[PIN_COUNT] = len(pins)
        state[NATIVE_POSITION] = position
        self._taken = int(state[NATIVE_BLOCKS])
        state[NATIVE] = 1
        self.switches += 1
        self._wake.set()
        return True

    # -- the keeper ---------------------------------------------------------------------------
    def _keep(self) -> None:
        while not self._stopping.is_set():
            if not self.on:
                self._wake.wait()  # enable() and stop() set it: idle, the thread sleeps
                self._wake.clear()
                continue
            time.sleep(KEEPER_PERIOD)
            try:
                self._replay()
                if self.on and not self._still_ready():
                    self.state[NATIVE] = 0  # the next cycle runs the Python callback
            except Exception:  # never let bookkeeping kill the thread: go back to Python
                log.exception("audio: the native mode's bookkeeping failed; back to Python")
                self.state[NATIVE] = 0

    def _still_ready(self) -> bool:
        """The pins may still be rendered natively, and they are the same pins in the same
        states as when the mode went on (a reload or a re-opened synth makes new ones)."""
        pins = self.ready()
        if not pins or len(pins) != len(self._descriptors):
            return False
        state = self.state
        return all(
            descriptor is self._descriptors[i]
            and int(running) == state[PINS + PIN_SLOTS * i + PIN_RUNNING]
            for i, (descriptor, running, _) in enumerate(pins)
        )

    def status(self) -> dict:
        return {"on": self.on, "blocks": self.blocks, "switches": self.switches}

    def _replay(self) -> None:
        with self._lock:
            state = self.state
            written = int(state[NATIVE_BLOCKS])
            taken = self._taken
            if written - taken > RECORD_CAPACITY:  # fell a whole ring behind: records lost
                log.error("audio: %d native blocks were not booked", written - taken)
                taken = written - RECORD_CAPACITY
            for n in range(taken, written):
                r = RECORDS + RECORD_SIZE * (n % RECORD_CAPACITY)
                position, frames, jack_frames, jack_usecs = (int(x) for x in state[r : r + 4])
                self.replay(position, frames, jack_frames, jack_usecs)
                self.blocks += 1
            self._taken = written

    def stop(self) -> None:
        self.state[NATIVE] = 0
        self._stopping.set()
        self._wake.set()
        self._keeper.join(timeout=1.0)
