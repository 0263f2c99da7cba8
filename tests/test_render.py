"""`dmusd render`: the whole pipeline, from a MIDI file to a WAV/FLAC file, heard."""

from __future__ import annotations

import io
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from dmusd.banks.dls_writer import save_dls
from dmusd.banks.model import make_patch
from dmusd.cli import main
from dmusd.commands.render import Progress
from dmusd.errors import MidiFileError
from dmusd.midifile import read_midi_file
from tests.synth.audio import cents, zero_crossing_frequency
from tests.synth.test_stream import bank_of, instrument, key_hz, ones, region, sine_bank

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
MIDI = DATA / "test-midi-files" / "midi"
TIMGM = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
RATE = 48000


@pytest.fixture(scope="module")
def banks(tmp_path_factory) -> dict[str, Path]:
    """DLS files written from model banks: 'sine' (every program a sine, drums an octave up)
    and 'ones' (a DC wave, so a note shows as its first non-zero sample)."""
    folder = tmp_path_factory.mktemp("banks")
    paths = {"sine": folder / "sine.dls", "ones": folder / "ones.dls"}
    save_dls(sine_bank(), paths["sine"])
    save_dls(bank_of(instrument(make_patch(0), region(ones()))), paths["ones"])
    return paths


def render(capsys, song, out, *options) -> tuple[int, str]:
    code = main(["render", str(song), "-o", str(out), *map(str, options)])
    return code, capsys.readouterr().err


def pitch(x: np.ndarray, key: float) -> float:
    """Cents between a clean periodic signal and the pitch of `key`."""
    return cents(zero_crossing_frequency(x, RATE), key_hz(key))


def spectrum_has(x: np.ndarray, hz: float) -> float:
    """Magnitude at `hz` relative to the strongest component."""
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    bins = np.fft.rfftfreq(x.size, 1 / RATE)
    return float(spectrum[np.argmin(abs(bins - hz))] / spectrum.max())


# -- timing through the whole pipeline ---------------------------------------------------------
def write_song(path: Path, notes: list[tuple[int, int, int]], ppq: int = 480) -> Path:
    """A format 0 file from (start tick, length in ticks, key), 120 bpm."""
    events = []
    for start, length, key in notes:
        events.append((start, mido.Message("note_on", note=key, velocity=100)))
        events.append((start + length, mido.Message("note_off", note=key)))
    track, now = mido.MidiTrack(), 0
    for tick, msg in sorted(events, key=lambda e: e[0]):
        track.append(msg.copy(time=tick - now))
        now = tick
    song = mido.MidiFile(type=0, ticks_per_beat=ppq)
    song.tracks.append(track)
    song.save(path)
    return path


