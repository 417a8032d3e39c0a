"""Spike-sparse synapses against torch's dense convolution: the crossover in input density.

    python benchmarks/synapse.py [--repeats 5] [--quick]

For the convolutions of SEW ResNet-18 on 32x32 images (batch 8 x T=4 = 32 rows), one of
Spikformer's stem and two Linear layers, with binary inputs of density 1% ... 100%: the synapse
op's forward and weight gradient on each of its two paths (``snnrs.ops.synapse.forced``): the
engine's sparse kernels (``snnrs._engine.sparse_conv_*``) and the dense path (torch's convolution
or matrix product, on the kernel cut to the reached taps), each the median of ``--repeats``.
Prints ``dense / sparse`` (above 1: sparse wins) and, per layer, the
density where sparse stops winning, next to the cost model's ratio ``sparse work / dense work``
at that density (``snnrs.ops.synapse.FORWARD_CROSSOVER`` and ``WEIGHT_GRAD_CROSSOVER`` are set
from these columns).
"""

import argparse

import torch
import torch.nn.functional as F

from snnrs.bench.timing import median_seconds
from snnrs.ops import synapse

# (name, x shape [N, C, H, W], weight shape [O, C, KH, KW], stride, padding)
LAYERS = [
    ("conv 64->64 3x3, 8x8", (32, 64, 8, 8), (64, 64, 3, 3), 1, 1),
    ("conv 128->128 3x3, 4x4", (32, 128, 4, 4), (128, 128, 3, 3), 1, 1),
    ("conv 128->256 3x3 /2, 4x4", (32, 128, 4, 4), (256, 128, 3, 3), 2, 1),
    ("conv 256->256 3x3, 2x2", (32, 256, 2, 2), (256, 256, 3, 3), 1, 1),
    ("conv 256->512 3x3 /2, 2x2", (32, 256, 2, 2), (512, 256, 3, 3), 2, 1),
    ("conv 512->512 3x3, 1x1", (32, 512, 1, 1), (512, 512, 3, 3), 1, 1),
    ("conv 64->128 1x1 /2, 8x8", (32, 64, 8, 8), (128, 64, 1, 1), 2, 0),
    ("conv 64->128 3x3, 32x32", (32, 64, 32, 32), (128, 64, 3, 3), 1, 1),
    ("linear 1024->256", (2048, 1024, 1, 1), (256, 1024, 1, 1), 1, 0),
    ("linear 1024->1024", (256, 1024, 1, 1), (1024, 1024, 1, 1), 1, 0),
]
DENSITIES = (0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 1.0)


def _times(xs, ws, stride, padding, density, repeats):
    """(dense forward, sparse forward, dense weight gradient, sparse weight gradient) in seconds, each
    the synapse op's own path forced, and the cost model's ratio of the two paths' work."""
    torch.manual_seed(0)
    x = (torch.rand(xs) < density).float()
    w = torch.randn(ws) * 0.05
    g = torch.randn_like(F.conv2d(x, w, None, stride, padding))
    config = synapse.ConvConfig([stride] * 2, [padding] * 2, [1, 1], 1)
    nonzero = torch.count_nonzero(x)

    def timed(path, fn):
        with synapse.forced(path), torch.no_grad():
            return median_seconds(fn, repeats)

    def forward():
        synapse._forward(x, w, None, config)

    def weight_grad():
        synapse._backward(g, x, w, nonzero, config, [False, True, False])

    sparse_work, dense_work = synapse._works(x, w, config, int(nonzero))
    return (timed("dense", forward), timed("sparse", forward), timed("dense", weight_grad),
            timed("sparse", weight_grad), sparse_work / dense_work)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="three layers, four densities")
    args = parser.parse_args(argv)
    layers = LAYERS[::3] if args.quick else LAYERS
    densities = (0.03, 0.1, 0.3, 1.0) if args.quick else DENSITIES
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, median of {args.repeats}; "
          "cells: dense ms / sparse ms = speed-up of sparse (forward | weight gradient)\n")
    print("| layer | " + " | ".join(f"{d:.0%}" for d in densities) + " | cost ratio at crossover (fwd, wgrad) |")
    print("|---|" + "---|" * (len(densities) + 1))
    for name, xs, ws, stride, padding in layers:
        cells, crossover = [], {"fwd": None, "wgrad": None}
        for d in densities:
            df, sf, dg, sg, ratio = _times(xs, ws, stride, padding, d, args.repeats)
            cells.append(f"{df * 1e3:.2f}/{sf * 1e3:.2f} = {df / sf:.1f}x \\| {dg * 1e3:.2f}/{sg * 1e3:.2f} = "
                         f"{dg / sg:.1f}x")
            for key, won in (("fwd", df / sf >= 1), ("wgrad", dg / sg >= 1)):
                if not won and crossover[key] is None:
                    crossover[key] = ratio
        fmt = ", ".join("> all" if v is None else f"{v:.2f}" for v in crossover.values())
        print(f"| {name} | " + " | ".join(cells) + f" | {fmt} |", flush=True)


if __name__ == "__main__":
    main()
