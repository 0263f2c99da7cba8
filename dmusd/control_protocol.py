"""The control socket's protocol: one JSON object per line each way, dispatched onto SynthService.

A request is `{"cmd": NAME, ...arguments}`, optionally with an "id" (a string or an integer)
that the reply carries back.
A reply is `{"ok": true, "result": ...}` or `{"ok": false, "error": "...", "where": "..."}`.

    ping                                      -> {"pong": true, "pid": ...}
    status                                    -> SynthService.status()
    stats                                     -> RUNNINGSTATS and counters per pin
    load      pin: str, path: str             -> {"bank": id, "downloads": n, "instruments": n}
    unload    pin: str, bank: int
    volume    db: number, pin: str | null     (null or absent: every pin)
    panic
    reload                                    (the daemon re-reads its config file)
    midi      data: hex str, pin: str | null, group: int (default 1)
                                              MIDI bytes into a pin (null: the first) through
                                              its unpacker, as a MIDI port's input goes
    fonts                                     -> {pin: [{bank, path, instruments, ...}]}
    inst      bank: int                       -> {"pin", "bank", "instruments": [[patch, name]]}
    effect    effect: "reverb" | "chorus", on: bool, level: number 0..1, pin: str | null
    voices    voices: int, pin: str | null    (no voices: report) -> {pin: {voices, active}}
    property  pin: str, set: str, item: int | str, verb: "get" | "set" | "basic_support",
              value: int | hex str, size: int, instance: hex str   (ks_json.py reads it)

Every way a request can be wrong (not JSON, not an object, unknown command, missing or unknown
or mistyped arguments, a request the synth refuses, a bug) becomes an error reply; handle_line
never raises. Lines are at most MAX_LINE bytes; the server enforces it while reading.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dmusd.errors import DmusdError
from dmusd.ks_json import ks_reply, ks_request
from dmusd.service import SynthService

MAX_LINE = 64 * 1024  # bytes in one request line, its newline not counted
log = logging.getLogger("dmusd.control")

_NUMBER = (int, float)
_STR = (str,)
_INT = (int,)
_PIN = (str, type(None))
MAX_MIDI = 4096  # bytes of MIDI in one request (a SysEx, a chord)


@dataclass(slots=True, frozen=True)
class Command:
    """A command: its arguments (name -> accepted types) and what it does."""

    run: Callable[[SynthService, Callable[[], dict], dict], Any]
    required: dict[str, tuple[type, ...]] = field(default_factory=dict)
    optional: dict[str, tuple[type, ...]] = field(default_factory=dict)


def _property(service: SynthService, reload: Callable[[], dict], a: dict) -> Any:
    request = ks_request({k: v for k, v in a.items() if k != "pin"})
    return ks_reply(service.property(a["pin"], request))


def _midi(service: SynthService, reload: Callable[[], dict], a: dict) -> Any:
    try:
        data = bytes.fromhex(a["data"])
    except ValueError:
        raise DmusdError(f"data must be hex bytes, not {a['data'][:40]!r}", where="midi") from None
    if not data or len(data) > MAX_MIDI or data[0] < 0x80:
        raise DmusdError(
            f"data must be 1..{MAX_MIDI} bytes starting with a status byte (0x80..0xFF)",
            where="midi",
        )
    return service.put_control_midi(a.get("pin"), a.get("group", 1), data)


def _fonts(service: SynthService, reload: Callable[[], dict], a: dict) -> Any:
    return {pin["name"]: pin["banks"] for pin in service.status()["pins"]}


COMMANDS: dict[str, Command] = {
    "ping": Command(lambda s, r, a: {"pong": True, "pid": os.getpid()}),
    "status": Command(lambda s, r, a: s.status()),
    "stats": Command(lambda s, r, a: s.stats()),
    "load": Command(lambda s, r, a: s.load_bank(a["pin"], a["path"]), {"pin": _STR, "path": _STR}),
    "unload": Command(
        lambda s, r, a: s.unload_bank(a["pin"], a["bank"]), {"pin": _STR, "bank": _INT}
    ),
    "volume": Command(
        lambda s, r, a: s.set_volume(a.get("pin"), float(a["db"])),
        {"db": _NUMBER},
        {"pin": _PIN},
    ),
    "panic": Command(lambda s, r, a: s.panic()),
    "midi": Command(_midi, {"data": _STR}, {"pin": _PIN, "group": _INT}),
    "fonts": Command(_fonts),
    "inst": Command(lambda s, r, a: s.instruments(a["bank"]), {"bank": _INT}),
    "effect": Command(
        lambda s, r, a: s.set_effect(a.get("pin"), a["effect"], a.get("on"), a.get("level")),
        {"effect": _STR},
        {"on": (bool,), "level": _NUMBER, "pin": _PIN},
    ),
    "voices": Command(
        lambda s, r, a: s.set_voices(a.get("pin"), a.get("voices")),
        {},
        {"voices": _INT, "pin": _PIN},
    ),
    "reload": Command(lambda s, r, a: r()),
    "property": Command(
        _property,
        {"pin": _STR, "set": _STR, "item": (int, str)},
        {"verb": _STR, "value": (int, str), "size": _INT, "instance": _STR},
    ),
}


REPORTS = frozenset({"ping", "status", "stats", "fonts", "inst"})  # commands that only read
MIDI = "midi"  # queues bytes into a pin and takes no control lock: its own worker


def _command_name(line: bytes) -> str | None:
    """The "cmd" of a request line, None when it is not a request at all."""
    try:
        request = json.loads(line)
    except (ValueError, RecursionError):
        return None
    name = request.get("cmd") if isinstance(request, dict) else None
    return name if isinstance(name, str) else None  # may be any JSON value: a list is no name


def is_report(line: bytes) -> bool:
    """Whether a request line asks for a report (or is not a request at all, which is answered
    at once), so the control server may run it beside a change."""
    name = _command_name(line)
    return name is None or name in REPORTS or name not in COMMANDS


def lane(line: bytes) -> str:
    """The worker a request line runs on: "midi" (a note from `dmusd ctl` never waits behind a
    bank load or a report), "reports" or "changes"."""
    name = _command_name(line)
    if name == MIDI:
        return "midi"
    return "reports" if name is None or name in REPORTS or name not in COMMANDS else "changes"


class ControlProtocol:
    """Turns request lines into reply lines against one service and the daemon's reload."""

    def __init__(self, service: SynthService, reload: Callable[[], dict]) -> None:
        self.service = service
        self.reload = reload

    def handle_line(self, line: bytes) -> bytes:
        """One request line (without its newline) -> one reply line (with it). Never raises."""
        request_id = None
        where = "request"
        try:
            try:
                request = json.loads(line)
            except (UnicodeDecodeError, ValueError) as error:
                raise DmusdError(f"not JSON: {error}") from None
            except RecursionError:  # [[[[...]]]]: the parser's own depth bound, not a bug
                raise DmusdError("JSON nested too deeply for a request") from None
            if not isinstance(request, dict):
                raise DmusdError(f"a request is a JSON object, not {type(request).__name__}")
            request_id = request.pop("id", None)
            if request_id is not None and (
                isinstance(request_id, bool) or not isinstance(request_id, int | str)
            ):
                request_id = None
                raise DmusdError('"id" must be a string or an integer')
            name = request.pop("cmd", None)
            if not isinstance(name, str):
                raise DmusdError('a request needs "cmd": the command name as a string')
            command = COMMANDS.get(name)
            if command is None:
                raise DmusdError(f"unknown command {name!r} (commands: {', '.join(COMMANDS)})")
            where = name
            _check_args(name, command, request)
            reply = {"ok": True, "result": command.run(self.service, self.reload, request)}
        except DmusdError as error:
            reply = {"ok": False, "error": error.message, "where": error.where or where}
            kind = type(error).__name__
            if kind != "DmusdError":
                reply["kind"] = kind
        except Exception as error:  # a bug: say so, keep serving
            log.exception("control request %r failed", where)
            reply = {"ok": False, "error": f"internal error: {error!r}", "where": where}
        if request_id is not None:
            reply["id"] = request_id
        return encode(reply)


