"""Resuming is the same run: a checkpoint carries every random generator (the loader's shuffling one
included), so interrupted + resumed gives bit-identical weights to uninterrupted; a checkpoint of other
settings, of damaged contents or past the requested epochs is refused or reported in one line."""

import random
import re
import shutil

import numpy as np
import pytest
import torch
from torch import nn

from snnrs import rng_state
from snnrs.cli import main
from snnrs.datasets import load_digits
from snnrs.models import SpikingCNN
from snnrs.training import TensorBatches, Trainer, mean_over_time_cross_entropy

EPOCHS = 3


def _noisy_loss(output, labels):
    # draws from numpy's and Python's generators too, so that each of them has to be restored
    scale = 1.0 + 0.05 * float(np.random.rand()) + 0.05 * random.random()
    return scale * mean_over_time_cross_entropy(output, labels)


def _run(out, *, interrupt_at_step=None, resume=False, disturb=False):
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    (x_train, y_train), (x_test, y_test) = load_digits()
    train = TensorBatches(x_train[:512], y_train[:512], 64, seed=7)
    test = TensorBatches(x_test[:256], y_test[:256], 256, shuffle=False)
    model = nn.Sequential(nn.Dropout(0.2), SpikingCNN(T=2, channels=(4, 8)))  # dropout: torch's generator
    if disturb:  # a new process draws differently before resuming; the checkpoint must put all of it back
        torch.rand(3), np.random.rand(3), random.random(), torch.randperm(5, generator=train.generator)
    steps = {"n": 0}

    def count():
        steps["n"] += 1
        if steps["n"] == interrupt_at_step:
            raise KeyboardInterrupt

    trainer = Trainer(model, torch.optim.Adam(model.parameters(), lr=5e-3), epochs=EPOCHS, loss_fn=_noisy_loss,
                      checkpoint_dir=out, log_dir=out, progress=False, after_step=count,
                      resume=out / "last.pt" if resume else None, config={"T": 2, "lr": 5e-3})
    history = trainer.fit(train, test)
    return model.state_dict(), history, len(train)


def _same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_interrupted_and_resumed_is_bit_identical_to_uninterrupted(tmp_path, monkeypatch):
    weights, history, steps_per_epoch = _run(tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):  # stopped in epoch 3, after epoch 2's checkpoint
        _run(tmp_path / "cut", interrupt_at_step=2 * steps_per_epoch + 3)
    assert torch.load(tmp_path / "cut" / "last.pt", weights_only=True)["epoch"] == 2
    (tmp_path / "again").mkdir()
    shutil.copy(tmp_path / "cut" / "last.pt", tmp_path / "again" / "last.pt")
    resumed, resumed_history, _ = _run(tmp_path / "cut", resume=True, disturb=True)
    assert _same_weights(resumed, weights)
    strip = [{k: v for k, v in row.items() if k != "seconds"} for row in history]
    assert [{k: v for k, v in row.items() if k != "seconds"} for row in resumed_history] == strip
    rows = (tmp_path / "cut" / "metrics.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3"]
    # last.pt knows the accuracy of the epoch it holds (a resume must not replace a better best.pt)
    last = torch.load(tmp_path / "cut" / "last.pt", weights_only=True)
    assert last["best_accuracy"] == max(row["val_accuracy"] for row in history)

    # the test can fail: without restoring the generators the resumed run drifts away
    monkeypatch.setattr(rng_state, "restore", lambda state, loader=None: None)
    drifted, _, _ = _run(tmp_path / "again", resume=True, disturb=True)
    assert not _same_weights(drifted, weights)


def test_every_generator_round_trips_through_a_weights_only_checkpoint(tmp_path):
    loader = TensorBatches(torch.zeros(10, 1), torch.zeros(10), 2, seed=3)
    state = rng_state.capture(loader)
    torch.save(state, tmp_path / "rng.pt")
    expected = (torch.rand(4), np.random.rand(4), [random.random() for _ in range(4)],
                torch.randperm(10, generator=loader.generator))
    rng_state.restore(torch.load(tmp_path / "rng.pt", weights_only=True), loader)
    again = (torch.rand(4), np.random.rand(4), [random.random() for _ in range(4)],
             torch.randperm(10, generator=loader.generator))
    assert torch.equal(expected[0], again[0]) and np.array_equal(expected[1], again[1])
    assert expected[2] == again[2] and torch.equal(expected[3], again[3])
    with pytest.raises(ValueError, match="random generators"):
        rng_state.restore(state, [])  # a loader without a generator of its own


