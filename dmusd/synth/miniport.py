"""SynthMiniport: the IMiniportDMus of dmusd's software synthesizer (the DDK's CMiniportDmSynth).

Two pin factories: 0 = DirectMusic in (MIDI_RENDER), 1 = PCM out (WAVE_SINK). Each pair of one
render pin and one wave pin is one virtual synthesizer, a SynthStream: NewStream gives a new pin
the first stream that lacks its side, or a new stream. The render side asks the port for
DONT_HOLD_FOR_SEQUENCING, because the stream places every event at its own sample. The wave side
is a thin SinkSide with its own KSSTATE (the two pins change state independently) through which
the audio sink pulls the stream's ISynthSinkDMus.

Property handlers, on either pin of a pair:
- KSPROPSETID_Synth items 0-7: VOLUME and VOLUMEBOOST (1/100 dB, boost +600 by default), CAPS,
  PORTPARAMETERS (grants what it can and says STATUS_NOT_ALL_ASSIGNED when it changed something),
  CHANNELGROUPS, VOICEPRIORITY, LATENCYCLOCK and RUNNINGSTATS;
- KSPROPSETID_Synth_Dls: DOWNLOAD (the instance data is the DMUS_DOWNLOADINFO buffer; the synth
  copies it into the engine's sample pool, so Free is TRUE), UNLOAD, COMPACT (frees what no voice
  and no table still reaches; its pool space goes to later downloads),
  APPEND (0: the parser needs no room after a buffer), WAVEFORMAT;
- the GUID_DMUS_PROP_* support sets a DirectMusic client asks before it downloads: INSTRUMENT2,
  DLS1 and DLS2 TRUE, GM/GS/XG in hardware FALSE, GS/XG capable TRUE, the playback rate, the
  sample memory in use, and the effects.
"""

from __future__ import annotations

import struct
from uuid import UUID

import numpy as np

from dmusd.errors import BankError, DmusdError, PropertyError
from dmusd.kernel.allocator import AllocatorMXF
from dmusd.kernel.clock import IMasterClock
from dmusd.kernel.ks import PropertyRequest, PropertyResult
from dmusd.kernel.miniport import (
    DMUS_STREAM_TYPE,
    DONT_HOLD_FOR_SEQUENCING,
    FilterDescriptor,
    IMiniportDMus,
    PinDescriptor,
)
from dmusd.kernel.mxf import MXF
from dmusd.kernel.synth_props import (
    DMUS_VOLUME_MAX,
    DMUS_VOLUME_MIN,
    GUID_DMUS_PROP_DLS1,
    GUID_DMUS_PROP_DLS2,
    GUID_DMUS_PROP_INSTRUMENT2,
    KSPROPERTY_SYNTH,
    KSPROPERTY_SYNTH_DLS,
    SYNTH_EFFECT_CHORUS,
    SYNTH_EFFECT_REVERB,
    SYNTH_PC_DLS,
    SYNTH_PC_DLS2,
    SYNTH_PC_REVERB,
    SYNTH_PC_SOFTWARESYNTH,
    SYNTH_PC_SYSTEMMEMORY,
    SYNTH_PORTPARAMS,
    SYNTH_PORTPARAMS_AUDIOCHANNELS,
    SYNTH_PORTPARAMS_CHANNELGROUPS,
    SYNTH_PORTPARAMS_EFFECTS,
    SYNTH_PORTPARAMS_SAMPLERATE,
    SYNTH_PORTPARAMS_SHARE,
    SYNTH_PORTPARAMS_VOICES,
    SYNTH_STATS,
    SYNTH_STATS_CPU_PER_VOICE,
    SYNTH_STATS_FREE_MEMORY,
    SYNTH_STATS_LOST_NOTES,
    SYNTH_STATS_PEAK_VOLUME,
    SYNTH_STATS_TOTAL_CPU,
    SYNTH_STATS_VOICES,
    SYNTHCAPS,
    SYNTHDOWNLOAD,
    SYNTHVOICEPRIORITY_INSTANCE,
    WAVEFORMATEX,
    GUID_DMUS_PROP_Effects,
    GUID_DMUS_PROP_GM_Hardware,
    GUID_DMUS_PROP_GS_Capable,
    GUID_DMUS_PROP_GS_Hardware,
    GUID_DMUS_PROP_MemorySize,
    GUID_DMUS_PROP_SamplePlaybackRate,
    GUID_DMUS_PROP_XG_Capable,
    GUID_DMUS_PROP_XG_Hardware,
    KSPROPSETID_Synth,
    KSPROPSETID_Synth_Dls,
    synth_item,
)
from dmusd.synth.instrument_tables import InstrumentSource
from dmusd.synth.stream import SynthConfig, SynthStream

