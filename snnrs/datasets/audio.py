"""Spiking Heidelberg Digits (SHD) and Spiking Speech Commands (SSC): HDF5 files of spike
times (seconds) and channel units, 700 cochlear channels.

Layout: ``root/shd_train.h5``, ``root/shd_test.h5``; ``root/ssc_train.h5``, ``ssc_valid.h5``,
``ssc_test.h5`` (gunzipped from https://zenkelab.org/datasets/). Events: ``x`` = channel,
``y`` = 0, ``p`` = 0, ``t`` = round(time · 10^6) µs; frames ``[T, 1, 1, 700]``.
"""


import numpy as np

from snnrs import events as ev
from snnrs.datasets.base import DatasetNotFoundError, NeuromorphicDataset, Sample


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("SHD and SSC are HDF5 files: pip install h5py") from None
    return h5py


class SHD(NeuromorphicDataset):
    sensor_size = (700, 1, 1)
    prefix = "shd"
    splits = ("train", "test")

    def __init__(self, root, train: bool = True, split: str | None = None, **kwargs):
        self._split = split if split is not None else ("train" if train else "test")
        if self._split not in self.splits:
            raise ValueError(f"split: expected one of {self.splits}, got {split!r}")
        super().__init__(root, self._split == "train", **kwargs)

    @property
    def split_name(self) -> str:
        return self._split

    def _file(self):
        return self.root / f"{self.prefix}_{self._split}.h5"

    def _index(self) -> list[Sample]:
        path = self._file()
        if not path.exists():
            raise DatasetNotFoundError(f"{type(self).__name__}: {path} is missing.\n" + self._layout_help())
        with _h5py().File(path, "r") as f:
            labels = np.asarray(f["labels"]).astype(int).tolist()
        return [Sample(f"{self._split}_{i}", label, lambda i=i: self._load(i)) for i, label in enumerate(labels)]

    def _load(self, i: int) -> np.ndarray:
        with _h5py().File(self._file(), "r") as f:
            times = np.asarray(f["spikes"]["times"][i], dtype=np.float64)
            units = np.asarray(f["spikes"]["units"][i])
        order = np.argsort(times, kind="stable")
        t = np.round(times[order] * 1e6).astype(np.int64)
        zeros = np.zeros(len(t), np.int64)
        return ev.as_events({"t": t, "x": units[order], "y": zeros, "p": zeros})

    def _layout_help(self):
        names = ", ".join(f"{self.prefix}_{s}.h5" for s in self.splits)
        return f"Expected {names} in {self.root} (gunzip the files from https://zenkelab.org/datasets/)."


class SSC(SHD):
    prefix = "ssc"
    splits = ("train", "valid", "test")
