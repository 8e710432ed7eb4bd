"""Hypothesis settings for the whole suite: no deadlines (the machines are shared and noisy).

The example counts are the suite's: HYPOTHESIS_PROFILE=thorough runs ten times as many.
"""

import os
import shutil

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without `dot` on the PATH, every test marked `dot` is skipped, and says why."""
    if shutil.which("dot") is None:
        skip = pytest.mark.skip(reason="needs Graphviz's dot: apt-get install graphviz")
        for item in items:
            if "dot" in item.keywords:
                item.add_marker(skip)
