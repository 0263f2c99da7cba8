"""`dmusd ctl ACTION ...`: talk to a running daemon over its control socket.

    dmusd ctl status                      pins, voices, volumes and banks
    dmusd ctl stats                       running stats per pin (KSPROPERTY_SYNTH_RUNNINGSTATS),
                                          all since the pin started: average voices and CPU,
                                          voices now, lost notes, PEAK: the mix's highest level
                                          before the limiter (dBFS; above 0 the limiter worked)
    dmusd ctl load PIN FILE               download a DLS/SF2/SF3 bank on top of the pin's banks
    dmusd ctl unload PIN BANK             unload a bank by the id `status` shows
    dmusd ctl volume [PIN] DB             KSPROPERTY_SYNTH_VOLUME (every pin without PIN)
    dmusd ctl panic                       all sound off
    dmusd ctl reload                      re-read the config file (as SIGHUP does)
    dmusd ctl prop PIN SET ITEM [get|set|support] [VALUE]
                                          any KS property; VALUE is an integer or hex:BYTES,
                                          e.g. `prop synth KSPROPSETID_Synth VOLUME set -600`
    dmusd ctl shell                       an interactive prompt for all of these
    dmusd ctl noteon|noteoff|cc|prog|pitch_bend|select|fonts|inst|gain|reverb|chorus|voices|reset
                                          FluidSynth's shell verbs (`dmusd ctl noteon 0 60 100`;
                                          `dmusd ctl VERB --help` says what each takes)

Readable tables by default; --json prints the daemon's reply as it came, for scripts, and an
error as a JSON object too ({"ok": false, "error": ..., "where": ...}). The socket is --socket
PATH, else the one the config file names (--config FILE, else the file `dmusd run` reads; see
`dmusd check-config`).
"""

# This module and ctl_verbs.py import only the standard library and dmusd.errors (dmusd.config
# to find the socket): a call costs a Python start, the socket's lookup and one round trip.

from __future__ import annotations

import argparse
import json
import os
import socket

from dmusd.commands import ctl_verbs
from dmusd.errors import DmusdError

TIMEOUT = 60.0  # seconds to wait for a reply (a reload parses every bank)
MAX_REPLY = 64 * 1024 * 1024


