"""Grad R and LATS on real data (scikit-learn's digits), against the same spiking CNN trained
dense: Grad R reaches <= 10% connectivity and LATS >= 80% sparsity, each losing <= 3 points."""

import pytest
import torch
import torch.nn.functional as F

from snnrs import functional, pruning
from snnrs.models import SpikingCNN
from tests.test_train_digits import accuracy, digits_split

EPOCHS = 40


def _train(make_optimizers, prepare=None, after_step=None):
    torch.manual_seed(0)
    (x_train, y_train), (x_test, y_test) = digits_split()
    model = SpikingCNN(T=4, channels=(32, 64))
    steps = EPOCHS * ((len(y_train) + 63) // 64)
    if prepare is not None:
        prepare(model, steps)
    optimizers = make_optimizers(model)
    schedules = [torch.optim.lr_scheduler.CosineAnnealingLR(o, steps) for o in optimizers]
    for _ in range(EPOCHS):
        model.train()
        for idx in torch.randperm(len(y_train)).split(64):
            loss = F.cross_entropy(model(x_train[idx]).mean(0), y_train[idx])
            for o in optimizers:
                o.zero_grad()
            loss.backward()
            for o in optimizers:
                o.step()
            for s in schedules:
                s.step()
            if after_step is not None:
                after_step()
            functional.reset_net(model)
    return model, accuracy(model, x_test, y_test)


@pytest.fixture(scope="module")
def dense_accuracy():
    return _train(lambda m: [torch.optim.Adam(m.parameters(), lr=5e-3)])[1]


def test_grad_r_reaches_ten_percent_connectivity_losing_at_most_three_points(dense_accuracy):
    def optimizers(model):
        weights = pruning.prunable_weights(model)
        ids = {id(w) for w in weights}
        others = [p for p in model.parameters() if id(p) not in ids]
        return [pruning.GradR(weights, lr=5e-3, alpha=0.3, target_sparsity=0.95), torch.optim.Adam(others, lr=5e-3)]
    model, acc = _train(optimizers)
    connectivity = pruning.connectivity(model)["total"]
    assert connectivity <= 0.10, f"connectivity {connectivity:.3f}"
    assert acc >= dense_accuracy - 0.03, f"Grad R {acc:.3f} vs dense {dense_accuracy:.3f}"


def test_lats_reaches_eighty_percent_sparsity_losing_at_most_three_points(dense_accuracy):
    holder = {}

    def prepare(model, steps):
        holder["schedule"] = pruning.SLATSSchedule(0.5, steps)
        pruning.apply_soft_threshold(model, holder["schedule"])

    model, acc = _train(lambda m: [torch.optim.Adam(m.parameters(), lr=5e-3)], prepare,
                        after_step=lambda: holder["schedule"].step())
    sparsity = pruning.sparsity(model)["total"]
    assert sparsity >= 0.80, f"sparsity {sparsity:.3f}"
    assert acc >= dense_accuracy - 0.03, f"LATS {acc:.3f} vs dense {dense_accuracy:.3f}"
