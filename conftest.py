"""Fixtures shared by tests/ and conformance/."""

import os
from pathlib import Path

import pytest

_DEFAULT = Path(__file__).resolve().parent.parent / "shared" / "data"


@pytest.fixture(scope="session")
def sample_data() -> Path:
    """The real sample recordings (``$SNNRS_SAMPLE_DATA``, else ``../shared/data`` beside the
    checkout). Absent: tests skip, except under CI, where they must run and so fail."""
    root = Path(os.environ.get("SNNRS_SAMPLE_DATA") or _DEFAULT)
    if (root / "events").is_dir():
        return root
    if os.environ.get("CI") == "true":
        pytest.fail(f"sample data missing in CI (looked in {root})")
    pytest.skip(f"sample data not found at {root} (set SNNRS_SAMPLE_DATA)")
