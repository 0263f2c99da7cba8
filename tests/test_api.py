"""dmusd as a library: dmusd.Synth, render_midi and render_events, against the CLI's files."""

from __future__ import annotations

import subprocess
import sys
import warnings
from contextlib import closing
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

import dmusd
from dmusd.banks.dls_writer import save_dls
from dmusd.banks.model import make_patch
from dmusd.errors import BankError, ConfigError, DmusdError, MidiFileError, PropertyError
from dmusd.midifile import read_midi_file
from dmusd.pin.song_programs import song_programs
from tests.synth.test_stream import bank_of, instrument, ones, region, sine_bank

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
MIDI = DATA / "test-midi-files" / "midi"
TIMGM = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
DMUSD = Path(sys.executable).with_name("dmusd")
RATE = 48000


@pytest.fixture(scope="module")
def banks(tmp_path_factory) -> dict[str, Path]:
    """'sine' (every program a sine) and 'ones' (a DC wave: a note shows as its first non-zero
    sample), written as DLS files."""
    folder = tmp_path_factory.mktemp("banks")
    paths = {"sine": folder / "sine.dls", "ones": folder / "ones.dls"}
    save_dls(sine_bank(), paths["sine"])
    save_dls(bank_of(instrument(make_patch(0), region(ones()))), paths["ones"])
    return paths


@pytest.fixture(scope="module")
def gm() -> dmusd.Synth:
    with dmusd.Synth(banks=[TIMGM]) as synth:
        yield synth


