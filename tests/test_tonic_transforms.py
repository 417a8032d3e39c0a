"""tonic's transforms on our event arrays give what they give on tonic's own readers' arrays.

For every shared sample recording, every transform of tonic 1.7 (34 classes besides Compose: 31 take events,
ToBinaRep takes ToFrame's frames, Repeat and ToOneHotEncoding take targets) is applied to ``read_events``'s
array and to the same recording as tonic reads it, with the same random seed; the results are identical
(same shape, same field names in the same order, same values). tonic's readers do not agree with each other
on a layout (N-MNIST: x, y, t, p as int64; AEDAT4 through the ``aedat`` package: t, x, y and a bool ``on``;
Prophesee files through expelliarmus, tonic's dependency: t, x, y, p as uint8), so tonic's events are taken in
the dtype of its N-MNIST dataset (x, y, t, p, integers), the layout its transforms are written for.
"""

import os

import numpy as np
import pytest

from snnrs import events as ev

try:
    import tonic
    import tonic.transforms as T
    from tonic.datasets import NMNIST
except ImportError:  # pragma: no cover - CI installs tonic (.ci/run)
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("tonic not installed (pip install --no-deps tonic==1.7.0 importRosbag aedat expelliarmus)",
                allow_module_level=True)

FIRST = 20_000  # tonic's per-event Python loops (Denoise, ToAveragedTimesurface, ...) on a prefix of each recording


def tonic_events(path):
    """The recording as tonic reads it, in the dtype of tonic's N-MNIST dataset."""
    name = path.name
    if name.endswith(".bin"):
        raw = tonic.io.read_mnist_file(str(path), dtype=NMNIST.dtype)
    elif name.endswith(".aedat4"):
        raw = tonic.io.read_aedat4(str(path))  # fields t, x, y and ('p', 'on'), as tonic's CIFAR10-DVS reads it
    else:
        from expelliarmus import Wizard
        encoding = "dat" if name.endswith(".dat") else ev.detect_format(path)
        raw = Wizard(encoding=encoding).read(str(path))
    return tonic.io.make_structured_array(raw["x"], raw["y"], raw["t"], raw["p"], dtype=NMNIST.dtype)


def sensor_of(events, header):
    if header is not None:
        return (header[0], header[1], 2)
    return (int(events["x"].max()) + 1, int(events["y"].max()) + 1, 2)


