"""The README's tutorial and quickstart code run as written."""

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _block(heading):
    return re.search(rf"## {heading}.*?```python\n(.*?)```", README, re.S).group(1)


def test_readme_tutorial_runs():
    scope = {}
    exec(compile(_block("Tutorial"), "README tutorial", "exec"), scope)
    rates = scope["monitor"].firing_rates(scope["spikes"])
    assert set(rates) == {"2", "6"} and all(0 < r < 1 for r in rates.values())
    assert scope["loss"].item() < 0.5  # it learned


def test_readme_quickstart_python_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(_block("Quickstart"), "README quickstart", "exec"), scope)
    assert scope["trainer"].history[-1]["val_accuracy"] >= 0.95
    assert (tmp_path / "digits.nir").is_file() and (tmp_path / "runs" / "py" / "metrics.csv").is_file()
    assert "mJ" in capsys.readouterr().out
