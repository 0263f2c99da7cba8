"""A recording test miniport: records what the port gives it and answers the synth properties.

Its render streams record every event that reaches them through PutMessage and return it to the
allocator; its capture streams turn injected bytes into raw INCOMPLETE events the way DMusUART
does; its wave-sink streams keep a sample clock and a latency clock. Property handlers keep real
state per stream (volume, boost, channel groups, voice priorities, downloads) so that a SET can
be read back by a GET, and refuse bad instance data the way a real synth must.
"""

from __future__ import annotations

import struct
from uuid import UUID

from dmusd.errors import PropertyError
from dmusd.kernel.clock import LatencyClock, SampleClock
from dmusd.kernel.event import DMUS_KEF_EVENT_INCOMPLETE, INLINE_SIZE, iter_chain
from dmusd.kernel.ks import PropertyResult
from dmusd.kernel.miniport import (
    DMUS_STREAM_TYPE,
    FilterDescriptor,
    IMiniportDMus,
    PinDescriptor,
)
from dmusd.kernel.mxf import KSSTATE, MXF
from dmusd.kernel.synth_props import (
    DMUS_VOLUME_MAX,
    DMUS_VOLUME_MIN,
    GUID_DMUS_PROP_DLS1,
    GUID_DMUS_PROP_INSTRUMENT2,
    KSPROPERTY_SYNTH,
    KSPROPERTY_SYNTH_DLS,
    SYNTH_PC_DLS,
    SYNTH_PC_SOFTWARESYNTH,
    SYNTH_PC_SYSTEMMEMORY,
    SYNTH_PORTPARAMS,
    SYNTH_PORTPARAMS_CHANNELGROUPS,
    SYNTH_PORTPARAMS_VOICES,
    SYNTH_STATS,
    SYNTH_STATS_LOST_NOTES,
    SYNTHCAPS,
    SYNTHDOWNLOAD,
    SYNTHVOICEPRIORITY_INSTANCE,
    WAVEFORMATEX,
    GUID_DMUS_PROP_GM_Hardware,
    KSPROPSETID_Synth,
    KSPROPSETID_Synth_Dls,
    default_voice_priority,
    synth_item,
)

RATE = 48000
PIN_RENDER, PIN_CAPTURE, PIN_WAVE = 0, 1, 2
TEST_SYNTH_GUID = UUID("6b1a7c52-3d2e-4a41-9f0e-5e8d2c7b9a10")
STREAM_LATENCY = 50_000  # 5 ms: what LATENCYCLOCK adds to the master time on a render stream


class RecordingStream(MXF):
    """A render stream: records (time, group, flags, data) and every state step."""

    def __init__(self, allocator, master_clock, pin_id: int) -> None:
        super().__init__(allocator)
        self.master_clock = master_clock
        self.pin_id = pin_id
        self.received: list[tuple[int, int, int, bytes]] = []
        self.arrivals: list[int] = []  # the master time at which each received event came
        self.steps: list[tuple[KSSTATE, KSSTATE]] = []
        self.discarded = 0  # events given in STOP, returned unplayed as the DDI asks
        # per-stream synth state, read and written by the property handlers
        self.volume = 0
        self.boost = 600
        self.channel_groups = 1
        self.voices = 32
        self.priorities: dict[tuple[int, int], int] = {}
        self.downloads: dict[int, bytes] = {}
        self.next_handle = 1
        self.compacted = 0

    def PutMessage(self, chain) -> None:
        if chain is None:
            return
        for ev in iter_chain(chain):
            if self.state == KSSTATE.STOP:
                self.discarded += 1
            else:
                self.received.append(
                    (ev.ullPresTime100ns, ev.usChannelGroup, ev.usFlags, ev.data())
                )
                self.arrivals.append(self.master_clock.GetTime())
        self.allocator.PutMessage(chain)

    def on_state(self, old: KSSTATE, new: KSSTATE) -> None:
        self.steps.append((old, new))


class RecordingCaptureStream(RecordingStream):
    """A capture stream: `inject` buffers bytes as a UART FIFO would; PutMessage(None) sends them
    on as raw INCOMPLETE events of up to INLINE_SIZE bytes, only in RUN or PAUSE."""

    def __init__(self, allocator, master_clock, pin_id: int) -> None:
        super().__init__(allocator, master_clock, pin_id)
        self.fifo: list[tuple[bytes, int]] = []

    def inject(self, data: bytes, time: int) -> None:
        self.fifo.append((bytes(data), time))

    def PutMessage(self, chain) -> None:
        if chain is not None:  # a capture stream is a source: nothing comes in
            self.allocator.PutMessage(chain)
            return
        fifo, self.fifo = self.fifo, []
        if self.state not in (KSSTATE.RUN, KSSTATE.PAUSE):
            self.discarded += len(fifo)
            return
        head = tail = None
        for data, time in fifo:
            for i in range(0, len(data), INLINE_SIZE):
                ev = self.allocator.GetMessage()
                piece = data[i : i + INLINE_SIZE]
                ev.cbEvent = len(piece)
                ev.abData[: len(piece)] = piece
                ev.usFlags = DMUS_KEF_EVENT_INCOMPLETE
                ev.usChannelGroup = 1
                ev.ullPresTime100ns = time
                if tail is None:
                    head = tail = ev
                else:
                    tail.pNextEvt = ev
                    tail = ev
        if head is not None:
            self.sink.PutMessage(head)


