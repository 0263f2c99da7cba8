"""JACK MIDI inputs (JACK2 or PipeWire's JACK): ONE jack.Client named `client_name` with one MIDI
input port per pin x channel group, around the shared queue and routing of midi_ports.py.

A client apart from the audio's, on purpose: a DAW that plays into dmusd and records it back
would otherwise close a loop in JACK's graph (DAW -> dmusd -> DAW), which JACK breaks by
handing one of the two links over a cycle late: the MIDI would come a period late (measured:
the 100-note latency test gave 3906 samples instead of 2882 with the ports on the audio client).

Its process callback is native and enters Python only in cycles with MIDI (JackMidiGate); each
event keeps its frame offset inside the period, so its arrival is an exact JACK frame. When the
audio runs on the same JACK server, the audio sink knows which of its own frames each JACK frame
is, and the master clock's time of that frame is exact (`frame_time`): the event plays at the
same sample offset it arrived at, a constant latency later, with no clock read at all.
Otherwise (audio elsewhere) the input thread turns the frame into JACK time
(jack_frames_to_time), takes its age on JACK's clock (jack_get_time now) and subtracts the age
from the master time now (JackArrival). JACK's clock is CLOCK_MONOTONIC_RAW in jack2 1.9.21 (not
CLOCK_MONOTONIC: they differ by a constant here), so only ages are taken from it.

The capture outputs are python-rtmidi MidiOut ports (their own clients "<client_name> <pin>
capture"): what they send is not timing-critical.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import jack
import rtmidi

from dmusd.io.jack_clock import JackClock
from dmusd.io.jack_midi_gate import JackMidiGate
from dmusd.io.libjack import CLIENT_NAME_MAX, exact_client
from dmusd.io.midi_capture import CaptureOutput
from dmusd.kernel.clock import REFTIME_PER_SECOND, IMasterClock

if TYPE_CHECKING:
    from dmusd.io.midi_ports import MidiPorts, Port

log = logging.getLogger("dmusd.io.midi_ports")

_TICKS_PER_US = REFTIME_PER_SECOND // 1_000_000
HINT = "start a JACK server (jackd, or PipeWire's JACK: pw-jack)"


class JackArrival:
    """JACK time of an event's frame (process callback), then master time (MIDI input thread)."""

    SAME_INSTANT_US = 100  # both clocks read within this: a GIL switch did not come between

    def __init__(self, client: jack.Client, clock: IMasterClock) -> None:
        self.jack = JackClock(client)
        self.clock = clock

    def jack_time(self, frame: int) -> int:
        """JACK time (µs) of a frame of the current cycle (process callback only)."""
        return self.jack.frames_to_time(frame)

    def master_time(self, event_us: int) -> int:
        """Master time (100 ns) of a past JACK time (µs): master now minus the event's age."""
        get_time = self.jack.get_time
        for _ in range(4):  # read both clocks at one instant; retry if a thread switch split them
            before = get_time()
            master = self.clock.GetTime()
            after = get_time()
            if after - before <= self.SAME_INSTANT_US:
                break
        age_us = (before + after) // 2 - event_us
        return master - age_us * _TICKS_PER_US


