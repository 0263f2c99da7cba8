"""Property requests: KS size/verb/target rules, every synth item, and the packed C structures."""

from __future__ import annotations

import struct
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmusd.errors import PropertyError
from dmusd.kernel.ks import (
    KSPROPERTY_TYPE_BASICSUPPORT,
    KSPROPERTY_TYPE_GET,
    KSPROPERTY_TYPE_SET,
    KSPROPERTY_TYPE_TOPOLOGY,
    NTSTATUS,
    PropertyDescriptor,
    PropertyDispatcher,
    PropertyItem,
    PropertyRequest,
    PropertyResult,
    Target,
)
from dmusd.kernel.port import PortDMus
from dmusd.kernel.synth_props import (
    DESCRIPTORS,
    GUID_DMUS_PROP_DLS1,
    KSPROPERTY_SYNTH,
    KSPROPERTY_SYNTH_DLS,
    SYNTH_BUFFER,
    SYNTH_PORTPARAMS,
    SYNTH_REVERB_PARAMS,
    SYNTH_STATS,
    SYNTHCAPS,
    SYNTHDOWNLOAD,
    SYNTHVOICEPRIORITY_INSTANCE,
    WAVEFORMATEX,
    GUID_DMUS_PROP_GM_Hardware,
    GUID_DMUS_PROP_Volume,
    GUID_DMUS_PROP_XG_Hardware,
    KSPROPSETID_Synth,
    KSPROPSETID_Synth_Dls,
    KSPROPSETID_SynthClock,
)
from tests.kernel.recording_miniport import (
    PIN_RENDER,
    PIN_WAVE,
    STREAM_LATENCY,
    TEST_SYNTH_GUID,
    RecordingMiniport,
)
from tests.support import ManualClock

S, D = KSPROPERTY_SYNTH, KSPROPERTY_SYNTH_DLS
GET, SET, BASIC = KSPROPERTY_TYPE_GET, KSPROPERTY_TYPE_SET, KSPROPERTY_TYPE_BASICSUPPORT
NOW = 123_456_789_000


@pytest.fixture
def rig():
    """A port on a recording miniport with two render pins; every pool is checked at the end."""
    miniport = RecordingMiniport()
    port = PortDMus(miniport, ManualClock(NOW))
    pins = [port.open_pin(PIN_RENDER, events=64, buffers=4, buffer_size=64) for _ in range(2)]
    yield port, miniport, pins
    allocators = [call[3] for call in miniport.calls if call[0] == "NewStream"]
    port.close()
    for pool in allocators:
        pool.check()
        assert pool.all_home()


def status_of(port, request) -> str:
    with pytest.raises(PropertyError) as info:
        port.property_request(request)
    return info.value.status


def get(port, set_id, item, size, pin=None, instance=b""):
    return port.property_request(
        PropertyRequest.get(set_id, item, size, pin=pin, instance=instance)
    )


def put(port, set_id, item, value, pin=None, instance=b""):
    return port.property_request(
        PropertyRequest.set(set_id, item, value, pin=pin, instance=instance)
    )


# -- the packed structures ----------------------------------------------------------------------
C_SIZES = {  # sizeof() on a 64-bit Windows build
    SYNTHCAPS: 296,
    SYNTH_PORTPARAMS: 28,
    SYNTH_STATS: 28,
    SYNTHVOICEPRIORITY_INSTANCE: 8,
    SYNTH_BUFFER: 16,
    SYNTHDOWNLOAD: 16,
    WAVEFORMATEX: 18,
    SYNTH_REVERB_PARAMS: 16,
}


@pytest.mark.parametrize("cls", list(C_SIZES), ids=lambda c: c.__name__)
def test_structures_have_the_c_sizes(cls):
    assert C_SIZES[cls] == cls.SIZE
    assert len(cls().pack()) == C_SIZES[cls]
    with pytest.raises(PropertyError, match=f"{cls.__name__} needs {C_SIZES[cls]} bytes, 3 given"):
        cls.unpack(b"\0\0\0")


