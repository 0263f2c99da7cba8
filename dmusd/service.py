"""SynthService: the running synthesizer without a device, the pins of a Config.

Each configured pin is a LivePin: its own PortDMus around a SynthMiniport, with one render pin
(MIDI in) and one wave pin (PCM out), which together are one SynthStream. Banks reach a pin the
DirectMusic way, as `dmusd render` does: the file is parsed, turned into DMUS_DOWNLOADINFO buffers
(waves first) and each buffer goes through KSPROPERTY_SYNTH_DLS_DOWNLOAD; the pin keeps an
ordered list of its banks with their handles. The DownloadManager lets GM-flagged instruments
yield and otherwise lets the newest download of a patch win, so downloading banks in list order
makes a later bank override an earlier one, and a bank loaded at run time override them all.

Threads (the service has none of its own):
- the audio thread calls render(); it takes no lock any other thread holds for long (a
  stream's own lock, which only a pin being closed takes);
- the MIDI input thread calls put_midi(); a per-pin lock keeps its bytes and a panic's from
  interleaving inside the pin's unpacker (the audio thread never takes it);
- control threads (socket, SIGHUP) call the rest, serialised by one lock.
The audio thread sees the pins as one tuple, replaced in a single assignment.

Idle: a pin with no voice, nothing queued and a tail under QUIET_LEVEL for IDLE_AFTER seconds
is idle. Its effect states are cleared to exact zeros (nothing audible is cut) and from then on
render() only does a block's bookkeeping: SyncToMaster, the stream's zero-length Render (new
downloads, arriving events, state changes) and the latency clock, and moves the chorus LFO on;
the voice engine is not called. The first event that arrives ends it, in the same block.

reload(config): everything that can fail is built first (every new bank parsed and turned into
buffers, new or re-opened pins built and filled) and only then are the running pins touched;
any error leaves the old state playing. Volume and effects change in place. A changed bank list
keeps its unchanged head and downloads the rest anew before the old ones are unloaded, so no
note is cut. A pin whose channel groups, voice budget, interpolation or sample memory budget
change is re-opened: a new synth replaces the old one and the notes sounding on it are cut.
Reload makes each pin exactly what the config says: banks loaded and volumes set over the
socket since are dropped.
The sample rate belongs to the audio device and cannot change by reload.
"""

from __future__ import annotations

import logging
import math
import os
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from uuid import UUID

import numpy as np

from dmusd.banks import load_bank
from dmusd.banks.download import bank_download_count, build_bank_downloads
from dmusd.banks.memory_budget import budget_bytes
from dmusd.banks.model import Bank
from dmusd.config import Config, PinConfig
from dmusd.errors import ConfigError, DmusdError
from dmusd.kernel.clock import REFTIME_PER_SECOND, IMasterClock
from dmusd.kernel.ks import (
    KSPROPERTY_TYPE_BASICSUPPORT,
    KSPROPERTY_TYPE_GET,
    KSPROPERTY_TYPE_SET,
    PropertyRequest,
    PropertyResult,
)
from dmusd.kernel.mxf import KSSTATE
from dmusd.kernel.port import PortDMus
from dmusd.kernel.synth_props import (
    DESCRIPTORS,
    KSPROPERTY_SYNTH,
    KSPROPERTY_SYNTH_DLS,
    SET_NAMES,
    SYNTH_EFFECT_CHORUS,
    SYNTH_EFFECT_REVERB,
    SYNTH_STATS,
    SYNTHDOWNLOAD,
    GUID_DMUS_PROP_Effects,
    KSPROPSETID_Synth,
    KSPROPSETID_Synth_Dls,
)
from dmusd.synth.miniport import PIN_RENDER, PIN_WAVE, SynthMiniport
from dmusd.synth.stream import INTERPOLATION, SynthConfig, SynthStream

log = logging.getLogger("dmusd.service")

