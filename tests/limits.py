"""A statement run in a fresh Python whose files may not grow past a size, as ``ulimit -f``
sets it: how the tests meet a write that the system cuts short."""

from __future__ import annotations

import subprocess
import sys


def run_with_file_size_limit(
    imports: str, statement: str, limit: int
) -> subprocess.CompletedProcess[str]:
    """``imports``, then ``statement`` once files stop at ``limit`` bytes; SIGXFSZ is ignored,
    so a write past the limit fails with EFBIG instead of killing the process."""
    script = (
        f"import resource, signal; {imports}; "
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
        f"{statement}"
    )
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
