"""The Standard MIDI File reader, against the shared test files, mido, and damaged input."""

from __future__ import annotations

import struct

import mido
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dmusd.errors import MidiFileError
from dmusd.midifile import parse_midi_bytes, read_midi_file
from tests.support import SHARED_DATA

MIDI = SHARED_DATA / "test-midi-files" / "midi"
# Files mido reads the same way we do. Left out, each with its own test below: type 2 (mido
# merges its tracks instead of playing them in turn), running status across a SysEx (mido
# stops there), and the damaged ones.
OWN_TESTS = {
    "test-2-tracks-type-2.mid",
    "test-running-status-sysex.mid",
    "test-empty-file.mid",
    "test-not-a-midi-file.mid",
    "test-corrupt-file-extra-byte.mid",
    "test-corrupt-file-missing-byte.mid",
}
GOOD = sorted(p for p in MIDI.glob("*.mid") if p.name not in OWN_TESTS)
C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72]


def note_ons(song) -> list[int]:
    return [d[1] for _, _, d in song.events if d[0] & 0xF0 == 0x90 and d[2]]


def smf(tracks: list[bytes], fmt: int = 1, division: int = 96) -> bytes:
    out = b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks), division)
    for body in tracks:
        out += b"MTrk" + struct.pack(">I", len(body)) + body
    return out


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_times_and_messages_agree_with_mido(path):
    song = read_midi_file(path)
    assert song.warnings == []
    expected, now = [], 0.0
    mid = mido.MidiFile(path)
    for msg in mid:
        now += msg.time
        if not msg.is_meta:
            expected.append((now, bytes(msg.bin())))
    assert [d for _, _, d in song.events] == [d for _, d in expected]
    for (t, _, _), (want, _) in zip(song.events, expected, strict=True):
        assert abs(t / 1e7 - want) < 1e-6


def test_type_2_tracks_play_one_after_another():
    song = read_midi_file(MIDI / "test-2-tracks-type-2.mid")
    tracks = [i for _, i, _ in song.events]
    assert tracks == sorted(tracks) and set(tracks) == {0, 1}
    first_of_1 = next(t for t, i, _ in song.events if i == 1)
    last_of_0 = max(t for t, i, _ in song.events if i == 0)
    assert first_of_1 >= last_of_0
    assert song.duration == 2 * read_midi_file(MIDI / "test-2-tracks-type-1.mid").duration


@pytest.mark.parametrize("name", ["metaevent", "sysex"])
def test_running_status_survives_meta_and_sysex_events(name):
    song = read_midi_file(MIDI / f"test-running-status-{name}.mid")
    assert note_ons(song) == C_MAJOR and song.warnings == []


def test_tempo_map_is_exact_in_integers():
    # 96 ticks per quarter; 1 quarter at 120 bpm, then tempo 1 000 000 us for 3 quarters.
    body = (
        b"\x00\x90\x3c\x40"
        b"\x60\xff\x51\x03"
        + (1_000_000).to_bytes(3, "big")
        + b"\x81\x40\x80\x3c\x00"  # 192 ticks later
        b"\x60\x90\x3e\x40"  # 96 ticks later
        b"\x00\xff\x2f\x00"
    )
    song = parse_midi_bytes(smf([body], fmt=0))
    assert [t for t, _, _ in song.events] == [0, 25_000_000, 35_000_000]


def test_smpte_division():
    division = ((256 - 25) << 8) | 40  # 25 fps x 40 ticks per frame = 1000 ticks/s
    body = b"\x00\x90\x3c\x40\x87\x68\x80\x3c\x00\x00\xff\x2f\x00"  # 1000 ticks = 1 s
    song = parse_midi_bytes(smf([body], fmt=0, division=division))
    assert [t for t, _, _ in song.events] == [0, 10_000_000]


def test_smpte_division_of_zero_ticks_per_frame_is_refused():
    """Found by bench/fuzz/smf.py (this input): 25 fps x 0 ticks per frame divided every event
    time by zero (ZeroDivisionError, a traceback in `dmusd render`)."""
    data = bytes.fromhex("4d546864 00000006 0000 2801 e700 4d54726b 000000b8 64dd006f 4d5400c3")
    with pytest.raises(MidiFileError, match="0 ticks per frame") as raised:
        parse_midi_bytes(data, "crash.mid")
    assert raised.value.offset == 13


