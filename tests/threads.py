"""Threads made to take turns every microsecond, so that the passes they run interleave."""

from __future__ import annotations

import sys
import threading


def run_interleaved(threads: list[threading.Thread]) -> None:
    """Start ``threads`` with Python's switch interval at 1 µs, wait for them, restore it."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
