"""The FluidSynth-style verbs of `dmusd ctl` (and of `dmusd ctl shell`):

    noteon CHAN KEY VEL          noteoff CHAN KEY          cc CHAN CTRL VALUE
    prog CHAN PROG               pitch_bend CHAN VALUE     select CHAN BANK PROG
    fonts                        inst BANK                 gain GAIN
    reverb on|off|LEVEL          chorus on|off|LEVEL       voices [N]
    reset

CHAN counts from 0 over every channel group of the pin, as FluidSynth counts its channels
(16 is channel 1 of group 2). The MIDI verbs go to the daemon as a "midi" request and down the
pin's unpacker, the way a MIDI port's input goes. BANK of `select` is MSB * 128 + LSB (there is
no SFONT argument: a pin's banks stack, the newest download of a patch wins); BANK of `inst` is
the id `fonts` shows. GAIN is FluidSynth's linear gain (0..10), set as the pin volume in dB. A
LEVEL is the effect's wet mix, 0..1 (1 and 0 alone mean on and off, as in FluidSynth; 1.0 is
the full mix). `reset` is a GM System On on every group. --pin PIN names the pin: by default
MIDI goes to the first pin and the settings to every pin.

Each verb is a small table entry: its arguments (name, lowest, highest) and what request and
reply text it makes. Only the standard library: these run at every `dmusd ctl` call.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from dmusd.errors import DmusdError

GM_SYSTEM_ON = bytes((0xF0, 0x7E, 0x7F, 0x09, 0x01, 0xF7))
GAIN_MAX = 10.0  # FluidSynth's synth.gain range is 0..10
VOLUME_FLOOR_DB = -200.0  # a gain of 0: the synth volume's floor


def format_midi(r: dict) -> str:
    return ""  # as FluidSynth's shell: a note says nothing


class Verb:
    """A plain class, not a dataclass: `dataclasses` alone would add 10 ms to every ctl call."""

    __slots__ = ("help", "args", "request", "format")

    def __init__(
        self,
        help: str,  # noqa: A002 (argparse's word for it)
        args: tuple[tuple[str, int, int], ...],  # (name, lowest, highest) of each integer
        request: Callable[[argparse.Namespace], dict],
        format: Callable[[dict], str] | None = format_midi,  # noqa: A002 (None: ctl.py's)
    ) -> None:
        self.help, self.args, self.request, self.format = help, args, request, format


def _channel(args: argparse.Namespace) -> tuple[int, int]:
    """(group, channel 0..15) of a FluidSynth channel number."""
    return args.chan // 16 + 1, args.chan % 16


def _midi(args: argparse.Namespace, *data: int, group: int) -> dict:
    return {"cmd": "midi", "pin": args.pin, "group": group, "data": bytes(data).hex()}


def _voice(status: int, *data: int) -> Callable[[argparse.Namespace], dict]:
    """A channel voice message: the status nibble, then the arguments after CHAN as data."""

    def request(args: argparse.Namespace) -> dict:
        group, channel = _channel(args)
        values = [getattr(args, name) for name in data]
        return _midi(args, status | channel, *values, group=group)

    return request


def _note_off(args: argparse.Namespace) -> dict:
    group, channel = _channel(args)
    return _midi(args, 0x80 | channel, args.key, 0, group=group)


def _pitch_bend(args: argparse.Namespace) -> dict:
    group, channel = _channel(args)
    return _midi(args, 0xE0 | channel, args.value & 0x7F, args.value >> 7, group=group)


def _select(args: argparse.Namespace) -> dict:
    group, channel = _channel(args)
    cc = 0xB0 | channel
    data = (cc, 0, args.bank >> 7, cc, 32, args.bank & 0x7F, 0xC0 | channel, args.prog)
    return _midi(args, *data, group=group)


def _gain(args: argparse.Namespace) -> dict:
    try:
        gain = float(args.gain)
    except ValueError:
        gain = math.nan
    if not 0.0 <= gain <= GAIN_MAX:  # also refuses nan
        raise DmusdError(f"gain must be 0..{GAIN_MAX:g} (linear), got {args.gain}", where="gain")
    db = 20.0 * math.log10(gain) if gain > 0 else VOLUME_FLOOR_DB
    return {"cmd": "volume", "db": max(db, VOLUME_FLOOR_DB), "pin": args.pin}


def _effect(name: str) -> Callable[[argparse.Namespace], dict]:
    def request(args: argparse.Namespace) -> dict:
        request: dict[str, object] = {"cmd": "effect", "effect": name, "pin": args.pin}
        value = args.setting.lower()
        if value in ("on", "off", "1", "0"):
            request["on"] = value in ("on", "1")
            return request
        try:
            request["level"] = float(value)
        except ValueError:
            raise DmusdError(
                f"takes on, off or a level 0..1, not {args.setting!r}", where=name
            ) from None
        return request

    return request


def _voices(args: argparse.Namespace) -> dict:
    request: dict[str, object] = {"cmd": "voices", "pin": args.pin}
    if args.count is not None:
        request["voices"] = args.count
    return request


# -- readable output ------------------------------------------------------------------------
def _instrument(patch: int, name: str) -> str:
    """FluidSynth's `inst` line: BANK-PROG NAME, drum kits in bank 128 as SoundFonts have them."""
    bank = 128 if patch & 0x80000000 else ((patch >> 16) & 0x7F) * 128 + ((patch >> 8) & 0x7F)
    return f"{bank:03d}-{patch & 0x7F:03d} {name}"