def cli_render(song: Path, out: Path, *options: str) -> np.ndarray:
    """The real `dmusd render` command's file, as 16-bit integers."""
    done = subprocess.run([str(DMUSD), "render", str(song), "-o", str(out), *options],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return sf.read(out, dtype="int16")[0]


def as_16_bit(x: np.ndarray) -> np.ndarray:
    """The CLI's own rounding (dmusd/io/block_sink.py): nearest, clipped."""
    return np.clip(np.rint(x * 32768.0), -32768, 32767).astype(np.int16)


def first_sound(x: np.ndarray) -> int:
    return int(np.flatnonzero(np.abs(x).max(axis=1) > 0)[0])


# -- the same samples as the CLI ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["test-all-gm-percussion.mid", "test-c-major-scale.mid"])
def test_render_midi_equals_the_cli_file_within_16_bit_rounding(gm, tmp_path, name):
    song = MIDI / name
    pcm = cli_render(song, tmp_path / "cli.wav", "--bank", str(TIMGM))
    audio = gm.render_midi(song)
    assert audio.dtype == np.float32 and audio.ndim == 2 and audio.shape[1] == 2
    assert audio.shape == pcm.shape  # the file's length, tails included
    assert np.abs(audio).max() > 0.01  # there is music in it
    assert np.array_equal(as_16_bit(audio), pcm)
    assert np.max(np.abs(audio - pcm / 32768.0)) <= 0.5 / 32768 + 1e-9


def test_settings_reach_the_pipeline_as_the_cli_options_do(tmp_path):
    song = MIDI / "test-c-major-scale.mid"
    options = ["--rate", "44100", "--interp", "linear", "--no-effects", "--volume", "-6"]
    pcm = cli_render(song, tmp_path / "cli.flac", "--bank", str(TIMGM), *options, "--voices", "32")
    audio = dmusd.render_midi(song, banks=[TIMGM], rate=44100, interpolation="linear",
                              effects=False, volume_db=-6.0, voices=32)  # fmt: skip
    assert np.array_equal(as_16_bit(audio), pcm)


def test_a_synth_gives_the_same_song_the_same_samples_every_time(gm):
    song = MIDI / "test-c-major-scale.mid"
    first = gm.render_midi(song)
    gm.render_midi(MIDI / "test-all-gm-percussion.mid")  # another song between
    assert np.array_equal(gm.render_midi(song), first)


def test_a_pin_with_only_the_songs_programs_plays_the_same_samples(tmp_path):
    """A song's pin downloads only the instruments of the programs it names (and program 0);
    every fallback keeps the program number, so it sounds as the pin with the whole bank: here
    a GS variation and an XG drum bank nobody has, a drum kit's program, a GS reset."""
    gs_reset = [0x41, 0x10, 0x42, 0x12, 0x40, 0x00, 0x7F, 0x00, 0x41]
    track = mido.MidiTrack([mido.Message("sysex", data=gs_reset)])
    for channel, (msb, program) in enumerate([(0, 4), (8, 24), (127, 16), (0, 73)]):
        track += [mido.Message("control_change", channel=channel, control=0, value=msb),
                  mido.Message("program_change", channel=channel, program=program)]  # fmt: skip
    # channel 5 and the drums (channel 10) keep program 0, which no message names
    for key in (36, 38, 42, 60, 64, 67):
        track += [mido.Message("note_on", channel=ch, note=key, velocity=100) for ch in range(6)]
        track += [mido.Message("note_on", channel=9, note=key, velocity=100, time=60)]
    song = tmp_path / "song.mid"
    mido.MidiFile(tracks=[track]).save(song)
    with dmusd.Synth(banks=[TIMGM]) as synth:
        whole = synth.render_midi(song)  # on the pin opened with the Synth: the whole bank
        pin, _ = synth._fresh_pin(song_programs(e[2] for e in read_midi_file(song).events))
        with closing(pin):
            assert pin.banks[0].instruments < 10  # of 136
        assert np.array_equal(synth.render_midi(song), whole)  # a new pin: the song's only
    assert np.abs(whole).max() > 0.05


def test_song_programs_are_program_0_and_every_program_change():
    messages = [b"\xc0\x05", b"\xc9\x19", b"\x90\x3c\x40", b"\xf0\x7e\xc0\xf7", b"\xc3"]
    assert song_programs(messages) == {0, 5, 25}


def test_a_mido_file_and_smf_bytes_play_as_the_path_does(gm):
    song = MIDI / "test-c-major-scale.mid"
    expected = gm.render_midi(song)
    assert np.array_equal(gm.render_midi(mido.MidiFile(song)), expected)
    assert np.array_equal(gm.render_midi(song.read_bytes()), expected)


def test_render_events_plays_a_songs_messages_as_render_midi_plays_the_song(gm):
    song = MIDI / "test-c-major-scale.mid"
    events = [(t / 1e7, data) for t, _, data in read_midi_file(song).events]
    assert np.array_equal(gm.render_events(events), gm.render_midi(song))


def test_render_events_with_seconds_is_exactly_that_long(banks):
    events = [(0.0, mido.Message("note_on", note=69, velocity=100)), (0.25, [0x80, 69, 0])]
    audio = dmusd.render_events(events, seconds=0.5, banks=[banks["sine"]], effects=False)
    assert audio.shape == (RATE // 2, 2)
    assert np.abs(audio[: RATE // 8]).max() > 0.01


# -- the interactive calls ---------------------------------------------------------------------
def test_notes_start_at_their_exact_frame_across_render_calls(banks):
    with dmusd.Synth(banks=[banks["ones"]], effects=False) as synth:
        synth.note_on(0, 60, 100, frame=1000)
        first = synth.render(1500)  # a block size that is not the synth's
        assert first_sound(first) == 1000
        synth.note_off(0, 60)  # at frame 1500, the next to render
        synth.note_on(0, 64, 100, frame=2777)
        second = synth.render(2000)
        assert synth.position == 3500
        loud = np.abs(second).max(axis=1) > 0
        assert loud[0]  # still releasing at 1500
        assert np.abs(second[2777 - 1500]).max() > np.abs(second[2777 - 1501]).max()
        assert synth.render(0).shape == (0, 2)
        synth.reset()
        assert synth.position == 0 and not np.abs(synth.render(512)).any()


def test_interactive_rendering_matches_render_events(banks):
    events = [(0, [0xC0, 0]), (300, [0x90, 60, 90]), (4100, [0xB0, 7, 70]),
              (5000, [0xE0, 0, 80]), (9000, [0x80, 60, 0])]  # fmt: skip
    with dmusd.Synth(banks=[banks["sine"]]) as synth:
        synth.program_change(0, 0)
        synth.note_on(0, 60, 90, frame=300)
        synth.control_change(0, 7, 70, frame=4100)
        synth.pitch_bend(0, 80 * 128 - 8192, frame=5000)
        synth.note_off(0, 60, frame=9000)
        parts = [synth.render(n) for n in (700, 5000, 6300)]
        offline = synth.render_events([(f / RATE, m) for f, m in events], seconds=12000 / RATE)
    assert np.array_equal(np.concatenate(parts), offline)


# -- typed errors, as in the CLI ---------------------------------------------------------------
def test_bad_arguments_are_config_errors_naming_the_keyword(banks):
    for options, key in [
        ({"voices": 0}, "voices"),
        ({"rate": 1000}, "rate"),
        ({"interpolation": "nearest"}, "interpolation"),
        ({"block": 0}, "block"),
        ({"max_length": -1}, "max_length"),
    ]:
        with pytest.raises(ConfigError) as caught:
            dmusd.Synth(banks=[banks["sine"]], **options)
        assert caught.value.key == key
    with pytest.raises(PropertyError, match="KSPROPERTY_SYNTH_VOLUME"):
        dmusd.Synth(banks=[banks["sine"]], volume_db=30)
    with dmusd.Synth(banks=[banks["sine"]]) as synth:
        for call, key in [
            (lambda: synth.note_on(16, 60), "channel"),
            (lambda: synth.note_on(0, 128), "key"),
            (lambda: synth.control_change(0, 7, -1), "value"),
            (lambda: synth.render(-5), "frames"),
            (lambda: synth.send(b"\x3c\x40"), "message"),
            (lambda: synth.render_events([(-1.0, b"\x90\x3c\x40")]), "events[0]"),
            (lambda: synth.render_midi(42), "song"),
        ]:
            with pytest.raises(ConfigError) as caught:
                call()
            assert caught.value.key == key
        synth.render(100)
        with pytest.raises(ConfigError, match="already rendered"):
            synth.note_on(0, 60, frame=50)


def test_bad_files_are_the_readers_errors_naming_file_and_offset(tmp_path, gm):
    broken = tmp_path / "broken.sf2"
    broken.write_bytes(b"RIFF\x10\x00\x00\x00sfbkLIST")
    with pytest.raises(BankError) as caught:
        dmusd.Synth(banks=[broken])
    assert str(broken) in str(caught.value)
    with pytest.raises(BankError, match="no-such.dls"):
        dmusd.Synth(banks=[tmp_path / "no-such.dls"])
    with pytest.raises(MidiFileError) as caught:
        gm.render_midi(MIDI / "test-not-a-midi-file.mid")
    assert "test-not-a-midi-file.mid: offset 0" in str(caught.value)
    with pytest.raises(MidiFileError, match="offset"):
        gm.render_midi(b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x00")
    assert all(issubclass(e, DmusdError) for e in (BankError, MidiFileError, ConfigError))


def test_a_damaged_song_plays_what_is_complete_with_a_warning(gm):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        audio = gm.render_midi(MIDI / "test-corrupt-file-missing-byte.mid")
    assert audio.shape[0] > 0
    assert any(issubclass(w.category, dmusd.MidiFileWarning) for w in caught)


def test_a_later_bank_overrides_an_earlier_one(banks):
    events = [(0.0, b"\x90\x3c\x64"), (0.1, b"\x80\x3c\x00")]
    sine = dmusd.render_events(events, 0.05, banks=[banks["sine"]], effects=False)
    both = dmusd.render_events(events, 0.05, banks=[banks["sine"], banks["ones"]], effects=False)
    assert (sine < 0).any() and not (both < 0).any()  # the DC wave of 'ones' never goes below 0


# -- import cost -------------------------------------------------------------------------------
def test_import_dmusd_loads_no_engine_until_a_synth_is_asked_for():
    code = (
        "import sys, dmusd\n"
        "heavy = ('numpy', 'numba', 'soundfile', 'dmusd.synth_api')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert dmusd.Synth.__module__ == 'dmusd.synth_api'\n"
        "assert 'numpy' in sys.modules\n"
        "assert 'numba' not in sys.modules\n"  # the engine runs from its library
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with pytest.raises(AttributeError):
        dmusd.no_such_name  # noqa: B018
