"""MIDI ports: one input per pin and channel group (JACK-native or python-rtmidi), plus capture.

The edge between the outside world and a pin's IMXF chain:

    the input callback (JACK's process callback, or rtmidi's ALSA input thread)
        -> append the message and when it arrived to a queue, nothing else
    the MIDI input thread (one for all ports)
        -> turn that arrival into master time
        -> feed(pin, group, data, arrival + schedule_ahead)
        -> the pin's capture path, when configured (CaptureOutput)

Every message plays at its arrival + a constant schedule-ahead, so latency is constant. The
arrival is never the master time read in a Python callback: that callback runs late by however
long it waited for the GIL (up to the switch interval), which would become timing jitter.

JACK: ONE jack.Client named `client_name` with one MIDI input port per pin x channel group. Its
process callback is native and enters Python only in cycles with MIDI (JackMidiGate); the Python
part reads each event with its frame offset inside the period, so its arrival is an exact JACK
frame. When the audio runs on the same JACK server, the audio sink knows which of its
own frames each JACK frame is, and the master clock's time of that frame is exact
(`frame_time`): the event plays at the same sample offset it arrived at, a constant latency
later, with no clock read at all. Otherwise (audio elsewhere) the input thread turns the frame
into JACK time (jack_frames_to_time), takes its age on JACK's clock (jack_get_time now) and
subtracts the age from the master time now (JackArrival). JACK's clock is CLOCK_MONOTONIC_RAW in
jack2 1.9.21 (not CLOCK_MONOTONIC: they differ by a constant here), so only ages are taken from
it, never absolute times. The capture
outputs stay python-rtmidi MidiOut ports (their own clients "<client_name> <pin> capture"): what
they send is not timing-critical.

ALSA: rtmidi, one client per port named `client_name`. RtMidi hands over delta times taken by
the sequencer before Python is reached; ArrivalStamper rebuilds true arrival times from them.

Backends: the ALSA sequencer by default (what DAWs see on a desktop); JACK when ALSA cannot be
opened (no /dev/snd/seq) or when configured.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jack
import rtmidi

from dmusd.errors import DmusdError
from dmusd.io.jack_clock import JackClock
from dmusd.io.jack_midi_gate import JackMidiGate
from dmusd.io.midi_api import MidiApi, choose_midi_api
from dmusd.kernel.allocator import AllocatorMXF
from dmusd.kernel.buffer_unpacker import BufferUnpacker
from dmusd.kernel.clock import REFTIME_PER_SECOND, IMasterClock
from dmusd.kernel.event import DMUS_KEF_EVENT_INCOMPLETE, DMUS_KERNEL_EVENT
from dmusd.kernel.mxf import KSSTATE, MXF, step_state
from dmusd.kernel.packer import Packer
from dmusd.kernel.unpacker import Unpacker

log = logging.getLogger(__name__)

Feed = Callable[[str, int, bytes, int], None]

_TICKS_PER_US = REFTIME_PER_SECOND // 1_000_000
# Status bytes RtMidi's ignore_types(timing=True, active_sense=True) would drop. Through JACK we
# drop them ourselves: RtMidi's JACK input advances its delta-time base on ignored messages too,
# so letting it drop them would lose their share of the delta times.
_FILTERED = frozenset((0xF1, 0xF8, 0xFE))
_JACK_CLIENT_NAME_MAX = 63  # jack_client_name_size() - 1


def _jack_answers(probe: str) -> bool:
    """Whether a JACK server takes a client under a name of its choosing."""
    try:
        jack.Client(probe, no_start_server=True).close()
    except jack.JackError:
        return False
    return True


# Messages waiting for the input thread at most (at 100k events a second through JACK it falls
# behind): beyond it they are dropped and counted, and memory stays bounded.
MAX_QUEUED = 65536


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


class ArrivalStamper:
    """Rebuilds one port's true arrival times in master time from RtMidi's delta times.

    RtMidi gives each message the time since the previous one, measured by the MIDI API before
    Python runs (µs resolution). Summing them gives every arrival on the API's own time line,
    `api_time`, exact up to one unknown constant: where that line starts in master time. The
    master time read in the callback is that arrival plus a delay (the wait for the GIL), never
    minus, so `offset = min(master_read - api_time)` over the messages so far is the constant plus
    the smallest delay seen. The arrival is then `api_time + offset`: the callback's delay does
    not reach the stamp, only the least delay does, and that is the same for every message.

    The API clock and the master clock (the audio device's frames) may drift apart by some ppm:
    the offset may rise by up to DRIFT of the time elapsed since it was last lowered, so a late
    read can move the stamp at most DRIFT x (time since the last prompt message). A read more than
    RESYNC above the estimate means the time line broke (a lost delta): start again from it.
    """

    DRIFT = 20e-6
    RESYNC = 50 * 10_000  # 50 ms in 100 ns

    __slots__ = ("api_time", "offset", "_base", "_base_at")

    def __init__(self) -> None:
        self.api_time = 0  # sum of the delta times so far, 100 ns
        self.offset: int | None = None  # master time - api time, as last used
        self._base = 0  # the offset the last prompt read gave
        self._base_at = 0  # api_time of that read

    def stamp(self, delta_seconds: float, master_read: int) -> int:
        """The arrival of a message (master time, 100 ns) from its delta time and callback read."""
        self.api_time += round(delta_seconds * 1_000_000) * _TICKS_PER_US
        t = self.api_time
        candidate = master_read - t
        allowed = self._base + int((t - self._base_at) * self.DRIFT)
        if self.offset is None or candidate <= allowed or candidate > allowed + self.RESYNC:
            self._base, self._base_at = candidate, t  # a prompt read (or a new time line)
            self.offset = candidate
        else:
            self.offset = allowed  # a late read: keep the estimate, allowing for drift
        return t + self.offset


@dataclass(slots=True)
class _Port:
    pin: str
    group: int  # 1-based channel group
    name: str  # the configured port name
    full_name: str  # "client:port" as other programs see it
    midi_in: Any  # rtmidi.MidiIn (ALSA) or jack.OwnMidiPort (JACK)
    stamper: ArrivalStamper | None  # rtmidi's delta times -> arrival; None with JACK
    capture: CaptureOutput | None


class _MidiOutSink(MXF):
    """The end of a capture chain: complete events out of a MidiOut port, then to the pool."""

    def __init__(self, allocator: AllocatorMXF, send: Callable[[bytes], None]) -> None:
        super().__init__(allocator)
        self.send = send
        self._sysex = bytearray()  # INCOMPLETE pieces of a long SysEx

    def PutMessage(self, chain: DMUS_KERNEL_EVENT | None) -> None:
        ev = chain
        while ev is not None:
            data = ev.data()
            if ev.usFlags & DMUS_KEF_EVENT_INCOMPLETE:
                self._sysex += data
            else:
                if self._sysex:
                    data = bytes(self._sysex) + data
                    self._sysex.clear()
                if data:
                    self.send(data)
            ev = ev.pNextEvt
        if chain is not None:
            self.allocator.PutMessage(chain)


class CaptureOutput:
    """A pin's capture port: what came in goes out again through the kernel's capture path.

    The capture sink (an Unpacker: bytes -> complete events) feeds the Packer, which writes
    DMUS_EVENTHEADER buffers as a DirectMusic capture client would read them; each completed
    buffer is unpacked again (BufferUnpacker) and its messages are sent out of a MidiOut port.
    Runs on the MIDI input thread only.
    """

    def __init__(self, send: Callable[[bytes], None], events: int = 512) -> None:
        self.allocator = AllocatorMXF(events, buffers=16, buffer_size=1024)
        self.capture_sink = Unpacker(self.allocator)
        self.packer = Packer(self.allocator)
        self.capture_sink.ConnectOutput(self.packer)
        self.unpacker = BufferUnpacker(self.allocator)
        self.out = _MidiOutSink(self.allocator, send)
        self.unpacker.ConnectOutput(self.out)
        self._nodes = (self.out, self.unpacker, self.packer, self.capture_sink)
        for node in self._nodes:  # downstream first, as the port does
            step_state(node, KSSTATE.RUN)

    def put(self, data: bytes, time: int, group: int) -> None:
        self.capture_sink.put_bytes(data, time, group)

    def flush(self) -> int:
        """Send every completed buffer; returns how many buffers went out."""
        self.packer.flush()
        n = 0
        completed = self.packer.completed
        while completed:
            buffer = completed.popleft()
            self.unpacker.put_buffer(buffer.data, buffer.base_time)
            n += 1
        return n

    def close(self) -> None:
        for node in reversed(self._nodes):  # upstream first
            step_state(node, KSSTATE.STOP)


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
        self._ports: list[_Port] = []
        self._outs: list[Any] = []
        self._captures: set[CaptureOutput] = set()
        self._queue: deque = deque()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._fallback = ""  # why ALSA was passed over, for error messages
        self._jack: jack.Client | None = None  # the one JACK client of the inputs
        self._jack_inputs: tuple[tuple[int, Any], ...] = ()  # (port index, OwnMidiPort)
        self._jack_lost = threading.Event()  # the JACK server went away: nothing to close
        self._arrival: JackArrival | None = None
        self._jack_gate: JackMidiGate | None = None  # its process callback: Python on MIDI only

    def status(self) -> dict:
        """What came in and what was lost, for `ctl status`."""
        return {
            "backend": self.backend,
            "received": self.received,
            "filtered": self.filtered,
            "errors": self.errors,
            "overflowed": self.overflowed + (self._jack_gate.lost if self._jack_gate else 0),
            "queued": len(self._queue),
        }

    # -- life cycle -----------------------------------------------------------------------
    def start(self, choice: MidiApi | None = None) -> None:
        """Open every port on `choice` (choose_midi_api's, chosen now when None) and start the
        MIDI input thread. Raises DmusdError naming the port."""
        choice = choice or choose_midi_api(self.midi)
        api, self.backend, self._fallback = choice.api, choice.backend, choice.fallback
        try:
            if api == rtmidi.API_UNIX_JACK:
                self._open_jack_client()
            for pin in self.pins:
                capture = self._open_capture(api, pin) if getattr(pin, "capture", False) else None
                for group, name in enumerate(self._names(pin), start=1):
                    if self._jack is not None:
                        self._open_jack_input(pin.name, group, name, capture)
                    else:
                        self._open_input(api, pin.name, group, name, capture)
            if self._jack is not None:
                self._jack_inputs = tuple((i, p.midi_in) for i, p in enumerate(self._ports))
                ports = [port for _, port in self._jack_inputs]
                self._jack_gate = JackMidiGate(self._jack, ports, self._process, self._native)
                self._jack.activate()
        except BaseException:
            self._close_inputs()
            self._close_outputs()
            raise
        self._thread = threading.Thread(target=self._run, name="dmusd-midi-in", daemon=True)
        self._thread.start()
        log.info("MIDI (%s): %s", self.backend, ", ".join(self.port_names))

    def stop(self) -> None:
        """Close the inputs (no more callbacks), end the input thread, close the capture outputs.

        Safe to call twice, and when the MIDI server is gone.
        """
        self._close_inputs()
        if self._thread is not None:
            self._queue.append(None)
            self._wake.set()
            self._thread.join(timeout=2.0)
            self._thread = None
        self._close_outputs()

    # -- opening --------------------------------------------------------------------------
    def _names(self, pin: Any) -> list[str]:
        names = list(getattr(pin, "port_names", ()) or ())
        groups = pin.channel_groups
        return names[:groups] + [f"{pin.name} {g}" for g in range(len(names) + 1, groups + 1)]

    def _client_name(self, api: int, port: str) -> str:
        base = self.midi.client_name
        if api != rtmidi.API_UNIX_JACK:
            return base
        return f"{base} {port}"[:_JACK_CLIENT_NAME_MAX]

    def _open_error(self, what: str, name: str, error: Exception) -> DmusdError:
        hint = (
            "start a JACK server (jackd, or PipeWire's JACK)"
            if self.backend == "jack"
            else "check that the ALSA sequencer is loaded (snd-seq)"
        )
        return DmusdError(
            f"cannot open MIDI {what} port {name!r} ({error}){self._fallback}; {hint}",
            where=f"midi ({self.backend})",
        )

    def _open_jack_client(self) -> None:
        """One client for every input; if its name is taken (by default the audio client has
        it too), "<client_name> MIDI", so that the port names stay stable either way."""
        name = self.midi.client_name
        try:
            try:
                client = jack.Client(name, use_exact_name=True, no_start_server=True)
            except jack.JackOpenError:  # jack2 says "server error" for a taken exact name too
                name = f"{name[: _JACK_CLIENT_NAME_MAX - 5]} MIDI"
                client = jack.Client(name, use_exact_name=True, no_start_server=True)
        except jack.JackError as e:
            if _jack_answers(f"{name[: _JACK_CLIENT_NAME_MAX - 6]}-probe"):
                raise DmusdError(
                    f"the JACK client names {self.midi.client_name!r} and {name!r} are taken "
                    "(another dmusd, or another program, holds them): stop it, or set "
                    "midi.client_name to another name",
                    where="midi (jack)",
                ) from None
            raise self._open_error("input", self._names(self.pins[0])[0], e) from None
        client.set_shutdown_callback(lambda status, reason: self._jack_lost.set())
        self._jack = client
        self._arrival = JackArrival(client, self.clock)

    def _open_jack_input(
        self, pin: str, group: int, name: str, capture: CaptureOutput | None
    ) -> None:
        assert self._jack is not None
        try:
            port = self._jack.midi_inports.register(name)
        except jack.JackError as e:
            raise self._open_error("input", name, e) from None
        entry = _Port(pin, group, name, port.name, port, None, capture)
        self._ports.append(entry)
        self.port_names.append(entry.full_name)

    def _open_input(
        self, api: int, pin: str, group: int, name: str, capture: CaptureOutput | None
    ) -> None:
        client = self._client_name(api, name)
        try:
            midi_in = rtmidi.MidiIn(api, name=client)
            jack = api == rtmidi.API_UNIX_JACK
            midi_in.ignore_types(sysex=False, timing=not jack, active_sense=not jack)
            midi_in.open_virtual_port(name)
        except rtmidi.RtMidiError as e:
            raise self._open_error("input", name, e) from None
        port = _Port(pin, group, name, f"{client}:{name}", midi_in, ArrivalStamper(), capture)
        index = len(self._ports)
        self._ports.append(port)
        self.port_names.append(port.full_name)
        midi_in.set_callback(self._callback, index)

    def _open_capture(self, api: int, pin: Any) -> CaptureOutput:
        name = f"{pin.name} capture"
        client = self._client_name(api, name)
        try:
            midi_out = rtmidi.MidiOut(api, name=client)
            midi_out.open_virtual_port(name)
        except rtmidi.RtMidiError as e:
            raise self._open_error("capture", name, e) from None
        self._outs.append(midi_out)
        self.capture_names.append(f"{client}:{name}")
        return CaptureOutput(midi_out.send_message)

    def _close_inputs(self) -> None:
        # JACK: deactivate only (no more process callbacks); the client is closed with the
        # outputs, once the input thread no longer reads its clock.
        client = self._jack
        self._jack_inputs = ()
        if client is not None and not self._jack_lost.is_set():
            try:
                client.deactivate()
            except jack.JackError as e:
                log.debug("deactivating the JACK MIDI client: %s", e)
        if self._jack_gate is not None:
            self._jack_gate.close()  # its reader: no callback writes for it any more
            self._jack_gate = None
        for port in self._ports:
            if port.stamper is None:  # a JACK port: gone with its client
                continue
            try:
                port.midi_in.cancel_callback()
                port.midi_in.close_port()
                port.midi_in.delete()
            except Exception as e:  # a dead server: nothing left to close
                log.debug("closing %s: %s", port.full_name, e)
        self._captures |= {p.capture for p in self._ports if p.capture is not None}
        self._ports = []

    def _close_outputs(self) -> None:
        client, self._jack = self._jack, None
        if client is not None and not self._jack_lost.is_set():
            try:
                client.close()
            except jack.JackError as e:
                log.debug("closing the JACK MIDI client: %s", e)
        for capture in self._captures:
            capture.close()
        self._captures = set()
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
        client = self._jack
        if client is None:
            return
        start = client.last_frame_time
        jack_time = self._arrival.jack_time
        deliver, queue = self._deliver_jack, self._queue
        got = False
        for index, port in self._jack_inputs:
            for offset, data in port.incoming_midi_events():
                if len(queue) >= MAX_QUEUED:  # a flood: memory stays bounded, the loss counted
                    self.overflowed += 1
                    continue
                frame = start + offset
                queue.append((deliver, index, bytes(data), frame, jack_time(frame)))
                got = True
        if got:
            self._wake.set()

    def _native(self, k: int, data: bytes, frame: int, jack_us: int) -> None:
        # The JACK MIDI reader thread (JackMidiGate): an event the native process callback
        # copied, with its frame and JACK time; queued as _process queues one.
        inputs = self._jack_inputs
        if k >= len(inputs):
            return  # raced stop()
        if len(self._queue) >= MAX_QUEUED:
            self.overflowed += 1
            return
        self._queue.append((self._deliver_jack, inputs[k][0], data, frame, jack_us))
        self._wake.set()

    def _callback(self, event: tuple[list[int], float], index: int) -> None:
        # RtMidi's thread (JACK: the real-time one): read the clock, queue, wake. Nothing else.
        if len(self._queue) >= MAX_QUEUED:
            self.overflowed += 1
            return
        self._queue.append((self._deliver, index, event[0], event[1], self.clock.GetTime()))
        self._wake.set()

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

    def _deliver(self, index: int, message: list[int], delta: float, read: int) -> _Port | None:
        ports = self._ports
        if index >= len(ports):  # a callback that raced stop()
            return None
        port = ports[index]
        assert port.stamper is not None
        arrival = port.stamper.stamp(delta, read)
        return self._route(port, bytes(message), arrival)

    def _deliver_jack(self, index: int, data: bytes, frame: int, event_us: int) -> _Port | None:
        ports, arrival = self._ports, self._arrival
        if index >= len(ports) or arrival is None:
            return None  # raced stop()
        time = self.frame_time(frame) if self.frame_time is not None else None
        if time is None:
            time = arrival.master_time(event_us)
        return self._route(ports[index], data, time)

    def _route(self, port: _Port, data: bytes, arrival: int) -> _Port | None:
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