PIN_RENDER, PIN_WAVE = 0, 1
DMUSD_SYNTH_GUID = UUID("5f0e6b7a-2c41-4d1e-9a7b-3c8d0e1f2a64")  # our synth's class id
DESCRIPTION = "dmusd DLS2 software synthesizer"
MAX_VOICES = 4096
MAX_CHANNEL_GROUPS = 1000
EFFECTS = SYNTH_EFFECT_REVERB | SYNTH_EFFECT_CHORUS
_GRANTED = (
    SYNTH_PORTPARAMS_VOICES
    | SYNTH_PORTPARAMS_CHANNELGROUPS
    | SYNTH_PORTPARAMS_AUDIOCHANNELS
    | SYNTH_PORTPARAMS_SAMPLERATE
    | SYNTH_PORTPARAMS_EFFECTS
    | SYNTH_PORTPARAMS_SHARE
)


class SinkSide(MXF):
    """The wave pin's stream: its own state, the paired SynthStream's ISynthSinkDMus."""

    def __init__(self, allocator: AllocatorMXF, synth: SynthStream) -> None:
        super().__init__(allocator)
        self.synth = synth

    def PutMessage(self, chain) -> None:  # no MIDI flows into a PCM pin
        if chain is not None:
            self.allocator.PutMessage(chain)

    def Render(self, buffer: np.ndarray, length: int, position: int) -> None:
        self.synth.Render(buffer, length, position)

    def SyncToMaster(self, t: int, fStart: bool) -> None:
        self.synth.SyncToMaster(t, fStart)

    def SampleToRefTime(self, sample: int) -> int:
        return self.synth.SampleToRefTime(sample)

    def RefTimeToSample(self, ref: int) -> int:
        return self.synth.RefTimeToSample(ref)