def _common() -> argparse.ArgumentParser:
    """The options every action takes, before or after its name."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--socket", default=argparse.SUPPRESS, help="the control socket (default: from config)"
    )
    common.add_argument(
        "--config", default=argparse.SUPPRESS, help="the config file naming the socket"
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print the raw reply"
    )
    return common


def register(subparsers: argparse._SubParsersAction) -> None:
    common = _common()
    parser = subparsers.add_parser(
        "ctl",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    _add_actions(parser, common)


def ctl_parser() -> argparse.ArgumentParser:
    """The same actions as a parser of their own, for the lines of `dmusd ctl shell`."""
    common = _common()
    parser = argparse.ArgumentParser(prog="dmusd ctl", add_help=False, parents=[common])
    _add_actions(parser, common)
    return parser


def _add_actions(parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("status", parents=[common], help="pins, voices, volumes, banks")
    actions.add_parser("stats", parents=[common], help="running stats per pin")
    p = actions.add_parser("load", parents=[common], help="load a bank on a pin")
    p.add_argument("pin")
    p.add_argument("file", help="a DLS, SF2 or SF3 file")
    p = actions.add_parser("unload", parents=[common], help="unload a bank by id")
    p.add_argument("pin")
    p.add_argument("bank", type=int, help="the bank id `status` shows")
    p = actions.add_parser("volume", parents=[common], help="set the volume in dB")
    p.add_argument("values", nargs="+", metavar="[PIN] DB", help="optional pin, then dB")
    actions.add_parser("panic", parents=[common], help="all sound off")
    actions.add_parser("reload", parents=[common], help="re-read the config file")
    p = actions.add_parser("prop", parents=[common], help="a KS property request")
    p.add_argument("pin")
    p.add_argument(
        "set", help="KSPROPSETID_Synth, KSPROPSETID_Synth_Dls, GUID_DMUS_PROP_... or a GUID"
    )
    p.add_argument("item", help="a number or a name (VOLUME, KSPROPERTY_SYNTH_VOLUME ...)")
    p.add_argument("verb", nargs="?", default="get", choices=("get", "set", "support"))
    p.add_argument(
        "value", nargs="?", help="set: an integer (-600, 0x80000000) or bytes as hex:58fdffff"
    )
    ctl_verbs.register(actions, common)
    actions.add_parser("shell", parents=[common], help="an interactive prompt (history, Tab)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "shell":
        from dmusd.commands.ctl_shell import shell  # readline: only for the prompt

        return shell(args)
    as_json = getattr(args, "json", False)
    try:
        reply = send(socket_for(args), build_request(args))
    except DmusdError as error:
        if not as_json:
            raise
        # a script asked for JSON: the error is JSON too, with the exit code it would have had
        print(json.dumps({"ok": False, "error": error.message, "where": error.where}, indent=2))
        return error.exit_code
    if as_json:
        print(json.dumps(reply, indent=2))
        return 0 if reply.get("ok") else 1
    if not reply.get("ok"):
        raise DmusdError(str(reply.get("error")), where=reply.get("where"))
    text = FORMATS[args.action](reply.get("result"))
    if text:
        print(text)
    return 0


def build_request(args: argparse.Namespace) -> dict:
    action = args.action
    if action in ctl_verbs.VERBS:
        return ctl_verbs.build_request(args)
    if action in ("status", "stats", "panic", "reload"):
        return {"cmd": action}
    if action == "load":
        return {"cmd": "load", "pin": args.pin, "path": os.path.abspath(args.file)}
    if action == "unload":
        return {"cmd": "unload", "pin": args.pin, "bank": args.bank}
    if action == "volume":
        if len(args.values) > 2:
            raise DmusdError("volume takes [PIN] DB", where="ctl volume")
        *pin, db = args.values
        try:
            value = float(db)
        except ValueError:
            raise DmusdError(f"{db!r} is not a number of dB", where="ctl volume") from None
        return {"cmd": "volume", "db": value, "pin": pin[0] if pin else None}
    # prop
    request: dict[str, object] = {"cmd": "property", "pin": args.pin, "set": args.set}
    request["item"] = int(args.item, 0) if _is_int(args.item) else args.item
    request["verb"] = "basic_support" if args.verb == "support" else args.verb
    if args.value is not None:
        if args.verb != "set":
            raise DmusdError(f"a {args.verb} takes no value", where="ctl prop")
        request["value"] = _value(args.value)
    elif args.verb == "set":
        raise DmusdError("set needs a VALUE (an integer or hex bytes)", where="ctl prop")
    return request


def socket_for(args: argparse.Namespace) -> str:
    path = getattr(args, "socket", None)
    if path:
        return path
    from dmusd.config import load_config, socket_path

    return socket_path(load_config(getattr(args, "config", None)))


def send(path: str, request: dict, timeout: float = TIMEOUT) -> dict:
    """One request, one reply."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(path)
        except OSError as error:
            raise DmusdError(
                f"cannot reach dmusd: {error.strerror or error} (is `dmusd run` running? "
                "--socket PATH names another socket)",
                where=path,
            ) from None
        try:
            sock.sendall(json.dumps(request).encode() + b"\n")
            data = bytearray()
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
                if len(data) > MAX_REPLY:
                    raise DmusdError("reply too long", where=path)
        except TimeoutError:
            raise DmusdError(f"no reply within {timeout:g} s", where=path) from None
        except OSError as error:
            raise DmusdError(f"connection lost: {error.strerror or error}", where=path) from None
    finally:
        sock.close()
    if not data:
        raise DmusdError("the daemon closed the connection without a reply", where=path)
    try:
        reply = json.loads(data)
    except ValueError:
        raise DmusdError(f"not a JSON reply: {bytes(data[:80])!r}", where=path) from None
    if not isinstance(reply, dict):
        raise DmusdError(f"not a reply object: {bytes(data[:80])!r}", where=path)
    return reply


# -- readable output ------------------------------------------------------------------------
def table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def _db(value: float) -> str:
    return f"{value:+.1f} dB"


