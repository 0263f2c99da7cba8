"""SynthStream and SynthMiniport: events in by PutMessage, audio out by Render, properties.

The helpers at the top (sine banks, a Rig that drives a stream the way the port and a wave sink
do) are shared with test_control_logic.py, test_voice_allocator.py and tests/test_render.py.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmusd.banks.connection import (
    CONN_DST_EG1_RELEASETIME,
    CONN_DST_PITCH,
    CONN_SRC_LFO,
    connection,
)
from dmusd.banks.download import build_bank_downloads
from dmusd.banks.model import (
    F_INSTRUMENT_DRUMS,
    WLOOP_TYPE_FORWARD,
    Bank,
    Instrument,
    Loop,
    Region,
    Wave,
    WaveSample,
    make_patch,
)
from dmusd.banks.units import timecents
from dmusd.errors import PropertyError
from dmusd.kernel.allocator import AllocatorMXF
from dmusd.kernel.clock import REFTIME_PER_SECOND, SampleCountClock
from dmusd.kernel.ks import PropertyRequest
from dmusd.kernel.miniport import DONT_HOLD_FOR_SEQUENCING
from dmusd.kernel.mxf import KSSTATE, step_state
from dmusd.kernel.port import PortDMus
from dmusd.kernel.synth_props import (
    DAUD_STANDARD_VOICE_PRIORITY,
    GUID_DMUS_PROP_DLS1,
    GUID_DMUS_PROP_DLS2,
    GUID_DMUS_PROP_INSTRUMENT2,
    KSPROPERTY_SYNTH,
    KSPROPERTY_SYNTH_DLS,
    SYNTH_PORTPARAMS,
    SYNTH_PORTPARAMS_CHANNELGROUPS,
    SYNTH_PORTPARAMS_SAMPLERATE,
    SYNTH_PORTPARAMS_VOICES,
    SYNTH_STATS,
    SYNTHCAPS,
    SYNTHDOWNLOAD,
    SYNTHVOICEPRIORITY_INSTANCE,
    WAVEFORMATEX,
    GUID_DMUS_PROP_Effects,
    GUID_DMUS_PROP_GM_Hardware,
    GUID_DMUS_PROP_GS_Hardware,
    GUID_DMUS_PROP_SamplePlaybackRate,
    GUID_DMUS_PROP_XG_Hardware,
    KSPROPSETID_Synth,
    KSPROPSETID_Synth_Dls,
)
from dmusd.kernel.unpacker import Unpacker
from dmusd.synth.engine import pin_layout as P
from dmusd.synth.miniport import PIN_RENDER, PIN_WAVE, SinkSide, SynthMiniport
from dmusd.synth.stream import SynthConfig, SynthStream

from .audio import cents, zero_crossing_frequency

RATE = 48000
WAVE_RATE = 44000  # a 100-sample period at 44 kHz is exactly 440 Hz
A4 = 69


# -- banks built from numpy sines ------------------------------------------------------------
def sine(period: float = 100, cycles: int = 40, unity: int = A4, **wsmp) -> Wave:
    """A looped sine whose unity note plays at WAVE_RATE / period Hz (440 Hz by default)."""
    n = round(period * cycles)
    samples = np.sin(2.0 * np.pi * np.arange(n) / period).astype(np.float32)
    loop = (Loop(WLOOP_TYPE_FORWARD, 0, n),)
    return Wave(samples, WAVE_RATE, WaveSample(unity_note=unity, loops=loop, **wsmp))


def ones(n: int = 64) -> Wave:
    """A looped DC wave: a note shows as the first non-zero sample."""
    loop = (Loop(WLOOP_TYPE_FORWARD, 0, n),)
    return Wave(np.ones(n, dtype=np.float32), WAVE_RATE, WaveSample(loops=loop))


def instrument(patch: int, *regions: Region, release: float = 0.0) -> Instrument:
    art = (connection(CONN_DST_EG1_RELEASETIME, timecents(release)),) if release else ()
    return Instrument(patch, f"patch {patch:#x}", list(regions), art)


def region(wave: Wave, lo: int = 0, hi: int = 127, vel: tuple = (0, 127), **kw) -> Region:
    return Region(lo, hi, vel[0], vel[1], wave, **kw)


def bank_of(*instruments: Instrument) -> Bank:
    waves = list({id(r.wave): r.wave for i in instruments for r in i.regions}.values())
    return Bank("DLS", 2, {i.patch: i for i in instruments}, waves)


def sine_bank(programs=range(128), release: float = 0.0) -> Bank:
    """Every melodic program a 440 Hz-at-A4 sine; the drum kit a sine one octave higher."""
    melodic = sine()
    drums = sine(period=50)
    insts = [instrument(make_patch(p), region(melodic), release=release) for p in programs]
    insts.append(instrument(F_INSTRUMENT_DRUMS, region(drums), release=release))
    return bank_of(*insts)


def key_hz(key: float) -> float:
    return 440.0 * 2.0 ** ((key - A4) / 12.0)


def pitch_cents(x: np.ndarray, key: float) -> float:
    """How far the (clean, periodic) signal is from `key`'s pitch, in cents."""
    return cents(zero_crossing_frequency(x, RATE), key_hz(key))