class SynthMiniport(IMiniportDMus):
    """The synth miniport. `config` and `instruments` are what each new stream starts with."""

    def __init__(
        self, config: SynthConfig | None = None, instruments: InstrumentSource | None = None
    ) -> None:
        self.config = config or SynthConfig()
        self.instruments = instruments
        self.port = None
        self.streams: list[SynthStream] = []

    # -- IMiniportDMus ----------------------------------------------------------------------
    def Init(self, port) -> None:
        self.port = port

    def GetDescription(self) -> FilterDescriptor:
        S = KSPROPERTY_SYNTH
        handlers = {
            S.VOLUME: self._volume,
            S.VOLUMEBOOST: self._boost,
            S.CAPS: self._caps,
            S.PORTPARAMETERS: self._port_parameters,
            S.CHANNELGROUPS: self._channel_groups,
            S.VOICEPRIORITY: self._voice_priority,
            S.LATENCYCLOCK: self._latency_clock,
            S.RUNNINGSTATS: self._running_stats,
        }
        D = KSPROPERTY_SYNTH_DLS
        dls = {
            D.DOWNLOAD: self._download,
            D.UNLOAD: self._unload,
            D.COMPACT: self._compact,
            D.APPEND: lambda request, stream: struct.pack("<I", 0),
            D.WAVEFORMAT: self._waveformat,
        }
        support = {
            GUID_DMUS_PROP_INSTRUMENT2: _answer(True),
            GUID_DMUS_PROP_DLS1: _answer(True),
            GUID_DMUS_PROP_DLS2: _answer(True),
            GUID_DMUS_PROP_GM_Hardware: _answer(False),
            GUID_DMUS_PROP_GS_Hardware: _answer(False),
            GUID_DMUS_PROP_XG_Hardware: _answer(False),
            GUID_DMUS_PROP_GS_Capable: _answer(True),
            GUID_DMUS_PROP_XG_Capable: _answer(True),
            GUID_DMUS_PROP_SamplePlaybackRate: self._playback_rate,
            GUID_DMUS_PROP_MemorySize: self._memory_size,
            GUID_DMUS_PROP_Effects: self._effects,
        }
        items = [synth_item(KSPROPSETID_Synth, i, h) for i, h in handlers.items()]
        items += [synth_item(KSPROPSETID_Synth_Dls, i, h) for i, h in dls.items()]
        items += [synth_item(set_id, 0, h) for set_id, h in support.items()]
        return FilterDescriptor(
            pins=(
                PinDescriptor(DMUS_STREAM_TYPE.MIDI_RENDER, "DirectMusic in", 0),
                PinDescriptor(DMUS_STREAM_TYPE.WAVE_SINK, "PCM out", 0),
            ),
            properties=tuple(items),
        )

    def NewStream(
        self,
        pin_id: int,
        stream_type: DMUS_STREAM_TYPE,
        allocator: AllocatorMXF,
        master_clock: IMasterClock,
    ) -> tuple[MXF, int]:
        if stream_type == DMUS_STREAM_TYPE.MIDI_RENDER:
            stream = self._pair("has_render", allocator, master_clock)
            stream.has_render = True
            stream.allocator = stream.sink = allocator  # consumed events go home to this pin
            return stream, DONT_HOLD_FOR_SEQUENCING
        if stream_type == DMUS_STREAM_TYPE.WAVE_SINK:
            stream = self._pair("has_sink", allocator, master_clock)
            stream.has_sink = True
            return SinkSide(allocator, stream), 0
        raise DmusdError(f"pin factory {pin_id}: the synth has no {stream_type.name} pins")

    def _pair(self, side: str, allocator: AllocatorMXF, clock: IMasterClock) -> SynthStream:
        for stream in self.streams:
            if not getattr(stream, side):
                return stream
        stream = SynthStream(allocator, clock, self.config, self.instruments)
        self.streams.append(stream)
        return stream

    # -- property handlers ------------------------------------------------------------------
    def _synth(self, stream) -> SynthStream:
        """The synth a request targets: the pin's, or for a filter request the first one."""
        if stream is None:
            if not self.streams:
                raise PropertyError("STATUS_INVALID_DEVICE_STATE", "no synth is open yet")
            return self.streams[0]
        return getattr(stream, "synth", stream)

    @staticmethod
    def _long(request: PropertyRequest, name: str, lo: int, hi: int) -> int:
        (value,) = struct.unpack_from("<i", request.value)
        if not lo <= value <= hi:
            raise PropertyError("STATUS_INVALID_PARAMETER", f"{name} {value} is outside {lo}..{hi}")
        return value

    def _volume(self, request: PropertyRequest, stream) -> bytes | None:
        synth = self._synth(stream)
        if request.flags & 2:
            synth.volume = self._long(request, "volume", DMUS_VOLUME_MIN, DMUS_VOLUME_MAX)
            return None
        return struct.pack("<i", synth.volume)

    def _boost(self, request: PropertyRequest, stream) -> bytes | None:
        synth = self._synth(stream)
        if request.flags & 2:
            synth.boost = self._long(request, "volume boost", DMUS_VOLUME_MIN, DMUS_VOLUME_MAX)
            return None
        return struct.pack("<i", synth.boost)

    def _caps(self, request: PropertyRequest, stream) -> bytes:
        return SYNTHCAPS(
            Guid=DMUSD_SYNTH_GUID,
            Flags=SYNTH_PC_DLS | SYNTH_PC_DLS2 | SYNTH_PC_SOFTWARESYNTH | SYNTH_PC_REVERB,
            MemorySize=SYNTH_PC_SYSTEMMEMORY,
            MaxChannelGroups=MAX_CHANNEL_GROUPS,
            MaxVoices=MAX_VOICES,
            MaxAudioChannels=2,
            EffectFlags=EFFECTS,
            Description=DESCRIPTION,
        ).pack()

    def _port_parameters(self, request: PropertyRequest, stream) -> PropertyResult:
        """Grant what can be granted, fill the rest with the current values, re-open."""
        synth = self._synth(stream)
        asked = SYNTH_PORTPARAMS.unpack(request.instance)
        valid, config = asked.ValidParams, synth.config
        voices = asked.Voices if valid & SYNTH_PORTPARAMS_VOICES else config.voices
        groups = asked.ChannelGroups if valid & SYNTH_PORTPARAMS_CHANNELGROUPS else None
        groups = config.channel_groups if groups is None else groups
        rate = asked.SampleRate if valid & SYNTH_PORTPARAMS_SAMPLERATE else config.rate
        current = (SYNTH_EFFECT_REVERB if config.reverb else 0) | (
            SYNTH_EFFECT_CHORUS if config.chorus else 0
        )
        effects = asked.EffectsFlags if valid & SYNTH_PORTPARAMS_EFFECTS else current
        got = SYNTH_PORTPARAMS(
            ValidParams=_GRANTED,
            Voices=min(max(voices, 1), MAX_VOICES),
            ChannelGroups=min(max(groups, 1), MAX_CHANNEL_GROUPS),
            AudioChannels=2,
            SampleRate=min(max(rate, 8000), 192000),
            EffectsFlags=effects & EFFECTS,
            Share=asked.Share if valid & SYNTH_PORTPARAMS_SHARE else synth.share,
        )
        synth.share = got.Share
        synth.reopen(
            voices=got.Voices,
            channel_groups=got.ChannelGroups,
            rate=got.SampleRate,
            reverb=bool(got.EffectsFlags & SYNTH_EFFECT_REVERB),
            chorus=bool(got.EffectsFlags & SYNTH_EFFECT_CHORUS),
        )
        changed = valid & ~_GRANTED or any(
            valid & bit and getattr(asked, name) != getattr(got, name)
            for bit, name in (
                (SYNTH_PORTPARAMS_VOICES, "Voices"),
                (SYNTH_PORTPARAMS_CHANNELGROUPS, "ChannelGroups"),
                (SYNTH_PORTPARAMS_AUDIOCHANNELS, "AudioChannels"),
                (SYNTH_PORTPARAMS_SAMPLERATE, "SampleRate"),
                (SYNTH_PORTPARAMS_EFFECTS, "EffectsFlags"),
            )
        )
        status = "STATUS_NOT_ALL_ASSIGNED" if changed else "STATUS_SUCCESS"
        return PropertyResult(status, got.pack(), SYNTH_PORTPARAMS.SIZE)

    def _channel_groups(self, request: PropertyRequest, stream) -> bytes | None:
        synth = self._synth(stream)
        if request.flags & 2:
            (count,) = struct.unpack_from("<I", request.value)
            if not 1 <= count <= MAX_CHANNEL_GROUPS:
                raise PropertyError(
                    "STATUS_INVALID_PARAMETER",
                    f"channel group count {count} is outside 1..{MAX_CHANNEL_GROUPS}",
                )
            synth.reopen(channel_groups=count)
            return None
        return struct.pack("<I", synth.config.channel_groups)

    def _voice_priority(self, request: PropertyRequest, stream) -> bytes | None:
        synth = self._synth(stream)
        where = SYNTHVOICEPRIORITY_INSTANCE.unpack(request.instance)
        groups = synth.config.channel_groups
        if not 1 <= where.ChannelGroup <= groups or not 0 <= where.Channel < 16:
            raise PropertyError(
                "STATUS_INVALID_PARAMETER",
                f"channel group {where.ChannelGroup} channel {where.Channel} does not exist "
                f"(groups 1..{groups}, channels 0..15)",
            )
        group, channel = where.ChannelGroup - 1, where.Channel
        if request.flags & 2:
            synth.set_priority(group, channel, struct.unpack_from("<I", request.value)[0])
            return None
        return struct.pack("<I", synth.priority(group, channel))

    def _latency_clock(self, request: PropertyRequest, stream) -> bytes:
        return struct.pack("<Q", self._synth(stream).latency_clock.GetTime())

    def _running_stats(self, request: PropertyRequest, stream) -> bytes:
        stats = self._synth(stream).running_stats()
        return SYNTH_STATS(
            ValidStats=SYNTH_STATS_VOICES
            | SYNTH_STATS_TOTAL_CPU
            | SYNTH_STATS_CPU_PER_VOICE
            | SYNTH_STATS_LOST_NOTES
            | SYNTH_STATS_PEAK_VOLUME
            | SYNTH_STATS_FREE_MEMORY,
            Voices=round(stats["voices"]),
            TotalCPU=round(stats["total_cpu"]),
            CPUPerVoice=round(stats["cpu_per_voice"]),
            LostNotes=int(stats["lost_notes"]),
            FreeMemory=int(stats["free_memory"]),
            PeakVolume=round(stats["peak_volume"]),
        ).pack()

    # -- DLS ---------------------------------------------------------------------------------
    def _download(self, request: PropertyRequest, stream) -> bytes:
        try:
            handle = self._synth(stream).downloads.download(request.instance)
        except BankError as error:  # a malformed buffer: refused, the synth keeps what it had
            raise PropertyError("STATUS_INVALID_PARAMETER", str(error)) from None
        return SYNTHDOWNLOAD(handle, True).pack()

    def _unload(self, request: PropertyRequest, stream) -> None:
        (handle,) = struct.unpack_from("<Q", request.value)
        self._synth(stream).downloads.unload(handle)

    def _compact(self, request: PropertyRequest, stream) -> None:
        self._synth(stream).downloads.collect()

    def _waveformat(self, request: PropertyRequest, stream) -> bytes:
        return WAVEFORMATEX.pcm(self._synth(stream).config.rate).pack()

    # -- support sets ------------------------------------------------------------------------
    def _playback_rate(self, request: PropertyRequest, stream) -> bytes:
        return struct.pack("<I", self._synth(stream).config.rate)

    def _memory_size(self, request: PropertyRequest, stream) -> bytes:
        memory = self._synth(stream).downloads.sample_memory
        return struct.pack("<I", min(memory, 0xFFFFFFFF))

    def _effects(self, request: PropertyRequest, stream) -> bytes | None:
        synth = self._synth(stream)
        if request.flags & 2:
            (flags,) = struct.unpack_from("<I", request.value)
            synth.reopen(
                reverb=bool(flags & SYNTH_EFFECT_REVERB), chorus=bool(flags & SYNTH_EFFECT_CHORUS)
            )
            return None
        config = synth.config
        flags = (SYNTH_EFFECT_REVERB if config.reverb else 0) | (
            SYNTH_EFFECT_CHORUS if config.chorus else 0
        )
        return struct.pack("<I", flags)


def _answer(value: bool):
    """A handler for a yes/no support set."""

    def handler(request: PropertyRequest, stream) -> bytes:
        return struct.pack("<I", int(value))

    return handler
