"""The common machinery of the event datasets: sample index, event or frame mode, frames
cached on disk once (with a progress bar), transforms, and clear errors for missing data.

A dataset subclass says where its raw files are and how to list them
(:meth:`NeuromorphicDataset._index`): each sample is a name, a label and a function that
returns its events. Frames are integrated with :mod:`snnrs.events` (SpikingJelly's
``frames_number`` + ``split_by``, or ``duration``) and saved as ``.npy`` under
``root/frames_<spec>/<split>/``; later runs load them.
"""

import abc
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset

from snnrs import events as ev


class Sample(NamedTuple):
    name: str
    label: int
    load_events: Callable[[], np.ndarray]


class DatasetNotFoundError(FileNotFoundError):
    """The raw files of a dataset are not where the class looks; the message says what goes where."""


def _progress(iterable, total, desc):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # progress is a nicety, not a requirement
        return iterable
    return tqdm(iterable, total=total, desc=desc, unit="sample")


class NeuromorphicDataset(Dataset, abc.ABC):
    """Base of the event datasets (arguments as SpikingJelly's ``NeuromorphicDatasetFolder``).

    Args:
        root: the folder holding the raw files (layout: see each class).
        train: the training split (True) or the test split.
        data_type: ``'event'`` (a structured array of :data:`snnrs.events.EVENT_DTYPE`) or
            ``'frame'`` (a float32 tensor ``[T, P, H, W]``).
        frames_number, split_by: T frames split by event ``'number'`` or by ``'time'``.
        duration: frames of fixed duration (µs) instead; T then varies (see
            :func:`snnrs.datasets.pad_sequence_collate`).
        binarize: frames hold 1 where any event fell.
        transform, target_transform: applied to the sample and to the label.
    """

    sensor_size: tuple[int, int, int] = (0, 0, 2)  # (width, height, polarities)
    classes: list[str] = []

    def __init__(self, root, train: bool = True, data_type: str = "event", frames_number: int | None = None,
                 split_by: str | None = None, duration: int | None = None, binarize: bool = False,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 workers: int | None = None):
        self.root = Path(root)
        self.train = bool(train)
        if data_type not in ("event", "frame"):
            raise ValueError(f"data_type: expected 'event' or 'frame', got {data_type!r}")
        self.data_type = data_type
        self.transform, self.target_transform = transform, target_transform
        if data_type == "frame":
            self._frame_spec = self._check_frame_args(frames_number, split_by, duration, binarize)
        elif frames_number is not None or duration is not None:
            raise ValueError("frames_number / duration: only for data_type='frame'")
        if not self.root.is_dir():
            raise DatasetNotFoundError(f"{type(self).__name__}: root {self.root} is not a folder.\n"
                                       + self._layout_help())
        self.samples: list[Sample] = self._index()
        if not self.samples:
            raise DatasetNotFoundError(f"{type(self).__name__}: no samples found under {self.root} "
                                       f"for split {self.split_name!r}.\n" + self._layout_help())
        if data_type == "frame":
            self._frame_dir = self.root / self._frame_folder_name() / self.split_name
            self._cache_frames(workers)

    # ---- what subclasses provide ----

    @abc.abstractmethod
    def _index(self) -> list[Sample]:
        """The samples of the chosen split."""

    @abc.abstractmethod
    def _layout_help(self) -> str:
        """Which files go where, for the error a missing dataset raises."""

    @property
    def split_name(self) -> str:
        return "train" if self.train else "test"

    # ---- frames ----

    @staticmethod
    def _check_frame_args(frames_number, split_by, duration, binarize):
        if (frames_number is None) == (duration is None):
            raise ValueError("data_type='frame': give either frames_number (with split_by) or duration")
        if frames_number is not None:
            if split_by not in ("number", "time"):
                raise ValueError(f"split_by: expected 'number' or 'time', got {split_by!r}")
            if isinstance(frames_number, bool) or not isinstance(frames_number, int) or frames_number < 1:
                raise ValueError(f"frames_number: expected a positive int, got {frames_number!r}")
        elif isinstance(duration, bool) or not isinstance(duration, int) or duration < 1:
            raise ValueError(f"duration: expected a positive int (µs), got {duration!r}")
        return {"frames_number": frames_number, "split_by": split_by, "duration": duration,
                "binarize": bool(binarize)}

    def _frame_folder_name(self) -> str:
        s = self._frame_spec
        name = (f"frames_number_{s['frames_number']}_split_by_{s['split_by']}" if s["frames_number"]
                else f"duration_{s['duration']}")
        return name + ("_binary" if s["binarize"] else "")

    def _frames_of(self, events: np.ndarray) -> np.ndarray:
        s = self._frame_spec
        width, height, _ = self.sensor_size
        if s["frames_number"]:
            frames = ev.integrate_events_by_fixed_frames_number(events, s["split_by"], s["frames_number"], height,
                                                                width, s["binarize"])
        else:
            frames = ev.integrate_events_by_fixed_duration(events, s["duration"], height, width, s["binarize"])
        return frames[:, : self.sensor_size[2]] if self.sensor_size[2] == 1 else frames

    def _frames_of_sample(self, sample: Sample) -> np.ndarray:
        """The sample's frames; a whole file is counted into frames in one pass (the same frames)."""
        if not isinstance(sample.load_events, EventFile):
            return self._frames_of(ev.as_events(sample.load_events()))
        s = self._frame_spec
        width, height, _ = self.sensor_size
        mode = (dict(frames_number=s["frames_number"], split_by=s["split_by"]) if s["frames_number"]
                else dict(duration=s["duration"]))
        frames = ev.read_frames(sample.load_events.path, (width, height, 2), format=sample.load_events.format,
                                binarize=s["binarize"], **mode)
        return frames[:, : self.sensor_size[2]] if self.sensor_size[2] == 1 else frames

    def _frame_path(self, i: int) -> Path:
        sample = self.samples[i]
        return self._frame_dir / f"{sample.label:03d}" / f"{sample.name}.npy"

    def _cache_frames(self, workers):
        todo = [i for i in range(len(self.samples)) if not self._frame_path(i).exists()]
        if not todo:
            return

        def make(i):
            path = self._frame_path(i)
            path.parent.mkdir(parents=True, exist_ok=True)
            frames = self._frames_of_sample(self.samples[i])
            partial = path.with_suffix(".partial.npy")
            np.save(partial, frames)
            os.replace(partial, path)  # a crash never leaves a half-written cache file

        with ThreadPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
            for _ in _progress(pool.map(make, todo), len(todo),
                               f"{type(self).__name__} {self.split_name}: integrating frames"):
                pass

    # ---- Dataset ----

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} samples")
        i %= len(self)
        sample = self.samples[i]
        if self.data_type == "frame":
            x = torch.from_numpy(np.load(self._frame_path(i)))
        else:
            x = sample.load_events()
        y = sample.label
        if self.transform is not None:
            x = self.transform(x)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y


