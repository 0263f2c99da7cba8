"""What the measurements mean: the hand-written findings section of the fidelity report.
Written from the measured tables below it; re-read them when the engine changes."""

FINDINGS = """## Findings (read with the tables below)

**Most notes agree.** The common GM programs, the C major scale, velocity, RPN 0/1/2/5, damper,
bank select and portamento files sit inside +-1.5 dB and +-3 cents almost everywhere (median
|level difference| well under 0.5 dB). Envelope times are judged only where a note is alone at
its onset or release (few notes in these files: the GM files start a new program exactly when the
last chord is released). TimGM6mb as SF2 and as its DLS conversion render identically in dmusd
(0.00 dB, 0.0 cents on every note: the converter loses nothing the engine uses).

**Fixed: key tracking other than 100 cents a key.** The engine placed the unity note at 100
cents a key whatever the articulation's KEYNUMBER -> PITCH scale (SF2.04 8.1.2 gen 56,
scaleTuning; bank README: "KEYNUMBER -> PITCH scales key tracking around the unity note"), so
TimGM6mb's Wood Block (program 115, scaleTuning 50, root 104) played key 60 at 33 Hz against
FluidSynth's 680 Hz. `Engine.start` now takes the scale from the plain key-tracking rows
(offset = fine_tune - unity_note x S / 128); programs 115-127 now pass pitch.

**Fixed: a note-on at an exact sample played one sample early.** dmusd/midifile.py floored event
times to 100 ns and `SampleClock.RefTimeToSample` floors again, so tick 4379 at 120 bpm / 480 ppq
(exactly sample 218950 = 45614583.3 x 100 ns) landed on 218949. File times now round up to the
next 100 ns; `tests/test_fidelity.py` checks onsets off the 100 ns grid.
Apart from that, dmusd's onsets are sample-exact: every repeat of one sound
starts the same number of samples after its note-on wherever it falls (the "exact" counts), and
in the test the same note at sample 0 and at a sample off every block grid is bit-identical.
FluidSynth's onsets are quantized to its 64-sample block and start one block late at the top of
a file (`fluidsynth -F` runs its player after the first block): its onset column shows 64-127.

**dmusd right, FluidSynth different.**
- Master fine / coarse tuning (Universal SysEx Device Control 04 03 / 04 04, MIDI 1.0 CA-025,
  GM2 spec 3.3): dmusd applies them (-100 / +100 cents, semitone steps), FluidSynth 2.3 ignores
  them: the pitch column shows the set tuning (coarse steps beyond +-150 cents are outside the
  pitch search and show as large numbers).
- MIDI Tuning Standard scale/octave tuning (7E/7F 08 08/09) and the SF2 spec test's LFO,
  filter (9, 10, 14) and attenuation tests: the tables show where the two differ (pitch up to
  tens of cents on the scale-tuning file; level, attack and peak on the spec test, where dmusd
  peaks about 6 dB higher). Which side each case favours is NOT settled in this report: the
  likely reasons are that FluidSynth 2.3 applies MTS octave tuning differently, and that DLS2's
  filter (resonance in dB over a Butterworth) and FluidSynth's (Q reduced by 3.01 dB, gain
  scaled by 1/sqrt(Q)) are voiced differently; both need a per-test listening and reading of
  SF2.04 8.1.2 (gens 8, 9) and 9.6 before either synth is called wrong.

**Open differences, cause not pinned down here.**
- Synth Bass 2 (program 39) and a few other filtered programs (76, 83, 87, 92, 94) are 1.5-5 dB
  louder in dmusd with a higher spectral centroid: a low initial cutoff (116 Hz) swept by EG2
  with a small Q. Either the EG2 -> cutoff sweep (SF2 modEnvToFilterFc, linear EG2) or the
  biquad's gain near the cutoff differs; the per-band spectra show the gap growing with
  frequency (2 dB at 100 Hz, 6 dB at 5 kHz), which points at the cutoff, not the gain.
- Release times of sustained programs differ by more than 5 % where judged: dmusd's EG1
  release is linear in dB over 96 dB (DLS2 2.x, SF2.04 8.1.2 gen 38); FluidSynth's release
  also falls in dB but from its attenuation-adjusted level, so the time to -20 dB differs.
- The dense song: per-note segments there hold many voices at once, so a level outside
  tolerance means the mix differs in that segment (mostly the programs above); its whole-file
  loudness and envelope plot are the figures to read.

**Gain relation.** dmusd's level at volume 0 (its +6 dB VOLUMEBOOST included) is stated per bank
above as the FluidSynth `-g` that matches it. The lead's engine work during this session moved it
(from `-g 1.75` to `-g 0.44`, -12 dB): rerun before quoting it. At the older level several TimGM6mb
programs peaked above 0 dBFS and clipped the 16-bit file (the bench re-renders at a lower volume
when a file clips and takes the volume back out).
"""