class JackInputs:
    """The JACK side of MidiPorts: its client, ports, process callback and capture outputs."""

    name = "jack"
    hint = HINT

    def __init__(self, ports: MidiPorts) -> None:
        self.ports = ports
        self.client: jack.Client | None = None
        self.arrival: JackArrival | None = None
        self.gate: JackMidiGate | None = None  # its process callback: Python on MIDI only
        self.lost = threading.Event()  # the JACK server went away: nothing to close
        self._inputs: tuple[tuple[int, Any], ...] = ()  # (port index, OwnMidiPort)
        self._outs: list[Any] = []

    @property
    def dropped(self) -> int:
        return self.gate.lost if self.gate is not None else 0

    # -- opening --------------------------------------------------------------------------
    def open_client(self) -> None:
        """One client for every input, under exactly midi.client_name (config.py keeps it apart
        from the audio client's), so the port names stay the same from run to run; a name
        another client holds is an error that says so."""
        name = self.ports.midi.client_name
        try:
            client = exact_client(name, "midi")
        except jack.JackError as e:
            raise self.ports.open_error("input", self.ports.first_port_name(), e) from None
        client.set_shutdown_callback(lambda status, reason: self.lost.set())
        self.client = client
        self.arrival = JackArrival(client, self.ports.clock)

    def open_input(self, pin: str, group: int, name: str, capture: CaptureOutput | None) -> None:
        assert self.client is not None
        try:
            port = self.client.midi_inports.register(name)
        except jack.JackError as e:
            raise self.ports.open_error("input", name, e) from None
        index = self.ports.add_port(pin, group, name, port.name, capture)
        self._inputs += ((index, port),)

    def open_capture(self, pin: Any) -> tuple[str, CaptureOutput]:
        name = f"{pin.name} capture"
        client = f"{self.ports.midi.client_name} {name}"[:CLIENT_NAME_MAX]
        try:
            midi_out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=client)
            midi_out.open_virtual_port(name)
        except rtmidi.RtMidiError as e:
            raise self.ports.open_error("capture", name, e) from None
        self._outs.append(midi_out)
        return f"{client}:{name}", CaptureOutput(midi_out.send_message)

    def activate(self) -> None:
        assert self.client is not None
        ports = [port for _, port in self._inputs]
        self.gate = JackMidiGate(self.client, ports, self._process, self._native)
        self.client.activate()

    # -- closing --------------------------------------------------------------------------
    def close_inputs(self) -> None:
        """Deactivate only (no more process callbacks); the client is closed with the
        outputs, once the input thread no longer reads its clock."""
        client = self.client
        self._inputs = ()
        if client is not None and not self.lost.is_set():
            try:
                client.deactivate()
            except jack.JackError as e:
                log.debug("deactivating the JACK MIDI client: %s", e)
        if self.gate is not None:
            self.gate.close()  # its reader: no callback writes for it any more
            self.gate = None

    def close_outputs(self) -> None:
        client, self.client = self.client, None
        if client is not None and not self.lost.is_set():
            try:
                client.close()
            except jack.JackError as e:
                log.debug("closing the JACK MIDI client: %s", e)
        for out in self._outs:
            try:
                out.close_port()
                out.delete()
            except Exception as e:
                log.debug("closing a capture port: %s", e)
        self._outs = []

    # -- the real-time side ---------------------------------------------------------------
    def _process(self, frames: int) -> None:
        # JACK's real-time thread, in a cycle where an input holds events (JackMidiGate): each
        # event with its exact frame, queued. Nothing else.
        client, arrival = self.client, self.arrival
        if client is None or arrival is None:
            return
        start = client.last_frame_time
        enqueue, deliver = self.ports.enqueue, self._deliver
        for index, port in self._inputs:
            for offset, data in port.incoming_midi_events():
                frame = start + offset
                enqueue((deliver, index, bytes(data), frame, arrival.jack_time(frame)))

    def _native(self, k: int, data: bytes, frame: int, jack_us: int) -> None:
        # The JACK MIDI reader thread (JackMidiGate): an event the native process callback
        # copied, with its frame and JACK time; queued as _process queues one.
        inputs = self._inputs
        if k < len(inputs):  # else it raced stop()
            self.ports.enqueue((self._deliver, inputs[k][0], data, frame, jack_us))

    # -- the MIDI input thread ------------------------------------------------------------
    def _deliver(self, index: int, data: bytes, frame: int, event_us: int) -> Port | None:
        arrival, frame_time = self.arrival, self.ports.frame_time
        if arrival is None:
            return None  # raced stop()
        time = frame_time(frame) if frame_time is not None else None
        if time is None:
            time = arrival.master_time(event_us)
        return self.ports.route(index, data, time)
