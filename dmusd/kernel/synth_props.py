"""The synth property sets of dmusprop.h: GUIDs, item ids, descriptors and packed structures.

KSPROPSETID_Synth (items 0-7), KSPROPSETID_Synth_Dls (0-4), KSPROPSETID_SynthClock (0) and the
GUID_DMUS_PROP_* "support" sets (item 0 each). Every value travels as the packed little-endian C
structure, laid out as on a 64-bit build (pointers and HANDLEs are 8 bytes, as event.py's
DMUS_KERNEL_EVENT). Each structure is a slots dataclass with SIZE, pack() and unpack().

DOWNLOAD: the DDI's instance data is SYNTH_BUFFER{BufferSize, BufferAddress}, a user-mode pointer
the kernel must probe and copy. In Python there is no address to pass, so the instance data of a
DOWNLOAD request is the DMUS_DOWNLOADINFO buffer itself (its length is BufferSize). SYNTH_BUFFER
is still defined here for clients that speak the C layout.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar
from uuid import UUID

from dmusd.errors import PropertyError
from dmusd.kernel.ks import (
    KSPROPERTY_TYPE_GET,
    KSPROPERTY_TYPE_SET,
    PropertyDescriptor,
    PropertyHandler,
    PropertyItem,
    Target,
)

GET, SET = KSPROPERTY_TYPE_GET, KSPROPERTY_TYPE_SET

# -- property sets -------------------------------------------------------------------------------
KSPROPSETID_Synth = UUID("fedfae25-e46e-11d1-aace-0000f875ac12")
KSPROPSETID_Synth_Dls = UUID("d523fa2c-dee3-11d1-a789-0000f875ac12")
KSPROPSETID_SynthClock = UUID("fedfae26-e46e-11d1-aace-0000f875ac12")

GUID_DMUS_PROP_GM_Hardware = UUID("178f2f24-c364-11d1-a760-0000f875ac12")
GUID_DMUS_PROP_GS_Hardware = UUID("178f2f25-c364-11d1-a760-0000f875ac12")
GUID_DMUS_PROP_XG_Hardware = UUID("178f2f26-c364-11d1-a760-0000f875ac12")
GUID_DMUS_PROP_DLS1 = UUID("178f2f27-c364-11d1-a760-0000f875ac12")
GUID_DMUS_PROP_MemorySize = UUID("178f2f28-c364-11d1-a760-0000f875ac12")
GUID_DMUS_PROP_SampleMemorySize = GUID_DMUS_PROP_MemorySize
GUID_DMUS_PROP_XG_Capable = UUID("6496aba1-61b0-11d2-afa6-00aa0024d8b6")
GUID_DMUS_PROP_GS_Capable = UUID("6496aba2-61b0-11d2-afa6-00aa0024d8b6")
GUID_DMUS_PROP_DLS2 = UUID("f14599e5-4689-11d2-afa6-00aa0024d8b6")
GUID_DMUS_PROP_INSTRUMENT2 = UUID("865fd372-9f67-11d2-872a-00600893b1bd")
GUID_DMUS_PROP_SamplePlaybackRate = UUID("2a91f713-a4bf-11d2-bbdf-00600833dbd8")
GUID_DMUS_PROP_Effects = UUID("cda8d611-684a-11d2-871e-00600893b1bd")
GUID_DMUS_PROP_WavesReverb = UUID("04cb5622-32e5-11d2-afa6-00aa0024d8b6")
GUID_DMUS_PROP_WriteLatency = UUID("268a0fa0-60f2-11d2-afa6-00aa0024d8b6")
GUID_DMUS_PROP_WritePeriod = UUID("268a0fa1-60f2-11d2-afa6-00aa0024d8b6")
GUID_DMUS_PROP_SynthSink_DSOUND = UUID("0aa97844-c877-11d1-870c-00600893b1bd")
GUID_DMUS_PROP_SynthSink_WAVE = UUID("0aa97845-c877-11d1-870c-00600893b1bd")
GUID_DMUS_PROP_LegacyCaps = UUID("cfa7cdc2-00a1-11d2-aad5-0000f875ac12")
GUID_DMUS_PROP_Volume = KSPROPSETID_Synth  # the same GUID: item 0 volume, item 1 boost


class KSPROPERTY_SYNTH(IntEnum):
    VOLUME = 0
    VOLUMEBOOST = 1
    CAPS = 2
    PORTPARAMETERS = 3
    CHANNELGROUPS = 4
    VOICEPRIORITY = 5
    LATENCYCLOCK = 6
    RUNNINGSTATS = 7


class KSPROPERTY_SYNTH_DLS(IntEnum):
    DOWNLOAD = 0
    UNLOAD = 1
    COMPACT = 2
    APPEND = 3
    WAVEFORMAT = 4


class KSPROPERTY_SYNTHCLOCK(IntEnum):
    MASTERCLOCK = 0


# -- flag values ---------------------------------------------------------------------------------
SYNTH_PC_DLS = 0x00000001
SYNTH_PC_EXTERNAL = 0x00000002
SYNTH_PC_SOFTWARESYNTH = 0x00000004
SYNTH_PC_MEMORYSIZEFIXED = 0x00000008
SYNTH_PC_GMINHARDWARE = 0x00000010
SYNTH_PC_GSINHARDWARE = 0x00000020
SYNTH_PC_XGINHARDWARE = 0x00000040
SYNTH_PC_DLS2 = 0x00000200
SYNTH_PC_REVERB = 0x40000000  # 0x40 before XP, when XGINHARDWARE took that bit
SYNTH_PC_SYSTEMMEMORY = 0x7FFFFFFF  # MemorySize: limited only by system memory

SYNTH_PORTPARAMS_VOICES = 0x01
SYNTH_PORTPARAMS_CHANNELGROUPS = 0x02
SYNTH_PORTPARAMS_AUDIOCHANNELS = 0x04
SYNTH_PORTPARAMS_SAMPLERATE = 0x08
SYNTH_PORTPARAMS_EFFECTS = 0x20
SYNTH_PORTPARAMS_SHARE = 0x40

SYNTH_EFFECT_NONE = 0x0
SYNTH_EFFECT_REVERB = 0x1
SYNTH_EFFECT_CHORUS = 0x2
SYNTH_EFFECT_DELAY = 0x4

SYNTH_STATS_VOICES = 0x01
SYNTH_STATS_TOTAL_CPU = 0x02
SYNTH_STATS_CPU_PER_VOICE = 0x04
SYNTH_STATS_LOST_NOTES = 0x08
SYNTH_STATS_PEAK_VOLUME = 0x10
SYNTH_STATS_FREE_MEMORY = 0x20

DMUS_VOLUME_MIN = -20000  # 1/100 dB
DMUS_VOLUME_MAX = 2000
WAVE_FORMAT_PCM = 1

# Voice priorities (bigger = more important): a group-level base OR a channel offset.
DAUD_CRITICAL_VOICE_PRIORITY = 0xF0000000
DAUD_HIGH_VOICE_PRIORITY = 0xC0000000
DAUD_STANDARD_VOICE_PRIORITY = 0x80000000
DAUD_LOW_VOICE_PRIORITY = 0x40000000
DAUD_PERSIST_VOICE_PRIORITY = 0x10000000
# Offsets for channels 1..16 (0-based index): channel 10 highest, then 1, 2 ... 9, 11 ... 16.
DAUD_CHAN_VOICE_PRIORITY_OFFSET = (14, 13, 12, 11, 10, 9, 8, 7, 6, 15, 5, 4, 3, 2, 1, 0)


def default_voice_priority(channel: int) -> int:
    """DAUD_CHANn_DEF_VOICE_PRIORITY for a 0-based MIDI channel."""
    return DAUD_STANDARD_VOICE_PRIORITY | DAUD_CHAN_VOICE_PRIORITY_OFFSET[channel]


# -- packed structures ---------------------------------------------------------------------------
def _need(name: str, size: int, data: bytes) -> None:
    if len(data) < size:
        raise PropertyError(
            "STATUS_BUFFER_TOO_SMALL", f"{name} needs {size} bytes, {len(data)} given"
        )


class _Packed:
    """pack/unpack for structures whose fields map one to one onto a struct format."""

    __slots__ = ()
    _STRUCT: ClassVar[struct.Struct]
    SIZE: ClassVar[int]

    def pack(self) -> bytes:
        return self._STRUCT.pack(*(getattr(self, name) for name in self.__slots__))

    @classmethod
    def unpack(cls, data: bytes):
        """Read the structure from the start of `data` (longer buffers are allowed, as in KS)."""
        _need(cls.__name__, cls.SIZE, data)
        return cls(*cls._STRUCT.unpack_from(data))


def _layout(fmt: str) -> tuple[struct.Struct, int]:
    s = struct.Struct(fmt)
    return s, s.size


@dataclass(slots=True)
class SYNTHCAPS:
    """KSPROPERTY_SYNTH_CAPS. Description is WCHAR[128], NUL-terminated (127 characters kept)."""

    _STRUCT: ClassVar[struct.Struct] = struct.Struct("<16s6I256s")
    SIZE: ClassVar[int] = 296

    Guid: UUID = field(default_factory=lambda: UUID(int=0))
    Flags: int = 0
    MemorySize: int = 0
    MaxChannelGroups: int = 0
    MaxVoices: int = 0
    MaxAudioChannels: int = 0
    EffectFlags: int = 0
    Description: str = ""

    def pack(self) -> bytes:
        text = self.Description.encode("utf-16-le")[: 2 * 127]
        if len(text) >= 2 and 0xD8 <= text[-1] <= 0xDB:  # do not cut a surrogate pair in half
            text = text[:-2]
        return self._STRUCT.pack(
            self.Guid.bytes_le,
            self.Flags,
            self.MemorySize,
            self.MaxChannelGroups,
            self.MaxVoices,
            self.MaxAudioChannels,
            self.EffectFlags,
            text,  # struct pads with NULs, which also terminates the string
        )

    @classmethod
    def unpack(cls, data: bytes) -> SYNTHCAPS:
        _need("SYNTHCAPS", cls.SIZE, data)
        guid, *dwords, text = cls._STRUCT.unpack_from(data)
        chars = [text[i : i + 2] for i in range(0, len(text), 2)]
        end = chars.index(b"\0\0") if b"\0\0" in chars else len(chars)
        description = b"".join(chars[:end]).decode("utf-16-le", errors="replace")
        return cls(UUID(bytes_le=guid), *dwords, description)


@dataclass(slots=True)
class SYNTH_PORTPARAMS(_Packed):
    """KSPROPERTY_SYNTH_PORTPARAMETERS: requested (instance data) and granted (value)."""

    _STRUCT, SIZE = _layout("<7I")

    ValidParams: int = 0
    Voices: int = 0
    ChannelGroups: int = 0
    AudioChannels: int = 0
    SampleRate: int = 0
    EffectsFlags: int = 0
    Share: int = 0


@dataclass(slots=True)
class SYNTH_STATS(_Packed):
    """KSPROPERTY_SYNTH_RUNNINGSTATS. CPU figures are % x 100, PeakVolume dB x 100 (signed)."""

    _STRUCT, SIZE = _layout("<6Ii")

    ValidStats: int = 0
    Voices: int = 0
    TotalCPU: int = 0
    CPUPerVoice: int = 0
    LostNotes: int = 0
    FreeMemory: int = 0
    PeakVolume: int = 0


@dataclass(slots=True)
class SYNTHVOICEPRIORITY_INSTANCE(_Packed):
    """The instance data of KSPROPERTY_SYNTH_VOICEPRIORITY (ChannelGroup is 1-based)."""

    _STRUCT, SIZE = _layout("<2I")

    ChannelGroup: int = 0
    Channel: int = 0


@dataclass(slots=True)
class SYNTH_BUFFER(_Packed):
    """The C instance data of DOWNLOAD (ULONG size, 4 bytes padding, PVOID address)."""

    _STRUCT, SIZE = _layout("<I4xQ")

    BufferSize: int = 0
    BufferAddress: int = 0


@dataclass(slots=True)
class SYNTHDOWNLOAD:
    """The value of DOWNLOAD: the handle for UNLOAD, and whether the client may free its buffer."""

    _STRUCT: ClassVar[struct.Struct] = struct.Struct("<QI4x")  # HANDLE, BOOL, padding
    SIZE: ClassVar[int] = 16

    DownloadHandle: int = 0
    Free: bool = True

    def pack(self) -> bytes:
        return self._STRUCT.pack(self.DownloadHandle, int(self.Free))

    @classmethod
    def unpack(cls, data: bytes) -> SYNTHDOWNLOAD:
        _need("SYNTHDOWNLOAD", cls.SIZE, data)
        handle, free = cls._STRUCT.unpack_from(data)
        return cls(handle, bool(free))


@dataclass(slots=True)
class WAVEFORMATEX(_Packed):
    """The synth's output format (KSPROPERTY_SYNTH_DLS_WAVEFORMAT); 18 bytes, packed."""

    _STRUCT, SIZE = _layout("<HHIIHHH")

    wFormatTag: int = WAVE_FORMAT_PCM
    nChannels: int = 2
    nSamplesPerSec: int = 48000
    nAvgBytesPerSec: int = 192000
    nBlockAlign: int = 4
    wBitsPerSample: int = 16
    cbSize: int = 0

    @classmethod
    def pcm(cls, rate: int, channels: int = 2, bits: int = 16) -> WAVEFORMATEX:
        align = channels * bits // 8
        return cls(WAVE_FORMAT_PCM, channels, rate, rate * align, align, bits, 0)


