"""ANN→SNN conversion: a ReLU CNN trained on digits keeps its accuracy as a spiking network."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from snnrs import conversion, neuron

sklearn_datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn is in the test extra")


class ReluCNN(nn.Module):
    """Uses both nn.ReLU modules and F.relu calls, and a BatchNorm to fold."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


def _digits():
    d = sklearn_datasets.load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(d.target)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(1))
    cut = int(0.8 * len(y))
    return x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    x_train, y_train, x_test, y_test = _digits()
    ann = ReluCNN()
    opt = torch.optim.Adam(ann.parameters(), lr=3e-3)
    for _ in range(15):
        ann.train()
        for idx in torch.randperm(len(y_train)).split(64):
            loss = F.cross_entropy(ann(x_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    ann.eval()
    return ann, x_train, x_test, y_test


@pytest.mark.parametrize("mode", ["max", "99.9%"])
def test_converted_cnn_keeps_accuracy_at_T64(trained, mode):
    ann, x_train, x_test, y_test = trained
    with torch.no_grad():
        ann_acc = (ann(x_test).argmax(1) == y_test).float().mean().item()
    snn = conversion.Converter(x_train.split(256), mode=mode)(ann)
    assert sum(isinstance(m, neuron.IFNode) for m in snn.modules()) == 2  # the module and the F.relu call
    snn_acc = (conversion.run_converted(snn, x_test, T=64).argmax(1) == y_test).float().mean().item()
    assert ann_acc >= 0.95
    assert snn_acc >= ann_acc - 0.02, f"ANN {ann_acc:.3f}, SNN {snn_acc:.3f}"


def test_converter_rejects_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        conversion.Converter([], mode="mean")
    with pytest.raises(ValueError, match="found no ReLU"):
        conversion.Converter([torch.ones(1, 3)])(nn.Linear(3, 2))
