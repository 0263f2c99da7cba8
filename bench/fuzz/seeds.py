"""Seed inputs of the atheris targets: small valid files and buffers the project builds itself.

Small on purpose: libFuzzer mutates a seed byte by byte, so every byte of sample data is a byte
not spent on structure, and a short input parses many times a second. Each bank here has every
feature of the big test bank (loops, key groups, layers, a stereo pair, articulation at both
levels, modulators, INFO) over waves of a few dozen frames.
"""

from __future__ import annotations

import io
import json
import struct

import numpy as np

from dmusd.banks.dls_writer import dls_bytes
from dmusd.banks.download import build_bank_downloads, parse_download
from dmusd.banks.model import (
    Bank,
)
from tests.banks.builders import SfSample, SfZone, sample_bank, sf2_bytes


def tiny_bank(bits: int = 16, stereo: bool = True) -> Bank:
    """tests/banks/builders.sample_bank's features over 14..64-frame waves."""
    return sample_bank(bits, stereo, frames=64)


def dls_seeds() -> list[bytes]:
    return [
        dls_bytes(tiny_bank(16)),
        dls_bytes(tiny_bank(8)),
        dls_bytes(tiny_bank(16, stereo=False), level=1),
    ]


def _soundfont(vorbis: bool = False, sm24: bool = False) -> bytes:
    """Two samples (one looped), two instruments with a global zone, key and velocity splits,
    modulators, and two presets, one of them a drum kit (bank 128)."""
    frames = 256 if vorbis else 48  # a Vorbis stream has a floor of a few hundred bytes anyway
    a = (np.sin(np.arange(frames) * 0.3) * 12000).astype(np.int16)
    b = (np.sin(np.arange(frames // 2) * 0.7) * 9000).astype(np.int16)
    loop = (4, frames - 8)
    samples = [
        SfSample(a, 22050, 60, 0, loop, "a", vorbis=vorbis),
        SfSample(b, 44100, 72, -5, None, "b", vorbis=vorbis),
    ]
    velocity_to_attenuation = (0x0502, 48, 960, 0, 0)
    cc1_to_vibrato = (0x0081, 6, 50, 0, 0)
    instruments = [
        (
            "keys",
            [
                SfZone([(34, -7200), (38, -2400), (8, 9000)], [cc1_to_vibrato]),  # global zone
                SfZone([(43, (0, 59)), (44, (0, 100)), (54, 1), (17, -200), (53, 0)]),
                SfZone([(43, (60, 127)), (51, 1), (52, -20), (58, 64), (53, 1)]),
            ],
        ),
        ("drum", [SfZone([(43, (36, 40)), (57, 1), (48, 60), (53, 1)], [velocity_to_attenuation])]),
    ]
    presets = [
        ("piano", 0, 0, [SfZone([(41, 0)])]),
        ("kit", 128, 0, [SfZone([(43, (30, 50)), (41, 1)])]),
    ]
    return sf2_bytes(samples, instruments, presets, (3, 1) if vorbis else (2, 4), sm24=sm24)


def sf2_seeds() -> list[bytes]:
    return [_soundfont(), _soundfont(sm24=True)]


def sf3_seeds() -> list[bytes]:
    return [_soundfont(vorbis=True)]


def smf_seeds() -> list[bytes]:
    """Types 0, 1 and 2 written by mido, a running-status file and an SMPTE-timed one."""
    import mido

    def song(kind: int, tracks: list[list[mido.Message | mido.MetaMessage]]) -> bytes:
        midi = mido.MidiFile(type=kind, ticks_per_beat=96)
        for events in tracks:
            midi.tracks.append(mido.MidiTrack(events))
        out = io.BytesIO()
        midi.save(file=out)
        return out.getvalue()

    conductor = [
        mido.MetaMessage("set_tempo", tempo=400_000, time=0),
        mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0),
        mido.MetaMessage("set_tempo", tempo=700_000, time=192),
    ]
    notes = [
        mido.Message("program_change", channel=0, program=5, time=0),
        mido.Message("control_change", channel=0, control=7, value=100, time=0),
        mido.Message("note_on", channel=0, note=60, velocity=90, time=0),
        mido.Message("pitchwheel", channel=0, pitch=2000, time=24),
        mido.Message("note_off", channel=0, note=60, velocity=0, time=48),
        mido.Message("sysex", data=[0x7E, 0x7F, 0x09, 0x01], time=0),
        mido.Message("note_on", channel=9, note=36, velocity=120, time=10),
        mido.Message("aftertouch", channel=9, value=30, time=5),
        mido.Message("note_off", channel=9, note=36, time=20),
    ]
    type0 = song(0, [conductor[:1] + notes])
    type1 = song(1, [conductor, notes, notes[2:5]])
    type2 = song(2, [conductor[:1] + notes[:5], notes[5:]])
    # Running status and a 0x9n velocity-0 note off, by hand (mido writes full status bytes).
    body = bytes.fromhex("00 90 3c 40 10 3e 40 10 3c 00 00 3e 00 00 ff 2f 00")
    running = (
        b"MThd" + struct.pack(">IHHH", 6, 0, 1, 48) + b"MTrk" + struct.pack(">I", len(body)) + body
    )
    smpte = bytearray(type0)
    smpte[12:14] = struct.pack(">bB", -25, 40)  # 25 frames/s, 40 ticks per frame
    return [type0, type1, type2, running, bytes(smpte)]


def download_waves() -> dict:
    """The waves a pin holds before the instrument buffers arrive (dwDLId -> Wave)."""
    return _downloads()[1]


def _downloads() -> tuple[list[bytes], dict]:
    bank = tiny_bank(16)
    buffers = list(build_bank_downloads(list(bank.instruments.values())))
    waves = {}
    for buffer in buffers:
        parsed = parse_download(buffer, waves)
        if hasattr(parsed, "wave"):
            waves[parsed.dl_id] = parsed.wave
    return buffers, waves


def download_seeds() -> list[bytes]:
    """Every wave and instrument buffer of the tiny bank, and each instrument buffer again as a
    DX6 DMUS_DOWNLOADINFO_INSTRUMENT (type 1), whose articulation is read differently."""
    buffers, _ = _downloads()
    dx6 = [struct.pack("<I", 1) + b[4:] for b in buffers if struct.unpack_from("<I", b)[0] == 3]
    return buffers + dx6


def midi_stream_seeds() -> list[bytes]:
    """Byte streams for the unpacker: channel messages with running status, real-time bytes
    inside messages and SysEx, each SysEx decode_sysex acts on, a cut SysEx, undefined bytes."""
    sysex = [
        "f0 7e 7f 09 01 f7",  # GM on
        "f0 7e 7f 09 02 f7",  # GM off
        "f0 7f 7f 04 01 00 60 f7",  # master volume
        "f0 7f 7f 04 03 00 40 f7",  # master fine tuning
        "f0 7f 7f 04 04 00 42 f7",  # master coarse tuning
        "f0 41 10 42 12 40 00 7f 00 41 f7",  # GS reset
        "f0 41 10 42 12 40 1a 15 02 0f f7",  # GS use-for-rhythm, part 10
        "f0 43 10 4c 00 00 7e 00 f7",  # XG on
    ]
    # byte 0 of each stream says where the target splits it (see unpacker.py)
    streams = [
        "90 3c 64 3e 64 40 00 c0 05 06 e0 00 40 b0 07 7f 0a 40",
        "90 3c f8 64 fe f0 01 02 f8 03 f7 f6 f1 20 f2 01 02 f3 05",
        "f0 7e 7f 09 01 90 3c 64 f4 01 f5 f9 fd f7 3c 64 ff",
        " ".join(sysex),
        "f0 " + " ".join(f"{n % 128:02x}" for n in range(100)) + " f7 d0 40 a0 3c 10",
    ]
    return [b"\x05" + bytes.fromhex(s) for s in streams] + [
        b"\x00" + bytes.fromhex(s) for s in sysex
    ]


def control_seeds(bank: str, soundfont: str) -> list[bytes]:
    """One request line each for every command, with the right argument types."""

    def prop(set_name: str, item: str | int, **more: object) -> dict:
        return {"cmd": "property", "pin": "a", "set": set_name, "item": item, **more}

    requests = [
        {"cmd": "ping", "id": 1},
        {"cmd": "status"},
        {"cmd": "stats", "id": "x"},
        {"cmd": "load", "pin": "a", "path": bank},
        {"cmd": "load", "pin": "a", "path": soundfont},
        {"cmd": "unload", "pin": "a", "bank": 1},
        {"cmd": "volume", "db": -6.5},
        {"cmd": "volume", "db": 0, "pin": "a"},
        {"cmd": "panic"},
        {"cmd": "reload"},
        prop("KSPROPSETID_Synth", "VOLUME"),
        prop("KSPROPSETID_Synth", "VOLUME", verb="set", value=-600),
        prop("KSPROPSETID_Synth", 0, verb="basic_support"),
        prop("KSPROPSETID_Synth_Dls", "APPEND", verb="get", size=4),
        prop("KSPROPSETID_Synth", "CAPS", instance="00"),
    ]
    return [json.dumps(r).encode() for r in requests] + [b"[[[[1]]]]", b'{"cmd": [1]}', b"\xff"]
