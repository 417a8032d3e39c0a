"""A small multi-step spiking CNN learns scikit-learn's digits (real 8x8 scans) to >= 95% test accuracy."""

import pytest
import torch
import torch.nn.functional as F

from snnrs import functional
from snnrs.models import SpikingCNN

sklearn_datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn is in the test extra")


def digits_split(seed=0):
    digits = sklearn_datasets.load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(digits.target)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    cut = int(0.8 * len(y))
    return (x[order[:cut]], y[order[:cut]]), (x[order[cut:]], y[order[cut:]])


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        scores = model(x).mean(0)
    functional.reset_net(model)
    return (scores.argmax(1) == y).float().mean().item()


def test_spiking_cnn_learns_digits():
    torch.manual_seed(0)
    (x_train, y_train), (x_test, y_test) = digits_split()
    model = SpikingCNN(T=4)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    for _epoch in range(12):
        model.train()
        for idx in torch.randperm(len(y_train)).split(64):
            loss = F.cross_entropy(model(x_train[idx]).mean(0), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            functional.reset_net(model)
    acc = accuracy(model, x_test, y_test)
    assert acc >= 0.95, f"test accuracy {acc:.3f}"
