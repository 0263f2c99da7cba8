"""PaOutputStream: a PortAudio output stream (float32 stereo) whose callback is native code.

sounddevice's stream classes always put a Python callback on PortAudio's audio thread. This opens
the stream through sounddevice's own binding of PortAudio (its cffi `_lib`) instead, with the
engine library's pa_output_callback (callback_entries.py) as the callback: it answers the cycles a
SleepGate lets it answer with zeros, and calls `callback(outdata, frames, status_flags, dac_ns)`
for the others, where outdata is a (frames, 2) float32 view of PortAudio's buffer and dac_ns the
monotonic time (ns) at which its first frame plays, as the host API measured it before the callback
(its outputBufferDacTime: the stream's own frame clock, the frames queued ahead of the buffer), or
0 when the host gives no times. PortAudio's clock is CLOCK_REALTIME through ALSA's pulse plugin and
CLOCK_MONOTONIC through the pipewire one: its offset to the monotonic clock is read at each
callback (Pa_GetStreamTime beside time.monotonic_ns). If the callback raises, the stream stops
(paAbort) and the error is kept in `error`.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable

import numpy as np

from dmusd.engine_library import engine_entries
from dmusd.io.native_callbacks import PA_ABORT, PA_CONTINUE, PY_CALLBACK
from dmusd.io.sleep_gate import SleepGate

PA_FLOAT32 = 0x00000001

PYTHON_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong
)
_TIME_INFO = ctypes.POINTER(ctypes.c_double * 3)  # PaStreamCallbackTimeInfo: adc, now, dac
_VIEWS_KEPT = 8  # buffer views remembered (PortAudio's JACK host API reuses one or two)


class PaOutputStream:
    """An open (not yet started) PortAudio output stream on device `device`."""

    def __init__(
        self,
        device: int,
        rate: int,
        blocksize: int,
        callback: Callable[[np.ndarray, int, int, int], None],
        gate: SleepGate,
    ) -> None:
        import sounddevice as sd

        self._sd = sd
        self.blocksize = blocksize  # 0: the host's own (JACK's period)
        self._callback = callback
        self.gate = gate
        self.error: BaseException | None = None
        self._views: dict[tuple[int, int], np.ndarray] = {}
        # kept alive as long as this object: PortAudio calls into both
        self._python = PYTHON_CALLBACK(self._trampoline)
        gate.state[PY_CALLBACK] = ctypes.cast(self._python, ctypes.c_void_p).value
        ffi, lib = sd._ffi, sd._lib
        params = ffi.new("PaStreamParameters*")
        params.device = device
        params.channelCount = 2
        params.sampleFormat = PA_FLOAT32
        params.suggestedLatency = lib.Pa_GetDeviceInfo(device).defaultLowOutputLatency
        params.hostApiSpecificStreamInfo = ffi.NULL
        handle = ffi.new("PaStream**")
        self._check(
            lib.Pa_OpenStream(
                handle,
                ffi.NULL,
                params,
                float(rate),
                blocksize,
                0,
                ffi.cast("PaStreamCallback*", engine_entries().pa_output_callback),
                ffi.cast("void*", gate.state.ctypes.data),
            )
        )
        self._stream = handle[0]
        self._stream_time = lib.Pa_GetStreamTime
        # seconds, as PortAudio computes it (unchecked: see output_latency.py)
        self.latency = float(lib.Pa_GetStreamInfo(self._stream).outputLatency)

    def _check(self, code: int) -> None:
        if code < 0:
            text = self._sd._ffi.string(self._sd._lib.Pa_GetErrorText(code)).decode()
            raise self._sd.PortAudioError(text, code)

    def start(self) -> None:
        self._check(self._sd._lib.Pa_StartStream(self._stream))

    def abort(self) -> None:
        """Stop at once (may hang if the audio server died: see AudioSink)."""
        self._sd._lib.Pa_AbortStream(self._stream)

    def close(self) -> None:
        self._sd._lib.Pa_CloseStream(self._stream)

    # -- the audio thread, when the gate lets Python in ----------------------------------------
    def _trampoline(self, output: int, frames: int, time_info: int, flags: int) -> int:
        try:
            view = self._views.get((output, frames))
            if view is None:
                view = self._view(output, frames)
            dac_ns = 0
            if time_info:
                dac = ctypes.cast(time_info, _TIME_INFO).contents[2]
                if dac > 0.0:
                    stream_now = self._stream_time(self._stream)
                    dac_ns = time.monotonic_ns() + round((dac - stream_now) * 1e9)
            self._callback(view, frames, flags, dac_ns)
            return PA_CONTINUE
        except BaseException as error:  # reported by whoever watches `error`, not here
            self.error = error
            return PA_ABORT

    def _view(self, output: int, frames: int) -> np.ndarray:
        if len(self._views) >= _VIEWS_KEPT:
            self._views.clear()
        pointer = ctypes.cast(output, ctypes.POINTER(ctypes.c_float))
        view = np.ctypeslib.as_array(pointer, shape=(frames, 2))
        self._views[(output, frames)] = view
        return view