@dataclass(slots=True)
class SYNTH_REVERB_PARAMS(_Packed):
    """= DMUS_WAVES_REVERB_PARAMS (GUID_DMUS_PROP_WavesReverb)."""

    _STRUCT, SIZE = _layout("<4f")

    fInGain: float = 0.0  # dB
    fReverbMix: float = -10.0  # dB
    fReverbTime: float = 1000.0  # ms
    fHighFreqRTRatio: float = 0.001


HANDLE_SIZE = 8  # UNLOAD's value: the DownloadHandle of a SYNTHDOWNLOAD
DOWNLOADINFO_SIZE = 16  # a DMUS_DOWNLOADINFO header, the least a DOWNLOAD buffer can hold


# -- descriptors ---------------------------------------------------------------------------------
def _d(set_id, item, name, verbs, size, target=Target.PIN, instance=0, instance_name=""):
    return PropertyDescriptor(set_id, int(item), name, verbs, size, instance, instance_name, target)


_S, _D = KSPROPERTY_SYNTH, KSPROPERTY_SYNTH_DLS
_DESCRIPTORS = [
    _d(KSPROPSETID_Synth, _S.VOLUME, "KSPROPERTY_SYNTH_VOLUME", GET | SET, 4),
    _d(KSPROPSETID_Synth, _S.VOLUMEBOOST, "KSPROPERTY_SYNTH_VOLUMEBOOST", GET | SET, 4),
    _d(KSPROPSETID_Synth, _S.CAPS, "KSPROPERTY_SYNTH_CAPS", GET, SYNTHCAPS.SIZE, Target.ANY),
    _d(
        KSPROPSETID_Synth,
        _S.PORTPARAMETERS,
        "KSPROPERTY_SYNTH_PORTPARAMETERS",
        GET,
        SYNTH_PORTPARAMS.SIZE,
        instance=SYNTH_PORTPARAMS.SIZE,
        instance_name="SYNTH_PORTPARAMS",
    ),
    _d(KSPROPSETID_Synth, _S.CHANNELGROUPS, "KSPROPERTY_SYNTH_CHANNELGROUPS", GET | SET, 4),
    _d(
        KSPROPSETID_Synth,
        _S.VOICEPRIORITY,
        "KSPROPERTY_SYNTH_VOICEPRIORITY",
        GET | SET,
        4,
        instance=SYNTHVOICEPRIORITY_INSTANCE.SIZE,
        instance_name="SYNTHVOICEPRIORITY_INSTANCE",
    ),
    _d(KSPROPSETID_Synth, _S.LATENCYCLOCK, "KSPROPERTY_SYNTH_LATENCYCLOCK", GET, 8),
    _d(
        KSPROPSETID_Synth,
        _S.RUNNINGSTATS,
        "KSPROPERTY_SYNTH_RUNNINGSTATS",
        GET,
        SYNTH_STATS.SIZE,
    ),
    _d(
        KSPROPSETID_Synth_Dls,
        _D.DOWNLOAD,
        "KSPROPERTY_SYNTH_DLS_DOWNLOAD",
        GET,
        SYNTHDOWNLOAD.SIZE,
        instance=DOWNLOADINFO_SIZE,
        instance_name="a DMUS_DOWNLOADINFO buffer",
    ),
    _d(KSPROPSETID_Synth_Dls, _D.UNLOAD, "KSPROPERTY_SYNTH_DLS_UNLOAD", SET, HANDLE_SIZE),
    _d(KSPROPSETID_Synth_Dls, _D.COMPACT, "KSPROPERTY_SYNTH_DLS_COMPACT", SET, 0),
    _d(KSPROPSETID_Synth_Dls, _D.APPEND, "KSPROPERTY_SYNTH_DLS_APPEND", GET, 4),
    _d(
        KSPROPSETID_Synth_Dls,
        _D.WAVEFORMAT,
        "KSPROPERTY_SYNTH_DLS_WAVEFORMAT",
        GET,
        WAVEFORMATEX.SIZE,
    ),
    _d(
        KSPROPSETID_SynthClock,
        KSPROPERTY_SYNTHCLOCK.MASTERCLOCK,
        "KSPROPERTY_SYNTH_MASTERCLOCK",
        GET,
        8,
        Target.FILTER,
    ),
]

