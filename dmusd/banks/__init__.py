"""Instrument banks: DLS Level 1/2, SF2 and SF3 files loaded into one DLS-centric model
(model.py), DirectMusic download buffers (download.py), the per-pin download manager and the
built-in GM bank. See README.md in this folder for what is mapped and what is not."""

from __future__ import annotations

from dmusd.banks.loader import load_bank, parse_bank_bytes
from dmusd.banks.model import Bank, Instrument, Region, Wave, WaveLink, WaveSample


def default_bank() -> Bank:
    """The built-in GM bank (generated once, cached under the user cache directory)."""
    from dmusd.banks.gm_bank import default_bank as _default_bank

    return _default_bank()


__all__ = [
    "Bank",
    "Instrument",
    "Region",
    "Wave",
    "WaveLink",
    "WaveSample",
    "default_bank",
    "load_bank",
    "parse_bank_bytes",
]
