"""JackOutputStream: dmusd's own JACK audio client, whose process callback is native code.

PortAudio's JACK host API opens no more ports than the device has physical ones (two on a
desktop), so the pins' own outputs (pin/pin_output.py) need a client of dmusd's own; and with
no PortAudio layer between JACK's cycle and the synth's, an idle cycle costs less. The process
callback is the engine library's jack_audio_process (callback_entries.py): it runs the cycle
the PortAudio callback runs (SleepGate, native mode, else the Python callback, which gets the
mix buffer as `outdata`) into a mix buffer and the pins' areas, then fills the ports. The main
pair, out_0 and out_1 (PortAudio's names, so patchbay setups keep working), carries
everything and is connected to the physical playback ports at start; each pin's own ports
carry its area's columns.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable, Sequence

import numpy as np

from dmusd.engine_library import engine_entries
from dmusd.io.libjack import exact_client
from dmusd.io.native_callbacks import (
    JO_AREA_COUNT,
    JO_AREAS,
    JO_GATE,
    JO_MAX_FRAMES,
    JO_MAX_PORTS,
    JO_MIX,
    JO_OVERSIZE,
    JO_PORT_COUNT,
    JO_PORT_GET_BUFFER,
    JO_PORTS,
    JO_SLOTS,
    MAX_AREAS,
    PA_ABORT,
    PA_CONTINUE,
    PY_CALLBACK,
    XRUNS,
)
from dmusd.io.pa_output import PYTHON_CALLBACK
from dmusd.io.sleep_gate import SleepGate
from dmusd.pin.pin_output import PinOutput

log = logging.getLogger("dmusd.audio")

MAX_FRAMES = 8192  # JACK2's largest period; a longer cycle is answered with silence
MAIN_PORTS = ("out_0", "out_1")


class JackOutputStream:
    """A JACK client named exactly `client_name` (JackError when no server answers, DmusdError
    when the name is taken), set up and not yet activated: the main pair and a pair (with
    stems) per pin in `outputs`, whose areas it sets. `callback(outdata, frames, status_flags,
    dac_ns)` as for PaOutputStream (dac_ns 0: on JACK the sink takes its times from JACK's
    cycle)."""

    def __init__(
        self,
        client_name: str,
        callback: Callable[[np.ndarray, int, int, int], None],
        gate: SleepGate,
        outputs: Sequence[PinOutput] = (),
    ) -> None:
        import jack

        self.client = client = exact_client(client_name, "audio")
        self.blocksize = client.blocksize
        self.gate = gate
        self.error: BaseException | None = None
        self._callback = callback
        self._python = PYTHON_CALLBACK(self._trampoline)  # kept alive as long as the client
        gate.state[PY_CALLBACK] = ctypes.cast(self._python, ctypes.c_void_p).value
        ffi, lib = jack._ffi, jack._lib
        self._mix = np.zeros((MAX_FRAMES, 2), dtype=np.float32)
        self._views: dict[int, np.ndarray] = {}  # mix[:frames] by frames: no allocation a cycle
        areas = list(outputs)
        if len(areas) > MAX_AREAS:  # the service gives no more (OWN_OUTPUT_PINS)
            raise ValueError(f"{len(areas)} pins with outputs of their own: at most {MAX_AREAS}")
        state = np.zeros(JO_SLOTS, dtype=np.int64)
        state[JO_GATE] = gate.state.ctypes.data
        state[JO_PORT_GET_BUFFER] = int(
            ffi.cast("uintptr_t", ffi.addressof(lib, "jack_port_get_buffer"))
        )
        state[JO_MIX] = self._mix.ctypes.data
        state[JO_MAX_FRAMES] = MAX_FRAMES
        ports: list[tuple[str, int, int]] = [(name, -1, c) for c, name in enumerate(MAIN_PORTS)]
        for k, output in enumerate(areas):
            output.area = np.zeros((MAX_FRAMES, output.columns), dtype=np.float32)
            state[JO_AREAS + 2 * k] = output.area.ctypes.data
            state[JO_AREAS + 2 * k + 1] = output.columns
            ports += [(name, k, c) for c, name in enumerate(output.port_names())]
        state[JO_AREA_COUNT] = len(areas)
        self.ports = []
        for k, (name, area, column) in enumerate(ports[:JO_MAX_PORTS]):
            port = client.outports.register(name)
            self.ports.append(port)
            slot = JO_PORTS + 3 * k
            state[slot] = int(ffi.cast("uintptr_t", port._ptr))
            state[slot + 1] = area
            state[slot + 2] = column
        state[JO_PORT_COUNT] = len(self.ports)
        self.state = state  # read by the callback through its pointer: kept alive here
        client.set_xrun_callback(self._xrun)
        error = lib.jack_set_process_callback(
            client._ptr,
            ffi.cast("JackProcessCallback", engine_entries().jack_audio_process),
            ffi.cast("void*", state.ctypes.data),
        )
        if error:
            client.close()
            raise jack.JackError(f"jack_set_process_callback failed ({error})")

    @property
    def name(self) -> str:
        """The client's name as the server gave it."""
        return self.client.name

    @property
    def oversize_cycles(self) -> int:
        """Cycles longer than MAX_FRAMES, answered with silence (ctl status shows them)."""
        return int(self.state[JO_OVERSIZE])

    def start(self) -> None:
        """Activate, and connect the main pair to the physical playback ports."""
        self.client.activate()
        playback = self.client.get_ports(is_physical=True, is_input=True, is_audio=True)
        for port, target in zip(self.ports[: len(MAIN_PORTS)], playback, strict=False):
            try:
                self.client.connect(port, target)
            except Exception as error:  # a patchbay may have done it: not fatal
                log.warning("audio: cannot connect %s to %s: %s", port.name, target.name, error)

    def abort(self) -> None:
        self.client.deactivate()

    def close(self) -> None:
        self.client.close()

    # -- JACK's threads ------------------------------------------------------------------------
    def _xrun(self, delay_usecs: float) -> None:  # JACK's notification thread
        self.gate.state[XRUNS] += 1

    def _trampoline(self, output: int, frames: int, time_info: int, flags: int) -> int:
        try:
            view = self._views.get(frames)
            if view is None:  # JACK's period: one or two sizes in a stream's life
                view = self._views[frames] = self._mix[:frames]
            self._callback(view, frames, flags, 0)
            return PA_CONTINUE
        except BaseException as error:  # reported by whoever watches `error`, not here
            self.error = error
            return PA_ABORT
