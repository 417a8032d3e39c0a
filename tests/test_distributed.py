"""snnrs under torch.distributed (gloo, CPU): DistributedDataParallel over two processes gives the
gradients of single-process training on the whole batch, through the engine's custom ops; and
`snnrs train` runs under torchrun."""

import os
import socket
import subprocess
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn

from snnrs import functional, layer, neuron


def _model():
    torch.manual_seed(0)
    # no BatchNorm: per-process batch statistics would (correctly) differ from the whole batch's
    return nn.Sequential(layer.Conv2d(1, 4, 3, padding=1, step_mode="m"), neuron.LIFNode(step_mode="m"),
                         layer.Flatten(step_mode="m"), layer.Linear(4 * 8 * 8, 10, step_mode="m"),
                         neuron.ParametricLIFNode(step_mode="m"))


def _data():
    g = torch.Generator().manual_seed(1)
    return torch.rand(4, 8, 1, 8, 8, generator=g) * 2, torch.randint(0, 10, (8,), generator=g)


def _worker(rank, world, port, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    model = nn.parallel.DistributedDataParallel(_model())
    x, y = _data()
    part = slice(rank * 4, rank * 4 + 4)
    F.cross_entropy(model(x[:, part]).mean(0), y[part]).backward()
    functional.reset_net(model)
    if rank == 0:
        torch.save({n: p.grad for n, p in model.module.named_parameters()}, out)
    dist.barrier()
    dist.destroy_process_group()
    # gloo's threads can abort the interpreter's shutdown ("terminate called without an active
    # exception") after the work is done; leave without running destructors
    os._exit(0)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_gradients_equal_single_process(tmp_path):
    out = tmp_path / "grads.pt"
    mp.spawn(_worker, args=(2, _free_port(), str(out)), nprocs=2, join=True)
    distributed = torch.load(out)
    model = _model()
    x, y = _data()
    F.cross_entropy(model(x).mean(0), y).backward()
    assert all(p.grad.abs().sum() > 0 for p in model.parameters())
    for name, p in model.named_parameters():
        assert torch.allclose(distributed[name], p.grad, rtol=1e-5, atol=1e-7), name


def test_snnrs_train_runs_under_torchrun(tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
           str(_free_port()), "-m", "snnrs.cli", "train", "--epochs", "2", "--no-progress", "--out", str(tmp_path)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("test accuracy") == 1  # rank 0 reports
    assert "2 processes" in result.stdout
    assert (tmp_path / "best.pt").is_file() and (tmp_path / "model.nir").is_file()