def test_resuming_with_other_settings_names_the_differences(tmp_path):
    _run(tmp_path / "a")
    model = nn.Sequential(nn.Dropout(0.2), SpikingCNN(T=2, channels=(4, 8)))
    trainer = Trainer(model, torch.optim.Adam(model.parameters()), epochs=EPOCHS, progress=False,
                      resume=tmp_path / "a" / "last.pt", config={"T": 4, "lr": 5e-3, "neuron": "if"})
    train = TensorBatches(torch.zeros(8, 1, 8, 8), torch.zeros(8, dtype=torch.long), 4)
    with pytest.raises(ValueError, match=r"\(T: 2 -> 4\); resume") as info:  # neuron: not recorded then
        trainer.fit(train)
    assert str(tmp_path / "a" / "last.pt") in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("contents,message", [
    ({}, "dictionary without a 'model' entry"),
    ([1, 2], "holds list"),
    ("model", "holds str"),
    ({"model": {}, "optimizers": [], "schedulers": [], "scaler": {}, "epoch": "three", "best_accuracy": 0.5,
      "history": []}, "'epoch' is 'three', expected a number of epochs"),
    ({"model": {}, "optimizers": [], "schedulers": [], "scaler": {}, "epoch": 1, "best_accuracy": 0.5},
     "no 'history' entry"),
    ({"model": [], "optimizers": [], "schedulers": [], "scaler": {}, "epoch": 1, "best_accuracy": 0.5,
      "history": []}, "'model' is \\[\\], expected a state dict"),
])
def test_damaged_checkpoint_contents_are_one_line(tmp_path, capsys, contents, message):
    path = tmp_path / "last.pt"
    torch.save(contents, path)
    status = main(["train", "--channels", "4", "--epochs", "1", "--no-progress", "--out", str(tmp_path / "r"),
                   "--resume", str(path)])
    err = capsys.readouterr().err.strip()
    assert status == 1 and len(err.splitlines()) == 1, err
    assert str(path) in err
    assert re.search(message, err), err


def test_cli_resume_past_the_requested_epochs_says_so(tmp_path, capsys):
    args = ["train", "--channels", "4", "8", "--T", "2", "--no-progress", "--out", str(tmp_path)]
    assert main(args + ["--epochs", "2"]) == 0
    capsys.readouterr()
    assert main(args + ["--epochs", "1", "--resume", str(tmp_path / "last.pt")]) == 0
    out = capsys.readouterr().out
    assert "already holds 2 epochs (--epochs 1): nothing left to train" in out
    assert "after 2 epochs" in out


def test_cli_resume_with_another_learning_rate_is_refused_with_the_details(tmp_path, capsys):
    args = ["train", "--channels", "4", "8", "--T", "2", "--no-progress", "--out", str(tmp_path)]
    assert main(args + ["--epochs", "1"]) == 0
    capsys.readouterr()
    assert main(args + ["--epochs", "2", "--lr", "0.1", "--resume", str(tmp_path / "last.pt")]) == 1
    err = capsys.readouterr().err
    assert "lr: 0.005 -> 0.1" in err and len(err.strip().splitlines()) == 1


def test_more_epochs_than_planned_redraws_the_cosine_schedule_to_the_new_end(tmp_path):
    _, _, steps = _run(tmp_path)
    model = nn.Sequential(nn.Dropout(0.2), SpikingCNN(T=2, channels=(4, 8)))
    (x_train, y_train), _ = load_digits()
    train = TensorBatches(x_train[:512], y_train[:512], 64, seed=7)
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), lr=5e-3), epochs=EPOCHS + 2, progress=False,
                      resume=tmp_path / "last.pt", config={"T": 2, "lr": 5e-3})
    history = trainer.fit(train)
    total = (EPOCHS + 2) * steps
    expected = [5e-3 * (1 + np.cos(np.pi * (e * steps) / total)) / 2 for e in (EPOCHS + 1, EPOCHS + 2)]
    assert [row["lr"] for row in history[EPOCHS:]] == pytest.approx(expected, abs=1e-9)
    assert history[-1]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_export_of_a_checkpoint_without_a_config_is_one_line(tmp_path, capsys):
    model = SpikingCNN(T=2, channels=(4, 8))
    Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, progress=False).save_checkpoint(
        tmp_path / "plain.pt")  # a Trainer used from Python, without config=
    assert main(["export", str(tmp_path / "plain.pt"), "-o", str(tmp_path / "m.nir")]) == 1
    err = capsys.readouterr().err.strip()
    assert "no model config" in err and len(err.splitlines()) == 1