def test_sysex_and_escapes_come_out_as_bytes():
    body = b"\x00\xf0\x05\x7e\x7f\x09\x01\xf7\x00\xf7\x02\xf8\xfa\x00\xff\x2f\x00"
    song = parse_midi_bytes(smf([body], fmt=0))
    assert [d for _, _, d in song.events] == [bytes.fromhex("f0 7e 7f 09 01 f7"), b"\xf8\xfa"]


def test_damaged_files_that_still_play_say_what_was_wrong():
    extra = read_midi_file(MIDI / "test-corrupt-file-extra-byte.mid")
    missing = read_midi_file(MIDI / "test-corrupt-file-missing-byte.mid")
    for song in (extra, missing):  # "You must hear a C-Major scale"
        assert note_ons(song) == C_MAJOR
    assert "offset 275" in extra.warnings[0]
    assert any("ends 1 bytes early" in w for w in missing.warnings)


def test_a_message_cut_by_its_tracks_end_takes_no_byte_of_the_next_track():
    """A note-on whose second data byte would lie past its track's length: the next chunk's
    "MTrk" (all bytes under 0x80) must not be read as that data byte."""
    cut = b"\x00\x90\x3c"  # status and key; the velocity is past the end
    song = parse_midi_bytes(smf([cut, b"\x00\x91\x40\x50\x10\x81\x40\x00"]), "cut.mid")
    assert note_ons(song) == [0x40]  # only the second track's note
    assert any("track 0 is cut short" in w for w in song.warnings), song.warnings


@pytest.mark.parametrize(
    ("data", "offset", "words"),
    [
        (b"", 0, "no MThd"),
        (b"RIFF" + bytes(20), 0, "no MThd"),
        (b"MThd" + struct.pack(">IHHH", 6, 7, 1, 96), 8, "unknown SMF format 7"),
        (b"MThd" + struct.pack(">IHHH", 6, 0, 1, 0), 12, "division is 0"),
        (smf([b"\x00\x3c\x40"]), 23, "no running status"),
        (smf([b"\x00\x90\x3c\x40\x00\xf1\x05\x00\x3e\x40"]), 30, "offset 27 cancelled it"),
        (smf([b"\xff\xff\xff\xff\x7f\x90\x3c\x40"]), 22, "longer than 4 bytes"),
        (smf([b"\x00\x90\x3c\x90"]), 25, "status byte where data belongs"),  # the byte itself
        (smf([b"\x00\xff\x51\x03\x00\x00\x00"]), 22, "tempo of 0"),
        (
            b"MThd" + struct.pack(">IHHH", 6, 0, 1, 96) + b"\x00\x01\x02\x03\x00\x00\x00\x00",
            14,
            "expected a chunk",
        ),
    ],
)
def test_unreadable_files_raise_with_the_offset(data, offset, words):
    with pytest.raises(MidiFileError, match=words) as info:
        parse_midi_bytes(data, "song.mid")
    assert info.value.offset == offset
    assert str(info.value).startswith(f"song.mid: offset {offset}: ")


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(MidiFileError, match="No such file") as info:
        read_midi_file(tmp_path / "nope.mid")
    assert str(tmp_path / "nope.mid") in str(info.value)


SEED = (MIDI / "test-sysex-7f-04-04-master-coarse-tuning.mid").read_bytes()


@settings(max_examples=300, deadline=None)
@given(
    cut=st.integers(0, len(SEED)),
    flips=st.lists(st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 255)), max_size=6),
)
def test_any_damage_gives_a_song_or_our_error(cut, flips):
    data = bytearray(SEED[:cut] if cut > 20 else SEED)
    for pos, value in flips:
        if pos < len(data):
            data[pos] = value
    try:
        song = parse_midi_bytes(bytes(data))
    except MidiFileError as error:
        assert error.offset is not None and 0 <= error.offset <= len(data)
    else:
        assert all(t >= 0 and msg for t, _, msg in song.events)


# -- stray system bytes (issue 12 item 1) ------------------------------------------------------
SCALE_BODY = b"".join(bytes([0x00 if i == 0 else 0x60, 0x90, k, 0x60]) for i, k in
                      enumerate(C_MAJOR)) + b"\x00\xff\x2f\x00"  # fmt: skip


