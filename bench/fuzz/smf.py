"""atheris target: Standard MIDI Files (dmusd/midifile.py), as `dmusd render` and `trace` read them.

A song that loads must be playable as given: events in time order from 0, each a non-empty
message (an F7 escape's bytes are sent as they are, so they need not start with a status byte),
no event after the song's duration.

Run: .venv/bin/python -m bench.fuzz.smf [-runs=N] [libFuzzer flags]; see runner.py.
"""

from __future__ import annotations

if __name__ == "__main__":
    from bench.fuzz.runner import instrumented, main

    with instrumented():
        from bench.fuzz.seeds import smf_seeds
        from dmusd.errors import MidiFileError
        from dmusd.midifile import parse_midi_bytes

    def one_input(data: bytes) -> None:
        song = parse_midi_bytes(data, "fuzz.mid")
        last = 0
        for time, track, message in song.events:
            assert last <= time <= song.duration, f"event at {time} after {last}/{song.duration}"
            assert 0 <= track < max(song.tracks, 1) and message, (track, message)
            last = time

    main("smf", one_input, smf_seeds, (MidiFileError,), max_len=2048)
