"""The real-time callbacks that answer a cycle without entering Python, compiled with numba.

An idle daemon is woken by its audio server every period (47 times a second at 1024 frames),
twice when MIDI comes through JACK: once for the audio stream, once for the MIDI inputs. Entering
Python for each costs more than the target of 1 % of a core allows for all of them (measured
here: an empty sounddevice callback 0.88 % and an empty JACK-Client process callback 0.60 %,
against 0.28 % for the same PortAudio stream with a C callback and 0.25 % for a C JACK client,
jack_thru). So each callback is a numba
`cfunc` that does the nothing-to-do case itself and calls the Python callback only otherwise:

- `pa_output_callback` (PortAudio's PaStreamCallback): while the synth sleeps (SleepGate), it
  writes zeros and counts the frames; otherwise it calls the Python callback.
- `jack_midi_process` (JACK's process callback): calls the Python one only in a cycle where a
  MIDI input holds events.

Both read their state from a shared int64 array (the `user`/`arg` pointer); the Python callback
and the libjack functions are called by their addresses, kept in that array, through
`call_address`. Pointers travel as int64: on the 64-bit ABIs a pointer argument is passed as an
integer is. Everything here is in one file because numba keys a cached cfunc on its own file.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import carray, cfunc, types
from numba.extending import intrinsic

# -- the shared state ----------------------------------------------------------------------------
# PortAudio output (SleepGate.state)
PY_CALLBACK = 0  # address of the Python callback: int(out, frames, time_info, flags)
ASLEEP = 1  # 1: the Python side found nothing to do and nothing pending
WAKES = 2  # bumped by anyone who gives the synth work, after giving it
SEEN = 3  # WAKES as the Python callback read it before the render that found nothing to do
CYCLES = 4  # callbacks, both kinds
SLEPT_FRAMES = 5  # frames answered with zeros here
XRUNS = 6  # callbacks that reported an output underflow
GATE_SLOTS = 8

PA_CONTINUE = 0
PA_OUTPUT_UNDERFLOW = 0x4

# JACK MIDI process (JackMidiGate.state)
JACK_PY_PROCESS = 0  # address of the Python process callback: int(nframes, arg)
JACK_PORT_GET_BUFFER = 1  # address of jack_port_get_buffer
JACK_EVENT_COUNT = 2  # address of jack_midi_get_event_count
JACK_PORT_COUNT = 3  # how many ports follow
JACK_PYTHON_CYCLES = 4  # cycles handed to Python
JACK_PORTS = 8  # the jack_port_t pointers from here on


def call_address(restype):
    """An intrinsic `call(address, (arg, ...))` that calls the C function at `address` with the
    tuple's items as arguments and returns `restype`."""

    @intrinsic
    def call(typingctx, address, args):
        def codegen(context, builder, signature, llargs):
            fn_address, packed = llargs
            values = [builder.extract_value(packed, i) for i in range(len(args))]
            fnty = ir.FunctionType(context.get_value_type(restype), [v.type for v in values])
            return builder.call(builder.inttoptr(fn_address, fnty.as_pointer()), values)

        return restype(address, args), codegen

    return call


_call_i32 = call_address(types.int32)
_call_i64 = call_address(types.int64)
_call_u32 = call_address(types.uint32)

PA_CALLBACK_SIGNATURE = types.int32(
    types.voidptr, types.voidptr, types.uint64, types.voidptr, types.uint64, types.voidptr
)


@cfunc(PA_CALLBACK_SIGNATURE, cache=True)
def pa_output_callback(inputs, output, frames, time_info, flags, user):  # pragma: no cover
    state = carray(user, (GATE_SLOTS,), np.int64)
    state[CYCLES] += 1
    if flags & PA_OUTPUT_UNDERFLOW:
        state[XRUNS] += 1
    if state[ASLEEP] != 0 and state[WAKES] == state[SEEN]:
        samples = carray(output, (frames * 2,), np.float32)
        for i in range(frames * 2):
            samples[i] = 0.0
        state[SLEPT_FRAMES] += frames
        return PA_CONTINUE
    return _call_i32(state[PY_CALLBACK], (output, frames, time_info, flags))


JACK_PROCESS_SIGNATURE = types.int32(types.uint32, types.voidptr)


@cfunc(JACK_PROCESS_SIGNATURE, cache=True)
def jack_midi_process(nframes, arg):  # pragma: no cover
    ports = carray(arg, (JACK_PORTS,), np.int64)[JACK_PORT_COUNT]
    state = carray(arg, (JACK_PORTS + ports,), np.int64)
    for i in range(ports):
        buffer = _call_i64(state[JACK_PORT_GET_BUFFER], (state[JACK_PORTS + i], nframes))
        if _call_u32(state[JACK_EVENT_COUNT], (buffer,)) > 0:
            state[JACK_PYTHON_CYCLES] += 1
            return _call_i32(state[JACK_PY_PROCESS], (nframes, np.int64(0)))
    return 0