def test_structure_field_offsets():
    caps = SYNTHCAPS(TEST_SYNTH_GUID, 1, 2, 3, 4, 5, 6, "Synth").pack()
    assert caps[:16] == TEST_SYNTH_GUID.bytes_le  # GUID in its Windows byte order
    assert struct.unpack_from("<6I", caps, 16) == (1, 2, 3, 4, 5, 6)
    assert caps[40:52] == "Synth\0".encode("utf-16-le")
    dl = SYNTHDOWNLOAD(0x1122334455667788, True).pack()
    assert struct.unpack_from("<QI", dl) == (0x1122334455667788, 1) and dl[12:] == b"\0" * 4
    buf = SYNTH_BUFFER(100, 0xDEADBEEF0000).pack()
    assert struct.unpack_from("<I", buf)[0] == 100 and struct.unpack_from("<Q", buf, 8)[0] == (
        0xDEADBEEF0000
    )
    wfx = WAVEFORMATEX.pcm(44100, 2, 16).pack()
    assert struct.unpack("<HHIIHHH", wfx) == (1, 2, 44100, 176400, 4, 16, 0)
    stats = SYNTH_STATS(PeakVolume=-600).pack()
    assert struct.unpack_from("<i", stats, 24)[0] == -600


dword = st.integers(0, 0xFFFFFFFF)


@settings(max_examples=60, deadline=None)
@given(st.lists(dword, min_size=7, max_size=7), st.integers(-(2**31), 2**31 - 1))
def test_integer_structures_round_trip(values, peak):
    for cls, args in (
        (SYNTH_PORTPARAMS, values),
        (SYNTH_STATS, values[:6] + [peak]),
        (SYNTHVOICEPRIORITY_INSTANCE, values[:2]),
        (SYNTH_BUFFER, [values[0], values[1] << 32 | values[2]]),
        (SYNTHDOWNLOAD, [values[0] << 32 | values[1], bool(values[2] & 1)]),
        (
            WAVEFORMATEX,
            [v & 0xFFFF for v in values[:2]] + values[2:4] + [v & 0xFFFF for v in values[4:]],
        ),
    ):
        obj = cls(*args)
        assert cls.unpack(obj.pack()) == obj
        assert cls.unpack(obj.pack() + b"extra") == obj  # KS buffers may be larger


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(width=32, allow_nan=False), min_size=4, max_size=4))
def test_reverb_params_round_trip_as_float32(values):
    params = SYNTH_REVERB_PARAMS(*values)
    assert SYNTH_REVERB_PARAMS.unpack(params.pack()) == params


@settings(max_examples=60, deadline=None)
@given(st.uuids(), st.lists(dword, min_size=6, max_size=6), st.text(max_size=200))
def test_synthcaps_round_trip_and_description_limit(guid, dwords, text):
    packed = SYNTHCAPS(guid, *dwords, text).pack()
    assert len(packed) == 296
    back = SYNTHCAPS.unpack(packed)
    assert (back.Guid, back.Flags, back.EffectFlags) == (guid, dwords[0], dwords[5])
    units = text.encode("utf-16-le")
    # WCHAR[128] keeps at most 127 UTF-16 units and a NUL, never half a surrogate pair
    assert packed[40 + 254 :] == b"\0\0"
    if "\0" not in text and len(units) <= 254:
        assert back.Description == text
    else:
        assert text.startswith(back.Description) or "\0" in text
        assert len(back.Description.encode("utf-16-le")) <= 254


# -- dispatch rules -----------------------------------------------------------------------------
def test_caps_without_a_pin_and_with_one(rig):
    port, miniport, pins = rig
    for pin in (None, pins[1].id):
        result = get(port, KSPROPSETID_Synth, S.CAPS, SYNTHCAPS.SIZE, pin=pin)
        assert result.status == "STATUS_SUCCESS" and result.size == 296
        caps = SYNTHCAPS.unpack(result.value)
        assert caps.Guid == TEST_SYNTH_GUID and caps.Description == "dmusd recording test synth"
    assert [r[3] for r in miniport.requests] == [None, pins[1].stream]


