"""Files written whole or not at all: a temporary file beside the target, renamed into place.

A write that fails or is interrupted (a full disk, a size limit, Ctrl-C) leaves the old file as
it was and no partial file behind.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def _default_mode() -> int:
    """The mode a new file gets from ``open`` under this process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Call ``write(temporary_path)`` to make the file, then rename it to ``path``.

    The temporary file sits in the same folder (so the rename is atomic) and keeps the suffix,
    for writers that pick a format by it. On any error the temporary file is removed and the
    error raised; ``path`` is untouched.
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder; give a file name", str(target))
    if target.exists() and not target.is_file():  # a FIFO would make the write wait for a reader
        raise ValueError(f"{str(target)!r} exists and is not a regular file; give a file name")
    descriptor, name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.stem}.", suffix=f".partial{target.suffix}"
    )
    os.close(descriptor)
    temporary = Path(name)
    try:
        write(temporary)
        mode = target.stat().st_mode & 0o777 if target.exists() else _default_mode()
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