def peak(x: np.ndarray) -> float:
    return float(np.max(np.abs(x))) if x.size else 0.0


# -- a stream driven like the port and a wave sink drive it ----------------------------------
class Rig:
    """SynthStream fed by a real Unpacker, rendered block by block with SyncToMaster, its master
    clock counting samples. `send(sample, msg)` stamps msg with that sample's reference time."""

    def __init__(self, bank: Bank | None = None, block: int = 256, **config) -> None:
        config.setdefault("reverb", False)
        config.setdefault("chorus", False)
        config.setdefault("voices", 32)
        config.setdefault("rate", RATE)
        self.rate = config["rate"]
        self.block = block
        events = config.pop("events", 1024)
        self.pool = AllocatorMXF(events, 16, config.pop("buffer_size", 64))
        self.clock = SampleCountClock(self.rate)
        self.stream = SynthStream(
            self.pool, self.clock, SynthConfig(**config), bank if bank else sine_bank()
        )
        self.unpacker = Unpacker(self.pool)
        self.unpacker.ConnectOutput(self.stream)
        step_state(self.stream, KSSTATE.RUN)
        step_state(self.unpacker, KSSTATE.RUN)
        self.position = 0

    def send(self, sample: int, *messages, group: int = 1) -> None:
        when = self.stream.SampleToRefTime(sample)
        for msg in messages:
            self.unpacker.put_bytes(bytes(msg), when, group)

    def render(self, frames: int) -> np.ndarray:
        out = np.zeros((frames, 2), dtype=np.float32)
        done = 0
        while done < frames:
            n = min(self.block, frames - done)
            t = self.position * REFTIME_PER_SECOND // self.rate
            self.stream.SyncToMaster(t, self.position == 0)
            self.stream.Render(out[done : done + n], n, self.position)
            self.clock.advance(n)
            self.position += n
            done += n
        return out

    @property
    def logic(self) -> GroupView:
        return GroupView(self.stream, 0)

    @property
    def groups(self) -> list[GroupView]:
        return [GroupView(self.stream, g) for g in range(self.stream.config.channel_groups)]


class GroupView:
    """One channel group of a stream, as the tests look at it."""

    def __init__(self, stream: SynthStream, group: int) -> None:
        self.stream = stream
        self.group = group

    def held(self, ch: int) -> list:
        return self.stream.held(self.group, ch)

    def cc(self, ch: int, number: int) -> int:
        return int(self.stream.state_arrays.cc[16 * self.group + ch, number])

    def drum(self, ch: int) -> bool:
        return bool(self.stream.state_arrays.chs[16 * self.group + ch, P.CH_DRUM])

    @property
    def mode(self) -> str:
        return self.stream.mode(self.group)

    @property
    def missed_patches(self) -> int:
        return self.stream.missed_patches  # the pin's count: these tests play one group

    @property
    def unplayable(self) -> int:
        return self.stream.errors