BUILTIN = "<built-in GM bank>"  # the bank of a pin whose config names none
QUIET_LEVEL = 1e-5  # -100 dBFS, under a 16-bit step: a tail below it is over
IDLE_AFTER = 1.0  # seconds of silence with no voice before a pin goes idle
PANIC_WAIT = 0.1  # seconds a panic waits for the voices to stop before clearing the tails
VOLUME_RANGE = (-200.0, 20.0)  # dB, KSPROPERTY_SYNTH_VOLUME's range
_SCRATCH = 8192  # frames of a pin's private buffer (grown if a block is larger)
# All sound off, then all notes off (pedals and held keys too), on the 16 channels.
_PANIC = b"".join(bytes((0xB0 | ch, cc, 0)) for cc in (120, 123) for ch in range(16))
_SET_IDS = {name: set_id for set_id, name in SET_NAMES.items()}
_VERBS = {
    "get": KSPROPERTY_TYPE_GET,
    "set": KSPROPERTY_TYPE_SET,
    "basic_support": KSPROPERTY_TYPE_BASICSUPPORT,
}


@dataclass(slots=True, frozen=True)
class ParsedBank:
    """A bank file read and ready to download (parsed off the audio thread)."""

    path: str  # BUILTIN for the built-in GM bank
    bank: Bank
    gm: bool  # a default GM set: its instruments yield to any other download of a patch
    signature: tuple[int, int]  # (mtime ns, size) of the file, to tell a changed file on reload


@dataclass(slots=True)
class LoadedBank:
    """One bank on one pin: the handles its downloads returned, in download order."""

    id: int
    path: str
    handles: tuple[int, ...]
    instruments: int
    signature: tuple[int, int]

    def describe(self) -> dict:
        return {
            "bank": self.id,
            "path": self.path,
            "instruments": self.instruments,
            "downloads": len(self.handles),
        }


def bank_signature(path: str) -> tuple[int, int]:
    """What tells a changed bank file apart; (-1, -1) when it cannot be read."""
    if path == BUILTIN:
        return (0, 0)
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1)
    return (st.st_mtime_ns, st.st_size)


def parse_bank(path: str) -> ParsedBank:
    """Read a DLS/SF2/SF3 file (or the built-in GM bank); raises BankError naming the file."""
    if path == BUILTIN:
        from dmusd.banks import default_bank

        return ParsedBank(BUILTIN, default_bank(), True, (0, 0))
    path = os.path.expanduser(os.path.expandvars(path))
    signature = bank_signature(path)
    return ParsedBank(path, load_bank(path), False, signature)


def synth_config(pin: PinConfig, rate: int) -> SynthConfig:
    """The SynthConfig a pin's synth opens with."""
    return SynthConfig(
        rate=rate,
        voices=pin.voices,
        channel_groups=pin.channel_groups,
        interpolation=INTERPOLATION[pin.interpolation],
        reverb=pin.reverb,
        chorus=pin.chorus,
        name=pin.name,
        sample_budget=budget_bytes(pin.sample_memory_mb),
    )


def wanted_banks(pin: PinConfig) -> list[str]:
    """The bank paths a pin should hold, in download order."""
    return [os.path.expanduser(os.path.expandvars(b)) for b in pin.banks] or [BUILTIN]


def needs_reopen(old: PinConfig, new: PinConfig) -> bool:
    """Whether going from `old` to `new` needs a new synth (which cuts the notes sounding)."""
    return (old.channel_groups, old.voices, old.interpolation, old.sample_memory_mb) != (
        new.channel_groups,
        new.voices,
        new.interpolation,
        new.sample_memory_mb,
    )


