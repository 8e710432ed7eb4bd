"""Hypothesis settings for the whole suite: no deadlines (the machines are shared and noisy).

The example counts are the suite's: HYPOTHESIS_PROFILE=thorough runs ten times as many.
"""

import importlib.util
import os
import shutil
from pathlib import Path

import pytest
from examples import DEFAULT_EXAMPLES
from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=DEFAULT_EXAMPLES, deadline=None)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


#: What a terminal tells rich and the command about itself; each test starts without them.
TERMINAL_VARIABLES = (
    "COLUMNS",
    "LINES",
    "TERM",
    "COLORTERM",
    "FORCE_COLOR",
    "NO_COLOR",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "PYTHONIOENCODING",
)


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test sees the same environment whatever the caller's terminal and locale: output
    as when piped, 80 columns, UTF-8; a test that needs a terminal sets one up itself."""
    for name in TERMINAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("PYTHONUTF8", "1")


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
    Playwright or chromium; each says why. With MICROBP_REQUIRE_TOOLS set, as CI sets it, the
    run stops instead."""
    reasons = {
        "dot": None if shutil.which("dot") else "needs Graphviz's dot: apt-get install graphviz",
        "browser": _browser_missing(),
    }
    for marker, reason in reasons.items():
        if reason is None:
            continue
        if os.environ.get("MICROBP_REQUIRE_TOOLS"):  # CI: a missing tool is a failure, not a skip
            raise pytest.UsageError(
                f"MICROBP_REQUIRE_TOOLS is set, and the {marker} tests {reason}"
            )
        for item in items:
            if marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))
