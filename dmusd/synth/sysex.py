"""SysEx messages a GM/GS/XG synth acts on, decoded into plain actions.

Universal non-real-time (7E): GM System On (09 01), GM2 On (09 03), GM System Off (09 02).
Universal real-time (7F): master volume (04 01), master fine tuning (04 03), master coarse
tuning (04 04). Both: MIDI Tuning Standard scale/octave tuning (08 08, 1 byte a pitch class:
00..7F = -64..+63 cents; 08 09, 2 bytes: 14 bits, 2000H = 0, +-100 cents), one cents offset per
pitch class for the channels of its 3-byte mask; the notes that begin after it play tuned, and
the real-time form (7F) retunes the notes already sounding too (MTS: a real-time change takes
effect at once).
Roland GS (41 dd 42 12): GS reset (40 00 7F), use-for-rhythm (40 1x 15), with
the Roland checksum verified. Yamaha XG System On (43 1n 4C 00 00 7E 00). The device id 7F
means "all devices"; we answer to every id, as soft synths do.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class SysexAction:
    """What a SysEx asks for. `kind` is one of the names below; `channel` is 0..15 for
    per-part messages (GS rhythm), -1 otherwise; `value` depends on the kind."""

    kind: str
    value: float = 0.0
    channel: int = -1
    channels: tuple[int, ...] = ()  # scale tuning: the channels it is for
    cents: tuple[float, ...] = ()  # scale tuning: C, C#, ... B
    realtime: bool = False  # scale tuning: the 7F form, which retunes the notes sounding


GM_ON = "gm_on"  # reset to GM defaults
GM2_ON = "gm2_on"  # reset to GM2 defaults (bank MSB 120 drum kits, 121 melodic variations)
GM_OFF = "gm_off"  # leave GM mode (we keep playing GM sounds)
GS_RESET = "gs_reset"
XG_ON = "xg_on"
MASTER_VOLUME = "master_volume"  # value: 0..1 linear fraction of full volume
MASTER_FINE_TUNING = "master_fine_tuning"  # value: cents
MASTER_COARSE_TUNING = "master_coarse_tuning"  # value: semitones
SCALE_TUNING = "scale_tuning"  # channels, cents: an offset per pitch class
GS_RHYTHM = "gs_rhythm"  # value: 0 = normal part, 1 or 2 = drum map; channel: the part's channel

# GS parts 0..15 are channels 10, 1..9, 11..16 (part 0 is the rhythm part on channel 10).
GS_PART_CHANNEL = [9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15]


def decode_sysex(msg: bytes) -> SysexAction | None:
    """The action a complete SysEx (F0 ... F7) asks for, or None when we do not act on it."""
    if len(msg) < 5 or msg[0] != 0xF0 or msg[-1] != 0xF7:
        return None
    body = msg[1:-1]
    if max(body) >= 0x80:  # data bytes are 7-bit: else e.g. a volume past full (bench/fuzz)
        return None
    maker = body[0]
    if maker == 0x7E and len(body) >= 4 and body[2] == 0x09:
        return {1: SysexAction(GM_ON), 2: SysexAction(GM_OFF), 3: SysexAction(GM2_ON)}.get(body[3])
    if maker in (0x7E, 0x7F) and len(body) >= 4 and body[2] == 0x08 and body[3] in (8, 9):
        return _scale_tuning(body[3], body[4:], maker == 0x7F)
    if maker == 0x7F and len(body) >= 6 and body[2] == 0x04:
        sub, lsb, msb = body[3], body[4], body[5]
        value14 = msb << 7 | lsb
        if sub == 0x01:
            return SysexAction(MASTER_VOLUME, value14 / 16383.0)
        if sub == 0x03:
            return SysexAction(MASTER_FINE_TUNING, (value14 - 8192) * 100.0 / 8192.0)
        if sub == 0x04:
            return SysexAction(MASTER_COARSE_TUNING, float(msb - 64))
        return None
    if maker == 0x41 and len(body) >= 8 and body[2] == 0x42 and body[3] == 0x12:
        address, data, checksum = body[4:7], body[7:-1], body[-1]
        if (sum(address) + sum(data) + checksum) & 0x7F:
            return None  # a corrupted GS message must not reset anything
        if address == b"\x40\x00\x7f" and data == b"\x00":
            return SysexAction(GS_RESET)
        if address[0] == 0x40 and address[1] & 0xF0 == 0x10 and address[2] == 0x15 and data:
            part = address[1] & 0x0F
            return SysexAction(GS_RHYTHM, float(data[0]), GS_PART_CHANNEL[part])
        return None
    if (
        maker == 0x43
        and len(body) >= 7
        and body[1] & 0xF0 == 0x10
        and body[2:7] == b"\x4c\x00\x00\x7e\x00"
    ):
        return SysexAction(XG_ON)
    return None


def _scale_tuning(form: int, data: bytes, realtime: bool) -> SysexAction | None:
    """MTS scale/octave tuning (08 08: 1-byte form, 08 09: 2-byte form) after its sub-ids: a
    channel mask ff gg hh (ff bits 0-1: channels 15-16, gg: 8-14, hh: 1-7), then 12 values."""
    size = 1 if form == 8 else 2
    if len(data) != 3 + 12 * size:
        return None
    mask = data[0] << 14 | data[1] << 7 | data[2]
    channels = tuple(ch for ch in range(16) if mask >> ch & 1)
    values = data[3:]
    if size == 1:
        cents = tuple(float(b - 64) for b in values)
    else:
        cents = tuple(
            ((values[2 * i] << 7 | values[2 * i + 1]) - 8192) * 100.0 / 8192.0 for i in range(12)
        )
    return SysexAction(SCALE_TUNING, channels=channels, cents=cents, realtime=realtime)
