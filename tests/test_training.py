"""The training loop (metrics log, checkpoints and resuming, cosine schedule, plots, errors), the
embedded digits against scikit-learn's copy, and every example on real data (digits), TCL and STCL
included: they train, and the contrastive term pulls same-class representations together."""

import csv
import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from snnrs import functional
from snnrs.datasets import load_digits
from snnrs.datasets.digits import digits_arrays
from snnrs.losses import tcl_loss
from snnrs.models import SpikingCNN
from snnrs.training import TensorBatches, Trainer, class_scores

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def example(name):
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    return importlib.import_module(name)


def test_embedded_digits_equal_scikit_learns():
    sklearn_datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn is in the test extra")
    digits = sklearn_datasets.load_digits()
    images, labels = digits_arrays()
    assert np.array_equal(images, digits.images) and np.array_equal(labels, digits.target)
    (x_train, y_train), (x_test, y_test) = load_digits(test_fraction=0.25, seed=3)
    assert len(y_train) + len(y_test) == 1797 and len(y_test) == 1797 - int(0.75 * 1797)
    assert x_train.shape[1:] == (1, 8, 8) and float(x_train.max()) == 1.0
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits(test_fraction=1.0)


def _data():
    (x_train, y_train), (x_test, y_test) = load_digits()
    return TensorBatches(x_train, y_train, 64), TensorBatches(x_test, y_test, 512, shuffle=False)


def test_fit_logs_checkpoints_plots_and_anneals_to_zero(tmp_path):
    torch.manual_seed(0)
    train, test = _data()
    model = SpikingCNN(T=2)
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), lr=5e-3), epochs=3, log_dir=tmp_path,
                      checkpoint_dir=tmp_path, progress=False)
    history = trainer.fit(train, test)
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert history[-1]["val_accuracy"] > 0.8 and history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["lr"] == pytest.approx(0.0, abs=1e-9)  # cosine over every step ends at zero
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert float(rows[-1]["val_accuracy"]) == pytest.approx(history[-1]["val_accuracy"])
    assert (tmp_path / "last.pt").is_file() and (tmp_path / "best.pt").is_file()
    best = torch.load(tmp_path / "best.pt", weights_only=False)
    assert best["best_accuracy"] == max(r["val_accuracy"] for r in history)
    png = trainer.plot(tmp_path / "curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    # evaluate() agrees with a direct computation
    model.eval()
    with torch.no_grad():
        direct = (class_scores(model(test.x)).argmax(1) == test.y).float().mean().item()
    functional.reset_net(model)
    assert trainer.evaluate(test)["accuracy"] == pytest.approx(direct)


def test_resume_continues_where_the_run_stopped(tmp_path):
    torch.manual_seed(0)
    train, test = _data()
    steps = {"n": 0}

    def interrupt_after_two_epochs():
        steps["n"] += 1
        if steps["n"] == 2 * len(train) + 1:
            raise KeyboardInterrupt

    model = SpikingCNN(T=2)
    first = Trainer(model, torch.optim.Adam(model.parameters(), lr=5e-3), epochs=4, checkpoint_dir=tmp_path,
                    progress=False, after_step=interrupt_after_two_epochs)
    with pytest.raises(KeyboardInterrupt):
        first.fit(train, test)
    saved = torch.load(tmp_path / "last.pt", weights_only=False)
    assert saved["epoch"] == 2 and len(saved["history"]) == 2

    model2 = SpikingCNN(T=2)
    second = Trainer(model2, torch.optim.Adam(model2.parameters(), lr=5e-3), epochs=4, progress=False,
                     resume=tmp_path / "last.pt")
    history = second.fit(train, test)
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]
    assert history[:2] == saved["history"]
    assert second.schedulers[0].last_epoch == 4 * len(train)
    assert history[-1]["lr"] == pytest.approx(0.0, abs=1e-9)


def test_bad_arguments():
    model = SpikingCNN(T=2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs"):
        Trainer(model, opt, epochs=0)
    with pytest.raises(TypeError, match="optimizers"):
        Trainer(model, [model], epochs=1)
    with pytest.raises(ValueError, match="scheduler"):
        Trainer(model, opt, epochs=1, scheduler="linear")
    with pytest.raises(ValueError, match="amp"):
        Trainer(model, opt, epochs=1, amp="yes")
    with pytest.raises(FileNotFoundError, match="resume"):
        Trainer(model, opt, epochs=1, resume="/nonexistent/last.pt", progress=False).fit(_data()[0])
    with pytest.raises(ValueError, match="x, y"):
        TensorBatches(torch.zeros(3, 1), torch.zeros(2))
    with pytest.raises(ValueError, match="shard"):
        TensorBatches(torch.zeros(3, 1), torch.zeros(3), shard=(2, 2))


def test_shards_have_equal_batch_counts_and_cover_every_sample():
    """Under DDP every rank must step the same number of times (129 samples, 2 ranks, batch 64)."""
    x, y = torch.arange(129.0).unsqueeze(1), torch.arange(129)
    shards = [TensorBatches(x, y, 64, seed=5, shard=(rank, 2)) for rank in range(2)]
    batches = [list(s) for s in shards]
    assert len(batches[0]) == len(batches[1]) == len(shards[0]) == len(shards[1]) == 2
    seen = torch.cat([b[1] for rank in batches for b in rank])
    assert len(seen) == 130 and set(seen.tolist()) == set(range(129))  # one sample repeated to even out


@pytest.mark.parametrize("method", ["tcl", "stcl"])
def test_tcl_and_stcl_train_on_digits_and_cluster_the_classes(method):
    tcl = example("digits_tcl")
    result = tcl.main(["--method", method, "--epochs", "10", "--quiet"])
    assert result["accuracy"] >= 0.95
    # the temporal contrastive loss on held-out digits: trained network vs the same one untrained
    (_, _), (x_test, y_test) = load_digits()

    def contrastive(net):
        net.eval()
        with torch.no_grad():
            _, z = net(x_test)
        functional.reset_net(net)
        return tcl_loss(z, y_test).item()

    torch.manual_seed(0)
    untrained = tcl.ContrastiveNet(SpikingCNN(T=4, channels=(32, 64)))
    assert result["model_contrastive"] < 0.8 * contrastive(untrained)


@pytest.mark.parametrize("name,args,key", [
    ("digits_dense", [], None), ("digits_tet", [], None),
    ("digits_grad_r", ["--alpha", "0.3"], "connectivity"),
    ("digits_lats", ["--schedule", "pgh", "--D", "0.05"], "sparsity"),
    ("digits_events", [], None)])
def test_examples_run_and_learn(name, args, key, tmp_path):
    result = example(name).main(args + ["--epochs", "3", "--quiet", "--out", str(tmp_path)])
    assert result["accuracy"] >= 0.5, result["accuracy"]  # ten classes: chance is 0.1
    assert (tmp_path / "metrics.csv").is_file() and (tmp_path / "curves.png").is_file()
    if key is not None:
        assert 0 <= result[key]["total"] <= 1
