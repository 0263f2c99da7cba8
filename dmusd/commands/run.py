"""`dmusd run [--config FILE]`: run the synthesizer daemon until SIGTERM or SIGINT.

The config is FILE, else $XDG_CONFIG_HOME/dmusd/dmusd.toml, else /etc/dmusd/dmusd.toml, else the
built-in defaults (one pin "synth" with the GM bank). Exit codes: 0 after a clean stop, 2 for a
bad config, 3 when no audio device is usable or the audio server went away, 1 for other errors.
SIGHUP rereads the config file. Messages go to stderr through logging (the journal, under
systemd, with each line's priority).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from dmusd.config import load_config
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
        "run", help="run the synthesizer daemon", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--config", metavar="FILE", help="the TOML config file to use")
    parser.set_defaults(func=run)


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
    config = load_config(args.config)
    setup_logging(config.logging.level)
    logging.getLogger("dmusd").info(
        "config: %s", config.path or "none found, the built-in defaults"
    )
    # the devices first: with none, exit 3 now rather than after compiling the engine
    from dmusd.start_up import check_devices, prepare_engine

    devices = check_devices(config)
    notifier = Notifier()
    prepare_engine(config, notifier)
    from dmusd.daemon import Daemon  # imported by prepare_engine already

    daemon = Daemon(config, devices, notifier)
    daemon.exit(daemon.run())
    return 0  # not reached: exit() leaves the process
