"""`snnrs bench cuda` (snnrs/bench/cuda.py): without a GPU it says so in one line; ``--smoke`` runs every
table at tiny sizes (CPU tensors in triton's interpreter here) so the script is known to work before a
GPU's scarce time is spent on it."""

import importlib.util
import os

import pytest
import torch

from snnrs.bench import cuda as cuda_bench
from snnrs.cli import main


@pytest.fixture(autouse=True)
def needs_triton():
    if importlib.util.find_spec("triton") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("triton is missing in CI (it comes with torch's Linux wheels)")
        pytest.skip("triton is not installed")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present: the benchmark runs there")
def test_without_a_gpu_the_command_says_nothing_was_measured(capsys):
    assert main(["bench", "cuda"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("snnrs bench: error: no CUDA device here")


def test_the_smoke_run_fills_every_table(capsys):
    if importlib.util.find_spec("spikingjelly") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("spikingjelly is missing in CI (.ci/run installs 2.0.0)")
        pytest.skip("spikingjelly is not installed: its cells would fail")
    # torch.compile's column is left out here: compiling for CPU costs a minute, and on a GPU it is another
    # compiler (inductor's Triton code) anyway
    cuda_bench.main(["--smoke", "--repeats", "1", "--compile-max-steps", "0"])
    out = capsys.readouterr().out
    lif_rows = [line for line in out.splitlines() if line.startswith("| 2 | 2^6 |")]
    assert len(lif_rows) == 2, out
    for row in lif_rows:  # kernels, snnrs, SJ, torch loop timed; compile not run; the ratio and the bound
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert all(float(c) > 0 for c in cells[3:7]) and cells[7] == "-", row
        assert cells[8].endswith("x") and float(cells[9]) >= 0 and float(cells[10]) >= 0, row
    for library in ("snnrs", "SJ 2.0", "torch loop"):
        row = next(line for line in out.splitlines() if line.startswith(f"| {library} |"))
        assert float(row.split("|")[2]) > 0, row
    sew = next(line for line in out.splitlines() if line.startswith("| SEW ResNet-18 |"))
    assert [float(c) > 0 for c in sew.strip("|").split("|")[1:4]] == [True] * 3, sew
    assert "failed" not in out
