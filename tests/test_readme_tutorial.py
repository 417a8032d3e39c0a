"""The README's tutorial runs as written."""

import re
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="scikit-learn is in the test extra")


def test_readme_tutorial_runs():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = re.search(r"## Tutorial.*?```python\n(.*?)```", readme, re.S).group(1)
    scope = {}
    exec(compile(code, "README tutorial", "exec"), scope)
    rates = scope["monitor"].firing_rates(scope["spikes"])
    assert set(rates) == {"2", "6"} and all(0 < r < 1 for r in rates.values())
    assert scope["loss"].item() < 0.5  # it learned
