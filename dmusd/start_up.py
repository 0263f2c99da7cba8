"""What `dmusd run` does before the Daemon starts, cheapest and most likely to fail first.

1. check_devices: the audio output and the MIDI API, without numba. With no usable device the
   daemon says so and exits 3 within a second, instead of after compiling the engine.
2. prepare_engine: load the engine's C entries from its library in the cache
   (engine_library.py); where there is none yet, build it under a CompileWatch (one line when
   numba compiles, systemd's start timeout extended meanwhile).

`python -m dmusd.start_up` runs step 2 and builds the built-in GM bank's cache: .ci/setup runs
it, so that the first `dmusd run` after setup, by hand or as the user unit (one cache folder,
user_cache.py), loads everything from the cache.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dmusd.config import Config, load_config
from dmusd.errors import DmusdError
from dmusd.io.audio_device import AudioOutput, choose_output, jack_server
from dmusd.io.midi_api import MidiApi, choose_midi_api
from dmusd.io.sd_notify import Notifier

if TYPE_CHECKING:  # compile_watch imports numba: not before the devices are checked
    from dmusd.compile_watch import CompileWatch

log = logging.getLogger("dmusd")


@dataclass(frozen=True, slots=True)
class Devices:
    """What check_devices chose, for AudioSink.start and MidiPorts.start."""

    audio: AudioOutput
    midi: MidiApi


def check_devices(config: Config) -> Devices:
    """The audio output and MIDI API the config asks for; AudioDeviceError (exit 3) when there
    is no audio output, DmusdError when JACK MIDI has no JACK server to open on."""
    audio = choose_output(config.audio)
    midi = choose_midi_api(config.midi)
    if midi.backend == "jack" and audio.backend != "jack":
        rate, why = jack_server(f"{config.midi.client_name}-probe")
        if not rate:
            raise DmusdError(
                f"JACK MIDI needs a JACK server ({why}){midi.fallback}; start a JACK server "
                "(jackd, or PipeWire's JACK)",
                where="midi (jack)",
            )
    return Devices(audio, midi)


def prepare_engine(notifier: Notifier | None = None) -> CompileWatch | None:
    """Load the engine's C entries, building its library first if the cache has none (numba
    compiles then, or loads its own cache). Returns the watch a build ran under, else None."""
    from dmusd.engine_library import engine_entries, is_built

    started = time.monotonic()
    if is_built():
        entries = engine_entries()
        watch = None
    else:
        from dmusd.compile_watch import CompileWatch

        with CompileWatch(notifier) as watch:
            entries = engine_entries()
    log.debug("engine ready in %.2f s from %s", time.monotonic() - started, entries.source)
    return watch


def main() -> int:
    """Fill the caches for the config dmusd would use (see the module docstring)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        load_config(None)  # a config mistake is told here, not at the first `dmusd run`
        started = time.monotonic()
        watch = prepare_engine()
        from dmusd.banks.gm_bank import default_bank

        default_bank()
    except DmusdError as error:
        print(f"dmusd: {error}", file=sys.stderr)
        return error.exit_code
    if watch is None:
        state = "already built"
    elif watch.started is not None:
        state = "compiled and built"
    else:
        state = "built from numba's cache"
    print(f"dmusd: voice engine {state}, GM bank cached ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