@pytest.mark.parametrize("block", [64, 256, 1000])
def test_a_note_starts_at_exactly_its_sample_through_the_whole_pipeline(
    capsys, tmp_path, banks, block
):
    # ticks of 1/960 s: starts that fall anywhere inside a block; each note alone (0 s release)
    song = write_song(tmp_path / "t.mid", [(7, 20, 60), (301, 20, 62), (777, 20, 64)])
    starts = [t * RATE // 10_000_000 for t, _, d in read_midi_file(song).events if d[0] == 0x90]
    code, err = render(capsys, song, tmp_path / "t.wav", "--bank", banks["ones"], "--no-effects",
                       "--block", block)  # fmt: skip
    assert code == 0, err
    x, rate = sf.read(tmp_path / "t.wav")
    heard = np.abs(x).sum(axis=1) > 0.0
    onsets = np.nonzero(heard[1:] & ~heard[:-1])[0] + 1
    assert rate == RATE and onsets.tolist() == starts


# -- pitch, pedals, drums: files from the test-midi-files collection -----------------------------
def test_master_coarse_tuning_file_plays_a_scale(capsys, tmp_path, banks):
    code, err = render(capsys, MIDI / "test-sysex-7f-04-04-master-coarse-tuning.mid",
                       tmp_path / "s.wav", "--bank", banks["sine"], "--no-effects")  # fmt: skip
    assert code == 0, err
    x, _ = sf.read(tmp_path / "s.wav")
    for i, semitones in enumerate((0, 2, 4, 5, 7, 9, 11, 12)):  # coarse tuning 0x40 + n
        a = i * RATE // 2
        assert abs(pitch(x[a + 2400 : a + 21600, 0], 60 + semitones)) < 3.0, semitones


def test_damper_pedal_file_holds_the_second_arpeggio(capsys, tmp_path, banks):
    code, err = render(capsys, MIDI / "test-control-40-damper.mid", tmp_path / "d.wav",
                       "--bank", banks["sine"], "--no-effects")  # fmt: skip
    assert code == 0, err
    x, _ = sf.read(tmp_path / "d.wav")
    keys = (60, 64, 67, 72)
    free = x[int(1.6 * RATE) : int(1.9 * RATE), 0]  # no pedal: only the last note sounds
    held = x[int(6.6 * RATE) : int(7.4 * RATE), 0]  # pedal down since 4.5 s: all four
    assert [spectrum_has(free, key_hz(k)) > 0.1 for k in keys] == [False, False, False, True]
    assert all(spectrum_has(held, key_hz(k)) > 0.1 for k in keys)
    assert np.max(np.abs(x[int(7.6 * RATE) :])) == 0.0  # pedal up at 7.5 s: released


def test_gs_drum_part_change_file_moves_the_rhythm_part(capsys, tmp_path, banks):
    code, err = render(capsys, MIDI / "test-sysex-gs-40-1x-15-drum-part-change.mid",
                       tmp_path / "g.wav", "--bank", banks["sine"], "--no-effects")  # fmt: skip
    assert code == 0, err
    x, _ = sf.read(tmp_path / "g.wav")
    # part 1 (channel 1) is a drum part: key 48 plays the kit's sine, an octave up
    assert abs(pitch(x[int(0.05 * RATE) : int(0.45 * RATE), 0], 60)) < 3.0
    # part 0 (channel 10) made a normal part: key 48 plays the melodic sine
    assert abs(pitch(x[int(3.05 * RATE) : int(3.45 * RATE), 0], 48)) < 3.0


# -- the same input, the same file ---------------------------------------------------------------
@pytest.mark.skipif(not TIMGM.exists(), reason="TimGM6mb is not installed")
@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_rendering_twice_gives_identical_files(capsys, tmp_path, suffix):
    song = MIDI / "test-c-major-scale.mid"
    a, b, c = (tmp_path / f"{name}{suffix}" for name in "abc")
    assert render(capsys, song, a, "--bank", TIMGM)[0] == 0
    assert render(capsys, song, c, "--bank", TIMGM)[0] == 0
    code, err = render(capsys, song, b, "--bank", TIMGM, "--block", 1000)
    assert code == 0 and a.read_bytes() == c.read_bytes()
    # Another block size: every event at the same sample, every voice the same samples; only
    # the order voices are added in may differ (a voice that ends frees its slot at the end
    # of its block, so the next note can land in another slot): the last bit at most.
    x_a, _ = sf.read(a, dtype="int16")
    x_b, _ = sf.read(b, dtype="int16")
    assert x_a.shape == x_b.shape
    differ = np.abs(x_a.astype(np.int32) - x_b)
    assert differ.max() <= 1 and np.count_nonzero(differ) <= x_a.size // 10000
    x, _ = sf.read(a)
    duration = read_midi_file(song).duration / 10_000_000
    assert duration < len(x) / RATE < duration + 20  # the tail is rendered, and bounded
    assert np.max(np.abs(x)) > 0.05 and np.max(np.abs(x[-RATE // 10 :])) < 1e-3
    assert err.count("\n") == 1 and "0 lost notes, 0 missed patches" in err  # no progress bar


# -- errors are one line -------------------------------------------------------------------------
def test_a_corrupt_midi_file_is_one_line_with_the_offset(capsys, tmp_path, banks):
    data = bytearray((MIDI / "test-c-major-scale.mid").read_bytes())
    data[22] = 0xF4  # a delta time runs on into the next event: 0x12 at 25, with no status
    (tmp_path / "bad.mid").write_bytes(data)
    code, err = render(capsys, tmp_path / "bad.mid", tmp_path / "x.wav", "--bank", banks["sine"])
    assert code == 1 and err.count("\n") == 1
    assert "bad.mid: offset 25:" in err and "Traceback" not in err
    code, err = render(capsys, MIDI / "test-not-a-midi-file.mid", tmp_path / "x.wav")
    assert code == 1 and err.count("\n") == 1 and "offset 0" in err
    assert not (tmp_path / "x.wav").exists()


def test_a_missing_bank_names_its_path(capsys, tmp_path):
    missing = tmp_path / "no-such-bank.sf2"
    code, err = render(capsys, MIDI / "test-c-major-scale.mid", tmp_path / "x.wav", "--bank",
                       missing)  # fmt: skip
    assert code == 1 and err.count("\n") == 1 and str(missing) in err


def test_an_unknown_output_format_is_refused(capsys, tmp_path, banks):
    code, err = render(capsys, MIDI / "test-c-major-scale.mid", tmp_path / "x.mp3", "--bank",
                       banks["sine"])  # fmt: skip
    assert code == 2 and "x.mp3" in err and ".wav or .flac" in err


def test_volume_goes_through_the_synth_volume_property(capsys, tmp_path, banks):
    song = MIDI / "test-c-major-scale.mid"
    loud, quiet = tmp_path / "loud.wav", tmp_path / "quiet.wav"
    assert render(capsys, song, loud, "--bank", banks["sine"], "--no-effects")[0] == 0
    assert (
        render(capsys, song, quiet, "--bank", banks["sine"], "--no-effects", "--volume", -12)[0]
        == 0
    )
    a, _ = sf.read(loud)
    b, _ = sf.read(quiet)
    assert 20 * np.log10(np.max(np.abs(b)) / np.max(np.abs(a))) == pytest.approx(-12.0, abs=0.01)
    code, err = render(capsys, song, quiet, "--bank", banks["sine"], "--volume", 30)
    assert code == 1 and "KSPROPERTY_SYNTH_VOLUME" in err and err.count("\n") == 1


def test_the_progress_bar_is_drawn_only_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, drawn in ((Terminal(), True), (io.StringIO(), False)):
        bar = Progress(10.0, stream)
        bar.update(2.5, force=True)
        bar.close()
        text = stream.getvalue()
        assert ("25%" in text and "2.5 / 10.0 s" in text and text.endswith("\n")) == drawn
        assert drawn or text == ""


def _short_files(longest: float = 40.0) -> list[str]:
    """The collection's readable files that play for at most `longest` seconds."""
    names = []
    for path in sorted(MIDI.glob("*.mid")):
        try:
            duration = read_midi_file(path).duration / 10_000_000
        except MidiFileError:
            continue
        if duration <= longest:
            names.append(path.name)
    return names


SHORT_FILES = _short_files()


@pytest.mark.parametrize("name", SHORT_FILES)
def test_every_short_test_file_renders_and_sounds_when_it_has_notes(capsys, tmp_path, banks, name):
    song = read_midi_file(MIDI / name)
    code, err = render(capsys, MIDI / name, tmp_path / "x.wav", "--bank", banks["sine"])
    assert code == 0, err
    x, _ = sf.read(tmp_path / "x.wav")
    assert len(x) >= song.duration * RATE // 10_000_000
    notes = any(d[0] & 0xF0 == 0x90 and d[2] for _, _, d in song.events)
    assert (np.max(np.abs(x), initial=0.0) > 0.01) == notes


def test_without_a_bank_the_built_in_gm_bank_plays(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code, err = render(capsys, MIDI / "test-c-major-scale.mid", tmp_path / "gm.wav")
    assert code == 0 and "0 missed patches" in err, err
    x, _ = sf.read(tmp_path / "gm.wav")
    assert np.max(np.abs(x)) > 0.05


def test_a_corrupt_bank_is_one_line_naming_the_file(capsys, tmp_path):
    bad = tmp_path / "broken.dls"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00DLS colh\xff\xff\xff\xff")
    code, err = render(capsys, MIDI / "test-c-major-scale.mid", tmp_path / "x.wav", "--bank", bad)
    assert code == 1 and err.count("\n") == 1 and str(bad) in err and "Traceback" not in err


def every_program_song(path: Path) -> Path:
    """A song that plays a note on each of the 128 programs: it needs the whole bank."""
    track = mido.MidiTrack()
    for program in range(128):
        track += [mido.Message("program_change", program=program),
                  mido.Message("note_on", note=60, velocity=90),
                  mido.Message("note_off", note=60, time=20)]  # fmt: skip
    mido.MidiFile(tracks=[track]).save(path)
    return path


def test_a_bank_beyond_the_sample_memory_budget_is_one_line(capsys, tmp_path):
    """The budget holds what a render downloads: the instruments its song can play."""
    song, out = every_program_song(tmp_path / "all.mid"), tmp_path / "x.wav"
    code, err = render(capsys, song, out, "--bank", TIMGM, "--sample-memory", 2)
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert "STATUS_INSUFFICIENT_RESOURCES" in err and "budget of 2.0 MiB" in err
    assert not out.exists()
    # a song on the piano and the standard kit needs 1.1 MiB of TimGM6mb's 11 (as floats): it fits
    scale = MIDI / "test-c-major-scale.mid"
    code, err = render(capsys, scale, out, "--bank", TIMGM, "--sample-memory", 2)
    assert code == 0 and out.exists(), err
    code, err = render(capsys, song, out, "--sample-memory", -1)
    assert code == 2 and "--sample-memory: -1 MiB is negative" in err


@pytest.mark.parametrize("rate", [22050, 44100, 96000])
def test_other_sample_rates_keep_pitch_and_time(capsys, tmp_path, banks, rate):
    out = tmp_path / "r.wav"
    song = MIDI / "test-c-major-scale.mid"
    assert (
        render(capsys, song, out, "--bank", banks["sine"], "--no-effects", "--rate", rate)[0] == 0
    )
    x, got = sf.read(out)
    assert got == rate
    first = x[int(0.05 * rate) : int(0.45 * rate), 0]  # C4 for the first half second
    assert abs(cents(zero_crossing_frequency(first, rate), key_hz(60))) < 3.0
    heard = np.nonzero(np.abs(x[:, 0]) > 0)[0]
    assert heard[0] <= 1 and abs(heard[-1] / rate - 4.0) < 0.01  # a sine from 0, ends at 4 s


# -- level -------------------------------------------------------------------------------------
def test_a_dense_gm_passage_does_not_clip_at_the_default_gain(capsys, tmp_path):
    """16 channels of six-note chords at full velocity and full volume with TimGM6mb: more than
    the mix headroom holds, so the master limiter keeps every sample under its ceiling, and the
    summary line reports the measured peak and the limiting."""
    track = mido.MidiTrack()
    for ch in range(16):
        track.append(mido.Message("program_change", channel=ch, program=(ch * 8) % 128))
        track.append(mido.Message("control_change", channel=ch, control=7, value=127))
    for ch in range(16):
        for key in (48, 52, 55, 60, 64, 67):
            track.append(mido.Message("note_on", channel=ch, note=key, velocity=127))
    track.append(mido.Message("note_off", channel=0, note=48, time=960))
    song = mido.MidiFile(type=0, ticks_per_beat=480)
    song.tracks.append(track)
    song.save(tmp_path / "dense.mid")
    code, err = render(capsys, tmp_path / "dense.mid", tmp_path / "dense.wav", "--bank", TIMGM)
    audio, _ = sf.read(tmp_path / "dense.wav", dtype="int16")
    peak = int(np.abs(audio.astype(np.int32)).max())
    assert code == 0 and 0.9 * 32768 < peak <= round(32768 * 10 ** (-0.3 / 20)), peak
    assert "clipped" not in err and "limiter on" in err
    assert f"peak {20 * np.log10(peak / 32768):.1f} dBFS" in err
