"""TrafficCAM: traffic-camera frames with pixel-level semantic masks, instance masks and
unlabelled frames, read as images or — through the DVS emulator — as events for spiking
segmentation.

Layout accepted (**our definition**; ``<frame>`` sorts in time order within a sequence)::

    root/images/<split>/<sequence>/<frame>.png|.jpg|.npy      frames (RGB or gray)
    root/semantic/<split>/<sequence>/<frame>.png|.npy         class index per pixel
    root/instances/<split>/<sequence>/<frame>.png|.npy        instance id per pixel, 0 = none (optional)
    root/unlabelled/<sequence>/<frame>.png|.jpg|.npy          frames without masks

``split`` is ``train``, ``val`` or ``test`` (a labelled sample per frame with a semantic mask)
or ``unlabelled`` (every frame there; the target is None).
"""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from snnrs import events as ev
from snnrs.datasets.base import DatasetNotFoundError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".npy")


def read_image(path: Path) -> np.ndarray:
    """A frame or mask as an array (``.npy`` as stored; images through Pillow)."""
    if path.suffix == ".npy":
        return np.load(path)
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(f"{path}: reading {path.suffix} needs Pillow (pip install pillow), or store .npy") from None
    with Image.open(path) as image:
        return np.asarray(image)


def _frames_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []


def _mask_for(folder: Path, stem: str) -> Path | None:
    for suffix in (".png", ".npy"):
        if (folder / (stem + suffix)).exists():
            return folder / (stem + suffix)
    return None


class TrafficCAM(Dataset):
    """Args:
        root: the folder (layout above).
        split: ``'train'``, ``'val'``, ``'test'`` or ``'unlabelled'``.
        data_type: ``'image'`` (float ``[C, H, W]`` in [0, 1]), ``'event'`` (events emulated from the
            ``window`` frames ending at the sample's frame) or ``'frame'`` (those events integrated
            into ``frames_number`` frames split by time, ``[T, 2, H, W]``).
        fps: frame rate giving the emulator its timestamps.
        threshold_on, threshold_off: the emulator's log-intensity thresholds.
        transform: applied to the input; target_transform to the target dict
            ``{'semantic': [H, W] long, 'instances': [H, W] long (when present)}``.
    """

    def __init__(self, root, split: str = "train", data_type: str = "image", window: int = 4, fps: float = 25.0,
                 frames_number: int = 4, threshold_on: float = 0.2, threshold_off: float = 0.2,
                 transform: Callable | None = None, target_transform: Callable | None = None):
        self.root = Path(root)
        if split not in ("train", "val", "test", "unlabelled"):
            raise ValueError(f"split: expected 'train', 'val', 'test' or 'unlabelled', got {split!r}")
        if data_type not in ("image", "event", "frame"):
            raise ValueError(f"data_type: expected 'image', 'event' or 'frame', got {data_type!r}")
        if isinstance(window, bool) or not isinstance(window, int) or window < 2 and data_type != "image":
            raise ValueError(f"window: expected an int >= 2 frames for events, got {window!r}")
        if not fps > 0:
            raise ValueError(f"fps: expected > 0, got {fps}")
        self.split, self.data_type, self.window, self.fps = split, data_type, window, float(fps)
        self.frames_number = frames_number
        self.thresholds = (threshold_on, threshold_off)
        self.transform, self.target_transform = transform, target_transform
        self.samples: list[tuple[list[Path], int, Path | None, Path | None]] = self._index()
        if not self.samples:
            raise DatasetNotFoundError(f"TrafficCAM: no {split} samples under {self.root}.\n" + __doc__.split(
                "Layout accepted")[1].split("``split``")[0])

    def _index(self):
        if self.split == "unlabelled":
            base = self.root / "unlabelled"
            sequences = sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
            return [(frames, k, None, None) for seq in sequences for frames in [_frames_in(seq)]
                    for k in range(len(frames))]
        images = self.root / "images" / self.split
        samples = []
        for seq in sorted(p for p in images.iterdir() if p.is_dir()) if images.is_dir() else []:
            frames = _frames_in(seq)
            semantic_dir = self.root / "semantic" / self.split / seq.name
            instance_dir = self.root / "instances" / self.split / seq.name
            for k, frame in enumerate(frames):
                semantic = _mask_for(semantic_dir, frame.stem)
                if semantic is not None:
                    samples.append((frames, k, semantic, _mask_for(instance_dir, frame.stem)))
        return samples

    def __len__(self):
        return len(self.samples)

    def _input(self, frames: list[Path], k: int):
        if self.data_type == "image":
            raw = read_image(frames[k])
            scale = float(np.iinfo(raw.dtype).max) if np.issubdtype(raw.dtype, np.integer) else 1.0
            image = raw.astype(np.float32) / scale  # integer images to [0, 1]; floats as stored
            return torch.from_numpy(image[None] if image.ndim == 2 else np.moveaxis(image, -1, 0).copy())
        first = max(0, k - self.window + 1)
        clip = np.stack([read_image(p).astype(np.float64) for p in frames[first:k + 1]])
        times = np.round(np.arange(len(clip)) * 1e6 / self.fps).astype(np.int64)
        events = ev.emulate_dvs(clip, times, *self.thresholds)
        if self.data_type == "event":
            return events
        height, width = clip.shape[1:3]
        return torch.from_numpy(ev.integrate_events_by_fixed_frames_number(
            events, "time", self.frames_number, height, width))

    def __getitem__(self, i):
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} samples")
        frames, k, semantic, instances = self.samples[i % len(self)]
        x = self._input(frames, k)
        target: dict[str, torch.Tensor] | None = None
        if semantic is not None:
            target = {"semantic": torch.from_numpy(read_image(semantic).astype(np.int64))}
            if instances is not None:
                target["instances"] = torch.from_numpy(read_image(instances).astype(np.int64))
        if self.transform is not None:
            x = self.transform(x)
        if self.target_transform is not None and target is not None:
            target = self.target_transform(target)
        return x, target
