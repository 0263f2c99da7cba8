"""A bounds-checked RIFF reader (and the few helpers a RIFF writer needs).

Every file is hostile. Each chunk header is checked against its parent's end before anything is
read or allocated, so no size field is trusted: a chunk that runs past its parent, a LIST too short
for its type, a file shorter than its RIFF header says, nesting deeper than any bank needs, all
raise one BankError naming the file, the chunk path (`lins/ins[12]/lrgn/rgn2[3]/wsmp`) and the
byte offset. Odd-sized chunks are followed by a pad byte, which may be missing at a parent's end.

The reader seeks in a binary stream instead of holding the file, so a SoundFont's sample chunk
can be converted block by block without a second copy of the file in memory. Files are opened
so that nothing can block (regular files only, see dmusd/regular_file.py), and a read error
(EIO, a file in /proc) is a BankError too.

Proportionality: an empty chunk costs 8 bytes of file but a Chunk object (about 250 bytes)
here, so without a bound 4 million empty INFO chunks (a legal 32 MB file) cost a gigabyte and
half a minute. So a list may hold at most MAX_CHILDREN chunks, and past its first SMALL_LIST
they must average MIN_AVERAGE bytes (real waves, instruments and regions are far bigger): the
objects then stay within a small multiple of the file (250 / 32 < 8) and the time linear. A
list breaking either rule is refused, naming it and the offset where the count ran over.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

from dmusd.errors import BankError
from dmusd.regular_file import open_regular

MAX_DEPTH = 12  # a DLS file nests 6 deep (RIFF/lins/ins/lrgn/rgn2/lar2); more is an attack
# LIST types that repeat under one parent and get an index in chunk paths.
INDEXED_FORMS = frozenset({"ins ", "rgn ", "rgn2", "wave"})
# Chunks in one list at most. The largest lists real banks have are a wave pool and an
# instrument list (a few thousand entries; SoundFont sample indices are 16-bit, so a converted
# SF2 has at most 65536 waves): twice that is still far from any real file.
MAX_CHILDREN = 1 << 17
SMALL_LIST = 4096  # chunks any list may hold, whatever their size (INFO strings are tiny)
MIN_AVERAGE = 32  # bytes a chunk must average in a list longer than that

_HEADER = struct.Struct("<4sI")


@dataclass(slots=True)
class Chunk:
    """One chunk as found in the file: `id` is the FOURCC ('LIST' and 'RIFF' included), `form`
    the list type of a LIST/RIFF ('' otherwise), `offset` the file offset of its 8-byte header."""

    id: str
    form: str
    offset: int
    size: int
    path: str
    depth: int

    @property
    def is_list(self) -> bool:
        return bool(self.form)

    @property
    def name(self) -> str:
        return (self.form or self.id).rstrip()

    @property
    def data_offset(self) -> int:
        return self.offset + (12 if self.form else 8)

    @property
    def data_size(self) -> int:
        return self.size - (4 if self.form else 0)

    @property
    def end(self) -> int:
        return self.offset + 8 + self.size


def _fourcc(raw: bytes) -> str | None:
    """Decode a chunk id; None when it is not printable ASCII (a sign of garbage)."""
    if all(0x20 <= b < 0x7F for b in raw):
        return raw.decode("ascii")
    return None


class RiffReader:
    """Random access to the chunks of one RIFF file (a context manager when it owns the file)."""

    def __init__(self, stream: BinaryIO, file: str, size: int | None = None) -> None:
        self.stream = stream
        self.file = file
        if size is None:
            stream.seek(0, os.SEEK_END)
            size = stream.tell()
        self.size = size
        self._owned = False

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> RiffReader:
        name = os.fsdecode(path) if isinstance(path, bytes) else str(path)
        stream, size = open_regular(path, lambda message: BankError(message, file=name))
        reader = cls(stream, name, size)
        reader._owned = True
        return reader

    @classmethod
    def from_bytes(cls, data: bytes, file: str = "<buffer>") -> RiffReader:
        return cls(io.BytesIO(data), file, len(data))

    def close(self) -> None:
        if self._owned:
            self.stream.close()

    def __enter__(self) -> RiffReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- errors ----------------------------------------------------------------------------------
    def error(
        self, message: str, chunk: Chunk | str | None = None, offset: int | None = None
    ) -> BankError:
        path = chunk.path if isinstance(chunk, Chunk) else chunk
        if offset is None and isinstance(chunk, Chunk):
            offset = chunk.offset
        return BankError(message, file=self.file, chunk=path or None, offset=offset)

    # --- structure -------------------------------------------------------------------------------
    def root(self, *forms: str) -> Chunk:
        """The RIFF chunk, whose form must be one of `forms`."""
        head = self.read_at(0, 12, "RIFF") if self.size >= 12 else None
        if head is None or head[:4] != b"RIFF":
            raise self.error("not a RIFF file", "RIFF", 0)
        size = int.from_bytes(head[4:8], "little")
        form = _fourcc(head[8:12]) or repr(head[8:12])
        if form not in forms:
            wanted = " or ".join(repr(f) for f in forms)
            raise self.error(f"RIFF form is {form!r}, expected {wanted}", "RIFF", 8)
        if size < 4:
            raise self.error(f"RIFF size {size} is too small for its form type", "RIFF", 4)
        if size + 8 > self.size:
            raise self.error(
                f"file is truncated: the RIFF header says {size + 8} bytes, "
                f"the file has {self.size}",
                "RIFF",
                4,
            )
        return Chunk("RIFF", form, 0, size, "", 0)

    def children(self, parent: Chunk) -> list[Chunk]:
        """The chunks inside a RIFF or LIST chunk, each checked to lie inside it."""
        if not parent.is_list:
            raise self.error(f"'{parent.id}' is not a list", parent)
        depth = parent.depth + 1
        if depth > MAX_DEPTH:
            raise self.error(f"lists nested deeper than {MAX_DEPTH} levels", parent)
        end = parent.end
        pos = parent.data_offset
        out: list[Chunk] = []
        counts: dict[str, int] = {}
        prefix = f"{parent.path}/" if parent.path else ""
        parent_name = parent.path or parent.form.rstrip()
        while pos < end:
            count = len(out)
            if count >= MAX_CHILDREN:
                raise self.error(
                    f"'{parent_name}' holds more than {MAX_CHILDREN} chunks: no bank needs "
                    "that many, refused",
                    parent,
                    pos,
                )
            if count >= SMALL_LIST and pos - parent.data_offset < MIN_AVERAGE * count:
                raise self.error(
                    f"'{parent_name}' holds more than {count} chunks of under {MIN_AVERAGE} "
                    "bytes on average: a flood of empty chunks, refused",
                    parent,
                    pos,
                )
            remaining = end - pos
            if remaining < 8:
                tail = self.read_at(pos, remaining, parent)
                if any(tail):
                    raise self.error(
                        f"{remaining} stray bytes where a chunk header should start", parent, pos
                    )
                break
            raw_id, size = _HEADER.unpack(self.read_at(pos, 8, parent))
            cid = _fourcc(raw_id)
            if cid is None:
                raise self.error(f"invalid chunk id {raw_id!r} in '{parent_name}'", parent, pos)
            if size > remaining - 8:
                raise self.error(
                    f"chunk '{cid}' says {size} bytes but only {remaining - 8} remain in "
                    f"'{parent_name}'",
                    f"{prefix}{cid.rstrip()}",
                    pos,
                )
            form = ""
            if cid in ("LIST", "RIFF"):
                if size < 4:
                    raise self.error(
                        f"LIST size {size} is too small for its type", f"{prefix}LIST", pos
                    )
                raw_form = self.read_at(pos + 8, 4, parent)
                form = _fourcc(raw_form) or ""
                if not form:
                    raise self.error(f"invalid LIST type {raw_form!r}", f"{prefix}LIST", pos + 8)
            name = (form or cid).rstrip()
            if form in INDEXED_FORMS:
                index = counts.get(form, 0)
                counts[form] = index + 1
                name = f"{name}[{index}]"
            out.append(Chunk(cid, form, pos, size, prefix + name, depth))
            pos += 8 + size + (size & 1)
        return out

    # --- data ------------------------------------------------------------------------------------
    def read_at(self, offset: int, size: int, where: Chunk | str | None = None) -> bytes:
        if offset < 0 or size < 0 or offset + size > self.size:
            raise self.error(f"read of {size} bytes past the end of the file", where, offset)
        try:
            self.stream.seek(offset)
            data = self.stream.read(size)
        except OSError as error:
            raise self.error(f"cannot read: {error.strerror or error}", where, offset) from None
        if len(data) != size:
            raise self.error("file changed or shrank while reading", where, offset)
        return data

    def read(self, chunk: Chunk, min_size: int = 0) -> bytes:
        """A chunk's payload (after the list type for lists), at least `min_size` bytes long."""
        if chunk.data_size < min_size:
            raise self.error(
                f"'{chunk.name}' is {chunk.data_size} bytes, needs at least {min_size}", chunk
            )
        return self.read_at(chunk.data_offset, chunk.data_size, chunk)

    def readinto(self, offset: int, buffer: memoryview, where: Chunk | None = None) -> None:
        """Fill `buffer` from the file at `offset` (bounds checked), for block-wise conversion."""
        if offset < 0 or offset + len(buffer) > self.size:
            raise self.error("read past the end of the file", where, offset)
        try:
            self.stream.seek(offset)
            got = self.stream.readinto(buffer)
        except OSError as error:
            raise self.error(f"cannot read: {error.strerror or error}", where, offset) from None
        if got != len(buffer):
            raise self.error("file changed or shrank while reading", where, offset)


