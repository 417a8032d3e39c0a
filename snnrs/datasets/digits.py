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


# the emulated-DVS digits: the 8x8 digit on a 12x12 sensor whose view moves along a triangle (three
# saccades, as N-MNIST was recorded), 4 frames per saccade, 10 ms apart
DVS_SENSOR = 12
SACCADES = [(0, 0), (1, 1), (2, 2), (3, 3), (3, 3), (2, 3), (1, 3), (0, 3), (0, 3), (0, 2), (0, 1), (0, 0)]


def saccade_events(image: np.ndarray, threshold: float = 0.25) -> np.ndarray:
    """The events an ideal DVS (``snnrs.events.emulate_dvs``) sees while the image ``[8, 8]`` in [0, 1]
    moves along :data:`SACCADES` on a 12x12 sensor."""
    from snnrs import events
    frames = np.zeros((len(SACCADES), DVS_SENSOR, DVS_SENSOR))
    for k, (dy, dx) in enumerate(SACCADES):
        frames[k, 1 + dy:9 + dy, 1 + dx:9 + dx] = image
    # +0.05: the emulator works on log intensity, so a black pixel needs a floor
    return events.emulate_dvs(frames + 0.05, np.arange(len(SACCADES)) * 10_000, threshold, threshold)


def dvs_frames(images: torch.Tensor, frames_number: int) -> torch.Tensor:
    """Binary event frames ``[N, T, 2, 12, 12]`` (the datasets' layout) of digit images ``[N, 1, 8, 8]``."""
    from snnrs import events
    if isinstance(frames_number, bool) or not isinstance(frames_number, int) or frames_number < 1:
        raise ValueError(f"frames_number: expected a positive int, got {frames_number!r}")
    out = [events.integrate_events_by_fixed_frames_number(saccade_events(img[0].numpy()), "number", frames_number,
                                                          DVS_SENSOR, DVS_SENSOR, binarize=True) for img in images]
    return torch.from_numpy(np.stack(out)).float()


def load_dvs_digits(frames_number: int = 4, test_fraction: float = 0.2, seed: int = 0) -> tuple[Split, Split]:
    """The digits seen by an emulated DVS (:func:`saccade_events`) as ``frames_number`` binary frames of two
    polarities: x float32 ``[N, T, 2, 12, 12]``, y int64; the same split as :func:`load_digits`."""
    (x_train, y_train), (x_test, y_test) = load_digits(test_fraction, seed)
    return (dvs_frames(x_train, frames_number), y_train), (dvs_frames(x_test, frames_number), y_test)


__all__ = ["load_digits", "digits_arrays", "load_dvs_digits", "saccade_events", "dvs_frames"]
