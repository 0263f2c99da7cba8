"""What `dmusd run` does before the Daemon starts, cheapest and most likely to fail first.

1. check_devices: the audio output and the MIDI API, without numba. With no usable device the
   daemon says so and exits 3 within a second, instead of after compiling the engine.
2. prepare_engine: import the daemon's compiled parts (the engine's C entries and the native
   callbacks compile or load from numba's cache at import) and run one silent block through each
   kind of pin the config has, under a CompileWatch (one line when numba compiles, systemd's
   start timeout extended meanwhile).

`python -m dmusd.start_up` runs step 2 for the config dmusd would use, and builds the built-in GM
bank's cache: .ci/setup runs it, so that the first `dmusd run` after setup, by hand or as the
user unit (one cache folder, user_cache.py), loads everything from the cache.
"""

from __future__ import annotations

import logging
import sys
import time
from contextlib import closing
from dataclasses import dataclass, replace
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


def prepare_engine(config: Config, notifier: Notifier | None = None) -> CompileWatch:
    """Compile or load every compiled function the daemon will run; the watch says which."""
    from dmusd.compile_watch import CompileWatch

    started = time.monotonic()
    with CompileWatch(notifier) as watch:
        import dmusd.daemon  # noqa: F401 (its modules' C entries compile or load at import)

        warm_up(config)
    log.debug("engine ready in %.2f s", time.monotonic() - started)
    return watch


def warm_up(config: Config) -> None:
    """Reach every compiled function the pins run before the audio stream exists.

    The first render would do it otherwise, on the audio thread: a cold compile takes tens of
    seconds, and JACK counts every cycle meanwhile as an xrun. One silent block through a
    throwaway pin of each configured kind, on a sample-count clock, reaches every compiled
    function; the real pins then find them ready."""
    import numpy as np

    from dmusd.kernel.clock import SampleCountClock
    from dmusd.pin import SynthPin

    rate = config.audio.sample_rate
    buffer = np.zeros((config.audio.period, 2), dtype=np.float32)
    kinds = {
        replace(pin, name="warm-up", channel_groups=1, voices=4, banks=(), port_names=(),
                volume_db=0.0, capture=False)
        for pin in config.pins
    }  # fmt: skip
    for pin in kinds:
        with closing(SynthPin(pin, rate, SampleCountClock(rate))) as live:
            live.render(buffer, config.audio.period, 0, 0, True)


def main() -> int:
    """Fill the caches for the config dmusd would use (see the module docstring)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        config = load_config(None)
        started = time.monotonic()
        watch = prepare_engine(config)
        from dmusd.banks.gm_bank import default_bank

        default_bank()
    except DmusdError as error:
        print(f"dmusd: {error}", file=sys.stderr)
        return error.exit_code
    state = "compiled" if watch.started is not None else "already in the cache"
    print(f"dmusd: voice engine {state}, GM bank cached ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
