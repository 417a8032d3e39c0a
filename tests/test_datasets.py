"""Dataset classes over small folders laid out like the real archives, written with
tests/event_writers.py: samples, labels, splits, cut gestures, frame caches, collate, and the
errors for missing data."""

import csv

import numpy as np
import pytest
import torch

from snnrs import datasets
from snnrs import events as ev
from tests import event_writers as write


def _as_tuples(events):
    return list(zip(events["t"].tolist(), events["x"].tolist(), events["y"].tolist(), events["p"].tolist()))


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_nmnist_reads_train_and_test_folders_and_caches_frames(tmp_path, rng):
    written = {}
    for split in ("Train", "Test"):
        for digit in (0, 3):
            for k in range(2):
                events = write.random_events(rng, 50 + k, 34, 34)
                path = tmp_path / split / str(digit) / f"{k:05d}.bin"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(write.atis_bin(events))
                written[(split, digit, k)] = events
    train = datasets.NMNIST(tmp_path, train=True)
    assert len(train) == 4 and [s.label for s in train.samples] == [0, 0, 3, 3]
    x, y = train[2]
    assert y == 3 and _as_tuples(x) == written[("Train", 3, 0)]
    frames = datasets.NMNIST(tmp_path, train=False, data_type="frame", frames_number=4, split_by="number")
    x, y = frames[1]
    expected = ev.integrate_events_by_fixed_frames_number(ev.as_events({k: np.array(v) for k, v in zip(
        "txyp", zip(*written[("Test", 0, 1)]))}), "number", 4, 34, 34)
    assert isinstance(x, torch.Tensor) and x.shape == (4, 2, 34, 34)
    np.testing.assert_array_equal(x.numpy(), expected)
    cached = sorted((tmp_path / "frames_number_4_split_by_number" / "test").rglob("*.npy"))
    assert len(cached) == 4
    stamp = cached[0].stat().st_mtime_ns
    datasets.NMNIST(tmp_path, train=False, data_type="frame", frames_number=4, split_by="number")
    assert cached[0].stat().st_mtime_ns == stamp  # loaded, not recomputed


def test_dvs128_gesture_cuts_recordings_by_label_file_and_official_split(tmp_path, rng):
    raw = tmp_path / "DvsGesture"
    raw.mkdir()
    events = write.random_events(rng, 300, 128, 128, span=30_000)
    (raw / "user01_led.aedat").write_bytes(write.aedat3(events))
    (raw / "user02_led.aedat").write_bytes(write.aedat3(events[:30]))
    with open(raw / "user01_led_labels.csv", "w", newline="") as f:
        csv.writer(f).writerows([["class", "startTime_usec", "endTime_usec"], [3, 1000, 12000], [11, 12000, 29000]])
    with open(raw / "user02_led_labels.csv", "w", newline="") as f:
        csv.writer(f).writerows([["class", "startTime_usec", "endTime_usec"], [1, 0, 5000]])
    (raw / "trials_to_train.txt").write_text("user01_led.aedat\n")
    (raw / "trials_to_test.txt").write_text("user02_led.aedat\n")
    train = datasets.DVS128Gesture(tmp_path, train=True)
    assert sorted(s.label for s in train.samples) == [2, 10]
    by_label = {y: x for x, y in (train[i] for i in range(len(train)))}
    assert _as_tuples(by_label[2]) == [e for e in events if 1000 <= e[0] < 12000]
    assert _as_tuples(by_label[10]) == [e for e in events if 12000 <= e[0] < 29000]
    test = datasets.DVS128Gesture(tmp_path, train=False, data_type="frame", duration=1000)
    x, y = test[0]
    assert y == 0 and x.shape[1:] == (2, 128, 128)
    assert x.sum() == sum(1 for e in events[:30] if e[0] < 5000)


def test_cifar10dvs_split_is_deterministic_per_class(tmp_path, rng):
    for cls in ("cat", "dog"):
        for k in range(10):
            path = tmp_path / cls / f"cifar10_{cls}_{k}.aedat"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(write.aedat2(write.random_events(rng, 20, 128, 128)))
    train = datasets.CIFAR10DVS(tmp_path, train=True, train_ratio=0.8)
    test = datasets.CIFAR10DVS(tmp_path, train=False, train_ratio=0.8)
    assert len(train) == 16 and len(test) == 4
    assert {s.name for s in train.samples}.isdisjoint({s.name for s in test.samples})
    assert [s.name for s in test.samples] == ["cat_cifar10_cat_8", "cat_cifar10_cat_9", "dog_cifar10_dog_8",
                                              "dog_cifar10_dog_9"]
    assert {s.label for s in test.samples} == {datasets.CIFAR10DVS.classes.index("cat"),
                                               datasets.CIFAR10DVS.classes.index("dog")}


