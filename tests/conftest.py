"""Hypothesis settings for the whole suite: no deadlines (the machines are shared and noisy).

The example counts are the suite's: HYPOTHESIS_PROFILE=thorough runs ten times as many.
"""

import importlib.util
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=100, deadline=None)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "dot: needs Graphviz's `dot` program (skipped without it)")
    config.addinivalue_line(
        "markers",
        "browser: drives Debian's chromium (/usr/bin/chromium) with Playwright (skipped without)",
    )


def _browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "needs Playwright for Python: pip install playwright (not its browser download)"
    if not Path("/usr/bin/chromium").exists():
        return "needs Debian's chromium at /usr/bin/chromium: apt-get install chromium"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `dot` are skipped without `dot` on the PATH, tests marked `browser` without
    Playwright or chromium; each says why."""
    reasons = {
        "dot": None if shutil.which("dot") else "needs Graphviz's dot: apt-get install graphviz",
        "browser": _browser_missing(),
    }
    for marker, reason in reasons.items():
        if reason is None:
            continue
        for item in items:
            if marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))