def test_asking_with_no_buffer_returns_the_size_for_every_item(rig):
    port, miniport, pins = rig
    checked = 0
    for d in port.property_items():
        if d.value_size == 0:
            continue
        verb = GET if d.verbs & GET else SET
        request = PropertyRequest(d.set_id, d.item, verb, pins[0].id, b"", b"", 0)
        result = port.property_request(request)
        assert (result.status, result.size, result.value) == (
            "STATUS_BUFFER_OVERFLOW",
            d.value_size,
            b"",
        )
        checked += 1
    assert checked == 8 + 4 + 1 + 3  # Synth 0-7, Synth_Dls but COMPACT, SynthClock, 3 support sets
    assert miniport.requests == []  # probes never reach a handler


def test_a_buffer_too_small_is_refused_with_the_sizes(rig):
    port, _, pins = rig
    with pytest.raises(PropertyError) as info:
        get(port, KSPROPSETID_Synth, S.CAPS, 100)
    err = info.value
    assert err.status == "STATUS_BUFFER_TOO_SMALL"
    assert "KSPROPERTY_SYNTH_CAPS" in str(err) and "100 bytes given, 296 needed" in str(err)
    with pytest.raises(PropertyError, match="KSPROPERTY_SYNTH_VOLUME on pin 1: .*2 bytes given, 4"):
        put(port, KSPROPSETID_Synth, S.VOLUME, b"\0\0", pin=pins[1].id)


def test_unknown_sets_and_items_are_not_found(rig):
    port, _, pins = rig
    stranger = UUID("12345678-1234-5678-1234-567812345678")
    req = PropertyRequest.get(stranger, 0, 4, pin=pins[0].id)
    with pytest.raises(PropertyError, match="STATUS_NOT_FOUND: property set {12345678-1234"):
        port.property_request(req)
    with pytest.raises(PropertyError, match="item 8 of KSPROPSETID_Synth is not supported"):
        get(port, KSPROPSETID_Synth, 8, 4, pin=pins[0].id)
    with pytest.raises(PropertyError, match="GUID_DMUS_PROP_XG_Hardware is not supported"):
        get(port, GUID_DMUS_PROP_XG_Hardware, 0, 4)  # a known set the miniport does not answer
    assert status_of(port, PropertyRequest.get(KSPROPSETID_SynthClock, 1, 8)) == "STATUS_NOT_FOUND"


def test_a_verb_the_item_does_not_take_is_an_invalid_device_request(rig):
    port, _, pins = rig
    pin = pins[0].id
    cases = [
        PropertyRequest.set(KSPROPSETID_Synth, S.CAPS, bytes(296), pin=pin),
        PropertyRequest.set(KSPROPSETID_Synth, S.LATENCYCLOCK, bytes(8), pin=pin),
        PropertyRequest.get(KSPROPSETID_Synth_Dls, D.UNLOAD, 8, pin=pin),
        PropertyRequest.get(KSPROPSETID_Synth_Dls, D.COMPACT, 0, pin=pin),
        PropertyRequest.set(KSPROPSETID_SynthClock, 0, bytes(8)),
    ]
    for request in cases:
        with pytest.raises(PropertyError, match="STATUS_INVALID_DEVICE_REQUEST: (SET|GET) is not"):
            port.property_request(request)


def test_items_that_act_on_a_stream_need_a_pin_and_an_open_one(rig):
    port, miniport, pins = rig
    with pytest.raises(PropertyError, match="KSPROPERTY_SYNTH_VOLUME: .*needs a pin") as info:
        get(port, KSPROPSETID_Synth, S.VOLUME, 4)
    assert info.value.status == "STATUS_INVALID_DEVICE_REQUEST"
    with pytest.raises(PropertyError, match="STATUS_INVALID_HANDLE: no pin 9 is open"):
        get(port, KSPROPSETID_Synth, S.VOLUME, 4, pin=9)
    port.close_pin(pins[1])
    assert status_of(port, PropertyRequest.get(KSPROPSETID_Synth, S.VOLUME, 4, pin=pins[1].id)) == (
        "STATUS_INVALID_HANDLE"
    )
    assert miniport.requests == []


