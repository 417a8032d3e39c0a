"""Event-camera datasets read from a local folder of their original files.

Layouts accepted (what the original archives extract to):

* ``NMNIST``: ``root/Train/<digit>/*.bin`` and ``root/Test/<digit>/*.bin`` (ATIS .bin, 34x34).
* ``NCaltech101``: ``root/Caltech101/<class>/*.bin`` (ATIS .bin, 240x180); classes are the folders,
  sorted, without ``BACKGROUND_Google``; no official split (``train_ratio`` per class).
* ``CIFAR10DVS``: ``root/<class>/*.aedat`` (AEDAT 2.0, 128x128), the ten CIFAR-10 class names;
  deterministic per-class split (first ``train_ratio`` of each class's sorted files train).
* ``ASLDVS``: ``root/<letter>/*.mat`` (24 letters a–y without j; MATLAB files with ``ts``, ``x``,
  ``y``, ``pol``; 240x180; needs scipy); per-class split as CIFAR10DVS.
* ``NAVGesture``: ``root/**/*.dat`` (Prophesee .dat, 304x240), the gesture in the file name
  ``<user>_<gesture>_<n>.dat`` with gesture one of ``do ho le ri se up`` (swipe down, home,
  swipe left, swipe right, select, swipe up); per-class split as CIFAR10DVS.
"""

import abc
from pathlib import Path

import numpy as np

from snnrs import events as ev
from snnrs.datasets.base import NeuromorphicDataset, Sample, class_folders, file_loader, split_per_class


class NMNIST(NeuromorphicDataset):
    sensor_size = (34, 34, 2)
    classes = [str(d) for d in range(10)]

    def _index(self) -> list[Sample]:
        folder = self.root / ("Train" if self.train else "Test")
        return [Sample(name, label, file_loader(path, "atis_bin"))
                for name, label, path in class_folders(folder, self.classes, ".bin")]

    def _layout_help(self):
        return (f"Expected {self.root}/Train/<0-9>/*.bin and {self.root}/Test/<0-9>/*.bin: extract Train.zip and "
                "Test.zip of N-MNIST (https://www.garrickorchard.com/datasets/n-mnist) into root.")


class _PerClassSplit(NeuromorphicDataset):
    """Datasets without an official split: a deterministic per-class split by ``train_ratio``."""

    def __init__(self, root, train: bool = True, train_ratio: float = 0.9, **kwargs):
        self.train_ratio = float(train_ratio)
        super().__init__(root, train, **kwargs)

    @abc.abstractmethod
    def _files(self):
        """(name, label, path) of every file of every class."""

    @abc.abstractmethod
    def _loader(self, path: Path):
        """A function returning the events of ``path``."""

    def _index(self) -> list[Sample]:
        chosen = split_per_class(self._files(), self.train, self.train_ratio)
        return [Sample(name, label, self._loader(path)) for name, label, path in chosen]


class NCaltech101(_PerClassSplit):
    sensor_size = (240, 180, 2)

    def _files(self):
        folder = self.root / "Caltech101"
        self.classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name != "BACKGROUND_Google") \
            if folder.is_dir() else []
        return class_folders(folder, self.classes, ".bin")

    def _loader(self, path):
        return file_loader(path, "atis_bin")

    def _layout_help(self):
        return (f"Expected {self.root}/Caltech101/<class>/*.bin: extract N-Caltech101's Caltech101.zip into root "
                "(https://www.garrickorchard.com/datasets/n-caltech101).")


class CIFAR10DVS(_PerClassSplit):
    sensor_size = (128, 128, 2)
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    def _files(self):
        return class_folders(self.root, self.classes, ".aedat")

    def _loader(self, path):
        return file_loader(path, "aedat2")

    def _layout_help(self):
        return (f"Expected {self.root}/<class>/*.aedat for the classes {self.classes}: extract the ten class "
                "archives of CIFAR10-DVS (https://figshare.com/articles/dataset/CIFAR10-DVS_New/4724671) into root.")


def _load_mat_events(path: Path) -> np.ndarray:
    try:
        from scipy.io import loadmat
    except ImportError:
        raise ImportError("ASLDVS reads MATLAB .mat files with scipy: pip install scipy") from None
    mat = loadmat(path)
    missing = [k for k in ("ts", "x", "y", "pol") if k not in mat]
    if missing:
        raise ValueError(f"{path}: missing MATLAB variables {missing} (expected ts, x, y, pol)")
    return ev.as_events({"t": mat["ts"].ravel(), "x": mat["x"].ravel(), "y": mat["y"].ravel(),
                         "p": mat["pol"].ravel()})


class ASLDVS(_PerClassSplit):
    sensor_size = (240, 180, 2)
    classes = list("abcdefghiklmnopqrstuvwxy")

    def _files(self):
        return class_folders(self.root, self.classes, ".mat")

    def _loader(self, path):
        return lambda: _load_mat_events(path)

    def _layout_help(self):
        return (f"Expected {self.root}/<letter>/*.mat (letters a-y without j): extract ASL-DVS "
                "(https://github.com/PIX2NVS/NVS2Graph) into root.")


class NAVGesture(_PerClassSplit):
    sensor_size = (304, 240, 2)
    codes = ["do", "ho", "le", "ri", "se", "up"]
    classes = ["swipe_down", "home", "swipe_left", "swipe_right", "select", "swipe_up"]

    def _files(self):
        files = []
        for path in sorted(self.root.rglob("*.dat")):
            parts = path.stem.split("_")
            if len(parts) >= 2 and parts[1] in self.codes:
                files.append((path.stem, self.codes.index(parts[1]), path))
        return files

    def _loader(self, path):
        return file_loader(path, "dat")

    def _layout_help(self):
        return (f"Expected {self.root}/**/<user>_<gesture>_<n>.dat with gesture one of {self.codes}: extract "
                "NavGesture (https://www.neuromorphic-vision.com/public/downloads/navgesture/) into root.")
