"""The native audio callbacks' C entries, as numba compiles them (the state: native_callbacks.py).

Only the engine's build imports this module (engine_library.py): its cfuncs compile, or load
from numba's cache, at import. numba keys a cached cfunc on its own file, so the entries and
the helpers they inline live here together.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import carray, cfunc, njit, types
from numba.extending import intrinsic

from dmusd.io.native_callbacks import (  # the slots, compile-time constants here
    ASLEEP,
    CYCLE_FRAMES,
    CYCLE_NEXT,
    CYCLE_PERIOD,
    CYCLE_USECS,
    CYCLES,
    EVENT,
    GATE_SLOTS,
    JACK_CLIENT,
    JACK_CLIENT_PTR,
    JACK_CYCLE_TIMES,
    JACK_EVENT_COUNT,
    JACK_EVENT_GET,
    JACK_FRAMES_TO_TIME,
    JACK_LAST_FRAME_TIME,
    JACK_PORT_COUNT,
    JACK_PORT_GET_BUFFER,
    JACK_PORTS,
    JACK_PY_PROCESS,
    JACK_PYTHON_CYCLES,
    JO_AREA_COUNT,
    JO_AREAS,
    JO_GATE,
    JO_MAX_FRAMES,
    JO_MIX,
    JO_OVERSIZE,
    JO_PORT_COUNT,
    JO_PORT_GET_BUFFER,
    JO_PORTS,
    JO_SLOTS,
    MAX_PINS,
    MIDI_BYTES,
    MIDI_CAPACITY,
    MIDI_LOST,
    MIDI_READ,
    MIDI_RECORD,
    MIDI_RING,
    MIDI_WRITTEN,
    NATIVE,
    NATIVE_BLOCKS,
    NATIVE_POSITION,
    ONE,
    PA_ABORT,
    PA_CONTINUE,
    PA_OUTPUT_UNDERFLOW,
    PIN_COLUMNS,
    PIN_COUNT,
    PIN_DESCRIPTOR,
    PIN_OUTPUT,
    PIN_RUNNING,
    PIN_SLOTS,
    PINS,
    PY_CALLBACK,
    PY_FAILED,
    RECORD_CAPACITY,
    RECORD_SIZE,
    RECORDS,
    RENDER_PIN,
    SEEN,
    SLEPT_FRAMES,
    WAKE_FD,
    WAKES,
    WRITE,
    XRUNS,
)
from dmusd.synth.engine.pointer import pointer


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


@intrinsic
def _address(typingctx, ptr):
    """A C pointer as an int64 address (what `pointer` turns back)."""

    def codegen(context, builder, signature, args):
        return builder.ptrtoint(args[0], ir.IntType(64))

    return types.int64(ptr), codegen


PA_CALLBACK_SIGNATURE = types.int32(
    types.voidptr, types.voidptr, types.uint64, types.voidptr, types.uint64, types.voidptr
)
JACK_PROCESS_SIGNATURE = types.int32(types.uint32, types.voidptr)


@njit(inline="always", cache=True, nogil=True, _nrt=False)
def _zero(address, count):  # pragma: no cover
    samples = carray(pointer(address), (count,), np.float32)
    for i in range(count):
        samples[i] = 0.0


@njit(inline="always", cache=True, nogil=True, _nrt=False)
def _native_block(user, output, frames):  # pragma: no cover
    state = carray(pointer(user), (GATE_SLOTS,), np.int64)
    _zero(output, frames * 2)
    pins = min(state[PIN_COUNT], MAX_PINS)
    for p in range(pins):
        own = state[PINS + PIN_SLOTS * p + PIN_OUTPUT]
        if own != 0:
            _zero(own, frames * state[PINS + PIN_SLOTS * p + PIN_COLUMNS])
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
    for p in range(pins):
        slot = PINS + PIN_SLOTS * p
        into = state[slot + PIN_OUTPUT]
        if into == 0:
            into = output
        running = state[slot + PIN_RUNNING]
        call = (state[slot + PIN_DESCRIPTOR], into, np.int64(frames), position, running)
        _call_i64(state[RENDER_PIN], call)
    n = state[NATIVE_BLOCKS]
    r = RECORDS + RECORD_SIZE * (n % RECORD_CAPACITY)
    state[r] = position
    state[r + 1] = frames
    state[r + 2] = jack_frames
    state[r + 3] = jack_usecs
    state[NATIVE_POSITION] = position + frames
    state[NATIVE_BLOCKS] = n + 1  # after the record: a reader never sees a half-written one


@njit(inline="always", cache=True, nogil=True, _nrt=False)
def _output_cycle(output, frames, time_info, flags, user):  # pragma: no cover
    """One output cycle into `output` (frames x 2) and the pins' own areas: silence while the
    synth sleeps (False: the areas were not written), else a native or a Python block.
    Addresses (output, user: the gate's state) are int64."""
    state = carray(pointer(user), (GATE_SLOTS,), np.int64)
    state[CYCLES] += 1
    if flags & PA_OUTPUT_UNDERFLOW:
        state[XRUNS] += 1
    if state[ASLEEP] != 0 and state[WAKES] == state[SEEN]:
        _zero(output, frames * 2)
        state[SLEPT_FRAMES] += frames
        return False
    if state[NATIVE] != 0:
        _native_block(user, output, frames)
    elif _call_i32(state[PY_CALLBACK], (output, frames, time_info, flags)) != PA_CONTINUE:
        state[PY_FAILED] = 1
    return True


@cfunc(PA_CALLBACK_SIGNATURE, cache=True)
def pa_output_callback(inputs, output, frames, time_info, flags, user):  # pragma: no cover
    state = carray(user, (GATE_SLOTS,), np.int64)
    _output_cycle(_address(output), np.int64(frames), time_info, np.int64(flags), _address(user))
    if state[PY_FAILED] != 0:
        return PA_ABORT
    return PA_CONTINUE


@cfunc(JACK_PROCESS_SIGNATURE, cache=True)
def jack_audio_process(nframes, arg):  # pragma: no cover
    jo = carray(arg, (JO_SLOTS,), np.int64)
    frames = np.int64(nframes)
    ports = jo[JO_PORT_COUNT]
    get_buffer = jo[JO_PORT_GET_BUFFER]
    gate = carray(pointer(jo[JO_GATE]), (GATE_SLOTS,), np.int64)
    rendered = False
    if frames > jo[JO_MAX_FRAMES]:
        jo[JO_OVERSIZE] += 1
    elif gate[PY_FAILED] == 0:  # after a failed Python block: silence (the sink reports it)
        none = np.int64(0)
        rendered = _output_cycle(jo[JO_MIX], frames, none, none, jo[JO_GATE])
        rendered = rendered and gate[PY_FAILED] == 0
    mix = carray(pointer(jo[JO_MIX]), (frames, 2), np.float32)
    for k in range(ports):
        slot = JO_PORTS + 3 * k
        out = carray(pointer(_call_i64(get_buffer, (jo[slot], nframes))), (frames,), np.float32)
        area = jo[slot + 1]
        column = jo[slot + 2]
        if not rendered:
            for i in range(frames):
                out[i] = 0.0
        elif area < 0:  # the main pair: the mix and every area's own mix
            for i in range(frames):
                out[i] = mix[i, column]
            for a in range(jo[JO_AREA_COUNT]):
                columns = jo[JO_AREAS + 2 * a + 1]
                own = carray(pointer(jo[JO_AREAS + 2 * a]), (frames, columns), np.float32)
                for i in range(frames):
                    out[i] += own[i, column]
        else:
            columns = jo[JO_AREAS + 2 * area + 1]
            own = carray(pointer(jo[JO_AREAS + 2 * area]), (frames, columns), np.float32)
            for i in range(frames):
                out[i] = own[i, column]
    return 0


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