def test_basic_support_reports_the_verbs(rig):
    port, _, pins = rig
    expect = {
        (KSPROPSETID_Synth, S.VOLUME): GET | SET,
        (KSPROPSETID_Synth, S.CAPS): GET,
        (KSPROPSETID_Synth, S.VOICEPRIORITY): GET | SET,
        (KSPROPSETID_Synth, S.LATENCYCLOCK): GET,
        (KSPROPSETID_Synth_Dls, D.DOWNLOAD): GET,
        (KSPROPSETID_Synth_Dls, D.UNLOAD): SET,
        (KSPROPSETID_Synth_Dls, D.COMPACT): SET,
        (KSPROPSETID_SynthClock, 0): GET,
    }
    for (set_id, item), verbs in expect.items():
        result = port.property_request(PropertyRequest.basic_support(set_id, item))
        assert result.ulong() == BASIC | verbs, (set_id, item)
    probe = port.property_request(PropertyRequest.basic_support(KSPROPSETID_Synth, S.CAPS, 0))
    assert (probe.status, probe.size) == ("STATUS_BUFFER_OVERFLOW", 4)


def test_flags_must_name_exactly_one_verb_and_topology_is_accepted(rig):
    port, _, pins = rig
    for flags in (0, GET | SET, GET | BASIC):
        req = PropertyRequest(KSPROPSETID_Synth, S.VOLUME, flags, pins[0].id, b"", b"", 4)
        assert status_of(port, req) == "STATUS_INVALID_PARAMETER"
    req = PropertyRequest(
        KSPROPSETID_Synth, S.VOLUME, GET | KSPROPERTY_TYPE_TOPOLOGY, pins[0].id, b"", b"", 4
    )
    assert port.property_request(req).status == "STATUS_SUCCESS"


def test_status_names_are_ntstatus_values():
    assert NTSTATUS["STATUS_BUFFER_OVERFLOW"] == 0x80000005
    assert NTSTATUS["STATUS_BUFFER_TOO_SMALL"] == 0xC0000023
    assert NTSTATUS["STATUS_NOT_FOUND"] == 0xC0000225
    assert NTSTATUS["STATUS_INVALID_DEVICE_REQUEST"] == 0xC0000010


def test_a_handler_that_returns_the_wrong_size_is_caught():
    desc = PropertyDescriptor(
        KSPROPSETID_Synth, 0, "KSPROPERTY_SYNTH_VOLUME", GET, 4, target=Target.ANY
    )
    dispatcher = PropertyDispatcher([PropertyItem(desc, lambda r, s: b"\0\0")], lambda pin: None)
    with pytest.raises(PropertyError, match="STATUS_UNSUCCESSFUL: the handler returned 2 bytes"):
        dispatcher.dispatch(PropertyRequest.get(KSPROPSETID_Synth, 0, 4))
    with pytest.raises(ValueError, match="handled twice"):
        PropertyDispatcher([PropertyItem(desc, print), PropertyItem(desc, print)], lambda pin: None)


def test_a_miniport_may_take_fewer_verbs_than_the_ddi_allows():
    desc = DESCRIPTORS[(KSPROPSETID_Synth, S.VOLUME)]
    item = PropertyItem(desc, lambda r, s: struct.pack("<i", -5), verbs=GET)
    dispatcher = PropertyDispatcher([item], lambda pin: "stream")
    assert dispatcher.dispatch(PropertyRequest.get(KSPROPSETID_Synth, 0, 4, pin=0)).value == (
        struct.pack("<i", -5)
    )
    with pytest.raises(PropertyError, match="SET is not supported \\(supported: GET\\)"):
        dispatcher.dispatch(PropertyRequest.set(KSPROPSETID_Synth, 0, bytes(4), pin=0))
    basic = dispatcher.dispatch(PropertyRequest.basic_support(KSPROPSETID_Synth, 0))
    assert basic.ulong() == BASIC | GET