def class_folders(root: Path, classes: list[str], suffix: str) -> list[tuple[str, int, Path]]:
    """(name, label, path) of every ``root/<class>/*<suffix>`` file, classes in the given order."""
    found = []
    for label, cls in enumerate(classes):
        folder = root / cls
        if folder.is_dir():
            for path in sorted(folder.glob(f"*{suffix}")):
                found.append((f"{cls}_{path.stem}", label, path))
    return found


def split_per_class(files, train: bool, train_ratio: float):
    """Deterministic split: in each class (files sorted by name), the first
    ``round(train_ratio · n)`` are training samples, the rest test samples."""
    if not 0 < train_ratio < 1:
        raise ValueError(f"train_ratio: expected a fraction in (0, 1), got {train_ratio}")
    by_label = {}
    for item in files:
        by_label.setdefault(item[1], []).append(item)
    chosen = []
    for label in sorted(by_label):
        items = by_label[label]
        cut = round(train_ratio * len(items))
        chosen += items[:cut] if train else items[cut:]
    return chosen


class EventFile(NamedTuple):
    """A sample that is a whole event file: called, it reads the events; its frames are counted straight
    from the file (snnrs.events.read_frames), without the event array."""
    path: Path
    format: str

    def __call__(self) -> np.ndarray:
        return ev.read_events(self.path, format=self.format)


def file_loader(path: Path, format: str) -> Callable[[], np.ndarray]:
    return EventFile(path, format)
