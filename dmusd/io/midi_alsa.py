"""ALSA sequencer inputs (what DAWs see on a desktop; PipeWire bridges them), around the shared
queue and routing of midi_ports.py, through the `alsa-midi` package.

ONE sequencer client named `client_name`, with one input port per pin x channel group named from
the config and typed as a synthesizer port (MIDI_GENERIC | SYNTHESIZER | SOFTWARE |
APPLICATION, 16 MIDI channels), so a patchbay shows "dmusd-midi" with its ports, as it shows
FluidSynth. (python-rtmidi opens one client, and so one sequencer queue, per port: the kernel
allows 32 queues system-wide and a pin may have 64 channel groups.)

Arrival times are the kernel's: every input port timestamps incoming events in real time on the
client's one queue, so an event's time is when the sequencer received it, before any thread of
ours ran. The input thread turns it into master time by its age: master now minus (queue time
now - event time), both clocks read at one instant.

Capture outputs are more ports on the same client ("<pin> capture"), sending to subscribers.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any

from dmusd.io.midi_capture import CaptureOutput
from dmusd.kernel.clock import REFTIME_PER_SECOND, IMasterClock

if TYPE_CHECKING:
    from dmusd.io.midi_ports import MidiPorts, Port

log = logging.getLogger("dmusd.io.midi_ports")

SEQUENCER_DEVICE = "/dev/snd/seq"
HINT = "check that the ALSA sequencer is loaded (snd-seq)"
POLL_SECONDS = 0.2  # the reader's longest wait: how soon it notices stop()
SAME_INSTANT_NS = 100_000  # both clocks read within this: nothing came between


def probe(client_name: str) -> str:
    """Why an ALSA sequencer client cannot open ("" when it can)."""
    if not os.path.exists(SEQUENCER_DEVICE):  # said here: libasound would print it to stderr
        return f"there is no {SEQUENCER_DEVICE} (no kernel sequencer support: load snd-seq)"
    try:
        from alsa_midi import SequencerClient
    except (ImportError, OSError) as error:
        return f"the alsa-midi package cannot load ({error})"
    try:
        SequencerClient(client_name).close()
    except Exception as error:  # ALSAError, or an OSError from a missing /dev/snd/seq
        return str(error) or type(error).__name__
    return ""


class AlsaArrival:
    """Master time of a kernel timestamp on the client's queue, by its age."""

    def __init__(self, client: Any, queue: Any, clock: IMasterClock) -> None:
        self.client, self.queue, self.clock = client, queue, clock

    def _queue_ns(self) -> int:
        real = self.client.get_queue_status(self.queue.queue_id).real_time
        return real.seconds * 1_000_000_000 + real.nanoseconds

    def master_time(self, event_ns: int) -> int:
        import time

        for _ in range(4):  # read both clocks at one instant; retry if a thread switch split them
            before = time.monotonic_ns()
            queue_now = self._queue_ns()
            master = self.clock.GetTime()
            if time.monotonic_ns() - before <= SAME_INSTANT_NS:
                break
        age_ns = queue_now - event_ns
        return master - age_ns * REFTIME_PER_SECOND // 1_000_000_000


class AlsaInputs:
    """The ALSA side of MidiPorts: one sequencer client, its ports and its reader thread."""

    name = "alsa"
    hint = HINT

    def __init__(self, ports: MidiPorts) -> None:
        self.ports = ports
        self.client: Any = None  # alsa_midi.SequencerClient
        self.queue: Any = None  # its one queue: the clock of every input's timestamps
        self.arrival: AlsaArrival | None = None
        self.lost = threading.Event()  # never set: the sequencer does not go away
        self.dropped = 0
        self._by_port: dict[int, int] = {}  # sequencer port id -> MidiPorts port index
        self._stopping = threading.Event()
        self._reader: threading.Thread | None = None

    def open_client(self) -> None:
        from alsa_midi import SequencerClient

        name = self.ports.midi.client_name
        try:
            self.client = SequencerClient(name)
            self.queue = self.client.create_queue(f"{name} arrivals")
            self.queue.start()
            self.client.drain_output()
        except Exception as e:
            raise self.ports.open_error("input", self.ports.first_port_name(), e) from None
        self.arrival = AlsaArrival(self.client, self.queue, self.ports.clock)

    def open_input(self, pin: str, group: int, name: str, capture: CaptureOutput | None) -> None:
        from alsa_midi import PortCaps, PortType

        try:
            port = self.client.create_port(
                name,
                caps=PortCaps.WRITE | PortCaps.SUBS_WRITE,
                type=PortType.MIDI_GENERIC
                | PortType.SYNTHESIZER
                | PortType.SOFTWARE
                | PortType.APPLICATION,
                midi_channels=16,
                timestamping=True,
                timestamp_real=True,
                timestamp_queue=self.queue,
            )
        except Exception as e:
            raise self.ports.open_error("input", name, e) from None
        self._by_port[port.port_id] = self.ports.add_port(
            pin, group, name, f"{self.ports.midi.client_name}:{name}", capture
        )

    def open_capture(self, pin: Any) -> tuple[str, CaptureOutput]:
        from alsa_midi import MidiBytesEvent, PortCaps, PortType

        name = f"{pin.name} capture"
        try:
            port = self.client.create_port(
                name,
                caps=PortCaps.READ | PortCaps.SUBS_READ,
                type=PortType.MIDI_GENERIC | PortType.SOFTWARE | PortType.APPLICATION,
            )
        except Exception as e:
            raise self.ports.open_error("capture", name, e) from None
        client = self.client

        def send(data: bytes) -> None:
            client.event_output(MidiBytesEvent(data), port=port)
            client.drain_output()

        return f"{self.ports.midi.client_name}:{name}", CaptureOutput(send)

    def activate(self) -> None:
        self._reader = threading.Thread(target=self._read, name="dmusd-midi-alsa", daemon=True)
        self._reader.start()

    def close_inputs(self) -> None:
        self._stopping.set()
        if self._reader is not None:
            self._reader.join(timeout=2 * POLL_SECONDS + 1.0)
            self._reader = None

    def close_outputs(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                client.close()
            except Exception as e:
                log.debug("closing the ALSA sequencer client: %s", e)

    def _read(self) -> None:
        # Our own thread: blocks in the sequencer, queues each message with its kernel time.
        from alsa_midi import MidiBytesEvent

        client, enqueue, deliver = self.client, self.ports.enqueue, self._deliver
        while not self._stopping.is_set():
            try:
                event = client.event_input(prefer_bytes=True, timeout=POLL_SECONDS)
            except Exception as e:  # an overrun: the kernel dropped events; go on
                self.dropped += 1
                log.debug("ALSA sequencer input: %s", e)
                continue
            if event is None or not isinstance(event, MidiBytesEvent):
                continue  # a timeout, or a subscription notice
            index = self._by_port.get(event.dest.port_id)
            if index is None:
                continue
            stamp = event.time
            event_ns = stamp.seconds * 1_000_000_000 + stamp.nanoseconds if stamp else 0
            enqueue((deliver, index, event.midi_bytes, event_ns))

    def _deliver(self, index: int, data: bytes, event_ns: int) -> Port | None:
        arrival = self.arrival
        if arrival is None:
            return None
        time = arrival.master_time(event_ns) if event_ns else self.ports.clock.GetTime()
        return self.ports.route(index, data, time)
