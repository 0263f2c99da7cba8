"""What the measurements mean: the findings section of the fidelity report, against FluidSynth 2.6.

The exceptions (notes outside +-1.5 dB or +-3 cents) are counted from the results on every run
and grouped by the file that shows them; each group says which side follows which spec and
where the fix belongs. The words were written from the tables of a run on 2026-12-02; re-read
them when the engine changes (the counts update themselves).
"""

from __future__ import annotations

from dataclasses import dataclass

from fidelity_report import outside_level_or_pitch


@dataclass(slots=True, frozen=True)
class Exception_:
    files: tuple[str, ...]
    side: str  # who follows the spec here
    reason: str  # with the spec reference


EXCEPTIONS = [
    Exception_(
        (
            "test-sysex-7f-04-03-master-fine-tuning.mid",
            "test-sysex-7f-04-04-master-coarse-tuning.mid",
        ),
        "dmusd",
        "Master Fine / Coarse Tuning (Universal Real Time SysEx 7F 04 03 / 04 04, MMA CA-025, "
        "in GM2's required set): dmusd applies them, to the notes sounding too; FluidSynth 2.6 "
        "does not (its SysEx handler knows MTS and the GM/GS/XG resets only). Its reference "
        "render for these files is the same file with each master tuning message as the RPN 1 "
        "/ RPN 2 channel tuning it equals on all 16 channels (bench/fidelity_master_tuning.py), "
        "so the comparison measures dmusd's tuning, not FluidSynth's omission.",
    ),
    Exception_(
        (
            "test-rpn-00-01-fine-tuning.mid",
            "test-rpn-00-02-coarse-tuning.mid",
            "test-sysex-7x-08-0x-scale-tuning.mid",
        ),
        "neither: FluidSynth 2.6's rule",
        "Tuned notes (RPN 0001 / 0002, MTS scale/octave tuning 08 08 / 08 09, master tuning): "
        "FluidSynth 2.6 chooses a melodic note's zones by the key nearest the pitch it sounds "
        "at (fluid_defpreset_noteon, its tuned key), not by the MIDI key SF2.04's keyRange "
        "(gen 43) speaks of; FluidSynth 2.3.1 still chose by the key. dmusd now chooses as 2.6 "
        "does (note_logic._tuned_key: the sample recorded nearest the pitch, a drum kit still "
        "by its key); before, a piano key tuned an octave up played another zone's sample in "
        "FluidSynth and measured 3 dB and 6 cents apart. The real-time form of MTS retunes "
        "the notes already sounding in both.",
    ),
    Exception_(
        ("test-control-54-portamento-control.mid", "test-control-41-portamento.mid"),
        "neither: FluidSynth 2.6's rule",
        "Portamento (CC5 time, CC65 on/off, CC84 Portamento Control, MIDI 1.0 control change "
        "table): both synths glide on the GS/XG time curve John Novak measured. The CC84 file "
        "also sends CC37 = 0, and FluidSynth 2.6's 'auto' mode then reads CC5/CC37 as one "
        "14-bit time in ms (fluid_channel_portamentotime_with_mode): 8.2 s for its octave "
        "glide, where the curve gives 0.69 s (MIDI 1.0 gives CC37 as CC5's LSB, with no unit). "
        "dmusd keeps the curve; its one note measures that glide apart.",
    ),
    Exception_(
        ("test-all-gm-sounds.mid", "test-all-gm-percussion.mid", "dense-song.mid"),
        "item 3",
        "Level: programs 61, 89, 102 and 126 play 1.6-2.5 dB from FluidSynth (low-pass regions, "
        "most with EG2 or an LFO on the cutoff: initialFilterFc, modEnvToFilterFc, "
        "modLfoToFilterFc, SF2.04 8.1.2 gens 8, 10 and 11; the likely-cause column names it "
        "note by note); not settled. Program 123 (seashore, a noise-like one-shot) measures "
        "12 dB and 150 cents apart, where a spectral pitch and a segment level mean little. "
        "The dense song's one pitch exception lies on a channel under the mod wheel's vibrato, "
        "whose phase the note's segment samples. What brought the rest in: SF2's -12000 time "
        "cent delays play as no delay (a 72-frame one-shot drum lost 7 dB to a 1 ms envelope "
        "delay), its LFOs are triangles (SF2.04 8.1.2) and its modulation envelope's attack is "
        "convex (8.1.3 gen 26: a cutoff swept open by it brightens early), where DLS has sines "
        "and a linear EG2: `Region.sf2_shapes`.",
    ),
    Exception_(
        ("sf_spec_test.mid",),
        "dmusd",
        "The SoundFont spec test's filter tests (9, 10, 14: Q 10-96 dB): dmusd lowers the DC "
        "gain as SoundFont 2.01 says (SF2.04 8.1.2 gen 9, 9.6; issue 12 item 3) but caps Q at "
        "40 dB where the spec allows 96 (a candidate cause for the note still outside, not "
        "checked).",
    ),
]


def exceptions_section(files) -> str:
    """The findings: a table of exceptions by group, counted from this run's results."""
    rows, seen = [], set()
    for group in EXCEPTIONS:
        count = 0
        for f in files:
            if f.name in group.files:
                seen.add(f.name)
                count += sum(map(outside_level_or_pitch, f.results))
        rows.append(f"| {', '.join(group.files)} | {count} | {group.side} | {group.reason} |")
    other = sum(sum(map(outside_level_or_pitch, f.results)) for f in files if f.name not in seen)
    rows.append(f"| every other file | {other} | - | see the per-file tables |")
    return "\n".join(
        [
            "## Findings: the exceptions, with their spec references",
            "",
            "Notes outside +-1.5 dB or +-3 cents, by the file that shows them. 'side' is who "
            "follows the cited spec (FluidSynth, dmusd, or the issue-12 item that will settle "
            "it).",
            "",
            "| files | notes outside | side | why, with the spec reference |",
            "|---|---|---|---|",
            *rows,
            "",
            GENERAL,
        ]
    )


GENERAL = """**What agrees.** The common GM programs, the C major scale, velocity, RPN 0 pitch-bend
range, bank select, damper and the GS files sit inside +-1.5 dB and +-3 cents (median |level
difference| well under 0.5 dB). TimGM6mb as SF2 and as its DLS conversion render identically in
dmusd (0.00 dB, 0.0 cents on every note). dmusd's onsets are sample-exact; FluidSynth's are
quantized to its 64-sample block and start one block late at the top of a file. Envelope times
are judged only where a note is alone at its onset or release.

**Gain relation.** dmusd's level at volume 0 (its +6 dB VOLUMEBOOST included) is stated per bank
above as the FluidSynth `-g` that matches it."""
