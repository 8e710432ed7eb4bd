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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "dot: needs Graphviz's `dot` program (skipped without it)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without `dot` on the PATH, every test marked `dot` is skipped, and says why."""
    if shutil.which("dot") is None:
        skip = pytest.mark.skip(reason="needs Graphviz's dot: apt-get install graphviz")
        for item in items:
            if "dot" in item.keywords:
                item.add_marker(skip)
