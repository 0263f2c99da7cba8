"""SynthService: pins from a config, live MIDI to sample-accurate audio, banks loaded and unloaded
while notes sound, the idle short-circuit, panic, properties and reload.

Time is a SampleCountClock moved by the blocks the tests render, as the audio callback moves the
master clock live; every level and timing below is measured on the rendered audio.
"""

from __future__ import annotations

import gc
import struct
import tracemalloc

import numpy as np
import pytest

from dmusd.banks.dls_writer import save_dls
from dmusd.banks.model import Loop, WaveSample, make_patch
from dmusd.config import (
    AudioConfig,
    Config,
    ControlConfig,
    LoggingConfig,
    MidiConfig,
    PinConfig,
)
from dmusd.errors import BankError, ConfigError, DmusdError, PropertyError
from dmusd.kernel.clock import REFTIME_PER_SECOND, SampleCountClock
from dmusd.ks_json import ks_reply, ks_request
from dmusd.pin import BUILTIN, IDLE_AFTER, ParsedBank, SynthPin, parse_bank
from dmusd.service import SynthService
from dmusd.synth.engine import layout as L
from tests.synth.test_stream import bank_of, instrument, key_hz, ones, region, sine_bank

RATE = 48000
BLOCK = 256
TIMGM = "/usr/share/sounds/sf2/TimGM6mb.sf2"
ORGAN = 19  # GM Church Organ: a sustained tone in TimGM6mb


def config(*pins: PinConfig, rate: int = RATE) -> Config:
    return Config(
        AudioConfig(sample_rate=rate),
        MidiConfig(),
        tuple(pins),
        ControlConfig(),
        LoggingConfig(),
        None,
    )


@pytest.fixture(scope="session")
def banks(tmp_path_factory) -> dict[str, str]:
    """DLS files written from model banks: 'sine' (every program a steady 440 Hz-at-A4 sine)
    and 'ones' (a looped DC wave: a note shows as its first non-zero sample)."""
    folder = tmp_path_factory.mktemp("service-banks")
    paths = {"sine": folder / "sine.dls", "ones": folder / "ones.dls"}
    save_dls(sine_bank(), paths["sine"])
    save_dls(bank_of(instrument(make_patch(0), region(ones()))), paths["ones"])
    return {name: str(path) for name, path in paths.items()}


class Rig:
    """A service rendered block by block, as an audio callback would."""

    def __init__(self, cfg: Config, block: int = BLOCK) -> None:
        self.clock = SampleCountClock(RATE)
        self.service = SynthService(cfg, self.clock)
        self.block = block
        self.buffer = np.zeros((block, 2), dtype=np.float32)
        self.position = 0

    def render(self, seconds: float) -> np.ndarray:
        """Render at least `seconds`, in whole blocks; returns the audio."""
        blocks = max(1, -(-round(seconds * RATE) // self.block))
        out = np.empty((blocks * self.block, 2), dtype=np.float32)
        for i in range(blocks):
            self.buffer.fill(0.0)
            self.service.render(self.buffer, self.block, self.position)
            self.position += self.block
            self.clock.advance(self.block)
            out[i * self.block : (i + 1) * self.block] = self.buffer
        return out

    def at(self, sample: int) -> int:
        """The master time of an output sample (the first 100 ns tick inside it)."""
        return -(-sample * REFTIME_PER_SECOND // RATE)

    def send(self, pin: str, group: int, *message: int, ahead: float = 0.01) -> int:
        """A message to play `ahead` seconds from now; returns the sample it should play at."""
        sample = self.position + round(ahead * RATE)
        self.service.put_midi(pin, group, bytes(message), self.at(sample))
        return sample

    def close(self) -> None:
        self.service.close()


def rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12))


def purity(x: np.ndarray) -> float:
    """Share of the energy within a few bins of the strongest one: ~1 for a sine."""
    spectrum = np.abs(np.fft.rfft(x[:, 0] * np.hanning(len(x)))) ** 2
    top = int(np.argmax(spectrum))
    return float(spectrum[max(top - 4, 0) : top + 5].sum() / spectrum.sum())


def fundamental(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x[:, 0] * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / RATE)[np.argmax(spectrum)])


