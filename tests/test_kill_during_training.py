"""`snnrs train` killed (SIGKILL) at 20 random moments: every last.pt it leaves loads, and resuming from it
ends with exactly the weights of a run that was never interrupted (checkpoints are written atomically and
carry every random generator)."""

import os
import random
import signal
import subprocess
import sys
import time

import pytest
import torch

from snnrs.checkpoint import check_contents, read_checkpoint

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")

SETTINGS = ["--channels", "4", "8", "--T", "2", "--epochs", "3", "--no-progress"]
KILLS = 20


def _command(out, *extra):
    return [sys.executable, "-m", "snnrs.cli", "train", *SETTINGS, "--out", str(out), *extra]


def _finish(out, *extra):
    result = subprocess.run(_command(out, *extra), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return read_checkpoint(out / "last.pt")


def _same_tensors(a, b):
    """Equal nested structures of tensors and plain values (bit for bit)."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same_tensors(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same_tensors(x, y) for x, y in zip(a, b))
    return a == b


def _resumable_part(state):
    # everything a resumed run depends on; the history's timings differ from run to run
    return {k: state[k] for k in ("model", "optimizers", "schedulers", "rng", "epoch", "config")}


def test_twenty_kills_at_random_moments_resume_to_the_uninterrupted_weights(tmp_path):
    started = time.perf_counter()
    final = _finish(tmp_path / "uninterrupted")["model"]
    duration = time.perf_counter() - started

    chooser = random.Random(16)
    killed_mid_run, by_epoch = 0, {}
    for pair in range(0, KILLS, 2):  # two at a time: the start-up (imports) is single-threaded
        outs = [tmp_path / f"killed{i}" for i in (pair, pair + 1)]
        processes = [subprocess.Popen(_command(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for out in outs]
        launched = time.perf_counter()
        moments = [chooser.uniform(0.05, 1.0) * duration for _ in processes]
        for moment, process in sorted(zip(moments, processes), key=lambda item: item[0]):
            time.sleep(max(0.0, launched + moment - time.perf_counter()))
            process.send_signal(signal.SIGKILL)
            killed_mid_run += process.wait() == -signal.SIGKILL
        for out in outs:
            last = out / "last.pt"
            if not last.exists():  # killed before the first epoch ended: nothing to resume
                by_epoch.setdefault(0, []).append((out, None))
                continue
            state = read_checkpoint(last)  # never empty or truncated
            check_contents(state, last)
            by_epoch.setdefault(state["epoch"], []).append((out, state))
    assert killed_mid_run >= KILLS // 2, f"only {killed_mid_run} of {KILLS} kills landed before the run ended"

    for epoch, runs in sorted(by_epoch.items()):
        # checkpoints of the same epoch hold the same state: resuming one of them stands for all
        first_out, first_state = runs[0]
        for _, state in runs[1:]:
            assert (state is None and first_state is None) or _same_tensors(_resumable_part(state),
                                                                            _resumable_part(first_state))
        again = ["--resume", str(first_out / "last.pt")] if first_state is not None else ["--force"]
        resumed = _finish(first_out, *again)["model"]
        assert _same_tensors(resumed, final), f"resumed from epoch {epoch}: other final weights"
    assert len(by_epoch) >= 2, f"the kills left checkpoints of epochs {sorted(by_epoch)} only"
