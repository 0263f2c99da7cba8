"""ALSA's library error printer, silenced before anything opens ALSA (rtmidi, PortAudio).

libasound prints its errors straight to stderr, e.g. "ALSA lib seq_hw.c:466:(snd_seq_hw_open)
open /dev/snd/seq failed: No such file or directory" on every start without an ALSA sequencer,
which dmusd then reports itself in its own words ("ALSA sequencer unavailable ...: using JACK
MIDI"). snd_lib_error_set_handler takes a C function; a Python callback would take the GIL on
whatever thread ALSA complains from (an audio thread recovering from an underrun), so the
handler is a C function that ignores its arguments and does nothing: libc's getpid.
"""

from __future__ import annotations

import ctypes


def silence_alsa_errors() -> bool:
    """Whether libasound was found and told to keep quiet (no libasound: nothing to silence)."""
    try:
        asound = ctypes.CDLL("libasound.so.2")
        libc = ctypes.CDLL(None)
    except OSError:
        return False
    asound.snd_lib_error_set_handler.argtypes = [ctypes.c_void_p]
    asound.snd_lib_error_set_handler(ctypes.cast(libc.getpid, ctypes.c_void_p))
    return True
