"""dmusd: a real-time software synthesizer daemon on the DirectMusic DMus port/miniport model,
and a library that renders MIDI to numpy arrays and files.

    import dmusd
    audio = dmusd.render_midi("song.mid", banks=["gm.sf2"])  # float32, shape (frames, 2)
    synth = dmusd.Synth(banks=["gm.sf2"], rate=48000)         # banks parsed once
    synth.note_on(0, 60, 100); a = synth.render(24000)          # sample-exact, from frame 0

`import dmusd` stays cheap: the synth (numpy, numba's engine) is imported on first use of
Synth, render_midi or render_events (module __getattr__, PEP 562). The errors are plain classes
and come at once.
"""

from __future__ import annotations

from dmusd.errors import (
    BankError,
    ConfigError,
    DmusdError,
    Interrupted,
    MidiFileError,
    OutputError,
    PropertyError,
    SampleMemoryError,
)
from dmusd.user_cache import use_numba_cache

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (6 ms)
if TYPE_CHECKING:
    from dmusd.render_settings import RenderSettings
    from dmusd.synth_api import MidiFileWarning, Synth, render_events, render_midi

__version__ = "0.1.0"

# before any dmusd module can import numba, which reads its cache folder once (user_cache.py)
use_numba_cache()

_LAZY = {
    "Synth": "dmusd.synth_api",
    "render_midi": "dmusd.synth_api",
    "render_events": "dmusd.synth_api",
    "MidiFileWarning": "dmusd.synth_api",
    "RenderSettings": "dmusd.render_settings",
}

__all__ = [
    "BankError",
    "ConfigError",
    "DmusdError",
    "Interrupted",
    "MidiFileError",
    "MidiFileWarning",
    "OutputError",
    "PropertyError",
    "RenderSettings",
    "SampleMemoryError",
    "Synth",
    "render_events",
    "render_midi",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dmusd' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
