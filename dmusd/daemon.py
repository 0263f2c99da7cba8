"""The daemon's life: build the synth service and its edges, run, reload, and shut down.

Start-up order: what can fail fastest first. Before the Daemon, `dmusd run` loads the config,
checks the audio output and the MIDI API, then compiles or loads the engine (start_up.py). Then
the data's order: SynthService (pins, banks) -> AudioSink (the master clock starts moving) ->
MidiPorts (input now has somewhere to go) -> ControlServer. Then the heap
is frozen (gc.freeze: start-up objects leave the collector's view, so collections stay short) and
systemd hears READY=1.

Signals: once everything runs, SIGTERM/SIGINT/SIGHUP get handlers that do nothing but let
Python write the signal's number to a wakeup pipe, which the main loop selects on. So whichever
thread the kernel picks (libjack and PortAudio start threads of their own), the work happens in
the main loop, in order: SIGTERM/SIGINT stop the daemon, SIGHUP reloads the config. Before that,
during start-up, the default actions stand (a stop request while numba compiles just ends it).

Shutdown: MIDI ports close first (no new notes), then all sound off, then the audio stream, then
the control socket, then the service. Exit 0. Nothing a control request does can hold the main
loop: SIGHUP reloads on a thread of its own, and the shutdown steps that need the service's lock
wait for it at most LOCK_WAIT seconds (a bank load may hold it for its download).

Audio server loss (AudioSink.lost): with on_server_loss = "exit", the daemon logs, removes its
socket, and leaves with os._exit(3) within a second or two, never touching the dead stream
(PortAudio would hang); systemd's Restart=on-failure starts it again. With "reconnect" it waits
until the audio server answers again (a JACK server; else the same output, opened by a child
process) and then re-executes itself, which starts afresh with every
handle of the dead server gone.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable

from dmusd.banks.gm_bank import forget_default_bank
from dmusd.config import AudioConfig, Config, load_config, socket_path
from dmusd.config_overrides import apply_overrides
from dmusd.errors import AudioDeviceError, DmusdError
from dmusd.io.audio_device import jack_server, terminate_portaudio
from dmusd.io.audio_sink import AudioSink
from dmusd.io.control_socket import ControlServer
from dmusd.io.device_probe import output_answers
from dmusd.io.midi_ports import MidiPorts
from dmusd.io.sd_notify import Notifier, Watchdog, watchdog_interval
from dmusd.kernel.clock import REFTIME_PER_SECOND, MasterClock
from dmusd.resident import give_back_start_up_memory, release_jack_segment
from dmusd.service import SynthService
from dmusd.start_up import Devices, check_devices

log = logging.getLogger("dmusd")

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_POKE = 0  # what poke() writes to the signal pipe: no signal has number 0
STATUS_PERIOD = 1.0  # seconds between STATUS updates to systemd
FIRST_CALLBACK = 2.0  # seconds the first audio callback may take before READY anyway
SWITCH_INTERVAL = 0.001  # seconds: the audio thread waits at most about this for the GIL
EXACT_DELAY_STEP_MAX = 0.002  # seconds the schedule-ahead may grow to keep offsets exact
SERVER_LOST_EXIT = AudioDeviceError.exit_code
LOCK_WAIT = 2.0  # seconds a shutdown step waits for the service's control lock


class Daemon:
    """`dmusd run`: one SynthService, its audio sink, MIDI ports and control socket."""

    def __init__(
        self, config: Config, devices: Devices | None = None, notifier: Notifier | None = None
    ) -> None:
        """devices: what start_up.check_devices chose (chosen at start when None)."""
        self.config = config
        self.devices = devices
        self.notifier = notifier or Notifier()
        self.service: SynthService | None = None
        self.sink: AudioSink | None = None
        self.ports: MidiPorts | None = None
        self.control: ControlServer | None = None
        self.watchdog: Watchdog | None = None
        self._reload_lock = threading.Lock()
        self._signals: _SignalPipe | None = None

    # -- start -------------------------------------------------------------------------------

    def run(self) -> int:
        """Start, serve until a signal or the loss of the audio server; the exit code."""
        started = time.monotonic()
        try:
            self._start()
        except BaseException:
            self._shutdown()
            raise
        log.info(
            "ready in %.2f s: audio %s %r, MIDI %s ports %s, control %s",
            time.monotonic() - started,
            self.sink.backend,
            self.sink.device,
            self.ports.backend,
            ", ".join(repr(name) for name in self.ports.port_names),
            self.control_path,
        )
        self.notifier.ready(self._status())
        interval = watchdog_interval()
        if interval:
            self.watchdog = Watchdog(self.notifier, interval, self._healthy(interval))
            self.watchdog.start()
        return self._serve()

    def _start(self) -> None:
        config = self.config
        devices = self.devices or check_devices(config)
        clock = MasterClock(config.audio.sample_rate)
        jack = devices.audio.backend == "jack"
        self.service = service = SynthService(config, clock, separate_outputs=jack)
        self.sink = sink = AudioSink(
            config.audio,
            service.render,
            clock,
            service.asleep,
            service.slept,
            native_ready=service.native_ready,
            bookkeep=service.bookkeep,
            outputs=service.outputs,
        )
        service.audio_status = sink.status
        service.wake = sink.gate.wake
        sink.start(devices.audio)
        ahead = self._schedule_ahead()
        self.ports = MidiPorts(
            config.midi, config.pins, service.put_midi, clock, ahead, sink.jack_frame_time
        )
        self.ports.start(devices.midi)
        self.service.midi_status = self.ports.status
        self.control_path = socket_path(config)
        self.control = ControlServer(self.control_path, self.service, self.reload)
        self.control.start()
        deadline = time.monotonic() + FIRST_CALLBACK
        while not self.sink.callbacks and not self.sink.lost.is_set():
            if time.monotonic() > deadline:
                log.warning("no audio callback within %.0f s of the start", FIRST_CALLBACK)
                break
            time.sleep(0.005)
        self._signals = _SignalPipe()
        forget_default_bank()  # downloaded: its samples live in the pins' pools now
        gc.collect()
        paged = give_back_start_up_memory(sink.backend)
        jack = release_jack_segment()
        log.debug(
            "start-up memory given back: %.0f MB of LLVM and unused libraries paged out, "
            "%.0f MB of JACK's segment released",
            paged / 2**20, jack / 2**20,
        )  # fmt: skip
        gc.freeze()
        sys.setswitchinterval(SWITCH_INTERVAL)

    def _schedule_ahead(self) -> int:
        """The schedule-ahead in 100 ns units: the config's, raised to what keeps the latency
        constant with this device (AudioSink.schedule_floor: an event reaches the synth up to
        one block after it came and must still be ahead of the block that plays it); less,
        and late events play at block starts, period-quantized."""
        wanted = self.config.audio.schedule_ahead_ms / 1000.0
        needed = self.sink.schedule_floor
        if wanted < needed:
            # The default is a floor for small periods, not a choice: raising it is no news
            # (JACK's -p 1024, as the README starts it, needs 42.7 ms). A value the user set
            # that is too short is.
            chosen = self.config.audio.schedule_ahead_ms != AudioConfig().schedule_ahead_ms
            log.log(
                logging.WARNING if chosen else logging.INFO,
                "audio.schedule_ahead_ms = %.1f is shorter than this device needs for constant "
                "latency (%.1f ms blocks, output latency %.1f ms): using %.1f ms",
                1000 * wanted,
                1000 * self.sink.block,
                1000 * self.sink.latency,
                1000 * needed,
            )
        return exact_delay(max(wanted, needed), self.config.audio.sample_rate)

    def _healthy(self, interval: float):
        limit = int(interval * 1e9 / 2)  # no callback for half the watchdog interval: stalled

        def healthy() -> bool:
            return not self.sink.lost.is_set() and self.sink.alive(limit)

        return healthy

    # -- the main loop -----------------------------------------------------------------------

    def _serve(self) -> int:
        next_status = time.monotonic() + STATUS_PERIOD
        # asleep until a signal or the loss of the audio server, or the next STATUS for systemd
        self.sink.on_lost = self._signals.poke
        timeout = STATUS_PERIOD if self.notifier.enabled else None
        while True:
            for number in self._signals.wait(0.0 if self.sink.lost.is_set() else timeout):
                if number == _POKE:
                    continue
                if number == signal.SIGHUP:
                    log.info("SIGHUP: reloading the config")
                    # On a thread: a reload parses banks and waits for the control lock, and
                    # the main loop must go on seeing signals and the loss of the audio server.
                    threading.Thread(
                        target=self._reload_logged, name="dmusd-reload", daemon=True
                    ).start()
                    continue
                log.info("%s: shutting down", signal.Signals(number).name)
                self.notifier.stopping("shutting down")
                return self._shutdown()
            if self.sink.lost.is_set():
                return self._server_lost()
            now = time.monotonic()
            if now >= next_status:
                next_status = now + STATUS_PERIOD
                if self.notifier.enabled:
                    self.notifier.status(self._status())

    def _status(self) -> str:
        voices = self.service.active_voices()
        return f"{voices} voices, {self.sink.xruns} xruns, audio {self.sink.backend}"

    # -- reload ------------------------------------------------------------------------------

    def reload(self) -> dict:
        """Reread the config file and apply it; a bad config or bank raises and changes nothing.

        Called by the control socket's reload command and by SIGHUP."""
        with self._reload_lock:
            try:
                new = apply_overrides(load_config(self.config.path), self.config.overrides)
            except DmusdError as error:
                log.error("reload refused, the running config stays: %s", error)
                raise
            try:
                result = self.service.reload(new)
            except DmusdError as error:
                log.error("reload refused, the running config stays: %s", error)
                raise
            restart = [
                name
                for name in ("audio", "midi", "control")
                if getattr(new, name) != getattr(self.config, name)
            ]
            if [p.port_names for p in new.pins] != [p.port_names for p in self.config.pins]:
                restart.append("MIDI port names")
            if _output_layout(new) != _output_layout(self.config):
                restart.append("pin outputs")
            if restart:
                log.warning("reload: %s changes take effect at restart", ", ".join(restart))
            logging.getLogger().setLevel(new.logging.level.upper())
            self.config = new
            log.info("reloaded %s", new.path or "the built-in defaults")
            return result

    def _reload_logged(self) -> None:
        try:
            self.reload()
        except DmusdError:
            pass  # logged by reload(); the old config keeps playing
        except Exception:
            log.exception("reload failed; the old config keeps playing")

    # -- stop --------------------------------------------------------------------------------

    def _shutdown(self) -> int:
        """Stop everything that started, in a safe order; 0 unless the stream had to be left."""
        if self.watchdog is not None:
            self.watchdog.stop()
        # The steps that take the service's control lock wait at most LOCK_WAIT for it: a
        # bank download still running on a control worker must not hold up a stop.
        steps = (
            ("MIDI ports", self.ports and self.ports.stop, None),
            ("all sound off", self.service and self.sink and self.service.panic, LOCK_WAIT),
            ("audio", self.sink and self.sink.stop, None),
            ("control socket", self.control and self.control.stop, None),
            ("synth", self.service and self.service.close, LOCK_WAIT),
        )
        for what, step, limit in steps:
            if not step:
                continue
            began = time.monotonic()
            try:
                if limit is None:
                    step()
                elif not run_within(step, limit):
                    log.warning("shutdown: %s did not finish within %g s; going on", what, limit)
            except Exception:
                log.exception("shutdown: %s failed", what)
            log.debug("shutdown: %s took %.3f s", what, time.monotonic() - began)
        self.notifier.close()
        if self.sink is not None and self.sink.abandoned:
            _leave(0)  # PortAudio's exit handler would hang on the abandoned stream
        log.info("stopped")
        return 0

    def exit(self, code: int) -> None:
        """Leave the process after run(): PortAudio closed properly, then no slow teardown of
        the interpreter (numba's and a frozen heap's finalizers took over a second)."""
        if self.sink is not None and not self.sink.abandoned:
            began = time.monotonic()
            terminate_portaudio()
            log.debug("PortAudio closed in %.3f s", time.monotonic() - began)
        _leave(code)

    def _server_lost(self) -> int:
        reason = self.sink.lost_reason or "the audio stream stopped"
        mode = self.config.audio.on_server_loss
        self.notifier.status(f"audio lost: {reason}")
        if self.watchdog is not None:
            self.watchdog.stop()
        # Nothing that talks to the dead server is touched: the stream is abandoned, and MIDI
        # ports on JACK are left as they are. ALSA MIDI ports are closed (they would outlive an
        # exec as a stale client).
        for what, step in (
            ("control socket", self.control and self.control.stop),
            ("MIDI ports", self.ports and self.ports.backend != "jack" and self.ports.stop),
            ("audio", self.sink.stop),
        ):
            if not step:
                continue
            try:
                step()
            except Exception:
                log.exception("shutdown: %s failed", what)
        if mode == "reconnect":
            jack = self.sink.backend == "jack"
            what = "a JACK server" if jack else f"the {self.sink.backend} output"
            log.error("audio: %s; waiting for %s to come back", reason, what)
            if self._wait_for_server(jack):
                log.info("%s answers again: restarting", what)
                logging.shutdown()
                # orig_argv: the command line as given, `python -c ...` and `-m` included
                os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
            _leave(0)
        log.error(
            "audio: %s; exiting with %d (on_server_loss = %s, systemd restarts the service)",
            reason,
            SERVER_LOST_EXIT,
            mode,
        )
        _leave(SERVER_LOST_EXIT)
        return SERVER_LOST_EXIT  # not reached

    def _wait_for_server(self, jack: bool) -> bool:
        """True once the audio server answers again (JACK: a JACK server; else the output the
        sink had, opened by a child process: ours must not touch PortAudio any more); False on
        SIGTERM/SIGINT while waiting."""
        audio = self.config.audio
        while True:
            stop = [n for n in self._signals.wait(1.0) if n != signal.SIGHUP]
            if stop:
                log.info("%s while waiting for the audio server: exiting",
                         signal.Signals(stop[0]).name)  # fmt: skip
                return False
            if jack:
                if jack_server(f"{audio.client_name}-probe")[0]:
                    return True
            elif output_answers(self.sink.backend, self.sink.device, audio.sample_rate):
                return True


