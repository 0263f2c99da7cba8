"""MIDI ports: one input per pin and channel group, plus capture; the part both backends share.

The edge between the outside world and a pin's IMXF chain:

    the backend's input (JACK's process callback, midi_jack.py; the ALSA sequencer's reader
    thread, midi_alsa.py)
        -> enqueue the message with its arrival as the backend measured it, nothing else
    the MIDI input thread (one for all ports, here)
        -> the backend turns that arrival into master time
        -> feed(pin, group, data, arrival + schedule_ahead)
        -> the pin's capture path, when configured (midi_capture.CaptureOutput)

Every message plays at its arrival + a constant schedule-ahead, so latency is constant. The
arrival is never the master time read in a Python callback: that callback runs late by however
long it waited for the GIL (up to the switch interval), which would become timing jitter. Both
backends give the time the message reached the MIDI server instead: JACK its frame, the ALSA
sequencer its kernel timestamp.

Backends, one a file: the ALSA sequencer by default (what DAWs see on a desktop); JACK when the
sequencer cannot be opened (no /dev/snd/seq) or when configured.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dmusd.errors import DmusdError
from dmusd.io.midi_alsa import AlsaInputs
from dmusd.io.midi_api import MidiApi, choose_midi_api
from dmusd.io.midi_capture import CaptureOutput
from dmusd.io.midi_jack import JackInputs
from dmusd.kernel.clock import IMasterClock

log = logging.getLogger(__name__)

Feed = Callable[[str, int, bytes, int], None]

# MIDI clock, MTC quarter frames and active sensing: dropped (and counted), never played.
_FILTERED = frozenset((0xF1, 0xF8, 0xFE))


# Messages waiting for the input thread at most (at 100k events a second through JACK it falls
# behind): beyond it they are dropped and counted, and memory stays bounded.
MAX_QUEUED = 65536


@dataclass(slots=True)
class Port:
    pin: str
    group: int  # 1-based channel group
    name: str  # the configured port name
    full_name: str  # "client:port" as other programs see it
    capture: CaptureOutput | None


class MidiPorts:
    """The daemon's MIDI inputs: one virtual port per pin x channel group, and one input thread."""

    def __init__(
        self,
        midi: Any,  # MidiConfig
        pins: Sequence[Any],  # PinConfig
        feed: Feed,
        clock: IMasterClock,
        schedule_ahead: int,
        frame_time: Callable[[int], int | None] | None = None,
    ) -> None:
        self.midi = midi
        self.pins = tuple(pins)
        self.feed = feed
        self.clock = clock
        self.frame_time = frame_time  # master time of a JACK frame, when the audio can say
        self.schedule_ahead = int(schedule_ahead)
        self.backend = ""
        self.port_names: list[str] = []
        self.capture_names: list[str] = []
        self.received = 0  # messages fed to pins
        self.filtered = 0  # clock, MTC and active-sensing messages dropped
        self.errors = 0  # messages the feed refused with an exception
        self.overflowed = 0  # messages dropped because the input thread was MAX_QUEUED behind
        self.inputs: JackInputs | AlsaInputs | None = None
        self._ports: list[Port] = []
        self._captures: set[CaptureOutput] = set()
        self._queue: deque = deque()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._fallback = ""  # why ALSA was passed over, for error messages

    def status(self) -> dict:
        """What came in and what was lost, for `ctl status`."""
        dropped = self.inputs.dropped if self.inputs is not None else 0
        return {
            "backend": self.backend,
            "received": self.received,
            "filtered": self.filtered,
            "errors": self.errors,
            "overflowed": self.overflowed + dropped,
            "queued": len(self._queue),
        }

    # -- life cycle -----------------------------------------------------------------------
    def start(self, choice: MidiApi | None = None) -> None:
        """Open every port on `choice` (choose_midi_api's, chosen now when None) and start the
        MIDI input thread. Raises DmusdError naming the port."""
        choice = choice or choose_midi_api(self.midi)
        self._fallback = choice.fallback
        self.inputs = inputs = (JackInputs if choice.backend == "jack" else AlsaInputs)(self)
        self.backend = inputs.name
        try:
            inputs.open_client()
            for pin in self.pins:
                capture = None
                if getattr(pin, "capture", False):
                    name, capture = inputs.open_capture(pin)
                    self.capture_names.append(name)
                    self._captures.add(capture)
                for group, name in enumerate(self._names(pin), start=1):
                    inputs.open_input(pin.name, group, name, capture)
            inputs.activate()
        except BaseException:
            inputs.close_inputs()
            self._close_outputs()
            raise
        self._thread = threading.Thread(target=self._run, name="dmusd-midi-in", daemon=True)
        self._thread.start()
        log.info("MIDI (%s): %s", self.backend, ", ".join(self.port_names))

    def stop(self) -> None:
        """Close the inputs (no more callbacks), end the input thread, close the capture outputs.

        Safe to call twice, and when the MIDI server is gone.
        """
        if self.inputs is not None:
            self.inputs.close_inputs()
        self._ports = []
        if self._thread is not None:
            self._queue.append(None)
            self._wake.set()
            self._thread.join(timeout=2.0)
            self._thread = None
        self._close_outputs()

    def _close_outputs(self) -> None:
        # after the input thread: it may still read the backend's clock until it ends
        if self.inputs is not None:
            self.inputs.close_outputs()
        for capture in self._captures:
            capture.close()
        self._captures = set()

    # -- what the backends call -----------------------------------------------------------
    def first_port_name(self) -> str:
        return self._names(self.pins[0])[0]

    def add_port(
        self, pin: str, group: int, name: str, full_name: str, capture: CaptureOutput | None
    ) -> int:
        """Register an opened input; returns its index (what the backend queues with)."""
        self._ports.append(Port(pin, group, name, full_name, capture))
        self.port_names.append(full_name)
        return len(self._ports) - 1

    def open_error(self, what: str, name: str, error: Exception) -> DmusdError:
        hint = self.inputs.hint if self.inputs is not None else ""
        return DmusdError(
            f"cannot open MIDI {what} port {name!r} ({error}){self._fallback}; {hint}",
            where=f"midi ({self.backend})",
        )

    def enqueue(self, item: tuple) -> None:
        """(deliver, *args) for the input thread, from a backend's input: `deliver(*args)`
        turns the arrival into master time and calls route()."""
        if len(self._queue) >= MAX_QUEUED:  # a flood: memory stays bounded, the loss counted
            self.overflowed += 1
            return
        self._queue.append(item)
        self._wake.set()

    def route(self, index: int, data: bytes, arrival: int) -> Port | None:
        """Feed one message that arrived at master time `arrival` to its pin and group."""
        ports = self._ports
        if index >= len(ports):  # raced stop()
            return None
        port = ports[index]
        if not data or data[0] in _FILTERED:
            self.filtered += 1
            return None
        time = arrival + self.schedule_ahead
        try:
            self.feed(port.pin, port.group, data, time)
            self.received += 1
        except Exception:
            self.errors += 1
            log.exception("MIDI from %s: the pin refused %s", port.full_name, data.hex(" "))
        if port.capture is not None:
            port.capture.put(data, time, port.group)
        return port

    # -- choosing -------------------------------------------------------------------------

    def _names(self, pin: Any) -> list[str]:
        names = list(getattr(pin, "port_names", ()) or ())
        groups = pin.channel_groups
        return names[:groups] + [f"{pin.name} {g}" for g in range(len(names) + 1, groups + 1)]

    # -- the MIDI input thread ------------------------------------------------------------
    def _run(self) -> None:
        queue, wake = self._queue, self._wake
        while True:
            wake.wait()
            wake.clear()
            captured = set()
            while queue:
                item = queue.popleft()
                if item is None:
                    return
                port = item[0](*item[1:])
                if port is not None and port.capture is not None:
                    captured.add(port.capture)
            for capture in captured:
                capture.flush()
