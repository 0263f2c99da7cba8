"""AtomicFile: write a file under a temporary name beside its target; rename it over the target
only once it is complete.

So a reader never finds a partial file under the target's name: a full disk, a read-only
folder or a signal halfway leaves the target as it was (absent, or the previous version) and
the temporary file removed. The temporary name keeps the target's suffix (the audio writer
picks its format from it) and starts with a dot, so it stays out of a listing. The file is
flushed to the disk (fsync) before the rename, or a crash just after could leave an empty file.

Errors say why in words, with the errno where the system gives one; libsndfile gives none for
a failed write ("System error."), so a failed write is explained from the file system it was on
(full, read-only).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat

from dmusd.errors import OutputError
from dmusd.regular_file import file_kind

FULL = 1 << 20  # bytes free under which a failed write is taken for a full disk


def partial_path(target: str, pid: int | None = None) -> str:
    """The temporary name process `pid` (default: this one) writes `target` under."""
    folder, name = os.path.split(os.path.abspath(target))
    stem, suffix = os.path.splitext(name)
    return os.path.join(
        folder, f".{stem}.dmusd-{os.getpid() if pid is None else pid}.partial{suffix}"
    )


class AtomicFile:
    def __init__(self, target: str) -> None:
        self.target = target
        self.folder = os.path.dirname(os.path.abspath(target))
        try:
            st = os.stat(target)
        except FileNotFoundError:
            pass
        except OSError as error:
            raise self._error(error) from None
        else:
            if not stat.S_ISREG(st.st_mode):  # never rename a file over /dev/full or a FIFO
                raise OutputError(
                    f"is {file_kind(st.st_mode)}: can only write a regular file", where=target
                )
        self.path = partial_path(target)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except OSError as error:
            raise self._error(error) from None
        os.close(fd)

    def commit(self) -> None:
        """The complete file takes the target's name (the previous one, if any, is replaced)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(self.path, self.target)
        except OSError as error:
            self.discard()
            raise self._error(error) from None

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def failure(self, error: BaseException) -> OutputError:
        """The OutputError for a failed write, saying why as well as it can be told."""
        if isinstance(error, OSError) and error.errno is not None:
            return self._error(error)
        try:
            vfs = os.statvfs(self.folder)
        except OSError:
            vfs = None
        if vfs is not None and vfs.f_flag & os.ST_RDONLY:
            why = "the file system is read-only"
        elif vfs is not None and vfs.f_bavail * vfs.f_frsize < FULL:
            why = "no space left on the device"
        else:
            why = f"write failed ({error})"
        return OutputError(f"cannot write: {why}; nothing written", where=self.target)

    def _error(self, error: OSError) -> OutputError:
        words = {
            errno.ENOSPC: "no space left on the device",
            errno.EDQUOT: "disk quota exceeded",
            errno.EROFS: "the file system is read-only",
            errno.EACCES: "permission denied",
            errno.ENOENT: f"the folder {self.folder} does not exist",
            errno.ENOTDIR: f"{self.folder} is not a folder",
        }
        why = words.get(error.errno, error.strerror or str(error))
        return OutputError(f"cannot write: {why}; nothing written", where=self.target)


def write_atomically(target: str | os.PathLike[str], data: bytes) -> None:
    """`data` as the file `target`, whole or not at all; OutputError (why, the file) when it
    cannot be written. A missing folder is an error, never created."""
    out = AtomicFile(os.fspath(target))
    try:
        with open(out.path, "wb") as f:
            f.write(data)
    except OSError as error:
        out.discard()
        raise out.failure(error) from None
    out.commit()
