"""SynthService: the running synthesizer without a device, the pins of a Config.

Each configured pin is a SynthPin (dmusd/pin/: the port, the synth, its banks, its idle
detection), which `dmusd render` uses too. The service holds them by name, renders them into one
buffer, and is the daemon's control plane: status and stats, banks loaded and unloaded at run
time (a bank loaded at run time overrides the pin's others on the same patches), volume, panic,
KS property requests, reload.

Threads (the service has none of its own):
- the audio thread calls render(), asleep() and slept();
- the MIDI input thread calls put_midi();
- control threads (socket, SIGHUP) call the rest, serialised by one lock.
The audio thread sees the pins as one tuple, replaced in a single assignment.

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
import os
import threading
from collections.abc import Callable, Sequence

import numpy as np

from dmusd.config import Config, PinConfig, check_value
from dmusd.config_overrides import in_force
from dmusd.errors import ConfigError, DmusdError
from dmusd.kernel.clock import REFTIME_PER_SECOND, IMasterClock
from dmusd.kernel.ks import PropertyRequest, PropertyResult
from dmusd.pin import BUILTIN, LoadedBank, ParsedBank, SynthPin, bank_signature, parse_bank
from dmusd.pin.pin_output import OWN_OUTPUT_PINS, PinOutput
from dmusd.synth.engine.native_pin import PinDescriptor

log = logging.getLogger("dmusd.service")

VOLUME_RANGE = (-200.0, 20.0)  # dB, KSPROPERTY_SYNTH_VOLUME's range


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


def pin_outputs(pins: Sequence[PinConfig], separate: bool) -> list[PinOutput]:
    """The own outputs of the first OWN_OUTPUT_PINS pins, stems as their configs ask when the
    audio output has ports for them (`separate`: JACK); what cannot be had is logged."""
    for i, pin in enumerate(pins):
        for key in ("effect_outputs", "channel_outputs"):
            if getattr(pin, key) and not (separate and i < OWN_OUTPUT_PINS):
                need = f"one of the first {OWN_OUTPUT_PINS} pins" if separate else "JACK"
                log.warning("pins[%d].%s: outputs apart need %s; it plays in the main pair",
                            i, key, need)  # fmt: skip
    return [
        PinOutput(pin.name, pin.effect_outputs and separate, pin.channel_outputs and separate)
        for pin in pins[:OWN_OUTPUT_PINS]
    ]


class SynthService:
    """Every pin of a Config, rendered into one buffer; the daemon's control plane."""

    def __init__(
        self, config: Config, master_clock: IMasterClock, *, separate_outputs: bool = False
    ) -> None:
        """`separate_outputs`: the audio output gives pins outputs of their own (JACK), so the
        pins render the stems their config asks for (PinOutput)."""
        self.master_clock = master_clock
        self.config = config
        self.rate = config.audio.sample_rate
        # each pin's own outputs, fixed at start like its MIDI ports: a reload keeps them
        self.outputs = pin_outputs(config.pins, separate_outputs)
        self._control = _ControlLock(lambda: self.wake())
        self._next_bank = 1
        self._live: tuple[SynthPin, ...] = ()  # what the audio thread renders
        self.pins: dict[str, SynthPin] = {}
        self.position = 0  # frames rendered so far
        self._started = False
        self.dropped = 0  # MIDI messages for a pin or channel group that does not exist
        self.audio_status: Callable[[], dict] | None = None  # the device's report, if live
        self.midi_status: Callable[[], dict] | None = None  # the MIDI ports' report, if live
        # Called after anything is given to the pins (the audio side may be asleep: SleepGate).
        self.wake: Callable[[], None] = lambda: None
        built: list[SynthPin] = []
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
        live.put(data, time, group)
        self.wake()

    # -- the audio thread ---------------------------------------------------------------------
    def render(self, buffer: np.ndarray, frames: int, position: int) -> None:
        """Mix every pin's next block into buffer[:frames] ((n, 2) float32, zeroed by the
        caller), or into the pin's own area (PinOutput); `position` is the output stream's
        frame count at the block's start."""
        t = position * REFTIME_PER_SECOND // self.rate
        start = not self._started
        self._started = True
        for live in self._live:
            live.render(buffer, frames, position, t, start)
        self.position = position + frames

    def asleep(self) -> bool:
        """Whether the blocks after this one need no rendering until wake() (audio thread)."""
        return all(live.asleep for live in self._live)

    def native_ready(self) -> list[tuple[PinDescriptor, bool, np.ndarray | None]] | None:
        """Every pin's descriptor, RUN flag and own output area when all may be rendered by the
        native audio callback (io/native_mode.py), else None (audio thread and the keeper)."""
        pins = []
        for live in self._live:
            pin = live.native_ready()
            if pin is None:
                return None
            pins.append(pin)
        # only while something plays: the idle pins' bookkeeping and sleep are Python's
        playing = any(live.stream.active_voices or live.stream.busy for live in self._live)
        return pins if playing else None

    def bookkeep(self, frames: int, position: int) -> None:
        """What render() does besides rendering, for a block the native callback rendered."""
        t = position * REFTIME_PER_SECOND // self.rate
        for live in self._live:
            live.bookkeep(frames, position, t)
        self.position = position + frames

    def slept(self, frames: int, position: int) -> None:
        """`frames` from `position` on were played as silence without render() (audio thread)."""
        for live in self._live:
            live.sleep_through(frames, position)
        self.position = position + frames

    def active_voices(self) -> int:
        return sum(live.active_voices for live in self._live)

    # -- control plane ------------------------------------------------------------------------
    def status(self) -> dict:
        with self._control.reading:
            pins = [live.status() for live in self._live]
        audio = self.audio_status() if self.audio_status is not None else None
        midi = self.midi_status() if self.midi_status is not None else None
        position = audio["position"] if audio is not None else self.position  # with time slept
        return {
            "sample_rate": self.rate,
            "position": position,
            "seconds": position / self.rate,
            "active_voices": sum(p["active_voices"] for p in pins),
            "idle": all(p["idle"] for p in pins),
            "dropped_midi": self.dropped,
            "config": self.config.path,
            "settings": in_force(self.config),  # what `dmusd run` flags and the file set
            "audio": audio,
            "midi": midi,
            "pins": pins,
        }

    def stats(self) -> dict[str, dict]:
        with self._control.reading:
            return {live.name: live.stats() for live in self._live}

    def load_bank(self, pin: str, path: str) -> dict:
        """Parse a bank file here, download it on top of the pin's banks (it overrides them on
        the same patches). A bad file raises BankError and the pin keeps what it had."""
        self._pin(pin)  # an unknown pin is refused before the file is read
        parsed = parse_bank(path)  # outside the lock: reports go on while a big bank parses
        with self._control:
            live = self._pin(pin)
            loaded = live.download(parsed, self._bank_id())
            log.info(
                "pin %s: bank %d loaded from %s (%d instruments)",
                live.name, loaded.id, loaded.path, loaded.instruments,
            )  # fmt: skip
            _log_warnings(parsed)
            return {
                "pin": live.name,
                "bank": loaded.id,
                "path": loaded.path,
                "downloads": len(loaded.handles),  # a count: TimGM6mb alone is 656 handles
                "instruments": loaded.instruments,
                "warnings": list(parsed.bank.warnings),  # the broken items left out
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
            log.info("pin %s: bank %d (%s) unloaded", live.name, bank, loaded.path)
            return {"pin": live.name, "bank": bank, "downloads": len(loaded.handles)}

    def set_volume(self, pin: str | None, db: float) -> dict:
        """KSPROPERTY_SYNTH_VOLUME on one pin, or on every pin when `pin` is None."""
        lo, hi = VOLUME_RANGE
        if not lo <= db <= hi:  # also refuses nan
            raise DmusdError(f"volume {db} dB is outside {lo:g}..{hi:g}", where="volume")
        with self._control:
            targets = self._targets(pin)
            for live in targets:
                live.set_volume(db)
                log.info("pin %s: volume %+.1f dB", live.name, db)
            return {"volume_db": {live.name: live.stream.volume / 100.0 for live in targets}}

    def put_control_midi(self, pin: str | None, group: int, data: bytes) -> dict:
        """MIDI bytes from a control client (`dmusd ctl noteon ...`) down the same path as a MIDI
        port's: the pin's unpacker, sequencer and stream, played in the next block. `pin`
        None: the first pin; `group` 0: every group. Unlike put_midi, a pin or group that does
        not exist is an error."""
        live = self._pin(pin) if pin is not None else next(iter(self._live), None)
        if live is None:
            raise DmusdError("no pins to play on")
        if not 0 <= group <= live.groups:
            raise DmusdError(
                f"pin {live.name!r} has channel groups 1..{live.groups} (0: all), not {group}"
            )
        live.put(data, 0, group)
        self.wake()
        return {"pin": live.name, "group": group, "bytes": len(data)}

    def instruments(self, bank: int) -> dict:
        """The instruments of a loaded bank by its id (`status` shows them)."""
        for live in self._live:
            for loaded in live.banks:
                if loaded.id == bank:
                    names = [[patch, name] for patch, name in loaded.names]
                    return {"pin": live.name, "bank": bank, "instruments": names}
        held = ", ".join(str(b.id) for live in self._live for b in live.banks) or "none"
        raise DmusdError(f"no bank {bank} (banks: {held})")

    def set_effect(
        self, pin: str | None, effect: str, on: bool | None, level: float | None
    ) -> dict:
        """Reverb or chorus on or off (GUID_DMUS_PROP_Effects) and its wet mix level (0..1),
        on one pin or on every pin."""
        if effect not in ("reverb", "chorus"):
            raise DmusdError(f"no effect {effect!r} (effects: reverb, chorus)")
        if level is not None and not 0.0 <= level <= 1.0:  # also refuses nan
            raise DmusdError(f"{effect} level {level} is outside 0..1")
        with self._control:
            targets = self._targets(pin)
            for live in targets:
                if on is not None:
                    config = live.stream.config
                    reverb = on if effect == "reverb" else config.reverb
                    chorus = on if effect == "chorus" else config.chorus
                    live.set_effects(reverb, chorus)
                if level is not None:
                    live.set_effect_level(effect, level)
                log.info("pin %s: %s on=%s level=%s", live.name, effect, on, level)
            return {live.name: self._effect_state(live, effect) for live in targets}

    def set_voices(self, pin: str | None, voices: int | None) -> dict:
        """The voice budget of one pin or every pin; with `voices`, a new budget (the synth
        re-opens: the notes sounding on it are cut)."""
        if voices is not None:
            check_value("pins", "voices", voices, source="voices")
        with self._control:
            targets = self._targets(pin)
            for live in targets:
                if voices is not None:
                    live.set_voices(voices)
                    log.info("pin %s: voice budget %d", live.name, voices)
            return {
                live.name: {"voices": live.stream.config.voices, "active": live.active_voices}
                for live in targets
            }

    @staticmethod
    def _effect_state(live: SynthPin, effect: str) -> dict:
        status = live.status()
        return {"effect": effect, "on": status[effect], "level": status[f"{effect}_level"]}

    def panic(self) -> dict:
        """All sound off on every pin and channel group, within a few milliseconds."""
        with self._control:
            for live in self._live:
                live.panic()
            log.info("panic: all sound off")
            return {"pins": [live.name for live in self._live]}

    def property(self, pin: str, request: PropertyRequest) -> PropertyResult:
        """One KS property request to a pin's render pin (ks_json.py reads it from JSON)."""
        with self._control:
            return self._pin(pin).request(request)

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
            built: list[SynthPin] = []  # new and re-opened pins, not yet playing
            # running pins: their new config, the banks that go, the banks that come
            kept: list[tuple[SynthPin, PinConfig, list[LoadedBank], list[ParsedBank]]] = []
            added: list[tuple[SynthPin, LoadedBank]] = []  # downloads into running pins
            try:
                for pin in config.pins:
                    live = self.pins.get(pin.name)
                    if live is None or needs_reopen(live.config, pin):
                        built.append(self._build_pin(pin, cache))
                        continue
                    keep, fresh = self._bank_plan(live, pin)
                    parsed = [self._parse(path, cache) for path in fresh]
                    kept.append((live, pin, live.banks[keep:], parsed))
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
            for live, pin, stale, fresh in kept:
                what = []
                for old in stale:  # the new ones came after them: the order stays the config's
                    live.unload(old)
                if stale or fresh:
                    what.append("banks")
                if live.stream.volume != round(100 * pin.volume_db):
                    live.set_volume(pin.volume_db)
                    what.append("volume")
                config_now = live.stream.config
                if (config_now.reverb, config_now.chorus) != (pin.reverb, pin.chorus):
                    live.set_effects(pin.reverb, pin.chorus)
                    what.append("effects")
                for effect in ("reverb", "chorus"):  # a level `ctl reverb 0.4` set goes too
                    live.set_effect_level(effect)
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
    def _publish(self, pins: list[SynthPin]) -> None:
        self.pins = {live.name: live for live in pins}
        self._live = tuple(pins)

    def _pin(self, name: str) -> SynthPin:
        live = self.pins.get(name)
        if live is None:
            known = ", ".join(repr(n) for n in self.pins) or "none"
            raise DmusdError(f"no pin named {name!r} (pins: {known})")
        return live

    def _targets(self, pin: str | None) -> list[SynthPin]:
        """The pin named, or every pin for None (what a setting without a pin applies to)."""
        return [self._pin(pin)] if pin is not None else list(self._live)

    def _bank_id(self) -> int:
        bank, self._next_bank = self._next_bank, self._next_bank + 1
        return bank

    @staticmethod
    def _parse(path: str, cache: dict[str, ParsedBank]) -> ParsedBank:
        parsed = cache.get(path)
        if parsed is None:
            parsed = cache[path] = parse_bank(path)
            _log_warnings(parsed)
        return parsed

    def _build_pin(self, pin: PinConfig, cache: dict[str, ParsedBank]) -> SynthPin:
        """A new pin with its banks downloaded, not yet rendered."""
        parsed = [self._parse(path, cache) for path in wanted_banks(pin)]
        output = next((out for out in self.outputs if out.name == pin.name), None)
        live = SynthPin(pin, self.rate, self.master_clock, output=output)
        try:
            for bank in parsed:
                live.download(bank, self._bank_id())
        except BaseException:
            live.close()
            raise
        return live

    @staticmethod
    def _bank_plan(live: SynthPin, pin: PinConfig) -> tuple[int, list[str]]:
        """How many of the pin's banks stay (the head that matches the config, files unchanged)
        and the paths to download after them, in order."""
        wanted = wanted_banks(pin)
        keep = 0
        for loaded, path in zip(live.banks, wanted, strict=False):
            if loaded.path != path or loaded.signature != bank_signature(path):
                break
            keep += 1
        return keep, wanted[keep:]


def _log_warnings(parsed: ParsedBank) -> None:
    """A bank loads without its broken items; each one is logged with where it is."""
    for warning in parsed.bank.warnings:
        log.warning("bank loaded without a broken item: %s", warning)
