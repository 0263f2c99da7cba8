"""Standard MIDI File reader: types 0, 1 and 2, tempo maps, SysEx, with byte offsets in errors.

Gives every channel and SysEx message of a song with its presentation time in 100 ns units,
computed exactly in integers from the tempo map (no drift over long songs). Type 0 and 1 tracks
play together under one tempo map; type 2 tracks play one after another, each with its own.

Damage policy: what cannot be read at all (no MThd, a bad header, an event that makes no sense
in the middle of a track) raises MidiFileError naming the file and byte offset. A file cut short
inside its last event, or with bytes after its last chunk, plays what is complete and says so in
`warnings`, as most players do.

Stray system bytes: an SMF track may hold only channel, SysEx (F0/F7) and meta (FF) events, but
files written by recorders of a MIDI cable carry the cable's system messages too. Each one is
skipped, counted in `MidiSong.stray_system` and reported once per track in `warnings`:
- real-time F8-FE: one byte each, wherever they stand (between events, or between the data
  bytes of a channel message, where a cable puts them); they leave running status alone
  (MIDI 1.0, "Real-Time messages ... do not affect Running Status").
- system common F1 (MTC quarter frame, 1 data byte), F2 (song position, 2), F3 (song select,
  1): the status byte and the data bytes that follow it, at most that many and only bytes below
  0x80 (a status byte or the track's end ends the message early); F4, F5 (undefined) and F6
  (tune request): the one byte. System common messages cancel running status (MIDI 1.0, "Running
  Status will be stopped when any other Status byte intervenes", System Common included), so a
  data byte right after one, with no status byte of its own, is an error naming both offsets.
Meta and SysEx events leave running status alone, as files in the wild rely on (the SMF 1.0 text
says they cancel it; players honour the files).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from dmusd.errors import MidiFileError
from dmusd.regular_file import open_regular

REF_PER_SECOND = 10_000_000
DEFAULT_TEMPO = 500_000  # microseconds per quarter note (120 bpm)
META_TEMPO = 0x51
META_END_OF_TRACK = 0x2F
# System common status -> how many data bytes follow it (F4/F5 are undefined: none)
SYSTEM_COMMON_DATA = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF4: 0, 0xF5: 0, 0xF6: 0}
REAL_TIME_FIRST, REAL_TIME_LAST = 0xF8, 0xFE  # 0xFF in a file is a meta event, not a reset


@dataclass(slots=True)
class MidiSong:
    format: int
    tracks: int
    division: int  # ticks per quarter note, or ticks per second for SMPTE timing
    # (time in 100 ns, track index, raw message bytes), in playing order
    events: list[tuple[int, int, bytes]] = field(default_factory=list)
    duration: int = 0  # 100 ns: the latest event or end-of-track
    warnings: list[str] = field(default_factory=list)
    stray_system: int = 0  # system common / real-time messages skipped (see the module doc)


@dataclass(slots=True)
class _TrackEvent:
    tick: int
    data: bytes | None  # a message, or None for a tempo change
    tempo: int = 0


def read_midi_file(path: str | Path) -> MidiSong:
    path = str(path)
    stream, _ = open_regular(path, lambda message: MidiFileError(message, file=path))
    try:
        with stream:
            data = stream.read()
    except OSError as error:
        raise MidiFileError(f"cannot read: {error.strerror or error}", file=path) from None
    return parse_midi_bytes(data, path)


def parse_midi_bytes(data: bytes, name: str = "<midi>") -> MidiSong:
    if len(data) < 14 or data[:4] != b"MThd":
        raise MidiFileError("not a Standard MIDI File: no MThd header", file=name, offset=0)
    (hlen,) = struct.unpack_from(">I", data, 4)
    if hlen < 6 or 8 + hlen > len(data):
        raise MidiFileError(f"MThd length {hlen} is invalid", file=name, offset=4)
    fmt, ntracks, division = struct.unpack_from(">HHH", data, 8)
    if fmt > 2:
        raise MidiFileError(f"unknown SMF format {fmt}", file=name, offset=8)
    ticks_per_second = None
    if division & 0x8000:  # SMPTE: -frames per second, ticks per frame
        fps = 256 - (division >> 8)
        if fps not in (24, 25, 29, 30):
            raise MidiFileError(f"SMPTE rate {fps} is not 24, 25, 29 or 30", file=name, offset=12)
        tpf = division & 0xFF
        if tpf == 0:  # found by bench/fuzz/smf.py: every event time divided by zero
            raise MidiFileError(
                f"SMPTE division of {fps} frames/s has 0 ticks per frame", file=name, offset=13
            )
        ticks_per_second = (30000 * tpf, 1001) if fps == 29 else (fps * tpf, 1)
    elif division == 0:
        raise MidiFileError("division is 0 ticks per quarter note", file=name, offset=12)
    song = MidiSong(fmt, ntracks, division)

    tracks: list[list[_TrackEvent]] = []
    pos = 8 + hlen
    while pos < len(data) and len(tracks) < ntracks:
        if len(data) - pos < 8:
            song.warnings.append(
                f"offset {pos}: {len(data) - pos} stray bytes after the last chunk"
            )
            break
        kind, length = data[pos : pos + 4], struct.unpack_from(">I", data, pos + 4)[0]
        body = pos + 8
        if kind != b"MTrk":
            if not kind.isascii() or not kind.isalnum():
                raise MidiFileError(
                    f"expected a chunk, found bytes {kind.hex(' ')}", file=name, offset=pos
                )
            pos = body + length  # an unknown chunk: skip it, as the spec asks
            continue
        end = body + length
        if end > len(data):
            song.warnings.append(
                f"offset {pos}: track {len(tracks)} says {length} bytes but the file ends "
                f"{end - len(data)} bytes early; playing what is complete"
            )
            end = len(data)
        tracks.append(_read_track(data, body, end, name, song, len(tracks)))
        pos = end
    if len(tracks) < ntracks:
        song.warnings.append(f"the header announces {ntracks} tracks, the file has {len(tracks)}")
    elif pos < len(data):
        song.warnings.append(f"offset {pos}: {len(data) - pos} bytes after the last track ignored")

    if fmt == 2:
        start = 0
        for i, track in enumerate(tracks):
            start = _place(song, [track], [i], division, ticks_per_second, start)
    else:
        _place(song, tracks, list(range(len(tracks))), division, ticks_per_second, 0)
    return song


def _read_track(data: bytes, pos: int, end: int, name: str, song: MidiSong, index: int):
    events: list[_TrackEvent] = []
    tick = 0
    running = 0
    cancelled_at = -1  # offset of the system common message that last cancelled running status
    strays = _Strays()
    while pos < end:
        start = pos
        try:
            if data[pos] < 0x80:  # a one-byte delta, as most are
                tick += data[pos]
                pos += 1
            else:
                delta, pos = _vlq(data, pos, end, name)
                tick += delta
            status = data[pos] if pos < end else _cut()
            if status < 0x80:
                if not running:
                    why = (
                        f" (the system common message at offset {cancelled_at} cancelled it)"
                        if cancelled_at >= 0
                        else ""
                    )
                    raise MidiFileError(
                        f"data byte {status:#04x} with no running status{why}",
                        file=name,
                        offset=pos,
                    )
                status = running
            else:
                pos += 1
            # Meta and SysEx events leave running status alone: files in the wild rely on it
            # continuing past them, and players honour that.
            if status == 0xFF:
                mtype = data[pos] if pos < end else _cut()
                length, pos = _vlq(data, pos + 1, end, name)
                if pos + length > end:
                    _cut()
                body = data[pos : pos + length]
                pos += length
                if mtype == META_TEMPO and length == 3:
                    tempo = int.from_bytes(body, "big")
                    if tempo == 0:
                        raise MidiFileError(
                            "tempo of 0 us per quarter note", file=name, offset=start
                        )
                    events.append(_TrackEvent(tick, None, tempo))
                elif mtype == META_END_OF_TRACK:
                    events.append(_TrackEvent(tick, b""))
                    break
            elif status in (0xF0, 0xF7):
                length, pos = _vlq(data, pos, end, name)
                if pos + length > end:
                    _cut()
                body = data[pos : pos + length]
                pos += length
                # F0 <len> data: a SysEx (F0 restored); F7 <len> data: raw bytes as they are
                events.append(_TrackEvent(tick, (b"\xf0" + body) if status == 0xF0 else body))
            elif status >= 0xF0:  # a stray system message: skipped (see the module doc)
                strays.skip(status, pos - 1)
                if status in SYSTEM_COMMON_DATA:
                    running, cancelled_at = 0, pos - 1
                    for _ in range(SYSTEM_COMMON_DATA[status]):
                        if pos >= end or data[pos] >= 0x80:
                            break
                        pos += 1
            else:
                n = 1 if 0xC0 <= status < 0xE0 else 2
                body = data[pos : min(pos + n, end)]  # never past the track's own end
                if len(body) == n and max(body) < 0x80:  # plain data bytes, as nearly always
                    pos += n
                else:  # cut short, or real-time bytes interleaved: byte by byte
                    body = bytearray()
                    while len(body) < n:
                        b = data[pos] if pos < end else _cut()
                        if REAL_TIME_FIRST <= b <= REAL_TIME_LAST:
                            strays.skip(b, pos)  # a cable interleaves real-time bytes anywhere
                        elif b >= 0x80:
                            raise MidiFileError(
                                f"message {status:#04x} has a status byte where data belongs",
                                file=name,
                                offset=pos,
                            )
                        else:
                            body.append(b)
                        pos += 1
                running = status
                events.append(_TrackEvent(tick, bytes([status]) + body))
        except _Cut:
            song.warnings.append(
                f"offset {start}: track {index} is cut short inside this event (ignored)"
            )
            break
    if strays.count:
        song.stray_system += strays.count
        song.warnings.append(
            f"offset {strays.first_offset}: track {index}: skipped {strays.count} stray system "
            f"message(s) that a MIDI file may not hold, the first {strays.first:#04x} here"
        )
    return events


class _Strays:
    """The stray system messages skipped in one track: how many, and the first one."""

    __slots__ = ("count", "first", "first_offset")

    def __init__(self) -> None:
        self.count = 0
        self.first = self.first_offset = -1

    def skip(self, status: int, offset: int) -> None:
        if not self.count:
            self.first, self.first_offset = status, offset
        self.count += 1


class _Cut(Exception):
    """The track's bytes end inside an event."""


