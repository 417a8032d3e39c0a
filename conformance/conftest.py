"""Hypothesis profiles: 'dev' (quick, default) and 'ci' (more examples; chosen when CI=true).

Select explicitly with HYPOTHESIS_PROFILE=dev|ci|thorough.
"""

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

# `reference` is imported from the repository root (it is not installed).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", max_examples=25, **_common)
settings.register_profile("ci", max_examples=80, **_common)
settings.register_profile("thorough", max_examples=1000, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "dev"))