def note_on(key: int, velocity: int = 127, ch: int = 0) -> bytes:
    return bytes([0x90 | ch, key, velocity])


def note_off(key: int, ch: int = 0) -> bytes:
    return bytes([0x80 | ch, key, 0])


def cc(number: int, value: int, ch: int = 0) -> bytes:
    return bytes([0xB0 | ch, number, value])


# -- timing -----------------------------------------------------------------------------------
@pytest.mark.parametrize("block", [64, 256, 1000])
def test_a_note_starts_at_its_own_sample_for_any_block_size(block):
    bank = bank_of(instrument(make_patch(0), region(ones())))
    rig = Rig(bank, block=block)
    starts = (0, 777, 1500, 4321)
    for i, start in enumerate(starts):  # each note alone: a 0 s release is silent in 64 samples
        rig.send(start, note_on(40 + i, ch=i))
        rig.send(start + 100, note_off(40 + i, ch=i))
    out = np.abs(rig.render(6000)).sum(axis=1)
    onsets = np.nonzero((out[1:] > 0.0) & (out[:-1] == 0.0))[0] + 1
    assert [0, *onsets.tolist()] == list(starts) and out[0] > 0.0


def test_the_same_events_give_the_same_samples_for_any_block_size():
    def play(block):
        rig = Rig(block=block, reverb=True, chorus=True)
        rig.send(10, note_on(60), cc(10, 20))
        rig.send(1999, bytes([0xE0, 0, 0x50]), note_on(64, 90, ch=1))
        rig.send(3333, note_off(60), cc(91, 100, ch=1))
        rig.send(5001, note_off(64, ch=1))
        return rig.render(9000)

    reference = play(64)
    assert peak(reference) > 0.1
    for block in (100, 256, 1000, 4096):
        assert np.array_equal(play(block), reference), block


def test_which_voice_is_stolen_does_not_depend_on_the_block_size():
    """A full budget of 4 voices, notes that end (0.2 s release) inside a block: a voice that
    ended before a note has left the budget at every block size, so the same voices are stolen
    (and the same notes sound) whether blocks are 64 frames or 4096."""

    def play(block):
        rig = Rig(sine_bank(release=0.2), block=block, voices=4)
        for i in range(24):
            start = 700 * i
            rig.send(start, note_on(48 + (5 * i) % 30, 60 + i))
            rig.send(start + 900, note_off(48 + (5 * i) % 30))
        return rig.render(24 * 700 + 12000), rig.stream

    reference, stream = play(64)
    assert peak(reference) > 0.1 and stream.stolen > 0  # the budget was full
    for block in (1000, 4096):
        out, _ = play(block)
        assert np.array_equal(out, reference), block


def test_late_events_play_at_the_start_of_the_next_block_and_are_counted():
    rig = Rig(bank_of(instrument(make_patch(0), region(ones()))), block=256)
    rig.render(512)
    rig.send(100, note_on(60))  # already rendered: plays as soon as possible
    out = np.abs(rig.render(256)).sum(axis=1)
    assert out[0] > 0.0 and rig.stream.late == 1


def test_time_zero_means_as_soon_as_possible():
    rig = Rig(bank_of(instrument(make_patch(0), region(ones()))), block=256)
    rig.render(1024)
    rig.unpacker.put_bytes(note_on(60), 0, 1)
    out = np.abs(rig.render(256)).sum(axis=1)
    assert out[0] > 0.0 and rig.stream.late == 0


# -- events go home ---------------------------------------------------------------------------
def test_every_event_goes_back_to_the_allocator_once_its_record_is_in_the_ring():
    rig = Rig()
    for i in range(50):
        rig.send(100 * i, note_on(40 + i % 30), note_off(40 + (i + 7) % 30))
    rig.send(6000, bytes([0xF0, 0x7E, 0x7F, 0x09, 0x01, 0xF7]))
    assert rig.pool.all_home() and rig.stream.pending == 101  # their records wait in the ring
    rig.render(3000)
    assert 0 < rig.stream.pending < 101
    rig.render(4000)
    assert rig.stream.pending == 0
    rig.pool.check()
    assert rig.pool.all_home()


