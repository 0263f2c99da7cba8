"""`dmusd run [--config FILE] [flags]`: run the synthesizer daemon until SIGTERM or SIGINT.

The config is FILE, else $XDG_CONFIG_HOME/dmusd/dmusd.toml, else /etc/dmusd/dmusd.toml, else the
built-in defaults (one pin "synth" with the GM bank). The flags are merged over it (the pin
flags set every pin) and checked as the config keys they stand for; `dmusd ctl status` shows
what is in force and where it came from. Exit codes: 0 after a clean stop, 2 for a bad config,
flag or missing bank file, 3 when no audio device is usable or the audio server went away, 1
for other errors.
SIGHUP rereads the config file. Messages go to stderr through logging (the journal, under
systemd, with each line's priority).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from dmusd.config import Config, load_config, socket_path
from dmusd.config_overrides import apply_overrides, number
from dmusd.io.sd_notify import Notifier

# syslog priorities for the journal's "<N>" line prefixes (sd-daemon(3))
_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--config", metavar="FILE", help="the TOML config file to use")
    flags = parser.add_argument_group("over the config (FluidSynth: -a, -m, -r, -z, SOUNDFONT)")
    flags.add_argument("--audio", metavar="BACKEND", help="audio.backend: auto|jack|alsa|pulse")
    flags.add_argument("--midi", metavar="BACKEND", help="midi.backend: auto|alsa|jack")
    flags.add_argument("--rate", metavar="HZ", type=number, help="audio.sample_rate")
    flags.add_argument("--period", metavar="FRAMES", type=number, help="audio.period")
    flags.add_argument(
        "--bank", metavar="FILE", action="append", help="pins.banks, in order (repeatable)"
    )
    flags.add_argument("--voices", metavar="N", type=number, help="pins.voices")
    flags.add_argument("--volume", metavar="DB", type=number, help="pins.volume_db")
    parser.set_defaults(func=run)


def overrides(args: argparse.Namespace) -> tuple[tuple[str, object], ...]:
    """The flags given, as (flag, value) in the order of config_overrides.FLAGS."""
    given = []
    for name in ("audio", "midi", "rate", "period", "bank", "voices", "volume"):
        value = getattr(args, name)
        if value is not None:
            given.append((f"--{name}", tuple(value) if isinstance(value, list) else value))
    return tuple(given)


def refuse_a_second_daemon(config: Config) -> None:
    """A dmusd already answering on this config's control socket holds its JACK and MIDI client
    names too: say so at once, before the engine is compiled and the device is opened (the
    ports would fail first, with a message about the JACK server)."""
    from dmusd.commands.ctl import send
    from dmusd.errors import ConfigError, DmusdError

    path = socket_path(config)
    if not os.path.exists(path):
        return
    try:
        pid = send(path, {"cmd": "ping"}, timeout=2.0).get("result", {}).get("pid", "?")
    except DmusdError:
        return  # nobody answers: a stale socket, which the control server replaces
    raise ConfigError(
        f"another dmusd (pid {pid}) is running on this control socket {path}, with the JACK "
        f"client {config.audio.client_name!r} and MIDI client {config.midi.client_name!r}: stop "
        "it, or give this one its own control.socket, audio.client_name and midi.client_name",
        key="control.socket",
    )


class JournalFormatter(logging.Formatter):
    """`<priority>logger: message`: the journal stores the priority and adds its own time."""

    def format(self, record: logging.LogRecord) -> str:
        priority = _PRIORITY.get(record.levelno, 6)
        return "\n".join(f"<{priority}>{line}" for line in super().format(record).splitlines())


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):  # stderr is the journal: no timestamps of our own
        handler.setFormatter(JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s", "%H:%M:%S"
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def run(args: argparse.Namespace) -> int:
    # a missing bank is a config mistake (exit 2) here, before anything starts; a --bank flag
    # replaces the file's banks, so then only the flag's files are checked
    config = load_config(args.config, check_files=args.bank is None)
    config = apply_overrides(config, overrides(args))
    refuse_a_second_daemon(config)
    setup_logging(config.logging.level)
    logging.getLogger("dmusd").info(
        "config: %s", config.path or "none found, the built-in defaults"
    )
    from dmusd.io.alsa_quiet import silence_alsa_errors

    silence_alsa_errors()  # before rtmidi or PortAudio open ALSA: dmusd says what failed itself
    # the devices first: with none, exit 3 now rather than after compiling the engine
    from dmusd.start_up import check_devices, prepare_engine

    devices = check_devices(config)
    notifier = Notifier()
    prepare_engine(notifier)
    from dmusd.daemon import Daemon

    daemon = Daemon(config, devices, notifier)
    daemon.exit(daemon.run())
    return 0  # not reached: exit() leaves the process
