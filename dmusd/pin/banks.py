"""The banks of a pin: a bank file read and ready to download, and a bank downloaded on a pin.

Parsing happens on the thread that asks (a control thread, the render command), never on the
audio thread; what comes out is downloaded by SynthPin.download. A file read before comes from
the user cache (banks/bank_cache.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from dmusd.banks import load_bank
from dmusd.banks.bank_cache import cached_load
from dmusd.banks.model import Bank

BUILTIN = "<built-in GM bank>"  # the bank of a pin whose config names none


@dataclass(slots=True, frozen=True)
class ParsedBank:
    """A bank file read and ready to download (parsed off the audio thread)."""

    path: str  # BUILTIN for the built-in GM bank
    bank: Bank
    gm: bool  # a default GM set: its instruments yield to any other download of a patch
    signature: tuple[int, int]  # (mtime ns, size) of the file, to tell a changed file on reload


@dataclass(slots=True)
class LoadedBank:
    """One bank on one pin: the handles its downloads returned, in download order."""

    id: int
    path: str
    handles: tuple[int, ...]
    instruments: int
    signature: tuple[int, int]
    names: tuple[tuple[int, str], ...] = ()  # (patch, name) of each instrument, for listings

    def describe(self) -> dict:
        return {
            "bank": self.id,
            "path": self.path,
            "instruments": self.instruments,
            "downloads": len(self.handles),
        }


def bank_signature(path: str) -> tuple[int, int]:
    """What tells a changed bank file apart; (-1, -1) when it cannot be read."""
    if path == BUILTIN:
        return (0, 0)
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # ValueError: a NUL byte in the path
        return (-1, -1)
    return (st.st_mtime_ns, st.st_size)


def parse_bank(path: str, gm: bool = False) -> ParsedBank:
    """Read a DLS/SF2/SF3 file (or the built-in GM bank); raises BankError naming the file.
    `gm`: the file is a default GM set (the built-in bank always is)."""
    if path == BUILTIN:
        from dmusd.banks import default_bank

        return ParsedBank(BUILTIN, default_bank(), True, (0, 0))
    path = os.path.expanduser(os.path.expandvars(path))
    signature = bank_signature(path)
    return ParsedBank(path, cached_load(path, load_bank), gm, signature)
