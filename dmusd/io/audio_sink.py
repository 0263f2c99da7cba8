"""AudioSink: the live wave sink. A PortAudio output stream (through sounddevice) whose callback
renders the synth and drives the master clock, as FileSink does offline.

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

Sleep: the callback is native (pa_output.py). When a render leaves the synth asleep (`asleep()`:
nothing sounds, nothing is queued), the following cycles are answered with zeros without Python
until someone calls `gate.wake()` after giving the synth work; the next Python callback first
moves the clock and the synth on by the frames slept (`slept(frames, position)`).

Backends: audio_device.py chooses the output (JACK, ALSA, pulse or PortAudio's default) without
numba, so the daemon can do that before the engine compiles; start() opens what it chose.

Latency: `latency` is the output latency from its source (on JACK the playback latency JACK
reports for the ports PortAudio plays into, jack_latency.py; elsewhere PortAudio's figure),
bounded to a sane range (output_latency.py); `schedule_floor` is the least schedule-ahead that
keeps every live event's delay constant.

Server loss: if jackd dies while a PortAudio JACK stream is open, PortAudio's stop, abort and
close hang forever. So the loss is detected without PortAudio (a second, idle jack.Client whose
shutdown callback fires at once, and a monitor thread that notices when callbacks stop for more
than STARVED_NS), `lost` is set, and stop() then abandons the stream instead of closing it. The
process must then leave with os._exit (see `abandoned`): PortAudio's own exit handler would hang.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from dmusd.io.audio_device import AudioOutput, choose_output, no_device
from dmusd.io.native_callbacks import NATIVE
from dmusd.io.native_mode import NativeMode
from dmusd.io.output_latency import bounded
from dmusd.io.pa_output import PaOutputStream
from dmusd.io.sleep_gate import SleepGate

if TYPE_CHECKING:
    from dmusd.config import AudioConfig
    from dmusd.kernel.clock import IMasterClock

log = logging.getLogger("dmusd.audio")

STARVED_NS = 1_000_000_000  # no callback for this long while running: the server is gone
FIRST_CALLBACK_NS = 10_000_000_000  # the first callback may load numba's cache: more patience
MONITOR_PERIOD = 0.5  # seconds between the monitor thread's looks at the callback time
CLOSE_TIMEOUT = 1.5  # seconds a normal close may take before the stream is abandoned

_abandoned_streams: list[object] = []  # kept alive forever: never closed, never collected


def _portaudio_jack_client_name() -> str | None:
    """The name PortAudio's JACK client got (JACK2 renames a taken one), or None."""
    import sounddevice as sd

    try:
        get_name = ctypes.CDLL(sd._libname).PaJack_GetClientName
    except (OSError, AttributeError):
        return None
    name = ctypes.c_char_p()
    if get_name(ctypes.byref(name)) != 0 or not name.value:
        return None
    return name.value.decode(errors="replace")


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
    ) -> None:
        """render / asleep / slept: see the module docstring; native_ready and bookkeep: the
        pins' side of the native mode (native_mode.py), offered on JACK."""
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
        self._watcher = None  # the idle jack.Client whose shutdown callback reports loss
        self._jack_clock = None  # JACK: its cycle times, read through the watch client
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
        import sounddevice as sd

        name = sd.query_devices(index)["name"]
        # JACK decides the block size: take its period as it comes (one callback per cycle, so
        # callback times are cycle times). Elsewhere the config's period is the block size.
        blocksize = 0 if backend == "jack" else self.audio.period
        try:
            stream = PaOutputStream(
                index, self.audio.sample_rate, blocksize, self._callback, self.gate
            )
        except (sd.PortAudioError, ValueError) as error:
            tried.append(f"{backend} device {name!r}: {error}")
            raise no_device(tried) from None
        self.backend, self.device = backend, name
        rate = self.audio.sample_rate
        if backend != "jack":  # (JACK's period and latency are known once the stream runs)
            self.block = blocksize / rate
            self.latency = bounded(stream.latency, rate, f"PortAudio ({name!r})", 2 * self.block)
            # master time of a block = its DAC time less this (a constant: any would do)
            self._dac_lead_ns = round(1e9 * self.latency)
        if backend == "jack":
            self._watch_jack()
            clock = self._jack_clock
            if clock is not None and self.native_ready is not None:
                self.native = NativeMode(self.gate, self.native_ready, self._replay)
                self.native.use_jack(clock.client, clock.cycle_times_function)
        self._started_ns = time.monotonic_ns()
        self._stream = stream
        try:
            stream.start()
        except sd.PortAudioError as error:
            self._stream = None
            stream.close()
            tried.append(f"{backend} device {name!r}: {error}")
            raise no_device(tried) from None
        self._monitor = threading.Thread(target=self._watch_callbacks, name="audio-monitor")
        self._monitor.daemon = True
        self._monitor.start()
        if backend == "jack":
            self.block = self._jack_period() / rate
            self.latency = self._jack_output_latency(stream.latency)
        log.info(
            "audio: %s device %r, %d Hz, %d-frame blocks, output latency %.1f ms",
            backend,
            name,
            self.audio.sample_rate,
            round(self.block * self.audio.sample_rate),
            1000 * self.latency,
        )

    def _jack_period(self) -> int:
        watcher = self._watcher
        return watcher.blocksize if watcher is not None else self.audio.period

    def _jack_output_latency(self, portaudio_seconds: float) -> float:
        """Seconds from a block's render to its sound leaving the device: the playback latency
        JACK reports for the ports PortAudio plays into (PortAudio adds no buffer of its own
        there: it renders JACK's period in JACK's cycle), bounded to a sane range; PortAudio's
        figure only when JACK cannot say."""
        rate = self.audio.sample_rate
        if self._watcher is not None:
            from dmusd.io.jack_latency import output_ports, playback_latency

            owner = _portaudio_jack_client_name() or self.audio.client_name
            ports = output_ports(self._watcher, owner)
            frames = playback_latency(self._watcher, ports)
            if frames is not None:
                jack = bounded(frames / rate, rate, f"JACK (ports of {owner!r})", self.block)
                # not used, but said when it is nonsense (PortAudio 19.6 under PipeWire)
                bounded(portaudio_seconds, rate, "PortAudio's JACK host API", jack)
                return jack
        return bounded(portaudio_seconds, rate, "PortAudio's JACK host API", self.block)

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
    def xruns(self) -> int:
        return self.gate.xruns

    # -- loss detection ----------------------------------------------------------------------

    def _watch_jack(self) -> None:
        import jack

        from dmusd.io.jack_clock import JackClock

        try:
            watcher = jack.Client(f"{self.audio.client_name}-watch", no_start_server=True)
        except jack.JackError:
            return  # the monitor thread still notices starvation
        watcher.set_shutdown_callback(self._jack_shutdown)
        self._watcher = watcher
        self._jack_clock = JackClock(watcher)

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
        self.lost.set()

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
                self.lost.set()
            elif self.lost.is_set() and not reported:
                reported = True
                log.error("audio: %s", self.lost_reason)
            elif not self.alive(STARVED_NS) and not reported:
                reported = True
                self._server_gone = True
                self.lost_reason = "the audio callbacks stopped coming"
                log.error("audio: %s: the audio server is gone or stuck", self.lost_reason)
                self.lost.set()

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
        if watcher is not None:
            watcher.close()

    def _abandon(self, stream, watcher) -> None:
        log.warning("audio: abandoning the stream (closing it would hang on a dead server)")
        self.abandoned = True
        _abandoned_streams.extend(s for s in (stream, watcher) if s is not None)
