"""`load_bank(path)`: one entry point for every bank format, chosen by content, never by name."""

from __future__ import annotations

import os

from dmusd.banks.conditional import DEFAULT_CAPABILITIES, Capabilities
from dmusd.banks.dls_reader import read_dls
from dmusd.banks.model import Bank
from dmusd.banks.riff import RiffReader
from dmusd.banks.sf2_mapping import read_soundfont_bank
from dmusd.errors import BankError


def sniff(head: bytes) -> str | None:
    """'DLS' or 'SF2' (SF2 and SF3 share the sfbk form) from a file's first 12 bytes."""
    if len(head) >= 12 and head[:4] == b"RIFF":
        if head[8:12] == b"DLS ":
            return "DLS"
        if head[8:12] == b"sfbk":
            return "SF2"
    return None


def read_bank(reader: RiffReader, caps: Capabilities = DEFAULT_CAPABILITIES) -> Bank:
    """Parse whatever bank an open reader holds."""
    head = reader.read_at(0, min(12, reader.size))
    kind = sniff(head)
    if kind == "DLS":
        return read_dls(reader, caps)
    if kind == "SF2":
        return read_soundfont_bank(reader)
    # What was expected, never what was found: the file may be anyone's (/etc/shadow).
    found = "an empty file" if not head else "something else"
    raise BankError(
        f"not a DLS or SoundFont file: expected a RIFF header of form 'DLS ' or 'sfbk' in the "
        f"first 12 bytes, found {found}",
        file=reader.file,
        offset=0,
    )


def load_bank(path: str | os.PathLike[str], caps: Capabilities = DEFAULT_CAPABILITIES) -> Bank:
    """Load a DLS Level 1/2, SF2 or SF3 file into the instrument model."""
    with RiffReader.open(path) as reader:
        return read_bank(reader, caps)


def parse_bank_bytes(
    data: bytes, name: str = "<buffer>", caps: Capabilities = DEFAULT_CAPABILITIES
) -> Bank:
    """Load a bank held in memory."""
    return read_bank(RiffReader.from_bytes(data, name), caps)
