"""Choosing the MIDI API the daemon's ports open on, before anything else starts.

Kept apart from MidiPorts and free of numba, like audio_device.py: the daemon checks its MIDI API
before it compiles or loads the voice engine. "auto" is the ALSA sequencer when it opens, else
JACK MIDI (RtMidi does not fall back by itself); JACK MIDI needs a JACK server that answers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import rtmidi

from dmusd.errors import DmusdError

log = logging.getLogger("dmusd.midi")


@dataclass(frozen=True, slots=True)
class MidiApi:
    """The RtMidi API chosen, and why ALSA was passed over ("" if it was not), for messages."""

    api: int
    fallback: str = ""

    @property
    def backend(self) -> str:
        return "jack" if self.api == rtmidi.API_UNIX_JACK else "alsa"


def choose_midi_api(midi: Any) -> MidiApi:
    """The API `midi` (MidiConfig) asks for; DmusdError when an asked-for ALSA will not open."""
    backend = getattr(midi, "backend", "auto")
    if backend == "jack":
        return MidiApi(rtmidi.API_UNIX_JACK)
    try:  # probe the ALSA sequencer
        rtmidi.MidiIn(rtmidi.API_LINUX_ALSA, name=midi.client_name).delete()
        return MidiApi(rtmidi.API_LINUX_ALSA)
    except rtmidi.RtMidiError as e:
        if backend == "alsa":
            raise DmusdError(
                f"the ALSA sequencer cannot be opened ({e}); load snd-seq or set "
                'midi.backend = "jack" (or "auto")',
                where="midi",
            ) from None
        log.info("ALSA sequencer unavailable (%s): using JACK MIDI", e)
        why = f"; the ALSA sequencer could not be opened either ({e})"
        return MidiApi(rtmidi.API_UNIX_JACK, why)
