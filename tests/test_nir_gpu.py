"""Whole NIR graphs on the WebGPU device (``runtime.load(..., device='wgpu')``; lavapipe in CI): the
shared graphs of other tools give what the CPU runtime gives, and a call moves the frames to the device
once and the output back once, every node in between running there."""

import os

import numpy as np
import pytest

from snnrs import gpu, runtime
from tests.nir_helpers import nmnist_1ms_frames


@pytest.fixture(scope="module", autouse=True)
def adapter():
    if not gpu.available():
        if os.environ.get("CI") == "true":
            pytest.fail("no WebGPU adapter in CI (.ci/run installs lavapipe)")
        pytest.skip("no WebGPU adapter on this machine")


# Every NIR graph of the shared sample data, with the dt its tool means.
SHARED = {"cnn_sinabs": 1.0, "lif_norse": 1e-4, "braille_noDelay_bias_zero": 1e-4,
          "braille_noDelay_noBias_subtract": 1e-4}


def _frames(sample_data, name, rt):
    if name == "cnn_sinabs":
        return nmnist_1ms_frames(sample_data)[:120]
    rng = np.random.default_rng(0)
    return (rng.random((40, 3, *rt.input_shape)) < 0.3).astype(np.float32) * 2


def test_the_shared_graphs_are_all_checked(sample_data):
    assert {p.stem for p in (sample_data / "nir").glob("*.nir")} == set(SHARED)


@pytest.mark.parametrize("name", sorted(SHARED))
def test_every_shared_graph_on_the_gpu_equals_the_cpu_runtime(sample_data, name):
    path = sample_data / "nir" / f"{name}.nir"
    cpu, on_device = runtime.load(path, dt=SHARED[name]), runtime.load(path, dt=SHARED[name], device="wgpu")
    x = _frames(sample_data, name, cpu)
    for chunk in (x[:len(x) // 2], x[len(x) // 2:]):  # state carried over from one call to the next
        expected, actual = cpu.run(chunk), on_device.run(chunk)
        assert expected.any()
        assert np.array_equal(actual, expected)


class Transfers:
    """Counts the bytes that cross between host and device, at wgpu's own entry points."""

    def __init__(self, monkeypatch, g):
        self.uploads, self.downloads = [], []
        device, queue = g.device, g.queue
        create, write, read = device.create_buffer_with_data, queue.write_buffer, queue.read_buffer

        def counted_create(*args, **kwargs):
            self.uploads.append(np.asarray(kwargs.get("data", args[0] if args else None)).nbytes)
            return create(*args, **kwargs)

        def counted_write(*args, **kwargs):
            self.uploads.append(-1)
            return write(*args, **kwargs)

        def counted_read(*args, **kwargs):
            data = read(*args, **kwargs)
            self.downloads.append(len(data))
            return data

        monkeypatch.setattr(device, "create_buffer_with_data", counted_create)
        monkeypatch.setattr(queue, "write_buffer", counted_write)
        monkeypatch.setattr(queue, "read_buffer", counted_read)


@pytest.mark.parametrize("name", ["cnn_sinabs", "braille_noDelay_bias_zero"])  # layer by layer; step by step
def test_a_call_uploads_the_frames_once_and_downloads_the_output_once(sample_data, monkeypatch, name):
    path = sample_data / "nir" / f"{name}.nir"
    rt = runtime.load(path, dt=SHARED[name], device="wgpu")
    x = _frames(sample_data, name, rt)[:20]
    first = rt.run(x)  # the first call of a batch size uploads the neurons' parameter tables
    rt.reset()
    transfers = Transfers(monkeypatch, gpu.gpu())
    again = rt.run(x)
    assert np.array_equal(again, first)
    assert transfers.uploads == [x.nbytes]
    assert transfers.downloads == [first.nbytes]


def test_the_runtime_benchmark_prints_cpu_and_gpu_frames_per_second_with_equal_outputs(capsys, monkeypatch):
    from snnrs.bench import runtime as runtime_bench
    monkeypatch.delenv("SNNRS_SAMPLE_DATA", raising=False)  # the paper's layout with random weights
    rows = runtime_bench.main(["--quick"])
    assert [name.split(" ")[0] for name, _, _ in rows] == ["CPU", "wgpu"]
    assert rows[1][2] == "equal"
    assert "| wgpu (" in capsys.readouterr().out
    x, _ = runtime_bench.frames(100, 2)
    assert runtime.Runtime(runtime_bench.paper_layout_graph(), dt=1.0).run(x).sum() > 20  # "equal" is not vacuous
