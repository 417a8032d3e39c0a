"""The data a search runs on: the embedded digits, the emulated-DVS digits, or any dataset class of
``snnrs.datasets`` read as frames (``snnrs search --dataset NAME --root PATH``, as ``snnrs train``).

The training split is cut 80 / 20 into the part the supernet learns from and the validation part the
search scores subnets on; the dataset's own test split is kept for the retrained networks. Event data
comes as ``[T, N, C, H, W]`` frames, so its T gene is pinned to the number of frames.
"""

from dataclasses import dataclass, replace

import torch

from snnrs.search.space import SearchSpace

VALIDATION_FRACTION = 0.2
MAX_TOKENS = 1024  # 32x32 tokens: SSA's attention is tokens x tokens per head, step and sample


def reseed(batches, seed: int) -> None:
    """Restarts the shuffling of ``batches`` (``TensorBatches``, a ``DataLoader`` with a generator, or either
    under ``TimeFirst``) at ``seed``: every stand-alone training and every subnet's BatchNorm calibration then
    sees the same batch order whatever ran before it (a resumed run, another option, another evaluation order)."""
    inner = getattr(batches, "loader", batches)
    generator = getattr(inner, "generator", None)
    if generator is None:
        raise TypeError(f"batches: {type(inner).__name__} has no generator to reseed; give TensorBatches or a "
                        "DataLoader(..., generator=torch.Generator())")
    generator.manual_seed(seed)