def by_name(chunks: list[Chunk]) -> dict[str, Chunk]:
    """First chunk of each id/form (trailing spaces trimmed), for chunks that appear once."""
    out: dict[str, Chunk] = {}
    for chunk in chunks:
        out.setdefault((chunk.form or chunk.id).rstrip(), chunk)
    return out


# --- writing -------------------------------------------------------------------------------------
def chunk_bytes(cid: str, data: bytes) -> bytes:
    """A chunk: FOURCC, size, data and the pad byte odd sizes need."""
    pad = b"\0" if len(data) & 1 else b""
    return _HEADER.pack(cid.encode("ascii"), len(data)) + data + pad


def list_bytes(form: str, parts: list[bytes], cid: str = "LIST") -> bytes:
    body = form.encode("ascii") + b"".join(parts)
    return _HEADER.pack(cid.encode("ascii"), len(body)) + body


def riff_bytes(form: str, parts: list[bytes]) -> bytes:
    return list_bytes(form, parts, "RIFF")


def info_list(info: dict[str, str]) -> bytes:
    """A LIST 'INFO' of NUL-terminated strings (empty bytes when there is nothing to say)."""
    parts = [
        chunk_bytes(key[:4].ljust(4), value.encode("utf-8") + b"\0")
        for key, value in info.items()
        if value
    ]
    return list_bytes("INFO", parts) if parts else b""


def parse_info(reader: RiffReader, chunk: Chunk) -> dict[str, str]:
    """A LIST 'INFO' as a dict; strings are NUL-trimmed UTF-8 (Latin-1 when not valid UTF-8)."""
    info: dict[str, str] = {}
    for sub in reader.children(chunk):
        if sub.is_list:
            continue
        raw = reader.read(sub).split(b"\0", 1)[0]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        info[sub.id.rstrip()] = text.strip()
    return info