def test_stop_hands_back_what_is_queued_and_leaving_run_releases_notes():
    bank = sine_bank(release=5.0)
    rig = Rig(bank)
    rig.send(0, note_on(60))
    rig.send(50_000, note_on(64))
    rig.render(1024)
    rig.stream.SetState(KSSTATE.PAUSE)  # leaving RUN: every note released
    out = rig.render(48000)
    tail = peak(out[-4800:])
    assert 0.0 < tail < 0.5 * peak(out[:4800])  # in its 5 s release
    assert rig.stream.pending == 1  # the later note waits, not played outside RUN
    rig.stream.SetState(KSSTATE.ACQUIRE)
    rig.stream.SetState(KSSTATE.STOP)
    assert rig.stream.pending == 0 and rig.pool.all_home()
    rig.send(0, note_on(60))  # a stream in STOP takes nothing
    assert rig.pool.all_home()


# -- SysEx ------------------------------------------------------------------------------------
def test_sysex_pieces_flagged_incomplete_are_joined_per_channel_group():
    rig = Rig(buffer_size=9, channel_groups=2)
    gs_reset = bytes([0xF0, 0x41, 0x10, 0x42, 0x12, 0x40, 0x00, 0x7F, 0x00, 0x41, 0xF7])
    xg_on = bytes([0xF0, 0x43, 0x10, 0x4C, 0x00, 0x00, 0x7E, 0x00, 0xF7])
    rig.send(10, gs_reset, group=1)
    rig.send(10, xg_on, group=2)
    rig.render(256)
    assert [g.mode for g in rig.groups] == ["GS", "XG"]
    assert rig.stream.sysex_dropped == 0 and rig.pool.all_home()


def test_master_volume_sysex_scales_the_output_from_its_sample():
    rig = Rig(bank_of(instrument(make_patch(0), region(ones()))))
    rig.send(0, note_on(60))
    half = 8192  # 14-bit master volume: 8192 / 16383 of full
    rig.send(3000, bytes([0xF0, 0x7F, 0x7F, 0x04, 0x01, half & 0x7F, half >> 7, 0xF7]))
    out = rig.render(6000)[:, 0]
    assert out[2999] > 0.0
    assert out[3000] / out[2999] == pytest.approx(half / 16383, rel=1e-3)


# -- channel groups ---------------------------------------------------------------------------
def test_two_channel_groups_reach_their_own_channels_and_group_0_reaches_all():
    low, high = sine(), sine(period=25)  # program 0 plays A4 at 440 Hz, program 1 at 1760 Hz
    bank = bank_of(instrument(make_patch(0), region(low)), instrument(make_patch(1), region(high)))
    rig = Rig(bank, channel_groups=2)
    rig.send(0, bytes([0xC0, 1]), group=2)  # group 2 channel 1 takes program 1
    rig.send(0, note_on(A4), group=2)
    rig.send(12000, note_off(A4), group=0)  # group 0: every group
    rig.send(14400, note_on(A4), group=1)
    rig.send(26400, note_off(A4), group=1)
    rig.send(28800, note_on(A4), group=0)
    rig.send(40800, note_on(A4), group=3)  # there is no group 3
    out = rig.render(43200)[:, 0]
    assert abs(pitch_cents(out[1000:11000], A4 + 24)) < 3  # group 2 alone: program 1
    assert peak(out[12500:14000]) == 0.0
    assert abs(pitch_cents(out[15400:25400], A4)) < 3  # group 1 alone: program 0
    both = out[29800:39800]
    spectrum = np.abs(np.fft.rfft(both * np.hanning(both.size)))
    bins = np.fft.rfftfreq(both.size, 1 / RATE)
    for hz in (440.0, 1760.0):
        assert spectrum[np.argmin(abs(bins - hz))] > 0.2 * spectrum.max()
    assert rig.stream.stray == 1