@dataclass
class SearchData:
    name: str
    fit: object  # training batches (x, y): x [N, C, H, W] images or [T, N, C, H, W] frames
    calibration: object  # batches for re-estimating BatchNorm statistics
    validation: object  # batches (x, y) scored by the search, iterable again and again
    test: object  # batches (x, y) for the retrained networks
    in_channels: int
    height: int
    width: int
    num_classes: int
    frames: int | None = None  # event data: its number of frames (the T every subnet runs)

    @property
    def patch_size(self) -> int:
        """The digits: 2 (4x4 tokens). Otherwise the largest power of two up to 16 that divides the height
        and width and leaves at least 6 tokens a side: 32x32 -> 4 (8x8 tokens, Spikformer's CIFAR
        setting), 128x128 -> 16 (Spikformer's DVS setting), 12x12 -> 2."""
        if self.name == "digits":
            return 2
        p = 16
        while p > 1 and (self.height % p or self.width % p or min(self.height, self.width) // p < 6):
            p //= 2
        tokens = (self.height // p) * (self.width // p)
        if tokens > MAX_TOKENS:
            raise ValueError(f"{self.name}: {self.height}x{self.width} frames give {self.height // p}x"
                             f"{self.width // p} = {tokens} tokens with patch {p} (the largest power of two "
                             f"dividing both sides); more than {MAX_TOKENS} make SSA's token x token attention "
                             "too large: crop or downsample the frames to a size a power of two divides")
        return p

    @property
    def shape(self) -> dict:
        """The supernet's keyword arguments."""
        return {"img_size": self.height, "patch_size": self.patch_size, "in_channels": self.in_channels,
                "num_classes": self.num_classes}

    def default_space(self) -> SearchSpace:
        """The paper-size space (:class:`SearchSpace`'s defaults) for inputs of 32x32 and more, the digits'
        space for smaller ones; event data pins T to its frames."""
        from snnrs.search.auto_spikformer import DIGITS_SPACE
        space = SearchSpace() if min(self.height, self.width) >= 32 else DIGITS_SPACE
        return self.fit_space(space)

    def fit_space(self, space: SearchSpace) -> SearchSpace:
        """``space`` with T pinned to the frames of event data (unchanged for images)."""
        if self.frames is None or (self.frames,) == space.T:
            return space
        return replace(space, T=(self.frames,))


def _cut(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    cut = int((1 - VALIDATION_FRACTION) * n)
    return order[:cut], order[cut:]


def digits(seed: int = 0, batch_size: int = 64) -> SearchData:
    """The embedded 8x8 digits (static images, repeated over T)."""
    from snnrs.datasets import load_digits
    from snnrs.training import TensorBatches
    (x_train, y_train), (x_test, y_test) = load_digits(seed=seed)
    # the first 80% (the split is already shuffled): the same subnets and numbers as before this module
    cut = int((1 - VALIDATION_FRACTION) * len(y_train))
    x_fit, y_fit, x_val, y_val = x_train[:cut], y_train[:cut], x_train[cut:], y_train[cut:]
    return SearchData("digits", TensorBatches(x_fit, y_fit, batch_size, seed=seed),
                      TensorBatches(x_fit, y_fit, 128, seed=seed + 1), [(x_val, y_val)], [(x_test, y_test)],
                      in_channels=1, height=8, width=8, num_classes=10)


def dvs_digits(frames: int = 4, seed: int = 0, batch_size: int = 64) -> SearchData:
    """The digits seen by an emulated DVS during three saccades (``snnrs.datasets.load_dvs_digits``):
    ``frames`` binary frames of two polarities on a 12x12 sensor."""
    from snnrs.datasets import load_dvs_digits
    from snnrs.training import TensorBatches, TimeFirst
    (x_train, y_train), (x_test, y_test) = load_dvs_digits(frames, seed=seed)
    cut = int((1 - VALIDATION_FRACTION) * len(y_train))
    x_fit, y_fit, x_val, y_val = x_train[:cut], y_train[:cut], x_train[cut:], y_train[cut:]
    return SearchData("dvs_digits", TimeFirst(TensorBatches(x_fit, y_fit, batch_size, seed=seed)),
                      TimeFirst(TensorBatches(x_fit, y_fit, 128, seed=seed + 1)),
                      [(x_val.transpose(0, 1), y_val)], [(x_test.transpose(0, 1), y_test)],
                      in_channels=2, height=x_train.shape[-2], width=x_train.shape[-1], num_classes=10,
                      frames=frames)


def from_dataset(name: str, root, frames: int = 4, seed: int = 0, batch_size: int = 64) -> SearchData:
    """A dataset class of ``snnrs.datasets`` (``name``: NMNIST, CIFAR10DVS, DVS128Gesture, ...) read from
    ``root`` as ``frames`` frames split by event count, as ``snnrs train`` reads it."""
    from torch.utils.data import DataLoader, Subset

    import snnrs.datasets as datasets
    from snnrs.training import TimeFirst
    cls = getattr(datasets, name, None)
    if not (isinstance(cls, type) and issubclass(cls, datasets.NeuromorphicDataset)):
        raise ValueError(f"dataset: {name!r} is not an event dataset class of snnrs.datasets")
    kwargs = dict(data_type="frame", frames_number=frames, split_by="number")
    train_set, test_set = cls(root, train=True, **kwargs), cls(root, train=False, **kwargs)
    if len(train_set) < 2:
        raise ValueError(f"root: {root} holds {len(train_set)} training sample(s) of {name}; at least 2 are needed "
                         "to cut a validation part")
    sample, _ = train_set[0]
    if sample.dim() != 4 or min(sample.shape[2:]) < 2:
        raise ValueError(f"dataset: {name} gives frames of shape {tuple(sample.shape)}; the Spikformer needs "
                         "[T, C, H, W] frames of a 2-D sensor")
    fit_idx, val_idx = _cut(len(train_set), seed)
    fit_set, val_set = Subset(train_set, fit_idx.tolist()), Subset(train_set, val_idx.tolist())
    classes = len(getattr(train_set, "classes", None) or []) or int(max(int(y) for _, y in train_set)) + 1
    def shuffled(size, order_seed):  # each loader its own generator: reseeding one leaves the other be
        return TimeFirst(DataLoader(fit_set, size, shuffle=True, generator=torch.Generator().manual_seed(order_seed)))

    data = SearchData(name, shuffled(batch_size, seed), shuffled(128, seed + 1),
                      TimeFirst(DataLoader(val_set, 128)), TimeFirst(DataLoader(test_set, 128)),
                      in_channels=sample.shape[1], height=sample.shape[2], width=sample.shape[3],
                      num_classes=classes, frames=frames)
    _ = data.patch_size  # a frame size the supernet cannot take fails here, before any training
    return data


__all__ = ["SearchData", "digits", "dvs_digits", "from_dataset", "reseed", "VALIDATION_FRACTION", "MAX_TOKENS"]
