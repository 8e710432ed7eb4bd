"""Hypothesis settings for the whole suite: no deadlines (the machines are shared and noisy).

The example counts are the suite's: HYPOTHESIS_PROFILE=thorough runs ten times as many.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=100, deadline=None)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