def _cut():
    raise _Cut


def _vlq(data: bytes, pos: int, end: int, name: str) -> tuple[int, int]:
    value = 0
    for i in range(4):
        if pos + i >= end:
            _cut()
        b = data[pos + i]
        value = (value << 7) | (b & 0x7F)
        if b < 0x80:
            return value, pos + i + 1
    raise MidiFileError("variable-length quantity longer than 4 bytes", file=name, offset=pos)


def _place(song, tracks, indices, division, ticks_per_second, start: int) -> int:
    """Merge tracks under one tempo map into song.events from `start`; returns their end."""
    merged = sorted(
        (
            (ev.tick, i, k, ev)
            for i, track in zip(indices, tracks, strict=True)
            for k, ev in enumerate(track)
        ),
        key=lambda item: (item[0], item[1], item[2]),
    )
    # Exact integer time: units of 100 ns x division (quarter-note timing) or x ticks/s.
    # Rounded UP to 100 ns: the sample clock floors, so an event whose exact time is a whole
    # sample lands on that sample, not on the one before.
    tempo = DEFAULT_TEMPO
    last_tick = 0
    acc = 0  # 100 ns x denominator
    end = start
    for tick, i, _, ev in merged:
        dt = tick - last_tick
        last_tick = tick
        if ticks_per_second is None:
            acc += dt * tempo * 10
            now = start - (-acc // division)
        else:
            num, den = ticks_per_second
            acc += dt * REF_PER_SECOND * den
            now = start - (-acc // num)
        if ev.data is None:
            tempo = ev.tempo
        elif ev.data:
            song.events.append((now, i, ev.data))
        end = max(end, now)
    song.duration = max(song.duration, end)
    return end
