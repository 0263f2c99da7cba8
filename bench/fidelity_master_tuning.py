"""The reference for a file that sets master tuning, which FluidSynth 2.6 does not implement.

Master Fine / Coarse Tuning (Universal Real Time SysEx F0 7F dd 04 03 lsb msb F7 and
04 04 lsb msb, MMA CA-025, part of GM2) tune the whole synth; FluidSynth 2.6's SysEx handler
ignores them (fluid_synth.c knows MTS and the GM/GS/XG resets only), so against its render of
the file itself the suite would measure FluidSynth's omission, not dmusd. Its reference render
plays a copy where each master tuning message is the channel tuning it equals, on all 16
channels: RPN 0001 (fine, the same 14-bit cents code, 2000H = 0, +-100 cents) or RPN 0002
(coarse, MSB - 64 semitones), then RPN null, at the same tick. FluidSynth applies both RPNs to
the notes already sounding, as dmusd applies master tuning. A file that also uses RPN 1 or 2
itself could not be translated this way: it is left as it is.
"""

from __future__ import annotations

from pathlib import Path

import mido

_FINE, _COARSE = 3, 4  # the sub-id 2 of 7F dd 04 nn


def _master_tuning(msg: mido.Message) -> tuple[int, int, int] | None:
    """(RPN number, MSB, LSB) a master tuning SysEx equals, else None."""
    if msg.type != "sysex" or len(msg.data) != 6:
        return None
    maker, _, sub1, sub2, lsb, msb = msg.data
    if maker != 0x7F or sub1 != 0x04 or sub2 not in (_FINE, _COARSE):
        return None
    return (1, msb, lsb) if sub2 == _FINE else (2, msb, 0)


def _uses_channel_tuning(song: mido.MidiFile) -> bool:
    return any(
        m.type == "control_change" and m.control == 100 and m.value in (1, 2)
        for track in song.tracks
        for m in track
    )


def _channel_tuning(rpn: int, msb: int, lsb: int, time: int) -> list[mido.Message]:
    data = ((101, 0), (100, rpn), (6, msb), (38, lsb), (101, 127), (100, 127))
    out = [
        mido.Message("control_change", channel=ch, control=control, value=value)
        for ch in range(16)
        for control, value in data
    ]
    out[0] = out[0].copy(time=time)  # the first keeps the SysEx's delta time; the rest at once
    return out


def reference_song(song: Path, work: Path) -> Path:
    """The file FluidSynth renders for `song`: itself, or a copy in `work` with each master
    tuning as channel tuning."""
    midi = mido.MidiFile(str(song))
    if _uses_channel_tuning(midi):
        return song
    changed = False
    for track in midi.tracks:
        messages = []
        for msg in track:
            tuning = _master_tuning(msg)
            if tuning is None:
                messages.append(msg)
            else:
                messages.extend(_channel_tuning(*tuning, msg.time))
                changed = True
        track[:] = messages
    if not changed:
        return song
    copy = work / f"{song.stem}.channel-tuning.mid"
    midi.save(str(copy))
    return copy