class LivePin:
    """One configured pin: a port with a render pin and a wave pin, and the banks on it."""

    def __init__(self, config: PinConfig, rate: int, master_clock: IMasterClock) -> None:
        self.name = config.name
        self.config = config
        self.rate = rate
        self.port = PortDMus(SynthMiniport(synth_config(config, rate)), master_clock)
        self.midi = self.port.open_pin(PIN_RENDER)
        self.wave = self.port.open_pin(PIN_WAVE)
        self.stream: SynthStream = self.midi.stream
        self.banks: list[LoadedBank] = []
        self._next_dl_id = 1  # dwDLIds are unique per pin, over every bank it ever held
        self._feed = threading.Lock()  # MIDI thread vs. a panic, both into the unpacker
        self._scratch = np.zeros((_SCRATCH, 2), dtype=np.float32)
        self._quiet = 0  # frames in a row with no voice and output under QUIET_LEVEL
        self._idle_after = max(1, round(IDLE_AFTER * rate))
        self._panic = -1  # frames since a panic asked for the tails to be cleared; -1: none
        self._fresh = True  # the next SyncToMaster anchors the stream (fStart)
        self.set_volume(config.volume_db)
        self.wave.SetState(KSSTATE.RUN)
        self.midi.SetState(KSSTATE.RUN)

    @property
    def groups(self) -> int:
        return self.stream.config.channel_groups

    @property
    def idle(self) -> bool:
        return self._quiet >= self._idle_after and self.stream.active_voices == 0

    @property
    def asleep(self) -> bool:
        """Idle with nothing queued, held or about to happen: blocks need no Python at all."""
        stream = self.stream
        sequencer = self.midi.sequencer
        return (
            self.idle
            and self._panic < 0
            and not self._fresh
            and not stream.busy
            and (sequencer is None or not sequencer.held)
        )

    def sleep_through(self, frames: int, position: int) -> None:
        """Frames played while asleep, as the idle path of render() would have counted them."""
        self.stream.skip(frames, position)
        self._move_chorus(frames)

    # -- properties ---------------------------------------------------------------------------
    def request(self, request: PropertyRequest) -> PropertyResult:
        """A KS property request aimed at this pin's render pin."""
        request.pin = self.midi.id
        return self.port.property_request(request)

    def set_volume(self, db: float) -> None:
        value = struct.pack("<i", round(100 * db))
        self.request(PropertyRequest.set(KSPROPSETID_Synth, KSPROPERTY_SYNTH.VOLUME, value))

    def set_effects(self, reverb: bool, chorus: bool) -> None:
        flags = (SYNTH_EFFECT_REVERB if reverb else 0) | (SYNTH_EFFECT_CHORUS if chorus else 0)
        self.request(PropertyRequest.set(GUID_DMUS_PROP_Effects, 0, struct.pack("<I", flags)))

    # -- banks --------------------------------------------------------------------------------
    def download(self, parsed: ParsedBank, bank_id: int) -> LoadedBank:
        """Download every instrument of a parsed bank; on any failure nothing stays loaded."""
        instruments = list(parsed.bank.instruments.values())
        waves = {id(r.wave): r.wave.frames for inst in instruments for r in inst.regions}
        self.stream.downloads.reserve(len(waves), sum(waves.values()))
        # one buffer at a time: each is parsed into the engine's pool and dropped before the next
        buffers = build_bank_downloads(instruments, self._next_dl_id, parsed.gm)
        self._next_dl_id += bank_download_count(instruments)
        handles: list[int] = []
        # the bank reaches the engine whole, its tables prepared once
        with self.stream.downloads.batch():
            try:
                for buffer in buffers:
                    request = PropertyRequest.get(
                        KSPROPSETID_Synth_Dls,
                        KSPROPERTY_SYNTH_DLS.DOWNLOAD,
                        SYNTHDOWNLOAD.SIZE,
                        instance=buffer,
                    )
                    reply = self.request(request).value
                    handles.append(SYNTHDOWNLOAD.unpack(reply).DownloadHandle)
            except BaseException:
                self._unload(handles)
                raise
        return LoadedBank(bank_id, parsed.path, tuple(handles), len(instruments), parsed.signature)

    def unload(self, bank: LoadedBank) -> None:
        """Give a bank's handles back. Voices playing its waves play on to their end: the
        download manager frees sample data only when no voice and no table reaches it."""
        self._unload(bank.handles)

    def _unload(self, handles: Iterable[int]) -> None:
        # instruments before the waves they use (the reverse of download order), published once
        with self.stream.downloads.batch():
            for handle in reversed(list(handles)):
                unload = struct.pack("<Q", handle)
                self.request(
                    PropertyRequest.set(KSPROPSETID_Synth_Dls, KSPROPERTY_SYNTH_DLS.UNLOAD, unload)
                )

    # -- MIDI and panic -----------------------------------------------------------------------
    def put(self, group: int, data: bytes, time: int) -> None:
        with self._feed:
            self.midi.put_bytes(data, time, group)

    def panic(self) -> None:
        """All sound off on every channel of every group in the next block; the effect tails
        are cleared then, and again once the voices' quick-stop fades are over."""
        self.put(0, _PANIC, 0)  # group 0: every group; time 0: the next block
        self._panic = 0

    # -- the audio thread ---------------------------------------------------------------------
    def render(self, buffer: np.ndarray, frames: int, position: int, t: int, start: bool) -> None:
        """Mix this pin's next `frames` frames into buffer[:frames]."""
        stream = self.stream
        stream.SyncToMaster(t, start or self._fresh)
        self._fresh = False
        if self._panic == 0:
            self._clear_effects()  # a panic's first block: the tails go now
        self._render(buffer, frames, position)
        if self._panic >= 0:
            # and once more when the voices' quick-stop fades are over
            self._panic += frames
            if stream.active_voices == 0 or self._panic >= PANIC_WAIT * self.rate:
                self._panic = -1
                self._clear_effects()

    def _render(self, buffer: np.ndarray, frames: int, position: int) -> None:
        stream = self.stream
        if stream.active_voices:
            self._quiet = 0
            stream.Render(buffer, frames, position)
            return
        if self._quiet >= self._idle_after:
            stream.Render(buffer, 0, position)  # bookkeeping only: downloads, events, state
            if stream.active_voices == 0 and not stream.busy:
                stream.skip(frames, position)  # idle frames count in the running stats
                self._move_chorus(frames)
                return
        # No voice: render into the private buffer to see whether the tail is over.
        if frames > self._scratch.shape[0]:
            self._scratch = np.zeros((frames, 2), dtype=np.float32)
        scratch = self._scratch[:frames]
        scratch.fill(0.0)
        stream.Render(scratch, frames, position)
        buffer[:frames] += scratch
        if stream.active_voices or max(scratch.max(), -scratch.min()) >= QUIET_LEVEL:
            self._quiet = 0
        elif self._quiet < self._idle_after:
            self._quiet += frames
            if self._quiet >= self._idle_after:
                self._clear_effects()  # the tails are under -100 dB: make them exact zeros

    def _clear_effects(self) -> None:
        engine = self.stream.engine
        engine.reverb.clear()
        engine.chorus.clear()

    def _move_chorus(self, frames: int) -> None:
        """Keep the chorus LFO and ring where a rendered block would have left them."""
        chorus = self.stream.engine.chorus
        chorus.ints[0] = (chorus.ints[0] + frames) & chorus.ints[1]
        phase = chorus.flts[0] + frames * chorus.flts[1]
        chorus.flts[0] = phase - math.floor(phase)

    # -- reports ------------------------------------------------------------------------------
    def status(self) -> dict:
        config = self.stream.config
        return {
            "name": self.name,
            "channel_groups": config.channel_groups,
            "voices": config.voices,
            "active_voices": self.stream.active_voices,
            "volume_db": self.stream.volume / 100.0,
            "interpolation": self.config.interpolation,
            "reverb": config.reverb,
            "chorus": config.chorus,
            "idle": self.idle,
            "banks": [bank.describe() for bank in self.banks],
        }

    def stats(self) -> dict:
        """KSPROPERTY_SYNTH_RUNNINGSTATS (averages since the pin started; peak since the last
        call), and the counters of what went wrong."""
        request = PropertyRequest.get(
            KSPROPSETID_Synth, KSPROPERTY_SYNTH.RUNNINGSTATS, SYNTH_STATS.SIZE
        )
        stats = SYNTH_STATS.unpack(self.request(request).value)
        stream = self.stream
        return {
            "voices": stats.Voices,
            "cpu_percent": stats.TotalCPU / 100.0,
            "cpu_per_voice_percent": stats.CPUPerVoice / 100.0,
            "lost_notes": stats.LostNotes,
            "peak_db": stats.PeakVolume / 100.0,
            "active_voices": stream.active_voices,
            "late_events": stream.late,
            "lost_events": self.midi.allocator.exhausted + self.midi.unpacker.lost,
            "missed_patches": stream.missed_patches,
            "errors": stream.errors,
            "sample_memory": stream.downloads.sample_memory,
        }

    def close(self) -> None:
        """Every pin to STOP (notes released, held events returned) and the port closed."""
        self.port.close()


