"""The programs a song can play: a render downloads only the instruments of these.

A channel's program changes only by a Program Change message (and is 0 at power-on and after a
reset), and every fallback the engine takes for a patch nobody has keeps its program number (a
melodic patch falls back to bank 0, a drum kit to the standard kit's program or to kit 0:
engine/note_logic.py). So an instrument whose program number no Program Change of the song
names, and which is not program 0, can never sound in it, whatever its bank select, drum mode
or SysEx do; leaving it out changes no sample. DirectMusic does the same, downloading only the
instruments a segment's band names. A 70 s GM song with TimGM6mb needs 21 of its 136
instruments and 176 of its 520 waves.
"""

from __future__ import annotations

from collections.abc import Iterable

PROGRAM_CHANGE = 0xC0


def song_programs(messages: Iterable[bytes]) -> frozenset[int]:
    """Program 0 and every program a Program Change among `messages` (whole messages, status
    byte first) names."""
    programs = {0}
    for data in messages:
        if len(data) >= 2 and data[0] & 0xF0 == PROGRAM_CHANGE:
            programs.add(data[1] & 0x7F)
    return frozenset(programs)
