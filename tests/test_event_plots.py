"""Pictures of frames: one colour scale for all frames, centred on zero (zero is the background in every panel),
clipped at a percentile so a hot pixel cannot wash the scene out; the GIF and the scatter get written."""

import numpy as np
import pytest

from snnrs.events import plotting


def frames_with_a_hot_pixel():
    rng = np.random.default_rng(0)
    frames = np.zeros((4, 2, 30, 40), np.float32)
    frames[:, 1, 5:25, 10:30] = rng.integers(0, 3, (4, 20, 20))  # ON activity
    frames[:, 0, 5:25, 10:30] = rng.integers(0, 3, (4, 20, 20))  # OFF activity
    frames[0, 1, 0, 0] = 10_000  # a hot pixel in the first frame only
    frames[3] = 0
    frames[3, 0, 10, 10] = 2  # a frame with OFF events only
    return frames


def test_one_symmetric_scale_for_every_panel_with_the_hot_pixel_clipped():
    frames = frames_with_a_hot_pixel()
    fig = plotting.frames_figure(frames, spans_us=[(1_000, 2_000), (2_000, 3_000), (3_000, 4_000), (4_000, 5_000)])
    images = [im for ax in fig.axes for im in ax.get_images()]
    assert len(images) == 4
    limits = {im.get_clim() for im in images}
    assert len(limits) == 1  # shared
    low, high = limits.pop()
    assert low == -high and 1 <= high <= 3  # centred on zero; the hot pixel (10,000) saturates instead
    white = images[0].cmap(0.5)[:3]
    assert min(white) > 0.9  # zero is drawn (nearly) white: the background in every panel
    titles = [ax.get_title() for ax in fig.axes if ax.get_images()]
    assert titles == ["0.0–1.0 ms", "1.0–2.0 ms", "2.0–3.0 ms", "3.0–4.0 ms"]


def test_color_limit_and_shapes_are_checked():
    assert plotting.color_limit(np.zeros((2, 3, 3))) == 1.0
    with pytest.raises(ValueError, match="frames"):
        plotting.signed_frames(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="percentile"):
        plotting.color_limit(np.ones((1, 2, 2)), 0)


def test_gif_and_scatter_are_written(tmp_path, sample_data):
    from snnrs import events as ev
    frames = frames_with_a_hot_pixel()
    assert plotting.save_frames_gif(frames, tmp_path / "f.gif").read_bytes()[:6] == b"GIF89a"
    assert not list(tmp_path.glob("*.partial*"))  # written atomically, nothing left behind
    events = ev.read_events(sample_data / "events" / "sample_nmnist.bin")
    assert plotting.plot_event_scatter(events, tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