class RecordingSinkStream(RecordingStream):
    """A wave-sink stream (ISynthSinkDMus): renders silence, keeps sample and latency clocks."""

    def __init__(self, allocator, master_clock, pin_id: int) -> None:
        super().__init__(allocator, master_clock, pin_id)
        self.sample_clock = SampleClock(RATE, master_clock)
        self.latency_clock = LatencyClock(self.sample_clock, output_latency=0)
        self.rendered: list[tuple[int, int]] = []

    def Render(self, buffer, length: int, position: int) -> None:
        self.rendered.append((position, length))
        self.latency_clock.rendered(position + length)

    def SyncToMaster(self, t: int, fStart: bool) -> None:
        self.sample_clock.SyncToMaster(t, fStart)

    def SampleToRefTime(self, sample: int) -> int:
        return self.sample_clock.SampleToRefTime(sample)

    def RefTimeToSample(self, ref: int) -> int:
        return self.sample_clock.RefTimeToSample(ref)


_STREAMS = {
    DMUS_STREAM_TYPE.MIDI_RENDER: RecordingStream,
    DMUS_STREAM_TYPE.MIDI_CAPTURE: RecordingCaptureStream,
    DMUS_STREAM_TYPE.WAVE_SINK: RecordingSinkStream,
}


class RecordingMiniport(IMiniportDMus):
    def __init__(self, prefetch: int = 0, render_instances: int = 4) -> None:
        self.prefetch = prefetch
        self.render_instances = render_instances
        self.port = None
        self.calls: list[tuple] = []  # ("Init", port) and ("NewStream", pin, type, alloc, clock)
        self.requests: list[tuple] = []  # (set, item, flags, stream) for every handled request
        self.streams: list[RecordingStream] = []

    # -- IMiniportDMus ----------------------------------------------------------------------
    def Init(self, port) -> None:
        self.port = port
        self.calls.append(("Init", port))

    def GetDescription(self) -> FilterDescriptor:
        S, D = KSPROPERTY_SYNTH, KSPROPERTY_SYNTH_DLS
        handlers = {
            (KSPROPSETID_Synth, S.VOLUME): self._volume,
            (KSPROPSETID_Synth, S.VOLUMEBOOST): self._boost,
            (KSPROPSETID_Synth, S.CAPS): self._caps,
            (KSPROPSETID_Synth, S.PORTPARAMETERS): self._port_parameters,
            (KSPROPSETID_Synth, S.CHANNELGROUPS): self._channel_groups,
            (KSPROPSETID_Synth, S.VOICEPRIORITY): self._voice_priority,
            (KSPROPSETID_Synth, S.LATENCYCLOCK): self._latency_clock,
            (KSPROPSETID_Synth, S.RUNNINGSTATS): self._running_stats,
            (KSPROPSETID_Synth_Dls, D.DOWNLOAD): self._download,
            (KSPROPSETID_Synth_Dls, D.UNLOAD): self._unload,
            (KSPROPSETID_Synth_Dls, D.COMPACT): self._compact,
            (KSPROPSETID_Synth_Dls, D.APPEND): self._append,
            (KSPROPSETID_Synth_Dls, D.WAVEFORMAT): self._waveformat,
            (GUID_DMUS_PROP_GM_Hardware, 0): lambda r, s: self._bool(r, s, False),
            (GUID_DMUS_PROP_DLS1, 0): lambda r, s: self._bool(r, s, True),
            (GUID_DMUS_PROP_INSTRUMENT2, 0): lambda r, s: self._bool(r, s, True),
        }
        return FilterDescriptor(
            pins=(
                PinDescriptor(
                    DMUS_STREAM_TYPE.MIDI_RENDER, "DirectMusic in", self.render_instances
                ),
                PinDescriptor(DMUS_STREAM_TYPE.MIDI_CAPTURE, "MIDI capture", 1),
                PinDescriptor(DMUS_STREAM_TYPE.WAVE_SINK, "PCM out", 0),
            ),
            properties=tuple(synth_item(s, i, h) for (s, i), h in handlers.items()),
        )

    def NewStream(self, pin_id, stream_type, allocator, master_clock):
        self.calls.append(("NewStream", pin_id, stream_type, allocator, master_clock))
        stream = _STREAMS[stream_type](allocator, master_clock, pin_id)
        self.streams.append(stream)
        prefetch = self.prefetch if stream_type == DMUS_STREAM_TYPE.MIDI_RENDER else 0
        return stream, prefetch

    # -- property handlers -----------------------------------------------------------------
    def _record(self, request, stream) -> None:
        self.requests.append((request.set_id, request.item, request.flags, stream))

    def _get_or_set(self, request, stream, attr: str, fmt: str, lo=None, hi=None):
        self._record(request, stream)
        if request.flags & 2:  # SET
            (value,) = struct.unpack_from(fmt, request.value)
            if lo is not None and not lo <= value <= hi:
                raise PropertyError("STATUS_INVALID_PARAMETER", f"{value} is outside {lo}..{hi}")
            setattr(stream, attr, value)
            return None
        return struct.pack(fmt, getattr(stream, attr))

    def _volume(self, request, stream):
        return self._get_or_set(request, stream, "volume", "<i", DMUS_VOLUME_MIN, DMUS_VOLUME_MAX)

    def _boost(self, request, stream):
        return self._get_or_set(request, stream, "boost", "<i")

    def _channel_groups(self, request, stream):
        return self._get_or_set(request, stream, "channel_groups", "<I", 1, 1000)

    def _caps(self, request, stream):
        self._record(request, stream)
        return SYNTHCAPS(
            Guid=TEST_SYNTH_GUID,
            Flags=SYNTH_PC_DLS | SYNTH_PC_SOFTWARESYNTH,
            MemorySize=SYNTH_PC_SYSTEMMEMORY,
            MaxChannelGroups=1000,
            MaxVoices=1000,
            MaxAudioChannels=2,
            EffectFlags=0,
            Description="dmusd recording test synth",
        ).pack()

    def _port_parameters(self, request, stream):
        """Grant what can be granted, fill defaults, say STATUS_NOT_ALL_ASSIGNED if changed."""
        self._record(request, stream)
        asked = SYNTH_PORTPARAMS.unpack(request.instance)
        got = SYNTH_PORTPARAMS.unpack(request.instance)
        granted = SYNTH_PORTPARAMS_VOICES | SYNTH_PORTPARAMS_CHANNELGROUPS
        got.ValidParams = granted
        got.Voices = min(max(asked.Voices, 1), 1000) if asked.ValidParams & 0x1 else 32
        groups = asked.ChannelGroups if asked.ValidParams & 0x2 else 1
        got.ChannelGroups = min(max(groups, 1), 1000)
        got.AudioChannels, got.SampleRate, got.EffectsFlags = 2, RATE, 0
        stream.voices, stream.channel_groups = got.Voices, got.ChannelGroups
        changed = (
            asked.ValidParams & ~granted
            or (asked.ValidParams & 0x1 and asked.Voices != got.Voices)
            or (asked.ValidParams & 0x2 and asked.ChannelGroups != got.ChannelGroups)
        )
        status = "STATUS_NOT_ALL_ASSIGNED" if changed else "STATUS_SUCCESS"
        return PropertyResult(status, got.pack(), SYNTH_PORTPARAMS.SIZE)

    def _voice_priority(self, request, stream):
        self._record(request, stream)
        where = SYNTHVOICEPRIORITY_INSTANCE.unpack(request.instance)
        if not 1 <= where.ChannelGroup <= stream.channel_groups or not 0 <= where.Channel < 16:
            raise PropertyError(
                "STATUS_INVALID_PARAMETER",
                f"channel group {where.ChannelGroup} channel {where.Channel} does not exist "
                f"(groups 1..{stream.channel_groups}, channels 0..15)",
            )
        key = (where.ChannelGroup, where.Channel)
        if request.flags & 2:
            stream.priorities[key] = struct.unpack_from("<I", request.value)[0]
            return None
        return struct.pack("<I", stream.priorities.get(key, default_voice_priority(where.Channel)))

    def _latency_clock(self, request, stream):
        self._record(request, stream)
        if isinstance(stream, RecordingSinkStream):
            return struct.pack("<Q", stream.latency_clock.GetTime())
        return struct.pack("<Q", stream.master_clock.GetTime() + STREAM_LATENCY)

    def _running_stats(self, request, stream):
        self._record(request, stream)
        return SYNTH_STATS(ValidStats=SYNTH_STATS_LOST_NOTES, LostNotes=stream.discarded).pack()

    def _download(self, request, stream):
        self._record(request, stream)
        data = request.instance
        dl_type, dl_id, entries, size = struct.unpack_from("<4I", data)
        if size != len(data) or 16 + 4 * entries > size:
            raise PropertyError(
                "STATUS_INVALID_PARAMETER",
                f"DMUS_DOWNLOADINFO says cbSize {size} with {entries} offsets, "
                f"the buffer has {len(data)} bytes",
            )
        handle = stream.next_handle
        stream.next_handle += 1
        stream.downloads[handle] = bytes(data)
        return SYNTHDOWNLOAD(handle, True).pack()

    def _unload(self, request, stream):
        self._record(request, stream)
        (handle,) = struct.unpack_from("<Q", request.value)
        if stream.downloads.pop(handle, None) is None:
            raise PropertyError("STATUS_INVALID_HANDLE", f"no download has handle {handle}")

    def _compact(self, request, stream):
        self._record(request, stream)
        stream.compacted += 1

    def _append(self, request, stream):
        self._record(request, stream)
        return struct.pack("<I", 1)  # one extra sample after each wave, as ddksynth

    def _waveformat(self, request, stream):
        self._record(request, stream)
        return WAVEFORMATEX.pcm(RATE).pack()

    def _bool(self, request, stream, value: bool):
        self._record(request, stream)
        return struct.pack("<I", int(value))