@pytest.fixture
def rig_of():
    rigs: list[Rig] = []

    def make(*pins: PinConfig, **kw) -> Rig:
        rig = Rig(config(*pins), **kw)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()


# -- playing ---------------------------------------------------------------------------------
def test_builtin_bank_plays_and_status_names_it(rig_of):
    rig = rig_of(PinConfig("synth"))
    status = rig.service.status()
    assert [b["path"] for b in status["pins"][0]["banks"]] == [BUILTIN]
    assert status["pins"][0]["banks"][0]["instruments"] >= 128
    rig.send("synth", 1, 0x90, 69, 100)
    audio = rig.render(0.3)
    assert rig.service.active_voices() == 1
    assert rms_db(audio[RATE // 10 :]) > -40
    assert rig.service.status()["active_voices"] == 1


def test_notes_start_at_their_exact_sample(rig_of, banks):
    rig = rig_of(PinConfig("a", banks=(banks["ones"],), reverb=False, chorus=False))
    rig.render(0.05)
    for ahead in (0.0031, 0.0107, 0.0023):  # anywhere inside a block, or blocks ahead
        start = rig.send("a", 1, 0x90, 60, 100, ahead=ahead)
        audio = rig.render(0.05)
        first = int(np.flatnonzero(audio[:, 0])[0]) + rig.position - len(audio)
        assert first == start
        rig.send("a", 1, 0xB0, 120, 0, ahead=0.0)  # all sound off: back to silence
        assert np.abs(rig.render(0.05)[-BLOCK:]).max() == 0.0


def test_channel_groups_reach_only_their_group(rig_of, banks):
    rig = rig_of(
        PinConfig("a", channel_groups=2, banks=(banks["sine"],), reverb=False, chorus=False)
    )
    rig.send("a", 1, 0xB0, 7, 0)  # channel 1 of group 1 muted; group 2 untouched
    rig.render(0.02)
    rig.send("a", 1, 0x90, 69, 100)
    assert rms_db(rig.render(0.2)) < -90  # the muted group is silent (CC7 0 is -96 dB at most)
    rig.send("a", 2, 0x90, 69, 100)
    audio = rig.render(0.2)
    assert rms_db(audio[RATE // 20 :]) > -30
    assert abs(fundamental(audio[RATE // 20 :]) - key_hz(69)) < 10
    groups = sorted(r.group for r in rig.service.pins["a"].stream.voices())
    assert groups == [0, 1]  # one voice in each group (0-based), the first one muted
    dropped = rig.service.dropped
    rig.send("a", 3, 0x90, 70, 100)  # no group 3: dropped, never raised
    rig.send("nosuch", 1, 0x90, 70, 100)
    assert rig.service.dropped == dropped + 2


def test_two_pins_play_their_own_banks(rig_of, banks):
    rig = rig_of(
        PinConfig("sines", banks=(banks["sine"],), reverb=False, chorus=False),
        PinConfig("gm", banks=(TIMGM,), reverb=False, chorus=False),
    )
    rig.send("sines", 1, 0x90, 69, 100)
    sine = rig.render(0.3)[RATE // 10 :]
    rig.send("sines", 1, 0x80, 69, 0)
    rig.render(0.5)
    rig.send("gm", 1, 0xC0, ORGAN)
    rig.send("gm", 1, 0x90, 57, 100)
    organ = rig.render(0.3)[RATE // 10 :]
    assert purity(sine) > 0.99
    assert purity(organ) < 0.9  # an organ has harmonics
    assert abs(fundamental(sine) - 440.0) < 10


# -- banks -----------------------------------------------------------------------------------
def test_load_overrides_and_unload_keeps_sounding_notes(rig_of, banks):
    rig = rig_of(PinConfig("a", banks=(banks["sine"],), reverb=False, chorus=False))
    service = rig.service
    rig.send("a", 1, 0x90, 69, 100)
    before = rig.render(0.2)[-RATE // 20 :]
    loaded = service.load_bank("a", TIMGM)  # while the sine sounds
    assert loaded["instruments"] > 100 and loaded["downloads"] > loaded["instruments"]
    after = rig.render(0.2)
    assert abs(rms_db(after[: RATE // 20]) - rms_db(before)) < 0.5  # the held note goes on
    assert purity(after) > 0.99
    # A new note of the same program now comes from the later bank.
    rig.send("a", 1, 0x90, 57, 100)
    rig.send("a", 1, 0x80, 69, 0)
    rig.render(0.2)
    assert purity(rig.render(0.2)) < 0.9
    # Unload TimGM6mb while its note sounds: the note plays on, new notes are sines again.
    level = rms_db(rig.render(0.05))
    service.unload_bank("a", loaded["bank"])
    assert service.active_voices() == 1
    held = rig.render(0.05)
    assert rms_db(held) > level - 3  # not cut (a piano decays a little in 50 ms)
    rig.send("a", 1, 0x80, 57, 0)
    rig.render(1.5)
    rig.send("a", 1, 0x90, 69, 100)
    assert purity(rig.render(0.3)[RATE // 10 :]) > 0.99
    assert [b["bank"] for b in service.status()["pins"][0]["banks"]] == [1]


def test_later_banks_override_earlier_ones(rig_of, banks):
    rig = rig_of(PinConfig("a", banks=(TIMGM, banks["sine"]), reverb=False, chorus=False))
    rig.send("a", 1, 0x90, 69, 100)
    assert purity(rig.render(0.3)[RATE // 10 :]) > 0.99  # the sine bank is last: it wins


def test_bad_bank_is_refused_and_nothing_is_lost(rig_of, banks, tmp_path):
    rig = rig_of(PinConfig("a", banks=(banks["sine"],), reverb=False, chorus=False))
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00sfbkLIST\xff\xff\xff\xff")
    rig.send("a", 1, 0x90, 69, 100)
    before = rms_db(rig.render(0.2)[-RATE // 20 :])
    with pytest.raises(BankError) as error:
        rig.service.load_bank("a", str(bad))
    assert "bad.sf2" in str(error.value)
    with pytest.raises(BankError, match="cannot open"):
        rig.service.load_bank("a", str(tmp_path / "missing.dls"))
    assert abs(rms_db(rig.render(0.1)) - before) < 0.5
    assert len(rig.service.status()["pins"][0]["banks"]) == 1
    with pytest.raises(DmusdError, match="no bank 7"):
        rig.service.unload_bank("a", 7)
    with pytest.raises(DmusdError, match="no pin named 'b'"):
        rig.service.load_bank("b", banks["sine"])


def _waves(stream) -> list:
    table = stream.downloads.table.instruments.values()
    return list({id(r.wave): r.wave for inst in table for r in inst.regions}.values())


def test_a_bank_is_held_once_in_the_engine_pool(rig_of):
    rig = rig_of(PinConfig("gm", banks=(TIMGM,), reverb=False, chorus=False))
    stream = rig.service.pins["gm"].stream
    engine = stream.engine
    waves = _waves(stream)
    assert len(waves) > 100
    # every wave's samples are a view of the engine's pool: no other copy is kept
    copies = [
        w for w in waves if w.samples.flags.owndata or w.samples.base is not engine.pool.array
    ]
    assert copies == []
    frames = sum(w.frames for w in waves)
    used = engine.pool.used
    assert used == L.GUARD * (len(waves) + 1) + frames
    assert stream.downloads.sample_memory == 4 * frames
    # the first note of a wave finds it in place
    rig.send("gm", 1, 0xC0, ORGAN)
    rig.send("gm", 1, 0x90, 60, 100)
    assert rms_db(rig.render(0.2)[RATE // 10 :]) > -40
    assert engine.pool.used == used


def test_a_bank_download_never_holds_every_buffer_at_once(tmp_path):
    parsed = parse_bank(TIMGM)
    live = SynthPin(PinConfig("gm", reverb=False, chorus=False), RATE, SampleCountClock(RATE))
    try:
        gc.collect()
        tracemalloc.start()
        try:
            live.download(parsed, 1)
            gc.collect()
            held, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        samples = live.stream.downloads.sample_memory
        assert samples > 10_000_000
        # above what stays (the pool and the instruments), the load needs a wave's worth,
        # not a list of buffers or a second copy of the samples
        assert peak - held < samples // 10
    finally:
        live.close()


def test_a_download_that_fails_half_way_gives_its_pool_space_back(rig_of, banks):
    rig = rig_of(PinConfig("a", banks=(banks["sine"],), reverb=False, chorus=False))
    live = rig.service.pins["a"]
    stream = live.stream
    rig.render(0.01)
    used, memory = stream.engine.pool.used, stream.downloads.sample_memory
    good = instrument(make_patch(5), region(ones(5000)))
    bad = instrument(make_patch(6), region(ones(6000)))
    bad.regions[0].wsmp = WaveSample(60, 0, 0, 0, (Loop(0, 5990, 100),))  # past the wave's end
    parsed = ParsedBank("half", bank_of(good, bad), False, (0, 0))
    with pytest.raises(PropertyError, match="outside the wave"):
        live.download(parsed, 99)
    assert stream.engine.pool.used > used  # its waves went in before the instrument failed
    rig.render(0.01)  # the engine moves past the tables that showed the good instrument
    stream.downloads.collect()
    assert stream.engine.pool.used == used and stream.downloads.sample_memory == memory
    assert stream.downloads.table.find(make_patch(5)).regions[0].wave.frames > 0  # the sine


# -- volume, panic, properties -----------------------------------------------------------------
def test_volume_changes_the_level_by_the_db_asked(rig_of, banks):
    rig = rig_of(PinConfig("a", banks=(banks["sine"],), reverb=False, chorus=False))
    rig.send("a", 1, 0x90, 69, 100)
    before = rms_db(rig.render(0.2)[-RATE // 10 :])
    rig.service.set_volume("a", -7.5)
    rig.render(0.02)
    after = rms_db(rig.render(0.1))
    assert after - before == pytest.approx(-7.5, abs=0.1)
    rig.service.set_volume(None, 0.0)
    rig.render(0.02)
    assert rms_db(rig.render(0.1)) == pytest.approx(before, abs=0.1)
    for db in (20.5, -201, float("nan")):
        with pytest.raises(DmusdError, match="outside -200..20"):
            rig.service.set_volume("a", db)


def test_panic_silences_every_pin_and_group_within_a_few_ms(rig_of, banks):
    rig = rig_of(
        PinConfig("a", channel_groups=2, banks=(banks["sine"],)),
        PinConfig("b", banks=(TIMGM,)),
    )
    for group in (1, 2):
        for ch in range(3):
            rig.send("a", group, 0x90 | ch, 60 + ch, 110)
    rig.send("a", 1, 0xB0, 64, 127)  # sustain pedal down: a panic cuts held notes too
    rig.send("b", 1, 0x90, 60, 110)
    assert rms_db(rig.render(0.5)[-RATE // 10 :]) > -30
    loud = np.abs(rig.render(0.1)).max()
    rig.service.panic()
    audio = rig.render(0.05)
    after = np.abs(audio[round(0.006 * RATE) :]).max()  # the 5 ms quick-stop fades are over
    assert after < loud / 100  # -40 dB
    assert np.abs(audio[3 * BLOCK :]).max() == 0.0  # from the third block: nothing at all
    assert rig.service.active_voices() == 0


def prop(service: SynthService, pin: str, request: dict) -> dict:
    """A property request as the control socket's `property` command makes it."""
    return ks_reply(service.property(pin, ks_request(request)))


def test_property_requests_as_json(rig_of, banks):
    rig = rig_of(PinConfig("a", banks=(banks["sine"],)))
    service = rig.service
    got = prop(service, "a", {"set": "KSPROPSETID_Synth", "item": "VOLUME", "verb": "get"})
    assert got == {"status": "STATUS_SUCCESS", "size": 4, "value": "00000000", "int": 0}
    prop(service, "a", {"set": "KSPROPSETID_Synth", "item": 0, "verb": "set", "value": -600})
    assert service.status()["pins"][0]["volume_db"] == -6.0
    raw = struct.pack("<i", -150).hex()
    prop(
        service,
        "a",
        {"set": "fedfae25-e46e-11d1-aace-0000f875ac12", "item": 0, "verb": "set", "value": raw},
    )
    assert service.status()["pins"][0]["volume_db"] == -1.5
    volume = {"set": "KSPROPSETID_Synth", "item": "KSPROPERTY_SYNTH_VOLUME"}
    support = prop(service, "a", {**volume, "verb": "basic_support"})
    assert support["int"] == 0x203  # BASICSUPPORT | GET | SET
    probe = prop(service, "a", {"set": "KSPROPSETID_Synth", "item": "CAPS", "size": 0})
    assert probe["status"] == "STATUS_BUFFER_OVERFLOW" and probe["size"] == 296
    with pytest.raises(PropertyError, match="STATUS_INVALID_PARAMETER"):
        prop(
            service,
            "a",
            {"set": "KSPROPSETID_Synth", "item": "VOLUME", "verb": "set", "value": 99999},
        )
    with pytest.raises(PropertyError, match="STATUS_NOT_FOUND"):
        prop(service, "a", {"set": "KSPROPSETID_Synth", "item": 99})
    for bad, where in (
        ({"set": "nope", "item": 0}, "property.set"),
        ({"set": "KSPROPSETID_Synth", "item": "LOUDNESS"}, "property.item"),
        ({"set": "KSPROPSETID_Synth", "item": 0, "verb": "put"}, "property.verb"),
        ({"set": "KSPROPSETID_Synth", "item": 0, "verb": "set"}, "property.value"),
        ({"set": "KSPROPSETID_Synth", "item": 0, "verb": "set", "value": "zz"}, "property.value"),
        ({"set": "KSPROPSETID_Synth", "item": 0, "size": -1}, "property.size"),
    ):
        with pytest.raises(DmusdError) as error:
            prop(service, "a", bad)
        assert error.value.where == where


def test_stats_are_running_stats_per_pin(rig_of, banks):
    rig = rig_of(PinConfig("a", banks=(banks["sine"],)), PinConfig("b", banks=(banks["sine"],)))
    for key in (60, 64, 67):
        rig.send("a", 1, 0x90, key, 100)
    rig.render(0.5)
    stats = rig.service.stats()
    assert set(stats) == {"a", "b"}
    assert stats["a"]["voices"] == 3 and stats["b"]["voices"] == 0
    assert stats["a"]["active_voices"] == 3
    assert stats["a"]["peak_db"] > -30 and stats["b"]["peak_db"] <= -96
    assert stats["a"]["cpu_percent"] > 0 and stats["a"]["lost_notes"] == 0
    assert stats["a"]["sample_memory"] > 0


# -- idle ------------------------------------------------------------------------------------
def count_engine_calls(pin) -> list[int]:
    """Watch a pin's synth: the frames of each block it is asked to render (a call for no
    frames only does the bookkeeping)."""
    calls: list[int] = []
    stream = pin.stream
    render = stream.Render

    def counting(buffer, frames: int, position: int):
        if frames:
            calls.append(frames)
        return render(buffer, frames, position)

    stream.Render = counting
    return calls


def test_idle_skips_the_engine_and_keeps_every_sample_in_place(rig_of, banks):
    """Two services play the same notes; one may go idle, the other never does. Both give the
    same audio, the note after the idle stretch starts at its exact sample, and while idle the
    engine is not called at all."""
    # program 0: the DC wave (its first sample shows where a note starts), 1..127: sines
    pin = PinConfig("a", banks=(banks["sine"], banks["ones"]))  # reverb and chorus on
    idle, busy = rig_of(pin, block=300), rig_of(pin, block=300)
    busy.service.pins["a"]._blocks.enabled = False  # never idle, as offline
    outputs = []
    for rig in (idle, busy):
        rig.send("a", 1, 0xC1, 1)
        for ch in (0, 1):
            rig.send("a", 1, 0xB0 | ch, 91, 127)  # full reverb and chorus sends
            rig.send("a", 1, 0xB0 | ch, 93, 127)
        rig.send("a", 1, 0x90, 60, 100)
        rig.render(0.2)
        rig.send("a", 1, 0x80, 60, 0)
        rig.render(IDLE_AFTER + 6.0)  # the release and the effect tails die away, then idle
        calls = count_engine_calls(rig.service.pins["a"])
        rig.render(1.0)
        outputs.append((rig.service.status()["idle"], len(calls)))
        start = rig.send("a", 1, 0x90, 60, 100, ahead=0.0123)  # DC
        rig.send("a", 1, 0x91, 69, 100, ahead=0.0123)  # a sine, through the chorus
        audio = rig.render(0.5)
        sounding = np.abs(audio[:, 0]) > 1e-6  # (the busy one still has a -200 dB tail)
        first = int(np.flatnonzero(sounding)[0]) + rig.position - len(audio)
        outputs.append((start, first, audio))
    (idle_flag, idle_calls), (s1, f1, a1), (busy_flag, busy_calls), (s2, f2, a2) = outputs
    assert idle_flag and not busy_flag
    assert idle_calls == 0 and busy_calls > 0
    assert f1 == s1 and f2 == s2  # the note plays at its sample after an idle stretch
    assert np.abs(a1).max() > 0.1
    assert np.allclose(a1, a2, atol=1e-6)  # the chorus LFO moved on as if rendered
    assert not idle.service.status()["idle"]


def test_idle_wakes_for_events_in_its_first_block(rig_of, banks):
    rig = rig_of(PinConfig("a", banks=(banks["ones"],), reverb=False, chorus=False))
    rig.render(IDLE_AFTER + 0.1)
    assert rig.service.status()["idle"]
    start = rig.send("a", 1, 0x90, 60, 100, ahead=0.001)  # inside the very next block
    audio = rig.render(0.01)
    assert int(np.flatnonzero(audio[:, 0])[0]) + rig.position - len(audio) == start


# -- reload ----------------------------------------------------------------------------------
def test_reload_changes_volume_and_banks_without_cutting_notes(rig_of, banks):
    pin = PinConfig("a", banks=(banks["sine"],), reverb=False, chorus=False)
    rig = rig_of(pin)
    service = rig.service
    rig.send("a", 1, 0x90, 69, 100)
    before = rms_db(rig.render(0.2)[-RATE // 10 :])
    new = PinConfig("a", banks=(banks["sine"], TIMGM), volume_db=-6.0, reverb=False, chorus=False)
    result = service.reload(config(new))
    assert result["changed"] == {"a": ["banks", "volume"]}
    after = rig.render(0.12)[-RATE // 10 :]
    assert rms_db(after) - before == pytest.approx(-6.0, abs=0.1)  # the same note, 6 dB down
    assert purity(after) > 0.99
    assert [b["bank"] for b in service.status()["pins"][0]["banks"]] == [1, 2]  # head kept
    rig.send("a", 1, 0x90, 57, 100)  # TimGM6mb (the later bank) answers new notes
    rig.send("a", 1, 0x80, 69, 0)
    rig.render(0.2)
    piano = rms_db(rig.render(0.05))
    # The TimGM6mb bank goes: its note plays on while the new list is put in place.
    result = service.reload(config(PinConfig("a", banks=(banks["ones"],), reverb=False)))
    assert result["changed"] == {"a": ["banks", "volume", "effects"]}
    assert service.active_voices() == 1
    assert rms_db(rig.render(0.05)) > piano + 6 - 3  # volume back to 0 dB, note not cut
    assert [b["path"] for b in service.status()["pins"][0]["banks"]] == [banks["ones"]]
    assert service.status()["pins"][0]["reverb"] is False
    assert service.status()["pins"][0]["chorus"] is True


def test_a_bad_reload_keeps_the_old_state_playing(rig_of, banks, tmp_path):
    rig = rig_of(PinConfig("a", banks=(banks["sine"],), reverb=False, chorus=False))
    service = rig.service
    rig.send("a", 1, 0x90, 69, 100)
    before = rms_db(rig.render(0.2)[-RATE // 10 :])
    status = service.status()
    bad = [
        config(PinConfig("a", banks=(banks["sine"], str(tmp_path / "gone.sf2")))),
        config(PinConfig("a"), PinConfig("b", banks=(str(tmp_path / "gone.dls"),))),
        config(PinConfig("a", voices=8, banks=("/etc/hostname",))),
    ]
    for cfg in bad:
        with pytest.raises(BankError):
            service.reload(cfg)
    with pytest.raises(ConfigError, match="restart"):
        service.reload(config(PinConfig("a"), rate=44100))
    assert service.status()["pins"] == status["pins"]
    assert list(service.pins) == ["a"]
    assert rms_db(rig.render(0.1)) == pytest.approx(before, abs=0.2)
    assert service.pins["a"].stream.downloads.table.instruments  # nothing unloaded


def test_reload_adds_removes_and_reopens_pins(rig_of, banks):
    rig = rig_of(PinConfig("a", banks=(banks["sine"],), reverb=False, chorus=False))
    service = rig.service
    two = config(
        PinConfig("a", banks=(banks["sine"],), reverb=False, chorus=False),
        PinConfig("b", channel_groups=2, banks=(banks["sine"],), reverb=False, chorus=False),
    )
    assert service.reload(two) == {"added": ["b"], "reopened": [], "removed": [], "changed": {}}
    rig.send("b", 2, 0x90, 69, 100)
    assert rms_db(rig.render(0.2)[-RATE // 10 :]) > -30
    a = service.pins["a"]
    # More channel groups for "a" re-open its synth; "b" goes away (its note with it).
    result = service.reload(
        config(PinConfig("a", channel_groups=3, banks=(banks["sine"],), reverb=False))
    )
    assert result["reopened"] == ["a"] and result["removed"] == ["b"]
    assert service.pins["a"] is not a and service.pins["a"].groups == 3
    assert rms_db(rig.render(0.1)) < -120
    rig.send("a", 3, 0x90, 69, 100)
    rig.send("b", 1, 0x90, 69, 100)
    assert service.dropped == 1
    assert rms_db(rig.render(0.2)[-RATE // 10 :]) > -30
    assert [p["name"] for p in service.status()["pins"]] == ["a"]


def test_close_stops_everything(rig_of, banks):
    rig = rig_of(PinConfig("a", banks=(banks["sine"],)))
    rig.send("a", 1, 0x90, 69, 100)
    rig.render(0.1)
    pin = rig.service.pins["a"]
    rig.service.close()
    assert rig.service.pins == {} and rig.service.status()["pins"] == []
    assert pin.midi.allocator.all_home()  # every event went home
    assert rms_db(rig.render(0.05)) < -200  # render() has nothing left to play


@pytest.mark.parametrize(("voices", "says"), [(0, "must be 1..4096, got 0"), (True, "integer")])
def test_set_voices_refuses_what_the_config_would(rig_of, voices, says):
    """A control request's voice count goes through the config's own rule for pins.voices, and
    a refused one leaves the pin as it was."""
    rig = rig_of(PinConfig("synth", voices=32))
    with pytest.raises(ConfigError, match=says) as refused:
        rig.service.set_voices(None, voices)
    assert refused.value.key == "pins.voices"
    assert rig.service.set_voices(None, None) == {"synth": {"voices": 32, "active": 0}}
