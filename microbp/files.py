"""Files written whole or not at all: to a temporary name in the same folder, then renamed."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def write_atomically(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` and return it as a ``pathlib.Path``.

    The bytes go to a new file beside ``path`` that is then renamed onto it, so a reader never
    sees half a file, and a write that fails leaves ``path`` as it was and nothing else behind.
    The new file gets the usual permissions (the umask's), not a temporary file's.
    """
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(temporary, "xb") as file:
            file.write(data)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target
