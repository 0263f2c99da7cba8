"""Opening a file a user named, without ever blocking on it.

A path may name a FIFO, a socket, a terminal, a tape or a disk: a plain open() of a FIFO waits
for a writer forever, and reading a character device may never end. So the file is opened with
O_NONBLOCK (which makes the open itself return at once whatever the file is) and the opened
descriptor is fstat-ed, not the path, so a file swapped between a check and the open cannot slip
through: only regular files are read. Any other kind, a missing file, a path with a NUL byte or
a refused permission becomes the caller's typed error naming the path.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import BinaryIO

from dmusd.errors import DmusdError

KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def file_kind(mode: int) -> str:
    """What a st_mode is, in words ("a FIFO (named pipe)"); "a regular file" for one."""
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((words for test, words in KINDS if test(mode)), "not a regular file")


def open_regular(
    path: str | os.PathLike[str], error: Callable[[str], DmusdError]
) -> tuple[BinaryIO, int]:
    """The opened file (binary, buffered) and its size; raises `error(message)` when the path
    cannot be opened or is not a regular file. Never blocks, whatever the path names."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except ValueError:  # an embedded NUL byte: no file can have that name
        raise error("the path holds a NUL byte") from None
    except OSError as failure:
        raise error(f"cannot open: {failure.strerror or failure}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"is {file_kind(st.st_mode)}, not a regular file")
        # Reads of a regular file never wait for O_NONBLOCK's sake; clear it all the same, so
        # the stream behaves as any other.
        os.set_blocking(fd, True)
        stream = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    return stream, st.st_size