# -- the items, end to end ----------------------------------------------------------------------
def test_volume_and_boost_are_per_pin(rig):
    port, _, pins = rig
    a, b = pins[0].id, pins[1].id
    assert GUID_DMUS_PROP_Volume == KSPROPSETID_Synth
    put(port, KSPROPSETID_Synth, S.VOLUME, struct.pack("<i", -1200), pin=a)
    put(port, KSPROPSETID_Synth, S.VOLUMEBOOST, struct.pack("<i", -300), pin=b)
    vol = [
        struct.unpack("<i", get(port, KSPROPSETID_Synth, S.VOLUME, 4, pin=p).value)[0]
        for p in (a, b)
    ]
    boost = [
        struct.unpack("<i", get(port, KSPROPSETID_Synth, S.VOLUMEBOOST, 4, pin=p).value)[0]
        for p in (a, b)
    ]
    assert vol == [-1200, 0] and boost == [600, -300]
    with pytest.raises(
        PropertyError, match="KSPROPERTY_SYNTH_VOLUME on pin 0: .*-30000 is outside"
    ):
        put(port, KSPROPSETID_Synth, S.VOLUME, struct.pack("<i", -30000), pin=a)


def test_port_parameters_grant_and_report_changes(rig):
    port, _, pins = rig
    pin = pins[0].id
    asked = SYNTH_PORTPARAMS(ValidParams=0x3, Voices=64, ChannelGroups=2)
    result = get(port, KSPROPSETID_Synth, S.PORTPARAMETERS, 28, pin=pin, instance=asked.pack())
    got = SYNTH_PORTPARAMS.unpack(result.value)
    assert result.status == "STATUS_SUCCESS" and (got.Voices, got.ChannelGroups) == (64, 2)
    assert (got.AudioChannels, got.SampleRate) == (2, 48000)
    too_many = SYNTH_PORTPARAMS(ValidParams=0x1, Voices=5000).pack()
    result = get(port, KSPROPSETID_Synth, S.PORTPARAMETERS, 28, pin=pin, instance=too_many)
    assert result.status == "STATUS_NOT_ALL_ASSIGNED" and result.ok
    assert SYNTH_PORTPARAMS.unpack(result.value).Voices == 1000
    groups = get(port, KSPROPSETID_Synth, S.CHANNELGROUPS, 4, pin=pin)
    assert groups.ulong() == 1  # the second request asked for no groups: the default
    with pytest.raises(
        PropertyError, match="instance data of 8 bytes given, SYNTH_PORTPARAMS needs 28"
    ):
        get(port, KSPROPSETID_Synth, S.PORTPARAMETERS, 28, pin=pin, instance=bytes(8))


def test_channel_groups_and_voice_priorities(rig):
    port, _, pins = rig
    pin = pins[0].id
    put(port, KSPROPSETID_Synth, S.CHANNELGROUPS, struct.pack("<I", 3), pin=pin)
    assert get(port, KSPROPSETID_Synth, S.CHANNELGROUPS, 4, pin=pin).ulong() == 3
    drums = SYNTHVOICEPRIORITY_INSTANCE(ChannelGroup=2, Channel=9).pack()
    first = SYNTHVOICEPRIORITY_INSTANCE(ChannelGroup=2, Channel=0).pack()
    assert get(port, KSPROPSETID_Synth, S.VOICEPRIORITY, 4, pin=pin, instance=drums).ulong() == (
        0x8000000F
    )
    assert get(port, KSPROPSETID_Synth, S.VOICEPRIORITY, 4, pin=pin, instance=first).ulong() == (
        0x8000000E
    )
    put(
        port,
        KSPROPSETID_Synth,
        S.VOICEPRIORITY,
        struct.pack("<I", 0xF0000000),
        pin=pin,
        instance=first,
    )
    assert get(port, KSPROPSETID_Synth, S.VOICEPRIORITY, 4, pin=pin, instance=first).ulong() == (
        0xF0000000
    )
    # pin 1 kept its single channel group: group 2 does not exist there
    assert (
        status_of(
            port,
            PropertyRequest.get(
                KSPROPSETID_Synth, S.VOICEPRIORITY, 4, pin=pins[1].id, instance=drums
            ),
        )
        == "STATUS_INVALID_PARAMETER"
    )


