"""How many examples a test that sets its own count draws: its count scaled by the hypothesis
profile in use, so HYPOTHESIS_PROFILE=thorough draws ten times as many there too."""

from hypothesis import settings

#: The default profile's count (tests/conftest.py), against which a test's own count is set.
DEFAULT_EXAMPLES = 100


def scaled(n: int) -> int:
    """``n`` examples under the default profile, proportionally more or fewer under another."""
    profile = settings.default
    assert profile is not None, "conftest.py loads a profile before the tests are collected"
    return max(1, n * profile.max_examples // DEFAULT_EXAMPLES)