def stray_scale() -> bytes:
    """The C major scale with running status, sprinkled with every kind of stray system
    message: real-time bytes between events and between data bytes, system common ones with
    their data bytes (each followed by a full status byte, as they cancel running status)."""
    return (
        b"\x00\xf8"  # clock, alone
        b"\x00\x90\x3c\x60"
        b"\x60\x3e\xfe\x60"  # running status, active sensing between the data bytes
        b"\x00\xfa\x00\xfc"  # start, stop
        b"\x60\x40\x60"  # running status survives real-time bytes
        b"\x00\xf1\x25"  # MTC quarter frame + 1 data byte
        b"\x60\x90\x41\x60"
        b"\x00\xf2\x10\x20"  # song position + 2
        b"\x00\xf3\x05"  # song select + 1
        b"\x00\xf4\x00\xf5\x00\xf6"  # undefined, undefined, tune request: one byte each
        b"\x60\x90\x43\x60"
        b"\x60\x45\x60"
        b"\x60\x47\x60"
        b"\x60\x48\x60"
        b"\x00\xff\x2f\x00"
    )


def test_stray_system_messages_are_skipped_and_counted():
    song = parse_midi_bytes(smf([stray_scale()], fmt=0), "stray.mid")
    clean = parse_midi_bytes(smf([SCALE_BODY], fmt=0))
    assert note_ons(song) == C_MAJOR
    assert song.events == clean.events  # same messages at the same times
    assert song.stray_system == 10
    assert song.warnings == [
        "offset 23: track 0: skipped 10 stray system message(s) that a MIDI file may not hold, "
        "the first 0xf8 here"
    ]


@pytest.mark.parametrize(
    "stray", [b"\xf1\x25", b"\xf2\x10\x20", b"\xf3\x05", b"\xf4", b"\xf5", b"\xf6"]
)
def test_system_common_takes_its_data_bytes(stray):
    body = b"\x00" + stray + b"\x00\x90\x3c\x40\x00\xff\x2f\x00"
    song = parse_midi_bytes(smf([body], fmt=0))
    assert [d for _, _, d in song.events] == [b"\x90\x3c\x40"] and song.stray_system == 1


def test_system_common_cut_by_the_track_end_is_still_skipped():
    song = parse_midi_bytes(smf([b"\x00\x90\x3c\x40\x00\xf2\x10"], fmt=0))
    assert note_ons(song) == [60] and song.stray_system == 1


def test_system_common_cancels_running_status_real_time_does_not():
    real_time = smf([b"\x00\x90\x3c\x40\x00\xfe\x00\x3e\x40\x00\xff\x2f\x00"])
    assert note_ons(parse_midi_bytes(real_time)) == [60, 62]
    common = smf([b"\x00\x90\x3c\x40\x00\xf6\x00\x3e\x40\x00\xff\x2f\x00"])
    with pytest.raises(MidiFileError, match="system common message at offset 27 cancelled") as e:
        parse_midi_bytes(common, "song.mid")
    assert e.value.offset == 29


def test_stray_bytes_in_a_file_render_like_the_clean_file(capsys, tmp_path):
    """Real files on disk through `dmusd render`: the stray bytes change nothing in the audio,
    and the summary line counts them."""
    import soundfile

    from dmusd.banks.dls_writer import save_dls
    from dmusd.cli import main
    from tests.synth.test_stream import sine_bank

    bank = tmp_path / "sine.dls"
    save_dls(sine_bank(range(1)), bank)
    (tmp_path / "stray.mid").write_bytes(smf([stray_scale()], fmt=0))
    (tmp_path / "clean.mid").write_bytes(smf([SCALE_BODY], fmt=0))
    lines = {}
    for name in ("stray", "clean"):
        code = main(["render", str(tmp_path / f"{name}.mid"), "-o", str(tmp_path / f"{name}.wav"),
                     "--bank", str(bank), "--no-effects", "--volume", "-20"])  # fmt: skip
        lines[name] = capsys.readouterr().err
        assert code == 0, lines[name]
    stray, _ = soundfile.read(tmp_path / "stray.wav")
    clean, _ = soundfile.read(tmp_path / "clean.wav")
    assert np.abs(clean).max() > 0.05 and np.array_equal(stray, clean)
    assert "10 stray system messages skipped" in lines["stray"].splitlines()[-1]
    assert "skipped 10 stray system message(s)" in lines["stray"]
    assert "stray system" not in lines["clean"]


def test_trace_counts_stray_system_messages(tmp_path):
    from tests.test_cli_trace import dmusd

    (tmp_path / "stray.mid").write_bytes(smf([stray_scale()], fmt=0))
    run = dmusd("trace", "--fast", str(tmp_path / "stray.mid"))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[-1] == "8 messages; dropped 0, lost 0, skipped 10 stray system messages"
    assert all(line.split()[3] == "90" for line in lines[:-1])
    assert "offset 23: track 0: skipped 10" in run.stderr