class _SignalPipe:
    """SIGTERM/SIGINT/SIGHUP as numbers read from a pipe (signal.set_wakeup_fd)."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        for number in SIGNALS:
            signal.signal(number, _note_signal)

    def poke(self) -> None:
        """Wake wait() without a signal (any thread)."""
        with contextlib.suppress(BlockingIOError):  # full: a wake-up is pending anyway
            os.write(self._write, bytes((_POKE,)))

    def wait(self, timeout: float | None) -> bytes:
        """The signal numbers that arrived (and _POKE for a poke), waiting up to `timeout`
        seconds (None: for ever) for one."""
        ready, _, _ = select.select([self._read], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(self._read, 64)
        except BlockingIOError:
            return b""


def _output_layout(config: Config) -> list[tuple[str, bool, bool]]:
    """The pins' own outputs as a config asks for them (fixed at start, like MIDI ports)."""
    return [(pin.name, pin.effect_outputs, pin.channel_outputs) for pin in config.pins]


def exact_delay(seconds: float, rate: int) -> int:
    """`seconds` in 100 ns ticks, rounded up to a whole number of frames that is also a whole
    number of ticks (3 frames at 48 kHz), so that a frame plus the delay is a frame again,
    exactly: every event then keeps its offset to the sample. Where that step is coarse (441
    frames at 44.1 kHz) the delay is rounded to a tick and may move an event by one frame."""
    step = rate // math.gcd(rate, REFTIME_PER_SECOND)  # frames
    if step > rate * EXACT_DELAY_STEP_MAX:
        return round(seconds * REFTIME_PER_SECOND)
    frames = -(-math.ceil(seconds * rate) // step) * step
    return frames * REFTIME_PER_SECOND // rate


def run_within(step: Callable[[], object], seconds: float) -> bool:
    """Run `step` on a daemon thread; whether it finished within `seconds` (if not, it is left
    to finish on its own: the process leaves with os._exit, which does not wait for it).
    An exception in `step` is raised here."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            step()
        except BaseException as error:  # handed to the caller
            failure.append(error)

    thread = threading.Thread(target=run, name="dmusd-shutdown-step", daemon=True)
    thread.start()
    thread.join(seconds)
    if failure:
        raise failure[0]
    return not thread.is_alive()


def _note_signal(number: int, frame: object) -> None:
    """Nothing to do: the wakeup pipe already carries the number to the main loop."""


def _leave(code: int) -> None:
    """Exit at once with `code`, after flushing the logs: no atexit handlers, no finalizers."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
