"""DVS128 Gesture (IBM): 29 subjects, 11 gestures, AEDAT 3.1 recordings cut by label files.

Layout: ``root/DvsGesture/`` (or ``root`` itself) holding ``user*_*.aedat``, their
``*_labels.csv`` (``class, startTime_usec, endTime_usec``; class 1..11) and the official split
``trials_to_train.txt`` / ``trials_to_test.txt``. Each labelled span ``start <= t < end`` is one
sample; the cut samples are saved once as ``.npy`` under ``root/events_np/<split>/``.
"""

import csv
import os
from pathlib import Path

import numpy as np

from snnrs import events as ev
from snnrs.datasets.base import DatasetNotFoundError, NeuromorphicDataset, Sample, _progress


class DVS128Gesture(NeuromorphicDataset):
    sensor_size = (128, 128, 2)
    classes = ["hand_clapping", "right_hand_wave", "left_hand_wave", "right_arm_clockwise",
               "right_arm_counter_clockwise", "left_arm_clockwise", "left_arm_counter_clockwise", "arm_roll",
               "air_drums", "air_guitar", "other_gestures"]

    def _raw_dir(self) -> Path:
        nested = self.root / "DvsGesture"
        return nested if nested.is_dir() else self.root

    def _trials(self) -> list[str]:
        listing = self._raw_dir() / ("trials_to_train.txt" if self.train else "trials_to_test.txt")
        if not listing.exists():
            raise DatasetNotFoundError(f"DVS128Gesture: {listing} is missing.\n" + self._layout_help())
        return [line.strip() for line in listing.read_text().splitlines() if line.strip().endswith(".aedat")]

    def _cut(self, trial: str, out_dir: Path):
        raw = self._raw_dir() / trial
        labels = raw.with_name(raw.stem + "_labels.csv")
        for path in (raw, labels):
            if not path.exists():
                raise DatasetNotFoundError(f"DVS128Gesture: {path} is missing.\n" + self._layout_help())
        events = ev.read_events(raw, format="aedat3")
        t = events["t"]
        with open(labels, newline="") as f:
            rows = [r for r in csv.reader(f) if r and r[0].strip().isdigit()]
        for k, (cls, start, end) in enumerate((int(a), int(b), int(c)) for a, b, c, *_ in rows):
            if not 1 <= cls <= 11:
                raise ValueError(f"{labels}: class {cls} outside 1..11")
            part = events[(t >= start) & (t < end)]  # a mask, as SpikingJelly: no sortedness assumed
            path = out_dir / f"{cls - 1:03d}" / f"{raw.stem}_{k}.npy"
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial.npy")
            np.save(partial, part)
            os.replace(partial, path)

    def _index(self) -> list[Sample]:
        out_dir = self.root / "events_np" / self.split_name
        trials = self._trials()
        out_dir.mkdir(parents=True, exist_ok=True)
        done = out_dir / ".complete"  # lists the trials cut; a different list cuts again
        if not done.exists() or done.read_text() != "\n".join(trials):
            for trial in _progress(trials, len(trials), f"DVS128Gesture {self.split_name}: cutting recordings"):
                self._cut(trial, out_dir)
            done.write_text("\n".join(trials))
        samples = []
        for folder in sorted(p for p in out_dir.iterdir() if p.is_dir()):
            for path in sorted(folder.glob("*.npy")):
                # as_events: cuts cached in an older event layout are read by field name
                samples.append(Sample(path.stem, int(folder.name), lambda p=path: ev.as_events(np.load(p))))
        return samples

    def _layout_help(self):
        return (f"Expected {self.root}/DvsGesture/ with user*_*.aedat, user*_*_labels.csv, trials_to_train.txt "
                "and trials_to_test.txt: extract DvsGesture.tar.gz (https://research.ibm.com/interactive/dvsgesture/) "
                "into root.")
