"""`snnrs bench vs_spikingjelly` runs against SpikingJelly 2.0.0, which has no ``backend=`` argument."""

import re

from snnrs.bench import vs_spikingjelly
from tests.compat.sj_sources import spikingjelly


def test_bench_vs_spikingjelly_runs_against_2_0_and_finds_equal_spikes(capsys):
    spikingjelly()
    vs_spikingjelly.main(["--repeats", "1", "--neurons", "4096"])
    out = capsys.readouterr().out
    assert "SpikingJelly 2.0.0" in out
    row = r"^\| (LIF|IF|ParametricLIF) \| [\d.]+ \| [\d.]+ \| [\d.]+x \| (\d+) \| ([\d.e+-]+) \|$"
    rows = re.findall(row, out, re.M)
    assert [r[0] for r in rows] == ["LIF", "IF", "ParametricLIF"], out
    assert all(r[1] == "0" and float(r[2]) < 1e-5 for r in rows), out
    assert re.search(r"training step: SpikingJelly [\d.]+ ms, snnrs [\d.]+ ms", out), out
