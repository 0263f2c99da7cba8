"""The one exception hierarchy of dmusd.

Every error says what was wrong and where: a file, a chunk path, a byte offset, a config key and
line. The CLI prints `str(error)` as one line and exits with `error.exit_code`, never a traceback.
"""

from __future__ import annotations


class DmusdError(Exception):
    """Base of every error dmusd reports to a user."""

    exit_code = 1

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class StateError(DmusdError):
    """An IMXF node was asked for a KSSTATE transition it cannot make."""


def bank_location(file: str | None, chunk: str | None, offset: int | None) -> str:
    """`file: chunk path: offset N`, the way bank errors and bank warnings say where."""
    parts = [p for p in (file, chunk) if p]
    if offset is not None:
        parts.append(f"offset {offset}")
    return ": ".join(parts)


class BankError(DmusdError):
    """A DLS, SF2 or download buffer is malformed. Names file, chunk path and byte offset."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        chunk: str | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message, where=bank_location(file, chunk, offset) or None)
        self.file, self.chunk, self.offset = file, chunk, offset


class MidiFileError(DmusdError):
    """A Standard MIDI File is malformed. Names the file and the byte offset."""

    def __init__(self, message: str, *, file: str | None = None, offset: int | None = None) -> None:
        where = file if offset is None else f"{file or '<midi>'}: offset {offset}"
        super().__init__(message, where=where)
        self.file, self.offset = file, offset


class ConfigError(DmusdError):
    """The TOML config is invalid. Names file, line and key (`dmusd.toml:14: pins[1].voices`)."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        loc = file or ""
        if line is not None:
            loc = f"{loc}:{line}"
        where = ": ".join(p for p in (loc, key) if p) or None
        super().__init__(message, where=where)
        self.file, self.line, self.key = file, line, key


class AudioDeviceError(DmusdError):
    """No usable audio device (exit code 3)."""

    exit_code = 3


class PropertyError(DmusdError):
    """A KS property request failed. `status` is the NTSTATUS name (e.g. STATUS_NOT_FOUND)."""

    def __init__(self, status: str, message: str, *, where: str | None = None) -> None:
        super().__init__(f"{status}: {message}", where=where)
        self.status = status


class EventBufferError(DmusdError):
    """A DirectMusic event buffer (DMUS_EVENTHEADER records) is malformed. Names the offset."""

    def __init__(self, message: str, *, offset: int) -> None:
        super().__init__(message, where=f"event buffer: offset {offset}")
        self.offset = offset


class OutputError(DmusdError):
    """An output file could not be written (no space, read-only, no folder). Names the file."""


class Interrupted(DmusdError):
    """A signal stopped a command; the exit code is the shell's 128 + the signal number."""

    def __init__(self, signum: int, message: str, *, where: str | None = None) -> None:
        super().__init__(message, where=where)
        self.signum = signum
        self.exit_code = 128 + signum


class SampleMemoryError(PropertyError):
    """A download does not fit the pin's sample-memory budget (`sample_memory_mb`)."""

    def __init__(self, pin: str, size: int, used: int, budget: int) -> None:
        super().__init__(
            "STATUS_INSUFFICIENT_RESOURCES",
            f"pin {pin!r}: a wave of {_mb(size)} does not fit its sample memory budget of "
            f"{_mb(budget)} ({_mb(used)} in use)",
        )
        self.pin, self.size, self.used, self.budget = pin, size, used, budget


def _mb(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB" if size >= 1 << 20 else f"{size} bytes"
