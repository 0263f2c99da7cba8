"""The real-time callbacks that answer a cycle without entering Python, compiled with numba.

An idle daemon is woken by its audio server every period (47 times a second at 1024 frames),
twice when MIDI comes through JACK: once for the audio stream, once for the MIDI inputs. Entering
Python for each costs more than the target of 1 % of a core allows for all of them (measured
here: an empty sounddevice callback 0.88 % and an empty JACK-Client process callback 0.60 %,
against 0.28 % for the same PortAudio stream with a C callback and 0.25 % for a C JACK client,
jack_thru). So each callback is a numba
`cfunc` that does the nothing-to-do case itself and calls the Python callback only otherwise:

- `pa_output_callback` (PortAudio's PaStreamCallback): while the synth sleeps (SleepGate), it
  writes zeros and counts the frames. While the native mode is on (the synth plays: voices
  sound), it renders every pin itself by calling the pin's C function (synth/engine/
  native_pin.py) with its descriptor, and leaves a record of the block (position, frames, and
  JACK's cycle times when it runs on JACK) for the Python side's bookkeeping (native_mode.py):
  no Python runs on the audio thread then, so nothing that holds the GIL can delay audio.
  Otherwise it calls the Python callback.
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
from numba import carray, cfunc, njit, types
from numba.extending import intrinsic

from dmusd.synth.engine.pointer import pointer

# -- the shared state ----------------------------------------------------------------------------
# PortAudio output (SleepGate.state)
PY_CALLBACK = 0  # address of the Python callback: int(out, frames, time_info, flags)
ASLEEP = 1  # 1: the Python side found nothing to do and nothing pending
WAKES = 2  # bumped by anyone who gives the synth work, after giving it
SEEN = 3  # WAKES as the Python callback read it before the render that found nothing to do
CYCLES = 4  # callbacks, both kinds
SLEPT_FRAMES = 5  # frames answered with zeros here
XRUNS = 6  # callbacks that reported an output underflow
# the native mode (NativeMode)
NATIVE = 8  # 1: render the pins here
NATIVE_POSITION = 9  # the output position of the next native block
NATIVE_BLOCKS = 10  # blocks rendered here, ever (records written)
RENDER_PIN = 11  # address of native_pin.render_pin
JACK_CLIENT = 12  # the jack_client_t whose cycle times a record takes (0: none)
JACK_CYCLE_TIMES = 13  # address of jack_get_cycle_times
CYCLE_FRAMES = 14  # its out-parameters (uint32, uint64 us, uint64 us, float)
CYCLE_USECS = 15
CYCLE_NEXT = 16
CYCLE_PERIOD = 17
PIN_COUNT = 18
PINS = 20  # per pin: its descriptor's address, then 1 if it is in RUN
MAX_PINS = 16
RECORDS = PINS + 2 * MAX_PINS
RECORD_SIZE = 4  # position, frames, JACK's frame counter, JACK's cycle start (us)
RECORD_CAPACITY = 4096  # 20 s of 256-frame periods: the bookkeeping may fall that far behind
GATE_SLOTS = RECORDS + RECORD_SIZE * RECORD_CAPACITY

PA_CONTINUE = 0
PA_OUTPUT_UNDERFLOW = 0x4

# JACK MIDI process (JackMidiGate.state)
JACK_PY_PROCESS = 0  # address of the Python process callback: int(nframes, arg)
JACK_PORT_GET_BUFFER = 1  # address of jack_port_get_buffer
JACK_EVENT_COUNT = 2  # address of jack_midi_get_event_count
JACK_PORT_COUNT = 3  # how many ports follow
JACK_PYTHON_CYCLES = 4  # cycles handed to Python (an event too long for a record)
JACK_EVENT_GET = 5  # address of jack_midi_event_get
JACK_LAST_FRAME_TIME = 6  # address of jack_last_frame_time
JACK_FRAMES_TO_TIME = 7  # address of jack_frames_to_time
JACK_CLIENT_PTR = 8  # the jack_client_t
WRITE = 9  # address of libc's write(): the wake-up of the MIDI input thread
WAKE_FD = 10  # the eventfd it waits on (-1: none)
ONE = 11  # holds 1: what is written to the eventfd
EVENT = 12  # jack_midi_event_t, filled by jack_midi_event_get (time, size, buffer pointer)
MIDI_WRITTEN = 16  # records written to the ring, ever
MIDI_READ = 17  # records the input thread took, ever
MIDI_LOST = 18  # events the full ring refused
MIDI_RING = 19  # the ring's first slot
MIDI_CAPACITY = 20  # records the ring holds
JACK_PORTS = 24  # the jack_port_t pointers from here on; the ring after them
MIDI_RECORD = 12  # slots a record: port, frame, JACK time (us), size, then the bytes
MIDI_BYTES = 8 * (MIDI_RECORD - 4)  # the longest event a record holds (longer: Python)


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


@intrinsic
def _address_of(typingctx, array, index):
    """The address of array[index] (an int64 array's slot) as an int64: an out-parameter."""

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.gep(ary.data, [args[1]])
        return builder.ptrtoint(ptr, ir.IntType(64))

    return types.int64(array, index), codegen


PA_CALLBACK_SIGNATURE = types.int32(
    types.voidptr, types.voidptr, types.uint64, types.voidptr, types.uint64, types.voidptr
)


@njit(inline="always", cache=True, nogil=True, _nrt=False)
def _native_block(user, output, frames):  # pragma: no cover
    state = carray(user, (GATE_SLOTS,), np.int64)
    samples = carray(output, (frames * 2,), np.float32)
    for i in range(frames * 2):
        samples[i] = 0.0
    position = state[NATIVE_POSITION]
    jack_frames = 0
    jack_usecs = 0
    if state[JACK_CLIENT] != 0:
        state[CYCLE_FRAMES] = 0
        got = _call_i32(
            state[JACK_CYCLE_TIMES],
            (
                state[JACK_CLIENT],
                _address_of(state, CYCLE_FRAMES),
                _address_of(state, CYCLE_USECS),
                _address_of(state, CYCLE_NEXT),
                _address_of(state, CYCLE_PERIOD),
            ),
        )
        if got == 0:
            jack_frames = state[CYCLE_FRAMES] & 0xFFFFFFFF
            jack_usecs = state[CYCLE_USECS]
    for p in range(min(state[PIN_COUNT], MAX_PINS)):
        descriptor = state[PINS + 2 * p]
        running = state[PINS + 2 * p + 1]
        _call_i64(state[RENDER_PIN], (descriptor, output, np.int64(frames), position, running))
    n = state[NATIVE_BLOCKS]
    r = RECORDS + RECORD_SIZE * (n % RECORD_CAPACITY)
    state[r] = position
    state[r + 1] = frames
    state[r + 2] = jack_frames
    state[r + 3] = jack_usecs
    state[NATIVE_POSITION] = position + frames
    state[NATIVE_BLOCKS] = n + 1  # after the record: a reader never sees a half-written one


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
    if state[NATIVE] != 0:
        _native_block(user, output, frames)
        return PA_CONTINUE
    return _call_i32(state[PY_CALLBACK], (output, frames, time_info, flags))


JACK_PROCESS_SIGNATURE = types.int32(types.uint32, types.voidptr)


@cfunc(JACK_PROCESS_SIGNATURE, cache=True)
def jack_midi_process(nframes, arg):  # pragma: no cover
    head = carray(arg, (JACK_PORTS,), np.int64)
    ports = head[JACK_PORT_COUNT]
    state = carray(arg, (head[MIDI_RING] + MIDI_RECORD * head[MIDI_CAPACITY],), np.int64)
    # A cycle whose events all fit a record is copied into the ring here, with no Python: a
    # thread holding the GIL cannot delay the JACK cycle. Only a cycle with a longer event (a
    # long SysEx) is handed to Python whole, as before.
    total = 0
    for i in range(ports):
        buffer = _call_i64(state[JACK_PORT_GET_BUFFER], (state[JACK_PORTS + i], nframes))
        count = _call_u32(state[JACK_EVENT_COUNT], (buffer,))
        for k in range(count):
            _call_i32(state[JACK_EVENT_GET], (_address_of(state, EVENT), buffer, np.uint32(k)))
            if state[EVENT + 1] > MIDI_BYTES:
                state[JACK_PYTHON_CYCLES] += 1
                return _call_i32(state[JACK_PY_PROCESS], (nframes, np.int64(0)))
        total += count
    if total == 0:
        return 0
    start = _call_u32(state[JACK_LAST_FRAME_TIME], (state[JACK_CLIENT_PTR],))
    capacity = state[MIDI_CAPACITY]
    for i in range(ports):
        buffer = _call_i64(state[JACK_PORT_GET_BUFFER], (state[JACK_PORTS + i], nframes))
        count = _call_u32(state[JACK_EVENT_COUNT], (buffer,))
        for k in range(count):
            written = state[MIDI_WRITTEN]
            if written - state[MIDI_READ] >= capacity:
                state[MIDI_LOST] += 1
                continue
            _call_i32(state[JACK_EVENT_GET], (_address_of(state, EVENT), buffer, np.uint32(k)))
            frame = np.uint32(start + (state[EVENT] & 0xFFFFFFFF))
            r = state[MIDI_RING] + MIDI_RECORD * (written % capacity)
            state[r] = i
            state[r + 1] = frame
            state[r + 2] = _call_i64(state[JACK_FRAMES_TO_TIME], (state[JACK_CLIENT_PTR], frame))
            size = state[EVENT + 1]
            state[r + 3] = size
            data = carray(pointer(state[EVENT + 2]), (size,), np.uint8)
            for j in range(MIDI_RECORD - 4):
                word = 0
                for b in range(8):
                    if 8 * j + b < size:
                        word |= np.int64(data[8 * j + b]) << (8 * b)
                state[r + 4 + j] = word
            state[MIDI_WRITTEN] = written + 1  # after the record: the reader sees it whole
    if state[WAKE_FD] >= 0:
        _call_i64(state[WRITE], (state[WAKE_FD], _address_of(state, ONE), np.int64(8)))
    return 0