class _ControlLock:
    """The control plane's lock. Leaving it wakes the audio side: what was done under it (a
    download to pick up, a panic, new pins) is work for the next block."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self._lock = threading.Lock()
        self._wake = wake
        self.reading = self._lock  # for reports: reading changes nothing, so wakes nothing

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()
        self._wake()


class SynthService:
    """Every pin of a Config, rendered into one buffer; the daemon's control plane."""

    def __init__(self, config: Config, master_clock: IMasterClock) -> None:
        self.master_clock = master_clock
        self.config = config
        self.rate = config.audio.sample_rate
        self._control = _ControlLock(lambda: self.wake())
        self._next_bank = 1
        self._live: tuple[LivePin, ...] = ()  # what the audio thread renders
        self.pins: dict[str, LivePin] = {}
        self.position = 0  # frames rendered so far
        self._started = False
        self.dropped = 0  # MIDI messages for a pin or channel group that does not exist
        self.audio_status: Callable[[], dict] | None = None  # the device's report, if live
        # Called after anything is given to the pins (the audio side may be asleep: SleepGate).
        self.wake: Callable[[], None] = lambda: None
        built: list[LivePin] = []
        try:
            cache: dict[str, ParsedBank] = {}
            for pin in config.pins:
                built.append(self._build_pin(pin, cache))
        except BaseException:
            for live in built:
                live.close()
            raise
        self._publish(built)

    # -- the MIDI input thread ----------------------------------------------------------------
    def put_midi(self, pin: str, group: int, data: bytes, time: int) -> None:
        """Raw MIDI bytes for one channel group (1-based) of a pin, to play at `time` (100 ns,
        master clock). Never raises: a pin or group that does not exist counts in `dropped`."""
        live = self.pins.get(pin)
        if live is None or not 1 <= group <= live.groups:
            self.dropped += 1
            return
        live.put(group, data, time)
        self.wake()

    # -- the audio thread ---------------------------------------------------------------------
    def render(self, buffer: np.ndarray, frames: int, position: int) -> None:
        """Mix every pin's next block into buffer[:frames] ((n, 2) float32, zeroed by the
        caller); `position` is the output stream's frame count at the block's start."""
        t = position * REFTIME_PER_SECOND // self.rate
        start = not self._started
        self._started = True
        for live in self._live:
            live.render(buffer, frames, position, t, start)
        self.position = position + frames

    def asleep(self) -> bool:
        """Whether the blocks after this one need no rendering until wake() (audio thread)."""
        return all(live.asleep for live in self._live)

    def slept(self, frames: int, position: int) -> None:
        """`frames` from `position` on were played as silence without render() (audio thread)."""
        for live in self._live:
            live.sleep_through(frames, position)
        self.position = position + frames

    def active_voices(self) -> int:
        return sum(live.stream.active_voices for live in self._live)

    # -- control plane ------------------------------------------------------------------------
    def status(self) -> dict:
        with self._control.reading:
            pins = [live.status() for live in self._live]
        audio = self.audio_status() if self.audio_status is not None else None
        position = audio["position"] if audio is not None else self.position  # with time slept
        return {
            "sample_rate": self.rate,
            "position": position,
            "seconds": position / self.rate,
            "active_voices": sum(p["active_voices"] for p in pins),
            "idle": all(p["idle"] for p in pins),
            "dropped_midi": self.dropped,
            "config": self.config.path,
            "audio": audio,
            "pins": pins,
        }

    def stats(self) -> dict[str, dict]:
        with self._control.reading:
            return {live.name: live.stats() for live in self._live}

    def load_bank(self, pin: str, path: str) -> dict:
        """Parse a bank file here, download it on top of the pin's banks (it overrides them on
        the same patches). A bad file raises BankError and the pin keeps what it had."""
        with self._control:
            live = self._pin(pin)
            parsed = parse_bank(path)
            loaded = live.download(parsed, self._bank_id())
            live.banks.append(loaded)
            log.info(
                "pin %s: bank %d loaded from %s (%d instruments)",
                live.name, loaded.id, loaded.path, loaded.instruments,
            )  # fmt: skip
            return {
                "pin": live.name,
                "bank": loaded.id,
                "path": loaded.path,
                "handles": list(loaded.handles),
                "instruments": loaded.instruments,
            }

    def unload_bank(self, pin: str, bank: int) -> dict:
        """Unload one bank of a pin by its id; the notes it is sounding play on to their end."""
        with self._control:
            live = self._pin(pin)
            for loaded in live.banks:
                if loaded.id == bank:
                    break
            else:
                held = ", ".join(str(b.id) for b in live.banks) or "none"
                raise DmusdError(f"pin {pin!r} has no bank {bank} (its banks: {held})")
            live.unload(loaded)
            live.banks.remove(loaded)
            log.info("pin %s: bank %d (%s) unloaded", live.name, bank, loaded.path)
            return {"pin": live.name, "bank": bank, "handles": len(loaded.handles)}

    def set_volume(self, pin: str | None, db: float) -> dict:
        """KSPROPERTY_SYNTH_VOLUME on one pin, or on every pin when `pin` is None."""
        lo, hi = VOLUME_RANGE
        if not lo <= db <= hi:  # also refuses nan
            raise DmusdError(f"volume {db} dB is outside {lo:g}..{hi:g}", where="volume")
        with self._control:
            targets = [self._pin(pin)] if pin is not None else list(self._live)
            for live in targets:
                live.set_volume(db)
                log.info("pin %s: volume %+.1f dB", live.name, db)
            return {"volume_db": {live.name: live.stream.volume / 100.0 for live in targets}}

    def panic(self) -> dict:
        """All sound off on every pin and channel group, within a few milliseconds."""
        with self._control:
            for live in self._live:
                live.panic()
            log.info("panic: all sound off")
            return {"pins": [live.name for live in self._live]}

    def property(self, pin: str, request: dict) -> dict:
        """One KS property request given as JSON:
        {"set": name or GUID, "item": number or name, "verb": "get" | "set" | "basic_support",
         "value": int or hex bytes (set), "size": bytes (get; default the item's size),
         "instance": hex bytes}. Returns the status, the size and the value (hex, and as an int
        when it is 4 or 8 bytes)."""
        with self._control:
            live = self._pin(pin)
            result = live.request(ks_request(request))
            return ks_reply(result)

    def reload(self, config: Config) -> dict:
        """Make the running pins what `config` says; on any error the old state keeps playing."""
        if config.audio.sample_rate != self.rate:
            raise ConfigError(
                f"cannot change from {self.rate} to {config.audio.sample_rate} Hz while running: "
                "restart dmusd",
                key="audio.sample_rate",
            )
        with self._control:
            cache: dict[str, ParsedBank] = {}
            built: list[LivePin] = []  # new and re-opened pins, not yet playing
            kept: list[tuple[LivePin, PinConfig, int, list[ParsedBank]]] = []
            added: list[tuple[LivePin, LoadedBank]] = []  # downloads into running pins
            try:
                for pin in config.pins:
                    live = self.pins.get(pin.name)
                    if live is None or needs_reopen(live.config, pin):
                        built.append(self._build_pin(pin, cache))
                        continue
                    keep, fresh = self._bank_plan(live, pin)
                    kept.append((live, pin, keep, [self._parse(p, cache) for p in fresh]))
                for live, _, _, parsed in kept:
                    for bank in parsed:
                        added.append((live, live.download(bank, self._bank_id())))
            except BaseException:
                for live, loaded in added:
                    live.unload(loaded)
                for live in built:
                    live.close()
                raise
            # Nothing below can fail on bad input: the new banks are in, the old ones go.
            summary: dict[str, list[str]] = {"added": [], "reopened": [], "removed": []}
            changed: dict[str, list[str]] = {}
            for live, pin, keep, _ in kept:
                what = []
                stale, live.banks = live.banks[keep:], live.banks[:keep]
                for old in stale:
                    live.unload(old)
                live.banks += [loaded for owner, loaded in added if owner is live]
                if stale or len(live.banks) > keep:
                    what.append("banks")
                if live.stream.volume != round(100 * pin.volume_db):
                    live.set_volume(pin.volume_db)
                    what.append("volume")
                config_now = live.stream.config
                if (config_now.reverb, config_now.chorus) != (pin.reverb, pin.chorus):
                    live.set_effects(pin.reverb, pin.chorus)
                    what.append("effects")
                live.config = pin
                if what:
                    changed[live.name] = what
            new = {live.name: live for live in built}
            for live in built:
                summary["reopened" if live.name in self.pins else "added"].append(live.name)
            order = [new.get(pin.name) or self.pins[pin.name] for pin in config.pins]
            gone = [live for live in self._live if order.count(live) == 0]
            summary["removed"] = [live.name for live in gone if live.name not in new]
            self._publish(order)
            for live in gone:
                live.close()
            self.config = config
            log.info("reload: %s, changed %s", summary, changed or "nothing else")
            return {**summary, "changed": changed}

    def close(self) -> None:
        """All notes off, every pin to STOP, the ports closed; render() then does nothing."""
        with self._control:
            gone, self._live, self.pins = self._live, (), {}
            for live in gone:
                live.close()

    # -- helpers ------------------------------------------------------------------------------
    def _publish(self, pins: list[LivePin]) -> None:
        self.pins = {live.name: live for live in pins}
        self._live = tuple(pins)

    def _pin(self, name: str) -> LivePin:
        live = self.pins.get(name)
        if live is None:
            known = ", ".join(repr(n) for n in self.pins) or "none"
            raise DmusdError(f"no pin named {name!r} (pins: {known})")
        return live

    def _bank_id(self) -> int:
        bank, self._next_bank = self._next_bank, self._next_bank + 1
        return bank

    @staticmethod
    def _parse(path: str, cache: dict[str, ParsedBank]) -> ParsedBank:
        parsed = cache.get(path)
        if parsed is None:
            parsed = cache[path] = parse_bank(path)
        return parsed

    def _build_pin(self, pin: PinConfig, cache: dict[str, ParsedBank]) -> LivePin:
        """A new pin with its banks downloaded, not yet rendered."""
        parsed = [self._parse(path, cache) for path in wanted_banks(pin)]
        live = LivePin(pin, self.rate, self.master_clock)
        try:
            for bank in parsed:
                live.banks.append(live.download(bank, self._bank_id()))
        except BaseException:
            live.close()
            raise
        return live

    @staticmethod
    def _bank_plan(live: LivePin, pin: PinConfig) -> tuple[int, list[str]]:
        """How many of the pin's banks stay (the head that matches the config, files unchanged)
        and the paths to download after them, in order."""
        wanted = wanted_banks(pin)
        keep = 0
        for loaded, path in zip(live.banks, wanted, strict=False):
            if loaded.path != path or loaded.signature != bank_signature(path):
                break
            keep += 1
        return keep, wanted[keep:]


