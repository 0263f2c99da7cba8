"""The real-time callbacks that answer a cycle without entering Python, compiled with numba.

An idle daemon is woken by its audio server every period (47 times a second at 1024 frames),
twice when MIDI comes through JACK: once for the audio stream, once for the MIDI inputs. Entering
Python for each costs more than the target of 1 % of a core allows for all of them (measured
here: an empty sounddevice callback 0.88 % and an empty JACK-Client process callback 0.60 %,
against 0.28 % for the same PortAudio stream with a C callback and 0.25 % for a C JACK client,
jack_thru). So each callback is a C function (callback_entries.py, loaded from the engine's
library: engine_library.py) that does the nothing-to-do case itself and calls the Python
callback only otherwise:

- `pa_output_callback` (PortAudio's PaStreamCallback): while the synth sleeps (SleepGate), it
  writes zeros and counts the frames. While the native mode is on (the synth plays: voices
  sound), it renders every pin itself by calling the pin's C function (synth/engine/
  native_pin.py) with its descriptor, and leaves a record of the block (position, frames, and
  JACK's cycle times when it runs on JACK) for the Python side's bookkeeping (native_mode.py):
  no Python runs on the audio thread then, so nothing that holds the GIL can delay audio.
  Otherwise it calls the Python callback.
- `jack_audio_process` (the process callback of dmusd's own JACK audio client, jack_output.py):
  the same cycle as `pa_output_callback`, rendered into the mix buffer and each pin's own area,
  then copied into the JACK ports (the main pair: the mix plus every area's mix; then each pin's
  pair and stems). PortAudio's JACK host cannot open more ports than the device has.
- `jack_midi_process` (JACK's process callback): calls the Python one only in a cycle where a
  MIDI input holds events.

Both read their state from a shared int64 array (the `user`/`arg` pointer); the Python callback
and the libjack functions are called by their addresses, kept in that array, through
`call_address`. Pointers travel as int64: on the 64-bit ABIs a pointer argument is passed as an
integer is.
"""

from __future__ import annotations

# -- the shared state ----------------------------------------------------------------------------
# PortAudio output (SleepGate.state)
PY_CALLBACK = 0  # address of the Python callback: int(out, frames, time_info, flags)
ASLEEP = 1  # 1: the Python side found nothing to do and nothing pending
WAKES = 2  # bumped by anyone who gives the synth work, after giving it
SEEN = 3  # WAKES as the Python callback read it before the render that found nothing to do
CYCLES = 4  # callbacks, both kinds
SLEPT_FRAMES = 5  # frames answered with zeros here
XRUNS = 6  # callbacks that reported an output underflow
PY_FAILED = 7  # 1: the Python callback raised (it keeps the error): no more blocks
# the native mode (NativeMode)
NATIVE = 8  # 1: render the pins here
NATIVE_POSITION = 9  # the output position of the next native block
NATIVE_BLOCKS = 10  # blocks rendered here, ever (records written)
RENDER_PIN = 11  # address of pin_entry.render_pin
JACK_CLIENT = 12  # the jack_client_t whose cycle times a record takes (0: none)
JACK_CYCLE_TIMES = 13  # address of jack_get_cycle_times
CYCLE_FRAMES = 14  # its out-parameters (uint32, uint64 us, uint64 us, float)
CYCLE_USECS = 15
CYCLE_NEXT = 16
CYCLE_PERIOD = 17
PIN_COUNT = 18
PINS = 20  # per pin: its descriptor's address, 1 if it is in RUN, its output, its columns
PIN_SLOTS = 4
PIN_DESCRIPTOR, PIN_RUNNING, PIN_OUTPUT, PIN_COLUMNS = range(PIN_SLOTS)  # output 0: the block's
MAX_PINS = 16
RECORDS = PINS + PIN_SLOTS * MAX_PINS
RECORD_SIZE = 4  # position, frames, JACK's frame counter, JACK's cycle start (us)
RECORD_CAPACITY = 4096  # 20 s of 256-frame periods: the bookkeeping may fall that far behind
GATE_SLOTS = RECORDS + RECORD_SIZE * RECORD_CAPACITY

PA_CONTINUE = 0
PA_ABORT = 2
PA_OUTPUT_UNDERFLOW = 0x4

# JACK audio process (JackOutputStream.state): the cycle runs as PortAudio's callback would
# into the mix buffer and the pins' own buffers (the output areas), then fills the ports from them
JO_GATE = 0  # address of the SleepGate's state
JO_PORT_GET_BUFFER = 1  # address of jack_port_get_buffer
JO_MIX = 2  # the mix buffer (max frames x 2 float32): pins without an own area render here
JO_MAX_FRAMES = 3  # frames the areas hold: a longer cycle is answered with silence
JO_AREA_COUNT = 4
JO_PORT_COUNT = 5
JO_OVERSIZE = 6  # cycles longer than JO_MAX_FRAMES, answered with silence
JO_AREAS = 8  # per pin with its own ports: its area's address, its columns
MAX_AREAS = MAX_PINS
JO_PORTS = JO_AREAS + 2 * MAX_AREAS  # per port: jack_port_t*, area (-1: the main mix), column
JO_MAX_PORTS = 2 + MAX_AREAS * 38  # the main pair, then a pin's mix, effects and 16 channels
JO_SLOTS = JO_PORTS + 3 * JO_MAX_PORTS

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