def test_ncaltech_navgesture_and_asldvs_read_their_layouts(tmp_path, rng):
    events = write.random_events(rng, 40, 200, 150)
    for cls in ("airplanes", "BACKGROUND_Google", "cup"):
        path = tmp_path / "caltech" / "Caltech101" / cls / "image_0001.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(write.atis_bin(events))
    caltech = datasets.NCaltech101(tmp_path / "caltech", train=False, train_ratio=0.5)
    assert caltech.classes == ["airplanes", "cup"] and len(caltech) == 2
    assert _as_tuples(caltech[0][0]) == events
    nav = tmp_path / "nav" / "user03"
    nav.mkdir(parents=True)
    (nav / "user03_le_01.dat").write_bytes(write.dat(events))
    (nav / "user03_up_01.dat").write_bytes(write.dat(events))
    navset = datasets.NAVGesture(tmp_path / "nav", train=False, train_ratio=0.5)
    assert sorted(s.label for s in navset.samples) == [2, 5]
    assert _as_tuples(navset[0][0]) == events
    scipy_io = pytest.importorskip("scipy.io")
    for letter in ("a", "y"):
        (tmp_path / "asl" / letter).mkdir(parents=True)
        t, x, y, p = (np.array(c) for c in zip(*events))
        scipy_io.savemat(tmp_path / "asl" / letter / "a_0001.mat", {"ts": t, "x": x, "y": y, "pol": p})
    asl = datasets.ASLDVS(tmp_path / "asl", train=False, train_ratio=0.5)
    assert [s.label for s in asl.samples] == [0, 23]
    assert _as_tuples(asl[1][0]) == events


def test_shd_and_ssc_read_hdf5_spike_trains(tmp_path):
    h5py = pytest.importorskip("h5py")
    times = [np.array([0.0015, 0.0002, 0.01]), np.array([0.5])]
    units = [np.array([3, 699, 0]), np.array([12])]
    for name in ("shd_train.h5", "ssc_valid.h5"):
        with h5py.File(tmp_path / name, "w") as f:
            f.create_dataset("labels", data=np.array([4, 1]))
            group = f.create_group("spikes")
            group.create_dataset("times", data=np.array(times, dtype=object), dtype=h5py.vlen_dtype(np.float64))
            group.create_dataset("units", data=np.array(units, dtype=object), dtype=h5py.vlen_dtype(np.int64))
    shd = datasets.SHD(tmp_path, train=True)
    x, y = shd[0]
    assert y == 4 and x["t"].tolist() == [200, 1500, 10000] and x["x"].tolist() == [699, 3, 0]
    frames = datasets.SSC(tmp_path, split="valid", data_type="frame", frames_number=2, split_by="time")
    x, y = frames[0]
    assert y == 4 and x.shape == (2, 1, 1, 700) and x.sum() == 3
    with pytest.raises(ValueError, match="split: expected one of"):
        datasets.SSC(tmp_path, split="dev")


def test_missing_data_says_which_files_go_where(tmp_path):
    with pytest.raises(datasets.DatasetNotFoundError, match=r"Train/<0-9>/\*\.bin"):
        datasets.NMNIST(tmp_path)
    with pytest.raises(datasets.DatasetNotFoundError, match="trials_to_train.txt"):
        datasets.DVS128Gesture(tmp_path)
    with pytest.raises(datasets.DatasetNotFoundError, match="shd_train.h5"):
        datasets.SHD(tmp_path)
    with pytest.raises(datasets.DatasetNotFoundError, match="is not a folder"):
        datasets.CIFAR10DVS(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="give either frames_number"):
        datasets.NMNIST(tmp_path, data_type="frame")
    with pytest.raises(ValueError, match="data_type"):
        datasets.NMNIST(tmp_path, data_type="video")


def test_pad_sequence_collate_and_mask():
    batch = [(torch.ones(3, 2), 1), (torch.full((5, 2), 2.0), 0)]
    x, y, lengths = datasets.pad_sequence_collate(batch)
    assert x.shape == (2, 5, 2) and y.tolist() == [1, 0] and lengths.tolist() == [3, 5]
    assert x[0, 3:].abs().sum() == 0 and torch.equal(x[1], torch.full((5, 2), 2.0))
    mask = datasets.padded_sequence_mask(lengths)
    assert mask.shape == (5, 2) and mask[:, 0].tolist() == [True] * 3 + [False] * 2 and mask[:, 1].all()
    with pytest.raises(ValueError, match="differ beyond the time dimension"):
        datasets.pad_sequence_collate([(torch.ones(3, 2), 0), (torch.ones(3, 4), 0)])
    loader = torch.utils.data.DataLoader(batch, batch_size=2, collate_fn=datasets.pad_sequence_collate)
    assert next(iter(loader))[0].shape == (2, 5, 2)