def encode(reply: dict) -> bytes:
    """A reply as one line; a result that is not JSON-able becomes an error reply."""
    try:
        text = json.dumps(reply, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        text = json.dumps({"ok": False, "error": f"internal error: {error}", "where": "reply"})
    return text.encode() + b"\n"


def error_line(message: str, where: str) -> bytes:
    return encode({"ok": False, "error": message, "where": where})


def _check_args(name: str, command: Command, args: dict) -> None:
    for key, types in command.required.items():
        if key not in args:
            raise DmusdError(f"missing argument {key!r} ({_names(types)})", where=name)
    for key, value in args.items():
        types = command.required.get(key) or command.optional.get(key)
        if types is None:
            known = [*command.required, *command.optional]
            raise DmusdError(
                f"unknown argument {key!r} (takes: {', '.join(known) or 'none'})", where=name
            )
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            # (a bool is an int to Python, but no number to a request)
            raise DmusdError(
                f"argument {key!r} must be {_names(types)}, not {json.dumps(value)[:40]}",
                where=name,
            )


def _names(types: tuple[type, ...]) -> str:
    words = {
        int: "an integer",
        float: "a number",
        str: "a string",
        bool: "true or false",
        type(None): "null",
    }
    if float in types:  # an integer is a number too
        types = tuple(t for t in types if t is not int)
    return " or ".join(words[t] for t in types)
