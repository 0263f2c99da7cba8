"""Choosing the MIDI API the daemon's ports open on, before anything else starts.

Kept apart from MidiPorts and free of numba, like audio_device.py: the daemon checks its MIDI API
before it compiles or loads the voice engine. "auto" is the ALSA sequencer when it opens, else
JACK MIDI; JACK MIDI needs a JACK server that answers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from dmusd.errors import DmusdError
from dmusd.io.midi_alsa import probe

log = logging.getLogger("dmusd.midi")


@dataclass(frozen=True, slots=True)
class MidiApi:
    """The MIDI backend chosen ("jack" or "alsa"), and why ALSA was passed over ("" if it was
    not), for messages."""

    backend: str
    fallback: str = ""


def choose_midi_api(midi: Any) -> MidiApi:
    """The API `midi` (MidiConfig) asks for; DmusdError when an asked-for ALSA will not open."""
    backend = getattr(midi, "backend", "auto")
    if backend == "jack":
        return MidiApi("jack")
    why = probe(midi.client_name)  # the sequencer, opened and closed again
    if not why:
        return MidiApi("alsa")
    if backend == "alsa":
        raise DmusdError(
            f"the ALSA sequencer cannot be opened ({why}); load snd-seq or set "
            'midi.backend = "jack" (or "auto")',
            where="midi",
        )
    log.info("ALSA sequencer unavailable (%s): using JACK MIDI", why)
    return MidiApi("jack", f"; the ALSA sequencer could not be opened either ({why})")
