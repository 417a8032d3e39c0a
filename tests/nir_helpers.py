"""Shared by the NIR tests: the N-MNIST sample as frames, and a model's outputs from a fresh state."""

import numpy as np
import torch

from snnrs import functional


def nmnist_1ms_frames(sample_data) -> np.ndarray:
    """The N-MNIST sample in 1 ms bins counted from t = 0, ``[T, 1, 2, 34, 34]`` float32 (the binning under
    which the NIR paper's Sinabs CNN gives the counts the NIR tests expect)."""
    from snnrs.events import read_events
    events = read_events(sample_data / "events" / "sample_nmnist.bin")
    bins = events["t"] // 1000
    frames = np.zeros((int(bins.max()) + 1, 1, 2, 34, 34), np.float32)
    np.add.at(frames, (bins, 0, events["p"].astype(int), events["y"], events["x"]), 1)
    return frames


def outputs(model, x):
    """``model(x)`` without gradients, from reset state, leaving the model reset."""
    functional.reset_net(model)
    with torch.no_grad():
        out = model(x)
    functional.reset_net(model)
    return out