# The support sets: item 0, a ULONG (a BOOL unless noted).
_SUPPORT = {
    "GUID_DMUS_PROP_GM_Hardware": (GUID_DMUS_PROP_GM_Hardware, GET, 4),
    "GUID_DMUS_PROP_GS_Hardware": (GUID_DMUS_PROP_GS_Hardware, GET, 4),
    "GUID_DMUS_PROP_XG_Hardware": (GUID_DMUS_PROP_XG_Hardware, GET, 4),
    "GUID_DMUS_PROP_XG_Capable": (GUID_DMUS_PROP_XG_Capable, GET, 4),
    "GUID_DMUS_PROP_GS_Capable": (GUID_DMUS_PROP_GS_Capable, GET, 4),
    "GUID_DMUS_PROP_DLS1": (GUID_DMUS_PROP_DLS1, GET, 4),
    "GUID_DMUS_PROP_DLS2": (GUID_DMUS_PROP_DLS2, GET, 4),
    "GUID_DMUS_PROP_INSTRUMENT2": (GUID_DMUS_PROP_INSTRUMENT2, GET, 4),
    "GUID_DMUS_PROP_MemorySize": (GUID_DMUS_PROP_MemorySize, GET, 4),  # bytes
    "GUID_DMUS_PROP_SamplePlaybackRate": (GUID_DMUS_PROP_SamplePlaybackRate, GET, 4),  # Hz
    "GUID_DMUS_PROP_Effects": (GUID_DMUS_PROP_Effects, GET | SET, 4),  # SYNTH_EFFECT_* flags
    "GUID_DMUS_PROP_WavesReverb": (GUID_DMUS_PROP_WavesReverb, GET | SET, SYNTH_REVERB_PARAMS.SIZE),
    "GUID_DMUS_PROP_WriteLatency": (GUID_DMUS_PROP_WriteLatency, GET | SET, 4),  # ms
    "GUID_DMUS_PROP_WritePeriod": (GUID_DMUS_PROP_WritePeriod, GET | SET, 4),  # ms
}
_DESCRIPTORS += [
    _d(set_id, 0, name, verbs, size, Target.ANY) for name, (set_id, verbs, size) in _SUPPORT.items()
]

