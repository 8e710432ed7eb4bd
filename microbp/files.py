"""Files written whole or not at all: a temporary file beside the target, renamed into place.

A write that fails or is interrupted (a full disk, a size limit, Ctrl-C) leaves the old file as
it was and no partial file behind.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

#: How many names `new_file_beside` tries before giving up (each taken name is one try).
_NAME_TRIES = 100


def new_file_beside(target: Path) -> tuple[Path, int]:
    """A new empty file in ``target``'s folder, named after it, and the mode it was given.

    It is created with mode 0o666, which the OS narrows by the umask (and any default ACL) as
    it would a new ``target``: the mode is read off the file, the process's umask never changed
    (setting it, even for a moment, would give other threads' new files the wrong mode).
    """
    for _ in range(_NAME_TRIES):
        name = target.parent / f".{target.stem[:100]}.{secrets.token_hex(4)}.partial{target.suffix}"
        try:
            descriptor = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except FileExistsError:
            continue
        try:
            return name, stat.S_IMODE(os.fstat(descriptor).st_mode)
        finally:
            os.close(descriptor)
    raise FileExistsError(errno.EEXIST, "no free temporary name beside it", str(target))


def write_atomically(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Call ``write(temporary_path)`` to make the file, then rename it to ``path``.

    The temporary file sits in the same folder (so the rename is atomic) and keeps the suffix,
    for writers that pick a format by it. The file gets the old file's mode, or a new file's
    under the umask. On any error the temporary file is removed and the error raised; ``path``
    is untouched.
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder; give a file name", str(target))
    if target.exists() and not target.is_file():  # a FIFO would make the write wait for a reader
        raise ValueError(f"{str(target)!r} exists and is not a regular file; give a file name")
    temporary, new_mode = new_file_beside(target)
    try:
        write(temporary)
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else new_mode
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


def write_bytes_atomically(path: str | os.PathLike[str], data: bytes) -> Path:
    """``data`` as the contents of ``path``, written whole or not at all."""
    return write_atomically(path, lambda temporary: temporary.write_bytes(data))


def write_text_atomically(path: str | os.PathLike[str], text: str) -> Path:
    """``text`` as the UTF-8 contents of ``path``, written whole or not at all."""
    return write_bytes_atomically(path, text.encode("utf-8"))
