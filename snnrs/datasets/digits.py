"""The embedded default dataset: 1,797 handwritten digits as 8x8 images (values 0..16).

The UCI "Optical Recognition of Handwritten Digits" test set (Alpaydin & Kaynak, 1998; CC BY 4.0),
as scikit-learn ships it, stored in the package (``data/digits.npz``, 45 KB) so that the main job
runs on real data with nothing to download.
"""

from pathlib import Path

import numpy as np
import torch

_FILE = Path(__file__).with_name("data") / "digits.npz"
Split = tuple[torch.Tensor, torch.Tensor]


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(images ``[1797, 8, 8]`` uint8 in 0..16, labels ``[1797]`` uint8)."""
    with np.load(_FILE) as f:
        return f["images"], f["labels"]


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> tuple[Split, Split]:
    """``((x_train, y_train), (x_test, y_test))``: x float32 ``[N, 1, 8, 8]`` scaled to [0, 1],
    y int64; a seeded random split."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction: expected a number in (0, 1), got {test_fraction!r}")
    images, labels = digits_arrays()
    x = torch.from_numpy(images.astype(np.float32) / 16.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    cut = int((1 - test_fraction) * len(y))
    return (x[order[:cut]], y[order[:cut]]), (x[order[cut:]], y[order[cut:]])


__all__ = ["load_digits", "digits_arrays"]