def format_status(r: dict) -> str:
    state = "idle" if r["idle"] else f"{r['active_voices']} voices sounding"
    head = f"dmusd: {r['sample_rate']} Hz, {r['seconds']:.1f} s played, {state}"
    if r.get("config"):
        head += f", config {r['config']}"
    if r.get("dropped_midi"):
        head += f", {r['dropped_midi']} MIDI messages dropped"
    audio = r.get("audio")
    if audio:
        head += (
            f"\naudio: {audio['backend']} {audio['device']!r}, output latency "
            f"{audio['latency_ms']:.1f} ms, {audio['xruns']} xruns, clock "
            f"{audio['measured_rate']:.1f} Hz measured, re-anchored {audio['clock_resyncs']} times"
        )
    pins = [
        [
            p["name"],
            p["channel_groups"],
            f"{p['active_voices']}/{p['voices']}",
            _db(p["volume_db"]),
            " ".join(e for e in ("reverb", "chorus") if p[e]) or "-",
            p["interpolation"],
        ]
        for p in r["pins"]
    ]
    settings = [
        [key, " ".join(map(str, s["value"])) if isinstance(s["value"], list) else s["value"],
         s["from"]]
        for key, s in r.get("settings", {}).items()
    ]  # fmt: skip
    return "\n\n".join(
        [
            head,
            table(["PIN", "GROUPS", "VOICES", "VOLUME", "EFFECTS", "INTERPOLATION"], pins),
            format_fonts({p["name"]: p["banks"] for p in r["pins"]}),
            table(["SETTING", "VALUE", "FROM"], settings),
        ]
    )


def format_fonts(r: dict) -> str:
    """The banks of each pin ({pin: [bank, ...]}, as the fonts request answers)."""
    rows = [
        [pin, b["bank"], b["instruments"], b["path"]] for pin, banks in r.items() for b in banks
    ]
    return table(["PIN", "BANK", "INSTRUMENTS", "FILE"], rows)


def format_stats(r: dict) -> str:
    rows = [
        [
            name,
            s["voices"],
            s["active_voices"],
            f"{s['cpu_percent']:.2f}",
            f"{s['cpu_per_voice_percent']:.3f}",
            s["lost_notes"],
            f"{s['peak_db']:.1f}",
            s["late_events"],
            s["lost_events"],
            s["missed_patches"],
            f"{s['sample_memory'] / 1e6:.1f} MB",
        ]
        for name, s in r.items()
    ]
    headers = [
        "PIN",
        "AVG VOICES",
        "NOW",
        "CPU %",
        "CPU %/VOICE",
        "LOST NOTES",
        "PEAK dB",
        "LATE",
        "LOST EVENTS",
        "MISSED PATCHES",
        "SAMPLES",
    ]
    return table(headers, rows)


def format_load(r: dict) -> str:
    """The load line, then one line per broken item the bank loaded without."""
    warnings = r.get("warnings", [])
    skipped = f", {len(warnings)} warning(s)" if warnings else ""
    line = (
        f"pin {r['pin']}: bank {r['bank']} loaded, {r['instruments']} instruments "
        f"({r['downloads']} downloads) from {r['path']}{skipped}"
    )
    return "\n".join([line, *(f"warning: {w}" for w in warnings)])


def format_unload(r: dict) -> str:
    return f"pin {r['pin']}: bank {r['bank']} unloaded ({r['downloads']} downloads released)"


def format_volume(r: dict) -> str:
    return "\n".join(f"pin {name}: volume {_db(db)}" for name, db in r["volume_db"].items())


def format_panic(r: dict) -> str:
    return f"all sound off on {', '.join(r['pins']) or 'no pins'}"


def format_reload(r: dict) -> str:
    parts = [f"{what} {', '.join(r[what])}" for what in ("added", "reopened", "removed") if r[what]]
    parts += [f"{pin}: {', '.join(what)} changed" for pin, what in r.get("changed", {}).items()]
    return "reloaded: " + ("; ".join(parts) if parts else "nothing changed")


def format_prop(r: dict) -> str:
    line = f"{r['status']}  size {r['size']}"
    if r.get("value"):
        line += f"  value {r['value']}"
    if "int" in r:
        line += f"  ({r['int']})"
    return line


FORMATS = {
    "status": format_status,
    "stats": format_stats,
    "load": format_load,
    "unload": format_unload,
    "volume": format_volume,
    "panic": format_panic,
    "reload": format_reload,
    "prop": format_prop,
    "fonts": format_fonts,
    "gain": format_volume,
    **{name: verb.format for name, verb in ctl_verbs.VERBS.items() if verb.format is not None},
}


def _value(text: str) -> int | str:
    """A SET value: an integer, or raw bytes written hex:..."""
    if text.startswith("hex:"):
        return text[4:]
    try:
        return int(text, 0)
    except ValueError:
        raise DmusdError(
            f"value {text!r} is neither an integer nor hex:BYTES", where="ctl prop"
        ) from None


def _is_int(text: str) -> bool:
    try:
        int(text, 0)
    except ValueError:
        return False
    return True