# -- the miniport and its properties --------------------------------------------------------
def open_synth(bank: Bank | None = None, **config):
    config.setdefault("reverb", False)
    config.setdefault("chorus", False)
    clock = SampleCountClock(RATE)
    port = PortDMus(SynthMiniport(SynthConfig(**config), bank or sine_bank()), clock)
    return port, clock, port.open_pin(PIN_RENDER), port.open_pin(PIN_WAVE)


def pull(wave_pin, clock, frames: int, position: int) -> np.ndarray:
    out = np.zeros((frames, 2), dtype=np.float32)
    wave_pin.stream.SyncToMaster(position * REFTIME_PER_SECOND // RATE, position == 0)
    wave_pin.stream.Render(out, frames, position)
    clock.advance(frames)
    return out


def test_new_stream_pairs_a_render_pin_and_a_wave_pin_into_one_synth():
    port, clock, midi, wave = open_synth()
    assert midi.prefetch == DONT_HOLD_FOR_SEQUENCING
    assert isinstance(midi.stream, SynthStream) and isinstance(wave.stream, SinkSide)
    assert wave.stream.synth is midi.stream and midi.stream.allocator is midi.allocator
    wave2 = port.open_pin(PIN_WAVE)  # a second pair is a second, independent synth
    midi2 = port.open_pin(PIN_RENDER)
    assert wave2.stream.synth is midi2.stream is not midi.stream
    for pin in (wave, midi):
        pin.SetState(KSSTATE.RUN)
    midi.put_bytes(note_on(A4), 0, 1)
    midi.put_bytes(note_off(A4), 10_000_000, 1)
    out = pull(wave, clock, 24000, 0)
    assert abs(pitch_cents(out[2000:20000, 0], A4)) < 3
    port.close()
    assert midi.allocator.all_home()


def prop(port, pin, item, size=4, value=None, instance=b""):
    if value is None:
        return port.property_request(
            PropertyRequest.get(KSPROPSETID_Synth, item, size, pin=pin.id, instance=instance)
        )
    return port.property_request(
        PropertyRequest.set(KSPROPSETID_Synth, item, value, pin=pin.id, instance=instance)
    )


def test_volume_and_boost_are_in_hundredths_of_a_db_with_the_ddi_default_boost():
    bank = bank_of(instrument(make_patch(0), region(ones())))
    port, clock, midi, wave = open_synth(bank)
    S = KSPROPERTY_SYNTH
    assert struct.unpack("<i", prop(port, midi, S.VOLUME).value) == (0,)
    assert struct.unpack("<i", prop(port, wave, S.VOLUMEBOOST).value) == (600,)
    for pin in (wave, midi):
        pin.SetState(KSSTATE.RUN)
    midi.put_bytes(note_on(60), 0, 1)
    loud = pull(wave, clock, 2000, 0)[1000, 0]
    prop(port, midi, S.VOLUME, value=struct.pack("<i", -1200))
    prop(port, wave, S.VOLUMEBOOST, value=struct.pack("<i", 0))
    quiet = pull(wave, clock, 2000, 2000)[1000, 0]
    assert 20 * np.log10(quiet / loud) == pytest.approx(-18.0, abs=0.01)
    with pytest.raises(PropertyError, match="STATUS_INVALID_PARAMETER"):
        prop(port, midi, S.VOLUME, value=struct.pack("<i", 5000))
    port.close()


def test_caps_port_parameters_channel_groups_and_priorities():
    port, clock, midi, wave = open_synth()
    S = KSPROPERTY_SYNTH
    caps = SYNTHCAPS.unpack(prop(port, midi, S.CAPS, SYNTHCAPS.SIZE).value)
    assert caps.MaxAudioChannels == 2 and "dmusd" in caps.Description and caps.Flags & 0x200
    asked = SYNTH_PORTPARAMS(
        ValidParams=SYNTH_PORTPARAMS_VOICES
        | SYNTH_PORTPARAMS_CHANNELGROUPS
        | SYNTH_PORTPARAMS_SAMPLERATE,
        Voices=99_999,
        ChannelGroups=3,
        SampleRate=44100,
    )
    result = prop(port, midi, S.PORTPARAMETERS, SYNTH_PORTPARAMS.SIZE, instance=asked.pack())
    got = SYNTH_PORTPARAMS.unpack(result.value)
    assert result.status == "STATUS_NOT_ALL_ASSIGNED"  # the voice count was lowered
    assert (got.Voices, got.ChannelGroups, got.SampleRate, got.AudioChannels) == (
        4096,
        3,
        44100,
        2,
    )
    synth = midi.stream
    assert (synth.config.voices, synth.config.channel_groups, synth.engine.sample_rate) == (
        4096,
        3,
        44100,
    )
    assert prop(port, wave, S.CHANNELGROUPS).ulong() == 3
    prop(port, midi, S.CHANNELGROUPS, value=struct.pack("<I", 5))
    assert synth.config.channel_groups == 5 and synth.engine.channels == 80
    where = SYNTHVOICEPRIORITY_INSTANCE(ChannelGroup=5, Channel=9).pack()
    assert prop(port, midi, S.VOICEPRIORITY, instance=where).ulong() == (
        DAUD_STANDARD_VOICE_PRIORITY | 0xF
    )
    prop(port, midi, S.VOICEPRIORITY, value=struct.pack("<I", 7), instance=where)
    assert prop(port, midi, S.VOICEPRIORITY, instance=where).ulong() == 7
    assert synth.priority(4, 9) == 7
    bad = SYNTHVOICEPRIORITY_INSTANCE(ChannelGroup=6, Channel=0).pack()
    with pytest.raises(PropertyError, match="channel group 6"):
        prop(port, midi, S.VOICEPRIORITY, instance=bad)
    port.close()


def test_latency_clock_and_running_stats():
    port, clock, midi, wave = open_synth(voices=1)
    S = KSPROPERTY_SYNTH
    for pin in (wave, midi):
        pin.SetState(KSSTATE.RUN)
    for key in (60, 62, 64):  # one voice: two of these notes are lost (stolen)
        midi.put_bytes(note_on(key), 1000 + key, 1)
    out = pull(wave, clock, 4800, 0)
    latency = struct.unpack("<Q", prop(port, midi, S.LATENCYCLOCK, 8).value)[0]
    assert latency == midi.stream.SampleToRefTime(4800) == 1_000_000
    stats = SYNTH_STATS.unpack(prop(port, wave, S.RUNNINGSTATS, SYNTH_STATS.SIZE).value)
    assert stats.LostNotes == 2 and stats.Voices == 1 and stats.ValidStats & 0x08
    assert stats.PeakVolume == round(2000 * np.log10(peak(out)))  # 1/100 dB
    assert stats.TotalCPU > 0 and stats.CPUPerVoice == stats.TotalCPU  # one voice on average
    assert stats.ValidStats & 0x20 and 1 << 20 < stats.FreeMemory <= 0xFFFFFFFF
    port.close()


# -- downloads --------------------------------------------------------------------------------
def download(port, pin, buffer: bytes) -> int:
    request = PropertyRequest.get(
        KSPROPSETID_Synth_Dls, KSPROPERTY_SYNTH_DLS.DOWNLOAD, 16, pin=pin.id, instance=buffer
    )
    return SYNTHDOWNLOAD.unpack(port.property_request(request).value).DownloadHandle


def unload(port, pin, handle: int) -> None:
    value = struct.pack("<Q", handle)
    port.property_request(
        PropertyRequest.set(KSPROPSETID_Synth_Dls, KSPROPERTY_SYNTH_DLS.UNLOAD, value, pin=pin.id)
    )


def test_instruments_downloaded_through_the_pin_play_and_unload_safely():
    clock = SampleCountClock(RATE)
    port = PortDMus(SynthMiniport(SynthConfig(reverb=False, chorus=False)), clock)
    midi, wave = port.open_pin(PIN_RENDER), port.open_pin(PIN_WAVE)
    for pin in (wave, midi):
        pin.SetState(KSSTATE.RUN)
    sine_wave = sine()
    inst = instrument(make_patch(0), region(sine_wave))
    wave_buffer, inst_buffer = build_bank_downloads([inst], 1)
    handles = [download(port, midi, wave_buffer), download(port, wave, inst_buffer)]
    synth = midi.stream
    assert synth.downloads.sample_memory == sine_wave.nbytes
    held = synth.downloads.table.find(make_patch(0)).regions[0].wave  # the synth's own copy
    midi.put_bytes(note_on(A4), 0, 1)
    out = pull(wave, clock, 12000, 0)
    assert abs(pitch_cents(out[2000:, 0], A4)) < 3
    for handle in handles:  # unloaded while the note plays: the note plays on
        unload(port, midi, handle)
    out = pull(wave, clock, 4800, 12000)
    assert abs(pitch_cents(out[:, 0], A4)) < 3 and synth.downloads.sample_memory > 0
    midi.put_bytes(note_off(A4), synth.SampleToRefTime(16800), 1)
    midi.put_bytes(note_on(60), synth.SampleToRefTime(17000), 1)  # nothing answers it now
    out = pull(wave, clock, 4800, 16800)
    assert peak(out[400:]) == 0.0 and synth.active_voices == 0
    port.property_request(
        PropertyRequest.set(KSPROPSETID_Synth_Dls, KSPROPERTY_SYNTH_DLS.COMPACT, b"", pin=midi.id)
    )
    assert synth.downloads.sample_memory == 0
    # and nothing on the voice side still holds the wave: a daemon that loads and unloads
    # banks for months must not keep every wave it ever played
    assert held not in synth.builder._fixed_waves
    with pytest.raises(PropertyError, match="STATUS_INVALID_HANDLE"):
        unload(port, midi, handles[0])
    port.close()


def test_a_malformed_download_is_refused_with_where_and_the_synth_keeps_playing():
    port, clock, midi, wave = open_synth()
    midi.stream.instruments = None  # play what is downloaded
    good = list(build_bank_downloads([instrument(make_patch(0), region(sine()))], 1))
    download(port, midi, good[0])
    download(port, midi, good[1])
    bad = bytearray(good[1])
    bad[16:20] = struct.pack("<I", 10_000)  # the first offset points outside the buffer
    with pytest.raises(PropertyError, match="STATUS_INVALID_PARAMETER.*offset"):
        download(port, midi, bytes(bad))
    for pin in (wave, midi):
        pin.SetState(KSSTATE.RUN)
    midi.put_bytes(note_on(A4), 0, 1)
    assert abs(pitch_cents(pull(wave, clock, 12000, 0)[2000:, 0], A4)) < 3
    port.close()


def test_a_reopened_synth_keeps_its_downloads_in_the_new_engines_pool():
    port, clock, midi, wave = open_synth()
    midi.stream.instruments = None  # play what is downloaded
    for buffer in build_bank_downloads([instrument(make_patch(0), region(sine()))], 1):
        download(port, midi, buffer)
    synth = midi.stream
    held = synth.downloads.table.find(make_patch(0)).regions[0].wave
    data = held.samples.copy()
    old_pool = synth.engine.pool.array
    assert held.samples.base is old_pool
    synth.reopen(voices=8)  # a new engine
    assert synth.engine.pool.array is not old_pool
    assert held.samples.base is synth.engine.pool.array and np.array_equal(held.samples, data)
    for pin in (wave, midi):
        pin.SetState(KSSTATE.RUN)
    midi.put_bytes(note_on(A4), 0, 1)
    assert abs(pitch_cents(pull(wave, clock, 12000, 0)[2000:, 0], A4)) < 3
    port.close()


def test_support_sets_waveformat_and_append_answer_as_a_dls2_software_synth():
    port, clock, midi, wave = open_synth(rate=44100)

    def ask(set_id, item=0, size=4, pin=None):
        return port.property_request(PropertyRequest.get(set_id, item, size, pin=pin))

    yes = (GUID_DMUS_PROP_INSTRUMENT2, GUID_DMUS_PROP_DLS1, GUID_DMUS_PROP_DLS2)
    no = (GUID_DMUS_PROP_GM_Hardware, GUID_DMUS_PROP_GS_Hardware, GUID_DMUS_PROP_XG_Hardware)
    assert [ask(s).ulong() for s in yes] == [1, 1, 1]
    assert [ask(s, pin=midi.id).ulong() for s in no] == [0, 0, 0]
    assert ask(GUID_DMUS_PROP_SamplePlaybackRate, pin=wave.id).ulong() == 44100
    D = KSPROPERTY_SYNTH_DLS
    fmt = WAVEFORMATEX.unpack(ask(KSPROPSETID_Synth_Dls, D.WAVEFORMAT, 18, midi.id).value)
    assert (fmt.nChannels, fmt.nSamplesPerSec, fmt.wBitsPerSample) == (2, 44100, 16)
    assert ask(KSPROPSETID_Synth_Dls, D.APPEND, 4, midi.id).ulong() == 0
    effects = PropertyRequest.set(GUID_DMUS_PROP_Effects, 0, struct.pack("<I", 1), pin=midi.id)
    port.property_request(effects)
    assert ask(GUID_DMUS_PROP_Effects, pin=midi.id).ulong() == 1
    assert midi.stream.config.reverb and not midi.stream.config.chorus
    port.close()


# -- hostile input ----------------------------------------------------------------------------
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 3000), st.integers(0, 3), st.binary(min_size=1, max_size=40)),
        max_size=40,
    )
)
def test_any_bytes_at_any_time_never_break_render_and_every_event_goes_home(stream_of_bytes):
    rig = Rig(block=500, channel_groups=2, buffer_size=16)
    for sample, group, data in stream_of_bytes:
        rig.send(sample, data, group=group)
    out = rig.render(4000)
    assert np.all(np.isfinite(out))
    assert rig.stream.pending == 0 and rig.stream.errors == 0
    step_state(rig.unpacker, KSSTATE.STOP)
    step_state(rig.stream, KSSTATE.STOP)
    rig.pool.check()
    assert rig.pool.all_home()