def test_voice_priority_checks_its_instance(rig):
    port, _, pins = rig
    pin = pins[1].id  # one channel group
    with pytest.raises(PropertyError, match="SYNTHVOICEPRIORITY_INSTANCE needs 8"):
        get(port, KSPROPSETID_Synth, S.VOICEPRIORITY, 4, pin=pin, instance=bytes(4))
    bad = SYNTHVOICEPRIORITY_INSTANCE(ChannelGroup=2, Channel=0).pack()
    with pytest.raises(PropertyError, match="VOICEPRIORITY on pin 1: .*channel group 2 channel 0"):
        get(port, KSPROPSETID_Synth, S.VOICEPRIORITY, 4, pin=pin, instance=bad)
    bad = SYNTHVOICEPRIORITY_INSTANCE(ChannelGroup=1, Channel=16).pack()
    assert (
        status_of(
            port, PropertyRequest.get(KSPROPSETID_Synth, S.VOICEPRIORITY, 4, pin=pin, instance=bad)
        )
        == "STATUS_INVALID_PARAMETER"
    )


def test_latency_clock_running_stats_and_master_clock(rig):
    port, miniport, pins = rig
    latency = get(port, KSPROPSETID_Synth, S.LATENCYCLOCK, 8, pin=pins[0].id)
    assert struct.unpack("<Q", latency.value)[0] == NOW + STREAM_LATENCY
    port.master_clock.now = NOW + 777
    for pin in (None, pins[0].id):  # a filter item: a pin, if given, changes nothing
        master = get(port, KSPROPSETID_SynthClock, 0, 8, pin=pin)
        assert struct.unpack("<Q", master.value)[0] == NOW + 777
    stats = SYNTH_STATS.unpack(
        get(port, KSPROPSETID_Synth, S.RUNNINGSTATS, 28, pin=pins[0].id).value
    )
    assert stats.ValidStats == 0x08 and stats.LostNotes == 0
    handled = {(r[0], r[1]) for r in miniport.requests}
    assert (KSPROPSETID_SynthClock, 0) not in handled  # the port answers it itself


def wave_download(dl_id: int, samples: bytes) -> bytes:
    """A DMUS_DOWNLOADINFO WAVE buffer: header, 2 offsets, DMUS_WAVE, DMUS_WAVEDATA."""
    wave = struct.pack("<3I", 0, 0, 1) + WAVEFORMATEX.pcm(22050, 1, 16).pack()
    data = struct.pack("<I", len(samples)) + samples
    head = 16 + 8
    size = head + len(wave) + len(data)
    info = struct.pack("<4I", 2, dl_id, 2, size) + struct.pack("<2I", head, head + len(wave))
    return info + wave + data


def test_download_unload_compact_append_waveformat(rig):
    port, miniport, pins = rig
    pin = pins[0].id
    buffer = wave_download(7, bytes(range(100)))
    result = get(port, KSPROPSETID_Synth_Dls, D.DOWNLOAD, 16, pin=pin, instance=buffer)
    dl = SYNTHDOWNLOAD.unpack(result.value)
    assert dl.Free is True and dl.DownloadHandle == 1
    assert miniport.streams[0].downloads[1] == buffer  # the instance data is the buffer itself
    second = SYNTHDOWNLOAD.unpack(
        get(
            port, KSPROPSETID_Synth_Dls, D.DOWNLOAD, 16, pin=pin, instance=wave_download(8, b"xy")
        ).value
    )
    assert second.DownloadHandle == 2
    put(port, KSPROPSETID_Synth_Dls, D.UNLOAD, struct.pack("<Q", 1), pin=pin)
    assert set(miniport.streams[0].downloads) == {2}
    with pytest.raises(
        PropertyError, match="UNLOAD on pin 0: STATUS_INVALID_HANDLE: no download has"
    ):
        put(port, KSPROPSETID_Synth_Dls, D.UNLOAD, struct.pack("<Q", 1), pin=pin)
    assert put(port, KSPROPSETID_Synth_Dls, D.COMPACT, b"", pin=pin).status == "STATUS_SUCCESS"
    assert miniport.streams[0].compacted == 1
    assert get(port, KSPROPSETID_Synth_Dls, D.APPEND, 4, pin=pin).ulong() == 1
    wfx = WAVEFORMATEX.unpack(get(port, KSPROPSETID_Synth_Dls, D.WAVEFORMAT, 18, pin=pin).value)
    assert (wfx.nSamplesPerSec, wfx.nChannels, wfx.wBitsPerSample) == (48000, 2, 16)