DESCRIPTORS: dict[tuple[UUID, int], PropertyDescriptor] = {
    (d.set_id, d.item): d for d in _DESCRIPTORS
}

SET_NAMES: dict[UUID, str] = {
    KSPROPSETID_Synth: "KSPROPSETID_Synth",
    KSPROPSETID_Synth_Dls: "KSPROPSETID_Synth_Dls",
    KSPROPSETID_SynthClock: "KSPROPSETID_SynthClock",
    GUID_DMUS_PROP_SynthSink_DSOUND: "GUID_DMUS_PROP_SynthSink_DSOUND",
    GUID_DMUS_PROP_SynthSink_WAVE: "GUID_DMUS_PROP_SynthSink_WAVE",
    GUID_DMUS_PROP_LegacyCaps: "GUID_DMUS_PROP_LegacyCaps",
    **{set_id: name for name, (set_id, _, _) in _SUPPORT.items()},
}


def descriptor(set_id: UUID, item: int) -> PropertyDescriptor:
    """The DDI's description of one item; KeyError for an item dmusprop.h does not define."""
    return DESCRIPTORS[(set_id, int(item))]


def synth_item(
    set_id: UUID, item: int, handler: PropertyHandler, verbs: int | None = None
) -> PropertyItem:
    """A handled item for a miniport's table: the DDI's descriptor plus `handler`."""
    return PropertyItem(descriptor(set_id, item), handler, verbs)
