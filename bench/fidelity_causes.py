"""Likely causes of a note outside tolerance, read from the bank's own articulation.

For each failing note the regions that sound are looked up in the bank (as the synth picks them)
and their effective connection lists (DLS2 defaults, global, region) are checked for the
features whose rendering differs between synths: key tracking other than 100 cents a key, a
low-pass filter, EG1 decay to a sustain below 0 dB, LFOs, wsmp attenuation.
"""

from __future__ import annotations

from fidelity_compare import NoteResult

from dmusd.banks.articulation import effective_connections
from dmusd.banks.connection import (
    CONN_DST_EG1_SUSTAINLEVEL,
    CONN_DST_FILTER_CUTOFF,
    CONN_DST_FILTER_Q,
    CONN_DST_GAIN,
    CONN_DST_PITCH,
    CONN_SRC_EG2,
    CONN_SRC_KEYNUMBER,
    CONN_SRC_LFO,
    CONN_SRC_NONE,
    CONN_SRC_VIBRATO,
)
from dmusd.banks.model import Bank, Instrument

FILTER_OPEN = 13500  # absolute cents: at or above this SF2 leaves the filter open


def _instrument(bank: Bank, r: NoteResult) -> Instrument | None:
    n = r.note
    for inst in bank.instruments.values():
        if inst.is_drum != n.drum or inst.bank_msb != 0:
            continue
        if inst.program == (0 if n.drum else n.program):
            return inst
    return None


def features(bank: Bank, r: NoteResult) -> list[str]:
    """What the note's regions use that synths are known to render differently."""
    inst = _instrument(bank, r)
    if inst is None:
        return ["no instrument (patch missing in the bank)"]
    found: list[str] = []

    def add(text: str) -> None:
        if text not in found:
            found.append(text)

    for region in inst.regions_for(r.note.key, r.note.velocity):
        rows = effective_connections(inst, region)
        for c in rows:
            plain = c.control == CONN_SRC_NONE
            if c.source == CONN_SRC_KEYNUMBER and c.destination == CONN_DST_PITCH and plain:
                per_key = c.scale / 65536 / 128
                if abs(per_key - 100) > 0.5:
                    unity = region.sample.unity_note
                    add(f"key tracking {per_key:.0f} cents/key (unity note {unity})")
            fixed = c.source == CONN_SRC_NONE
            if fixed and c.destination == CONN_DST_FILTER_CUTOFF and c.scale / 65536 < FILTER_OPEN:
                add(f"low-pass at {c.scale / 65536:.0f} abs cents")
            if c.source == CONN_SRC_NONE and c.destination == CONN_DST_FILTER_Q and c.scale:
                add(f"filter Q {c.scale / 65536 / 10:.1f} dB")
            if c.source == CONN_SRC_EG2 and c.destination == CONN_DST_FILTER_CUTOFF and c.scale:
                add("EG2 -> cutoff")
            if c.source in (CONN_SRC_LFO, CONN_SRC_VIBRATO) and c.scale:
                add("LFO")
            if fixed and c.destination == CONN_DST_EG1_SUSTAINLEVEL and c.scale / 65536 < 1000:
                add("EG1 decay to a sustain below 0 dB")
            if c.source == CONN_SRC_NONE and c.destination == CONN_DST_GAIN and c.scale:
                add("fixed gain connection")
        if region.sample.attenuation:
            add(f"wsmp attenuation {region.sample.attenuation / 655360:.1f} dB")
        if region.fixed_key >= 0:
            add(f"fixed key {region.fixed_key}")
        if not region.sample.loops:
            add("one-shot sample")
    return found


def likely_cause(bank: Bank | None, r: NoteResult) -> str:
    if bank is None:
        return ""
    found = features(bank, r)
    return ", ".join(found) or "plain region (no filter, LFO, key scaling)"