def format_inst(r: dict) -> str:
    lines = [_instrument(patch, name) for patch, name in r["instruments"]]
    return "\n".join(lines) or f"bank {r['bank']} holds no instruments"


def format_effect(r: dict) -> str:
    return "\n".join(
        f"pin {pin}: {e['effect']} {'on' if e['on'] else 'off'}, level {e['level']:.2f}"
        for pin, e in r.items()
    )


def format_voices(r: dict) -> str:
    return "\n".join(
        f"pin {pin}: {v['voices']} voices ({v['active']} sounding)" for pin, v in r.items()
    )


_CHAN = ("chan", 0, 64 * 16 - 1)
_SEVEN = 127

VERBS: dict[str, Verb] = {
    "noteon": Verb(
        "start a note",
        (_CHAN, ("key", 0, _SEVEN), ("vel", 0, _SEVEN)),
        _voice(0x90, "key", "vel"),
    ),
    "noteoff": Verb("release a note", (_CHAN, ("key", 0, _SEVEN)), _note_off),
    "cc": Verb(
        "a control change",
        (_CHAN, ("ctrl", 0, _SEVEN), ("value", 0, _SEVEN)),
        _voice(0xB0, "ctrl", "value"),
    ),
    "prog": Verb("a program change", (_CHAN, ("prog", 0, _SEVEN)), _voice(0xC0, "prog")),
    "pitch_bend": Verb(
        "pitch bend, 0..16383 (8192: none)", (_CHAN, ("value", 0, 16383)), _pitch_bend
    ),
    "select": Verb(
        "bank select (MSB * 128 + LSB) and program",
        (_CHAN, ("bank", 0, 16383), ("prog", 0, _SEVEN)),
        _select,
    ),
    "fonts": Verb("the banks loaded, with their ids", (), lambda a: {"cmd": "fonts"}, None),
    "inst": Verb(
        "the instruments of a bank",
        (("bank", 1, 2**31 - 1),),
        lambda a: {"cmd": "inst", "bank": a.bank},
        format_inst,
    ),
    "gain": Verb("linear gain 0..10 (FluidSynth's), as the pin volume", (), _gain, None),
    "reverb": Verb("reverb on, off or its level 0..1", (), _effect("reverb"), format_effect),
    "chorus": Verb("chorus on, off or its level 0..1", (), _effect("chorus"), format_effect),
    "voices": Verb(
        "the voice budget, or a new one (cuts the notes)",
        (),
        _voices,
        format_voices,
    ),
    "reset": Verb(
        "GM System On on every channel group",
        (),
        lambda args: _midi(args, *GM_SYSTEM_ON, group=0),
    ),
}


def _ranged(name: str, lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, not {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{name} must be {lo}..{hi}, got {value}")
        return value

    parse.__name__ = name  # argparse names the type in its messages
    return parse


def register(actions: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add each verb as an action of `dmusd ctl`."""
    for name, verb in VERBS.items():
        p = actions.add_parser(name, parents=[common], help=verb.help, description=verb.help)
        p.add_argument("--pin", help="the pin (default: MIDI to the first, settings to all)")
        for arg, lo, hi in verb.args:
            what = f"{lo}..{hi}" + (" (16 is channel 1 of group 2)" if arg == "chan" else "")
            p.add_argument(arg, type=_ranged(arg, lo, hi), metavar=arg.upper(), help=what)
        if name == "gain":
            p.add_argument("gain", metavar="GAIN")
        elif name in ("reverb", "chorus"):
            p.add_argument("setting", metavar="on|off|LEVEL")
        elif name == "voices":
            p.add_argument("count", nargs="?", type=_ranged("voices", 1, 4096), metavar="N")


def build_request(args: argparse.Namespace) -> dict:
    return VERBS[args.action].request(args)