def test_an_overload_of_events_on_one_sample_is_played_not_dropped():
    rig = Rig(voices=8, events=8192)
    rig.send(100, *[cc(7, v % 128, ch=v % 16) for v in range(6000)], note_on(60))
    out = rig.render(2048)
    assert rig.stream.errors == 0 and rig.stream.pending == 0 and peak(out) > 0.0
    assert [rig.logic.cc(ch, 7) for ch in range(16)] == [(5984 + ch) % 128 for ch in range(16)]
    sent = rig.stream.state_arrays.sent  # what the engine was told is what it has
    assert np.allclose(rig.stream.engine.chan[:16, 0x87], sent[:, 0x87])


def test_a_region_the_engine_cannot_play_is_skipped_and_its_layers_still_sound():
    busy = tuple(connection(CONN_DST_PITCH, i, CONN_SRC_LFO, i) for i in range(80))
    heavy = region(sine(period=25), articulation=busy)
    rig = Rig(bank_of(instrument(make_patch(0), region(sine()), heavy)))
    rig.send(0, note_on(A4))
    out = rig.render(12000)[:, 0]
    assert rig.logic.unplayable == 1 and abs(pitch_cents(out[2000:], A4)) < 3


def test_more_channel_groups_than_the_command_queue_holds_open_and_the_last_one_plays():
    rig = Rig(channel_groups=600)  # 9600 channels, one CC91 default each: > 8192 commands
    rig.send(0, note_on(A4, ch=3), group=600)
    out = rig.render(12000)[2000:, 0]
    assert abs(pitch_cents(out, A4)) < 3 and rig.stream.held(599, 3)
    assert rig.stream.engine.chan[599 * 16 + 3, 0xDB] == 40 / 128  # CC91 starts at 40