# -- KS property requests as JSON --------------------------------------------------------------
def ks_request(request: dict) -> PropertyRequest:
    """Turn the JSON shape of a property request into a PropertyRequest (pin set by the caller)."""
    if not isinstance(request, dict):
        raise DmusdError("a property request must be a JSON object", where="property")
    set_id = _set_id(request.get("set"))
    item = _item(set_id, request.get("item"))
    verb = request.get("verb", "get")
    if verb not in _VERBS:
        raise DmusdError(f"verb {verb!r} is not one of {', '.join(_VERBS)}", where="property.verb")
    descriptor = DESCRIPTORS.get((set_id, item))
    instance = _hex(request.get("instance", ""), "instance")
    if verb == "set":
        value = _value(request.get("value"), descriptor.value_size if descriptor else 4)
        return PropertyRequest.set(set_id, item, value, instance=instance)
    if "value" in request:
        raise DmusdError(f"a {verb} takes no value", where="property.value")
    size = request.get("size")
    if size is None:
        size = 4 if verb == "basic_support" or descriptor is None else descriptor.value_size
    if type(size) is not int or not 0 <= size <= 1 << 20:
        raise DmusdError(f"size {size!r} must be a byte count 0..1048576", where="property.size")
    if verb == "basic_support":
        request_ = PropertyRequest.basic_support(set_id, item, size)
        request_.instance = instance
        return request_
    return PropertyRequest.get(set_id, item, size, instance=instance)


