"""SF2 -> SF3, the way MuseScore's sf3convert writes it, for the SF3 tests and the fidelity bench.

No converter is packaged for Debian or PyPI, so this one re-encodes each sample of an SF2 file as
its own Ogg Vorbis stream (libsndfile through soundfile) and keeps every other chunk as it is.
The SF3 layout (what FluidSynth and our reader take): ifil 3.1; smpl holds the Ogg streams back
to back; shdr start/end are byte offsets of a stream in smpl, loop points are relative to the
decoded sample's start, and sampleType gains the 0x10 (Vorbis) bit. ROM samples are left alone.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import soundfile

from dmusd.banks.riff import chunk_bytes, list_bytes, riff_bytes

_SHDR = struct.Struct("<20sIIIIIBbHH")
_VORBIS, _ROM = 0x10, 0x8000


def _chunks(data: bytes, start: int, end: int) -> list[tuple[bytes, bytes, int]]:
    """(id, form or b'', data offset, size) of each chunk between start and end."""
    out = []
    while start + 8 <= end:
        cid, size = struct.unpack_from("<4sI", data, start)
        form = data[start + 8 : start + 12] if cid in (b"LIST", b"RIFF") else b""
        out.append((cid, form, start + 8, size))
        start += 8 + size + (size & 1)
    return out


def _body(data: bytes, chunk) -> bytes:
    cid, form, at, size = chunk
    return data[at + 4 : at + size] if form else data[at : at + size]


def _ogg(samples: np.ndarray, rate: int, quality: float) -> bytes:
    buf = io.BytesIO()
    with soundfile.SoundFile(
        buf, "w", rate, 1, format="OGG", subtype="VORBIS", compression_level=1.0 - quality
    ) as f:
        f.write(samples.astype(np.float32) / 32768.0)
    return buf.getvalue()


def sf3_bytes(sf2: bytes, quality: float = 0.6) -> bytes:
    """The SF3 form of an SF2 file's bytes (Vorbis quality 0..1, sf3convert's default is 0.6)."""
    top = {(c[0], c[1]): c for c in _chunks(sf2, 12, len(sf2))}
    info, sdta, pdta = (top[(b"LIST", f)] for f in (b"INFO", b"sdta", b"pdta"))
    smpl = next(c for c in _chunks(sf2, sdta[2] + 4, sdta[2] + sdta[3]) if c[0] == b"smpl")
    pcm = np.frombuffer(_body(sf2, smpl), "<i2")
    streams = bytearray()
    pdta_parts = []
    for c in _chunks(sf2, pdta[2] + 4, pdta[2] + pdta[3]):
        body = _body(sf2, c)
        if c[0] == b"shdr":
            rows = []
            for (name, start, end, loop_start, loop_end, rate, pitch, corr, link, kind) in (
                _SHDR.iter_unpack(body)
            ):  # fmt: skip
                if end > start and not kind & _ROM and rate > 0:
                    ogg = _ogg(pcm[start:end], rate, quality)
                    at = len(streams)
                    streams += ogg
                    loop_start, loop_end = loop_start - start, loop_end - start
                    start, end, kind = at, len(streams), kind | _VORBIS
                rows.append(
                    _SHDR.pack(
                        name, start, end, loop_start, loop_end, rate, pitch, corr, link, kind
                    )  # fmt: skip
                )
            body = b"".join(rows)
        pdta_parts.append(chunk_bytes(c[0].decode("ascii"), body))
    info_parts = []
    for c in _chunks(sf2, info[2] + 4, info[2] + info[3]):
        body = struct.pack("<HH", 3, 1) if c[0] == b"ifil" else _body(sf2, c)
        info_parts.append(chunk_bytes(c[0].decode("ascii"), body))
    return riff_bytes(
        "sfbk",
        [
            list_bytes("INFO", info_parts),
            list_bytes("sdta", [chunk_bytes("smpl", bytes(streams))]),
            list_bytes("pdta", pdta_parts),
        ],
    )


def convert_sf2_to_sf3(sf2: Path, sf3: Path, quality: float = 0.6) -> Path:
    sf3.write_bytes(sf3_bytes(sf2.read_bytes(), quality))
    return sf3