def _traffic_root(tmp_path, rng):
    from PIL import Image
    for split, sequence in (("train", "cam1"), ("train", "cam2")):
        for k in range(5):
            frame = (rng.random((6, 8, 3)) * 255).astype(np.uint8)
            path = tmp_path / "images" / split / sequence / f"{k:04d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(frame).save(path)
            if k % 2 == 0:  # every other frame is labelled
                mask = tmp_path / "semantic" / split / sequence / f"{k:04d}.png"
                mask.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(rng.integers(0, 5, (6, 8)).astype(np.uint8)).save(mask)
        instance = tmp_path / "instances" / split / sequence / "0004.npy"
        instance.parent.mkdir(parents=True, exist_ok=True)
        np.save(instance, np.arange(48).reshape(6, 8))
    unlabelled = tmp_path / "unlabelled" / "cam9"
    unlabelled.mkdir(parents=True)
    for k in range(3):
        np.save(unlabelled / f"{k}.npy", rng.random((6, 8)))


def test_trafficcam_images_masks_instances_and_emulated_events(tmp_path, rng):
    _traffic_root(tmp_path, rng)
    images = datasets.TrafficCAM(tmp_path, split="train")
    assert len(images) == 6  # frames 0, 2, 4 of two sequences
    x, target = images[2]
    assert x.shape == (3, 6, 8) and x.min() >= 0 and x.max() <= 1
    assert target["semantic"].shape == (6, 8) and target["semantic"].dtype == torch.int64
    assert torch.equal(target["instances"], torch.arange(48).reshape(6, 8))
    assert "instances" not in images[0][1]
    events = datasets.TrafficCAM(tmp_path, split="train", data_type="event", window=3, fps=10.0)
    x, target = events[1]  # frame 2 of cam1: frames 0..2 feed the emulator
    from PIL import Image
    clip = np.stack([np.asarray(Image.open(tmp_path / "images/train/cam1" / f"{k:04d}.png")).astype(float)
                     for k in range(3)])
    np.testing.assert_array_equal(x, ev.emulate_dvs(clip, [0, 100_000, 200_000]))
    assert len(x) > 0 and target["semantic"].shape == (6, 8)
    frames = datasets.TrafficCAM(tmp_path, split="train", data_type="frame", window=3, frames_number=2)
    assert frames[1][0].shape == (2, 2, 6, 8) and frames[1][0].sum() == len(x)
    unlabelled = datasets.TrafficCAM(tmp_path, split="unlabelled")
    assert len(unlabelled) == 3 and unlabelled[0][1] is None and unlabelled[0][0].shape == (1, 6, 8)
    with pytest.raises(datasets.DatasetNotFoundError, match="semantic"):
        datasets.TrafficCAM(tmp_path, split="val")


def test_integrate_many_equals_one_by_one(rng):
    samples = []
    for n in (0, 5, 200):
        events = np.zeros(n, ev.EVENT_DTYPE)
        events["t"] = np.sort(rng.integers(0, 1000, n))
        events["x"], events["y"], events["p"] = rng.integers(0, 8, n), rng.integers(0, 6, n), rng.integers(0, 2, n)
        samples.append(events)
    many = ev.integrate_many(samples, ev.integrate_events_by_fixed_frames_number, "time", 3, 6, 8, workers=2)
    for got, events in zip(many, samples):
        np.testing.assert_array_equal(got, ev.integrate_events_by_fixed_frames_number(events, "time", 3, 6, 8))
    assert [f.sum() for f in many] == [0, 5, 200]


def test_emulated_dvs_digits_are_the_digits_split_seen_by_the_emulator():
    from snnrs.datasets import load_digits, load_dvs_digits
    from snnrs.datasets.digits import saccade_events
    (x, y), (xt, yt) = load_dvs_digits(frames_number=3, seed=2)
    (_, y_img), (images, yt_img) = load_digits(seed=2)
    assert x.shape == (len(y), 3, 2, 12, 12) and xt.shape == (len(yt), 3, 2, 12, 12)
    assert torch.equal(y, y_img) and torch.equal(yt, yt_img)  # the same split as the images
    assert set(torch.unique(x).tolist()) == {0.0, 1.0} and bool((x.sum((1, 2, 3, 4)) > 0).all())
    events = saccade_events(images[0, 0].numpy())
    assert len(events) > 0 and set(np.unique(events["p"]).tolist()) == {0, 1}  # both polarities
    with pytest.raises(ValueError, match="frames_number"):
        load_dvs_digits(frames_number=0)