def test_download_refuses_a_short_or_inconsistent_buffer(rig):
    port, miniport, pins = rig
    pin = pins[0].id
    with pytest.raises(PropertyError, match="10 bytes given, a DMUS_DOWNLOADINFO buffer needs 16"):
        get(port, KSPROPSETID_Synth_Dls, D.DOWNLOAD, 16, pin=pin, instance=bytes(10))
    lying = bytearray(wave_download(9, b"abcd"))
    lying[12:16] = struct.pack("<I", 5000)  # cbSize claims more than there is
    with pytest.raises(PropertyError, match="cbSize 5000 .* the buffer has"):
        get(port, KSPROPSETID_Synth_Dls, D.DOWNLOAD, 16, pin=pin, instance=bytes(lying))
    assert miniport.streams[0].downloads == {}


def test_support_sets(rig):
    port, _, _ = rig
    assert get(port, GUID_DMUS_PROP_GM_Hardware, 0, 4).ulong() == 0
    assert get(port, GUID_DMUS_PROP_DLS1, 0, 4).ulong() == 1


def test_the_wave_sink_pin_answers_latency_from_its_sample_clock():
    miniport = RecordingMiniport()
    clock = ManualClock(NOW)
    port = PortDMus(miniport, clock)
    sink = port.open_pin(PIN_WAVE, events=8, buffers=1, buffer_size=64)
    stream = sink.stream
    stream.SyncToMaster(0, True)  # sample 0 is master time NOW
    stream.Render(None, 480, 0)
    latency = get(port, KSPROPSETID_Synth, S.LATENCYCLOCK, 8, pin=sink.id)
    assert struct.unpack("<Q", latency.value)[0] == NOW + 100_000  # 480 frames at 48 kHz = 10 ms
    port.close()
    sink.allocator.check()


# -- anything a client may send ------------------------------------------------------------------
known_sets = st.sampled_from(
    [
        KSPROPSETID_Synth,
        KSPROPSETID_Synth_Dls,
        KSPROPSETID_SynthClock,
        GUID_DMUS_PROP_DLS1,
        UUID(int=5),
    ]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    set_id=known_sets,
    item=st.integers(0, 9),
    flags=st.sampled_from([GET, SET, BASIC, GET | SET, 0, GET | KSPROPERTY_TYPE_TOPOLOGY]),
    pin=st.sampled_from([None, 0, 1, 5]),
    instance=st.binary(max_size=40),
    size=st.integers(0, 400),
)
def test_any_request_gets_a_result_or_a_property_error(
    rig, set_id, item, flags, pin, instance, size
):
    port, _, _ = rig
    request = PropertyRequest(set_id, item, flags, pin, instance, bytes(min(size, 64)), size)
    try:
        result = port.property_request(request)
    except PropertyError as error:
        assert error.status in NTSTATUS and error.status != "STATUS_SUCCESS"
        return
    assert isinstance(result, PropertyResult) and result.status in NTSTATUS
    d = DESCRIPTORS[(set_id, item)]
    if result.status == "STATUS_BUFFER_OVERFLOW":
        assert size == 0 and result.size == (4 if flags & BASIC else d.value_size)
    elif flags & GET:
        assert len(result.value) == result.size == d.value_size <= size