def ks_reply(result: PropertyResult) -> dict:
    value = result.value
    reply = {"status": result.status, "size": result.size, "value": value.hex()}
    if len(value) == 4:
        reply["int"] = struct.unpack("<i", value)[0]
    elif len(value) == 8:
        reply["int"] = struct.unpack("<q", value)[0]
    return reply


def _set_id(name: object) -> UUID:
    if isinstance(name, str):
        if name in _SET_IDS:
            return _SET_IDS[name]
        try:
            return UUID(name)
        except ValueError:
            pass
    known = ", ".join(sorted(_SET_IDS))
    raise DmusdError(
        f"property set {name!r} is neither a known name ({known}) nor a GUID", where="property.set"
    )


def _item(set_id: UUID, item: object) -> int:
    if type(item) is int and 0 <= item < 1 << 32:
        return item
    if isinstance(item, str):
        wanted = item.upper()
        for (sid, number), d in DESCRIPTORS.items():
            if sid == set_id and (d.name == wanted or d.name.endswith("_" + wanted)):
                return number
        if wanted.isdigit():
            return int(wanted)
    names = [d.name for (sid, _), d in DESCRIPTORS.items() if sid == set_id]
    raise DmusdError(
        f"item {item!r} is not a number or one of {', '.join(names) or 'no names'}",
        where="property.item",
    )


def _value(value: object, size: int) -> bytes:
    """A SET value: an int packed little-endian in the item's size (4 or 8), or hex bytes."""
    if type(value) is int:
        size = 8 if size == 8 else 4
        lo, hi = -(1 << (8 * size - 1)), (1 << (8 * size)) - 1
        if not lo <= value <= hi:
            raise DmusdError(f"value {value} does not fit {size} bytes", where="property.value")
        return value.to_bytes(size, "little", signed=value < 0)
    if isinstance(value, str):
        return _hex(value, "value")
    raise DmusdError("a set needs a value: an integer or hex bytes", where="property.value")


def _hex(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise DmusdError(f"{what} must be hex bytes in a string", where=f"property.{what}")
    try:
        return bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise DmusdError(f"{what} {text!r} is not hex bytes", where=f"property.{what}") from None
