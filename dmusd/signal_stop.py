"""stop_on_signals(): SIGTERM, SIGINT and SIGHUP become an Interrupted error in the main thread.

A command that writes a file (render) must not die in the middle of it: the exception unwinds
through its `finally` and `except` blocks, which remove what is incomplete, and the CLI prints
one line and exits with 128 + the signal number, as a shell reports a killed command. After the
first signal the three are ignored until the block ends, so the clean-up cannot be interrupted
in its turn. Only for the main thread (Python runs signal handlers there).
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

from dmusd.errors import Interrupted

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


@contextlib.contextmanager
def stop_on_signals(what: str) -> Iterator[None]:
    """Within the block, a signal raises Interrupted("stopped by SIGTERM: <what>")."""

    def stop(number: int, frame: object) -> None:
        for other in SIGNALS:
            signal.signal(other, signal.SIG_IGN)
        name = signal.Signals(number).name
        raise Interrupted(number, f"stopped by {name}: {what}")

    old = {number: signal.signal(number, stop) for number in SIGNALS}
    try:
        yield
    finally:
        for number, handler in old.items():
            signal.signal(number, handler)