def event_transforms(sensor, t):
    """Each of tonic's event transforms, with arguments that make it do something on this recording."""
    width, height, _ = sensor
    span = int(t[-1] - t[0])
    small = (max(width // 2, 1), max(height // 2, 1))
    return {
        "CenterCrop": T.CenterCrop(sensor_size=sensor, size=small),
        "CropTime": T.CropTime(min=int(t[0]) + span // 5, max=int(t[0]) + span // 2),
        "Decimation": T.Decimation(n=3),
        "Denoise": T.Denoise(filter_time=5_000),
        "Downsample": T.Downsample(time_factor=0.5, spatial_factor=0.5),
        "DropEvent": T.DropEvent(p=0.3),
        "DropEventByArea": T.DropEventByArea(sensor_size=sensor, area_ratio=0.3),
        "DropEventByTime": T.DropEventByTime(duration_ratio=0.3),
        "DropPixel": T.DropPixel(hot_pixel_frequency=50),
        "EventDownsampling": T.EventDownsampling(sensor_size=sensor, target_size=small,
                                                 downsampling_method="integrator", dt=0.5, noise_threshold=2),
        "EventDrop": T.EventDrop(sensor_size=sensor),
        "MergePolarities": T.MergePolarities(),
        "NumpyAsType": T.NumpyAsType(int),
        "RandomCrop": T.RandomCrop(sensor_size=sensor, target_size=small),
        "RandomDropPixel": T.RandomDropPixel(p=0.2, sensor_size=sensor),
        "RandomFlipLR": T.RandomFlipLR(sensor_size=sensor, p=1.0),
        "RandomFlipPolarity": T.RandomFlipPolarity(p=1.0),
        "RandomFlipUD": T.RandomFlipUD(sensor_size=sensor, p=1.0),
        "RandomTimeReversal": T.RandomTimeReversal(p=1.0),
        "RefractoryPeriod": T.RefractoryPeriod(delta=1_000),
        "SpatialJitter": T.SpatialJitter(sensor_size=sensor, var_x=2, var_y=2, clip_outliers=True),
        "TimeAlignment": T.TimeAlignment(),
        "TimeJitter": T.TimeJitter(std=100, clip_negative=True, sort_timestamps=True),
        "TimeSkew": T.TimeSkew(coefficient=1.1, offset=7),
        "ToAveragedTimesurface": T.ToAveragedTimesurface(sensor_size=sensor, surface_size=3, cell_size=16),
        "ToFrame": T.ToFrame(sensor_size=sensor, n_time_bins=5, overlap=0.2),
        "ToImage": T.ToImage(sensor_size=sensor),
        "ToSparseTensor": T.ToSparseTensor(sensor_size=sensor, n_time_bins=4),
        "ToTimesurface": T.ToTimesurface(sensor_size=sensor, dt=max(span // 4, 1), tau=5_000),
        "ToVoxelGrid": T.ToVoxelGrid(sensor_size=sensor, n_time_bins=6),
        "UniformNoise": T.UniformNoise(sensor_size=sensor, n=500),
    }


FRAME_TRANSFORMS = {"ToBinaRep": lambda sensor: (T.ToFrame(sensor_size=sensor, n_time_bins=16),
                                                 T.ToBinaRep(n_frames=2, n_bits=8))}
TARGET_TRANSFORMS = {"Repeat": T.Repeat(n_repeat=3), "ToOneHotEncoding": T.ToOneHotEncoding(n_classes=10)}


def dense(result):
    return result.to_dense().numpy() if hasattr(result, "to_dense") else result


def assert_identical(got, expected, what):
    got, expected = dense(got), dense(expected)
    assert type(got) is type(expected), what
    assert np.shape(got) == np.shape(expected), what
    if isinstance(got, np.ndarray) and got.dtype.names:
        assert got.dtype.names == expected.dtype.names, what
        for name in got.dtype.names:
            np.testing.assert_array_equal(got[name], expected[name], err_msg=f"{what}: {name}")
    else:
        np.testing.assert_array_equal(got, expected, err_msg=what)


SAMPLES = ["sample_nmnist.bin", "sample.aedat4", "evt2_sample.raw", "evt3_sample.raw", "sample_ncars.dat"]


@pytest.fixture(scope="module", params=SAMPLES)
def recording(request, sample_data):
    path = sample_data / "events" / request.param
    ours, header = ev.read_events(path, return_sensor_size=True)
    theirs = tonic_events(path)
    assert len(ours) == len(theirs)
    return request.param, ours[:FIRST], theirs[:FIRST], sensor_of(ours, header)


def test_all_34_transforms_of_tonic_are_covered():
    names = {n for n in dir(T) if isinstance(getattr(T, n), type) and n[0].isupper()}
    names -= {"Compose", "Callable", "Iterable"}
    covered = set(event_transforms((8, 8, 2), np.array([0, 100]))) | set(FRAME_TRANSFORMS) | set(TARGET_TRANSFORMS)
    assert names == covered and len(covered) == 34


def test_our_arrays_have_tonic_field_order_and_a_signed_polarity(recording):
    _, ours, theirs, _ = recording
    assert ours.dtype.names == theirs.dtype.names == ("x", "y", "t", "p")
    assert ours.dtype == ev.EVENT_DTYPE and np.issubdtype(ours.dtype["p"], np.signedinteger)
    np.testing.assert_array_equal(2 * ours["p"] - 1, 2 * theirs["p"] - 1)
    columns = T.NumpyAsType(int)(ours)
    np.testing.assert_array_equal(columns[:, 2], theirs["t"])  # x, y, t, p: t is column 2


@pytest.mark.parametrize("name", sorted(event_transforms((8, 8, 2), np.array([0, 100]))))
def test_tonic_event_transforms_give_the_same_on_our_arrays(recording, name):
    sample, ours, theirs, sensor = recording
    transform = event_transforms(sensor, theirs["t"])[name]
    np.random.seed(1234)
    expected = transform(theirs.copy())
    np.random.seed(1234)
    got = transform(ours.copy())
    assert_identical(got, expected, f"{name} on {sample}")


def test_tonic_frame_and_target_transforms_give_the_same(recording):
    sample, ours, theirs, sensor = recording
    to_frame, bina = FRAME_TRANSFORMS["ToBinaRep"](sensor)
    assert_identical(bina(to_frame(ours.copy())), bina(to_frame(theirs.copy())), f"ToBinaRep on {sample}")
    for name, transform in TARGET_TRANSFORMS.items():
        assert_identical(transform(np.array([3])), transform(np.array([3])), name)


def test_voxel_grid_needs_a_signed_polarity_which_tonic_bool_layout_lacks(sample_data):
    """tonic's ToVoxelGrid sets p[p == 0] = -1: with tonic's own events_struct (p bool) that writes True, so
    OFF events count as ON, silently; our int8 polarity gives OFF events their -1."""
    events = ev.read_events(sample_data / "events" / "sample_nmnist.bin")
    as_bool = tonic.io.make_structured_array(events["x"], events["y"], events["t"], events["p"],
                                             dtype=tonic.io.events_struct)
    grid = T.ToVoxelGrid(sensor_size=(34, 34, 2), n_time_bins=4)
    ours, theirs = grid(events.copy()), grid(as_bool.copy())
    assert ours.min() < 0 <= theirs.min()  # OFF events subtract in ours, nowhere in the bool layout
