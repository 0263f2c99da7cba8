"""AudioSink: the live wave sink. An output stream whose callback renders the synth and drives
the master clock, as FileSink does offline: on JACK dmusd's own JACK client (jack_output.py,
with the pins' own outputs), elsewhere a PortAudio stream (pa_output.py).

Each callback: advance the master clock by the block (its DLL learns the device's rate from the
cycle times: on JACK the time JACK's own loop gives the cycle's start, elsewhere the stream's
frame clock, i.e. PortAudio's DAC time of the block less a constant lead, or the callback's
entry time when the host API gives no times), zero the buffer, render(buffer, frames,
position). Nothing else happens on the audio thread: no allocation of our own, no logging,
no lock but the clock's few-microsecond one.

Native mode (JACK): while the synth plays, the native callback renders the pins itself with no
Python, and a keeper thread replays this bookkeeping for those blocks a few ms later
(native_mode.py); the Python callback below first replays what is left, so the clock advances
in block order either way.

Sleep: both callbacks are native. When a render leaves the synth asleep (`asleep()`: nothing
sounds, nothing is queued), the following cycles are answered with zeros without Python
until someone calls `gate.wake()` after giving the synth work; the next Python callback first
moves the clock and the synth on by the frames slept (`slept(frames, position)`).

Backends: audio_device.py chooses the output (JACK, ALSA, pulse or PortAudio's default) without
numba, so the daemon can do that before the engine compiles; start() opens what it chose.

Latency: `latency` is the output latency from its source (on JACK the playback latency JACK
reports for the main pair, jack_latency.py; elsewhere PortAudio's figure), bounded to a sane
range (output_latency.py); `schedule_floor` is the least schedule-ahead that keeps every live
event's delay constant.

Server loss: the JACK client's shutdown callback fires at once, and a monitor thread notices
when callbacks stop for more than STARVED_NS (any backend); `lost` is set, and stop() then
abandons the stream instead of closing it (PortAudio's stop, abort and close hang forever on a
dead server). The process must then leave with os._exit (see `abandoned`): PortAudio's own
exit handler would hang.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from dmusd.io.audio_device import AudioOutput, choose_output, no_device
from dmusd.io.jack_output import JackOutputStream
from dmusd.io.native_callbacks import NATIVE
from dmusd.io.native_mode import NativeMode
from dmusd.io.output_latency import bounded
from dmusd.io.pa_output import PaOutputStream
from dmusd.io.sleep_gate import SleepGate

if TYPE_CHECKING:
    from dmusd.config import AudioConfig
    from dmusd.kernel.clock import IMasterClock
    from dmusd.pin.pin_output import PinOutput

log = logging.getLogger("dmusd.audio")

STARVED_NS = 1_000_000_000  # no callback for this long while running: the server is gone
FIRST_CALLBACK_NS = 10_000_000_000  # the first callback may load numba's cache: more patience
MONITOR_PERIOD = 0.5  # seconds between the monitor thread's looks at the callback time
CLOSE_TIMEOUT = 1.5  # seconds a normal close may take before the stream is abandoned

_abandoned_streams: list[object] = []  # kept alive forever: never closed, never collected


class AudioSink:
    """The synth's wave sink on a live audio device."""

    def __init__(
        self,
        audio: AudioConfig,
        render: Callable[[np.ndarray, int, int], None],
        clock: IMasterClock,
        asleep: Callable[[], bool] = lambda: False,
        slept: Callable[[int, int], None] = lambda frames, position: None,
        native_ready: Callable[[], list | None] | None = None,
        bookkeep: Callable[[int, int], None] = lambda frames, position: None,
        outputs: Sequence[PinOutput] = (),
    ) -> None:
        """render / asleep / slept: see the module docstring; native_ready and bookkeep: the
        pins' side of the native mode (native_mode.py), offered on JACK; outputs: the pins'
        own outputs, given ports on JACK (jack_output.py)."""
        self.outputs = outputs
        self.audio = audio
        self.render = render
        self.clock = clock
        self.asleep = asleep
        self.slept = slept
        self.native_ready = native_ready
        self.bookkeep = bookkeep
        self.native: NativeMode | None = None
        self.gate = SleepGate()
        self.lost = threading.Event()  # set when the server went away or the stream died
        self.on_lost: Callable[[], None] = lambda: None  # called after `lost` is set (any thread)
        self.lost_reason = ""
        self.abandoned = False  # the stream was left open: leave the process with os._exit
        self.callbacks = 0  # completed Python callbacks (the native ones: gate.cycles)
        self.position = 0  # frames rendered
        self.last_callback_ns = 0
        self.backend = ""  # "jack" | "alsa" | "pulse" | "portaudio"
        self.device = ""
        self.latency = 0.0  # seconds of output latency, from its source (module docstring)
        self.block = 0.0  # seconds per callback block (JACK: its period)
        self.error: BaseException | None = None  # what the render raised, if it did
        self._stream = None
        self._watcher = None  # JACK: the jack.Client whose shutdown callback reports loss
        self._jack_clock = None  # JACK: its cycle times, read through the audio client
        # JACK: (our frame position, JACK's frame counter) at the start of the last block
        self._jack_block: tuple[int, int] | None = None
        self._monitor: threading.Thread | None = None
        self._stopping = threading.Event()
        self._started_ns = 0
        self._server_gone = False
        self._dac_lead_ns = 0

    # -- start -------------------------------------------------------------------------------

    def start(self, output: AudioOutput | None = None) -> None:
        """Open and start the stream on `output` (choose_output's, chosen now when None);
        AudioDeviceError (exit 3) names what was tried."""
        output = output or choose_output(self.audio)
        self._open(output.backend, output.index, list(output.tried))

    def _open(self, backend: str, index: int, tried: list[str]) -> None:
        if backend == "jack":
            stream, errors = self._open_jack(tried)
        else:
            stream, errors = self._open_portaudio(backend, index, tried)
        self._started_ns = time.monotonic_ns()
        self._stream = stream
        try:
            stream.start()
        except errors as error:
            self._stream = None
            stream.close()
            tried.append(f"{backend} device {self.device!r}: {error}")
            raise no_device(tried) from None
        self._monitor = threading.Thread(target=self._watch_callbacks, name="audio-monitor")
        self._monitor.daemon = True
        self._monitor.start()
        if backend == "jack":  # (known once the client is active and connected)
            self.latency = self._jack_output_latency()
        log.info(
            "audio: %s device %r, %d Hz, %d-frame blocks, output latency %.1f ms",
            backend,
            self.device,
            self.audio.sample_rate,
            round(self.block * self.audio.sample_rate),
            1000 * self.latency,
        )

    def _open_portaudio(self, backend: str, index: int, tried: list[str]):
        import sounddevice as sd

        name = sd.query_devices(index)["name"]
        blocksize = self.audio.period  # (on JACK the server's period: jack_output.py)
        try:
            stream = PaOutputStream(
                index, self.audio.sample_rate, blocksize, self._callback, self.gate
            )
        except (sd.PortAudioError, ValueError) as error:
            tried.append(f"{backend} device {name!r}: {error}")
            raise no_device(tried) from None
        self.backend, self.device = backend, name
        rate = self.audio.sample_rate
        self.block = blocksize / rate
        self.latency = bounded(stream.latency, rate, f"PortAudio ({name!r})", 2 * self.block)
        # master time of a block = its DAC time less this (a constant: any would do)
        self._dac_lead_ns = round(1e9 * self.latency)
        return stream, sd.PortAudioError

    def _open_jack(self, tried: list[str]):
        """dmusd's own JACK client: one callback per cycle of JACK's period, so callback times
        are cycle times; its shutdown callback reports the server's loss at once."""
        import jack

        from dmusd.io.jack_clock import JackClock

        try:
            stream = JackOutputStream(
                self.audio.client_name, self._callback, self.gate, self.outputs
            )
        except jack.JackError as error:
            tried.append(f"JACK client {self.audio.client_name!r}: {error}")
            raise no_device(tried) from None
        self.backend, self.device = "jack", stream.name
        stream.client.set_shutdown_callback(self._jack_shutdown)
        self._watcher = stream.client
        self._jack_clock = clock = JackClock(stream.client)
        self.block = stream.blocksize / self.audio.sample_rate
        if self.native_ready is not None:
            self.native = NativeMode(self.gate, self.native_ready, self._replay)
            self.native.use_jack(clock.client, clock.cycle_times_function)
        return stream, jack.JackError

    def _jack_output_latency(self) -> float:
        """Seconds from a block's render to its sound leaving the device: the playback latency
        JACK reports for the main pair (the callback renders JACK's period in JACK's cycle:
        no buffer of its own), bounded to a sane range; one period when JACK cannot say."""
        from dmusd.io.jack_latency import playback_latency

        rate = self.audio.sample_rate
        ports = [port.name for port in self._stream.ports[:2]]
        frames = playback_latency(self._watcher, ports)
        if frames is None:
            return self.block
        return bounded(frames / rate, rate, f"JACK (ports {', '.join(ports)})", self.block)

    @property
    def schedule_floor(self) -> float:
        """The least schedule-ahead (seconds) that keeps every live event's delay constant.
        On JACK an event is handed over in the cycle it came in, and the earliest block that
        can play it is the next one: one period. Elsewhere PortAudio may call back a whole
        buffer early or late (its callbacks bunch as it refills the buffer), so the output
        latency as well."""
        if self.backend == "jack":
            return self.block
        return self.latency + self.block

    # -- the audio thread --------------------------------------------------------------------

    def _callback(self, outdata: np.ndarray, frames: int, flags: int, dac_ns: int) -> None:
        gate = self.gate
        native = self.native
        if native is not None:
            native.drain()  # the native blocks' bookkeeping first: the clocks stay in order
        wakes = gate.wakes()  # before the render: a wake after this one keeps the next awake
        # JACK's loop says when this cycle began: an exact time where the entry into this
        # Python callback wanders by up to a period
        jack_clock = self._jack_clock
        cycle_start = jack_clock.cycle_start_ns() if jack_clock is not None else None
        try:
            slept = gate.take_slept()
            if slept:
                self.clock.skip(slept)
                self.slept(slept, self.position)
                self.position += slept
            if cycle_start is None:
                # the stream's frame clock: when this block plays, less a constant lead, so
                # master time is render time without the callbacks' bunching and GIL waits
                if dac_ns:
                    self.clock.advance(frames, dac_ns - self._dac_lead_ns, frame_clock=True)
                else:
                    self.clock.advance(frames, time.monotonic_ns())
            else:
                self.clock.advance(frames, cycle_start, exact=True)
                self._jack_block = (self.position, jack_clock.cycle_frames)
            outdata.fill(0.0)
            self.render(outdata, frames, self.position)
            asleep = self.asleep()
            if asleep:
                gate.sleep(wakes)
            else:
                gate.stay_awake()
        except BaseException as error:  # reported by the monitor thread, not here
            outdata.fill(0.0)
            gate.stay_awake()
            self.error = error
            raise
        self.position += frames
        self.callbacks += 1
        self.last_callback_ns = time.monotonic_ns()
        if native is not None and not asleep:
            native.enable(self.position)  # the next blocks without Python, if the pins allow

    def _replay(self, position: int, frames: int, jack_frames: int, jack_usecs: int) -> None:
        """The keeper's bookkeeping of a block the native callback rendered: what _callback
        does around its render, in the same order (native_mode.py)."""
        jack_clock = self._jack_clock
        if jack_usecs and jack_clock is not None:
            self.clock.advance(frames, jack_clock.jack_to_monotonic_ns(jack_usecs), exact=True)
            self._jack_block = (position, jack_frames)
        else:
            self.clock.advance(frames, time.monotonic_ns())
        self.bookkeep(frames, position)
        self.position = position + frames
        self.last_callback_ns = time.monotonic_ns()

    @property
    def jack_stream(self) -> JackOutputStream | None:
        stream = self._stream
        return stream if isinstance(stream, JackOutputStream) else None

    @property
    def xruns(self) -> int:
        return self.gate.xruns

    # -- loss detection ----------------------------------------------------------------------

    def jack_frame_time(self, frame: int) -> int | None:
        """Master time of a frame of JACK's frame counter (a JACK MIDI event's), on the master
        clock's frame line: exact to the sample, no clock read. None until a block ran on JACK."""
        block = self._jack_block
        if block is None:
            return None
        position, cycle_frames = block
        delta = ((frame - cycle_frames + 0x8000_0000) & 0xFFFF_FFFF) - 0x8000_0000  # 32-bit wrap
        return self.clock.FrameTime(position + delta)

    def _jack_shutdown(self, status, reason: str) -> None:
        # A JACK thread: only flags here; the monitor thread logs.
        if self.native is not None:
            self.native.use_jack(None, None)  # its client is going: no native call may use it
            self.native.state[NATIVE] = 0
        self._jack_clock = None  # the client's shared memory goes with the server
        self._jack_block = None
        self._server_gone = True
        self.lost_reason = f"the JACK server went away ({reason})"
        self._lose()

    def _lose(self) -> None:
        self.lost.set()
        self.on_lost()

    def _watch_callbacks(self) -> None:
        reported = False
        cycles = 0
        while not self._stopping.wait(MONITOR_PERIOD):
            if self.gate.cycles != cycles and self.callbacks:  # native ones count as alive too
                cycles = self.gate.cycles
                self.last_callback_ns = time.monotonic_ns()
            if self.error is not None and not reported:
                reported = True
                self.lost_reason = f"the render failed: {self.error!r}"
                log.error("audio: %s; the stream stopped", self.lost_reason)
                self._lose()
            elif self.lost.is_set() and not reported:
                reported = True
                log.error("audio: %s", self.lost_reason)
            elif not self.alive(STARVED_NS) and not reported:
                reported = True
                self._server_gone = True
                self.lost_reason = "the audio callbacks stopped coming"
                log.error("audio: %s: the audio server is gone or stuck", self.lost_reason)
                self._lose()

    def status(self) -> dict:
        """What `dmusd ctl status` shows of the device and the master clock."""
        clock = self.clock
        return {
            "backend": self.backend,
            "device": self.device,
            "latency_ms": round(1000 * self.latency, 2),
            "position": self.position + self.gate.slept_frames - self.gate.slept_taken,
            "callbacks": self.gate.cycles,
            "python_callbacks": self.callbacks,
            "native": self.native.status() if self.native is not None else None,
            "asleep": self.gate.asleep,
            "slept_frames": self.gate.slept_frames,
            "xruns": self.xruns,
            "oversize_cycles": self.jack_stream.oversize_cycles if self.jack_stream else 0,
            "measured_rate": round(getattr(clock, "measured_rate", float(clock.rate)), 3),
            "clock_resyncs": getattr(clock, "resyncs", 0),
        }

    def alive(self, max_age_ns: int) -> bool:
        """Whether a callback completed within the last `max_age_ns` (before the first one:
        within FIRST_CALLBACK_NS of the start)."""
        if self._stream is None:
            return False
        last = self.last_callback_ns
        if last == 0:
            return time.monotonic_ns() - self._started_ns <= max(max_age_ns, FIRST_CALLBACK_NS)
        return time.monotonic_ns() - last <= max_age_ns

    # -- stop --------------------------------------------------------------------------------

    def stop(self) -> None:
        """Close the stream, or abandon it if its server is gone; never hangs."""
        self._stopping.set()
        if self.native is not None:
            self.native.stop()
        stream, self._stream = self._stream, None
        watcher, self._watcher = self._watcher, None
        if self._monitor is not None:
            self._monitor.join(timeout=1.0)
        if stream is None:
            return
        if self._server_gone:
            self._abandon(stream, watcher)
            return
        # Closing can still hang if the server dies right now: do it where we can stop waiting.
        closer = threading.Thread(target=self._close, args=(stream, watcher), name="audio-close")
        closer.daemon = True
        closer.start()
        closer.join(CLOSE_TIMEOUT)
        if closer.is_alive():
            log.error("audio: the stream did not close within %.1f s", CLOSE_TIMEOUT)
            self._abandon(stream, None)

    @staticmethod
    def _close(stream, watcher) -> None:
        stream.abort()
        stream.close()
        if watcher is not None and watcher is not getattr(stream, "client", None):
            watcher.close()

    def _abandon(self, stream, watcher) -> None:
        log.warning("audio: abandoning the stream (closing it would hang on a dead server)")
        self.abandoned = True
        _abandoned_streams.extend(s for s in (stream, watcher) if s is not None)
