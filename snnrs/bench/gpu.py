"""GPU kernel time of the multi-step LIF (WGSL through wgpu-py) with resident buffers, against
the CPU engine and, when torch sees CUDA, a torch eager loop on the same GPU.

    python benchmarks/gpu.py [--repeats 20] [--quick]

For T in {8, 32} and N in {2^20, 2^22}, forward and forward+backward: ns per neuron-step of
each path, and the GPU kernels' achieved bytes/s against the device's copy bandwidth
(measured here with a plain vec4 copy kernel). GPU times come from many dispatches recorded in
one submission, so no upload, download or per-call Python is counted. Sizes past the device's
storage-binding limit are reported as such. Runs unattended in a few minutes; prints one table.
"""

import argparse

import numpy as np
import torch

from snnrs import _engine, gpu
from snnrs.bench.timing import median_seconds
from snnrs.gpu.device import WORKGROUP_SIZE, dispatch_shape
from snnrs.gpu.neuron import _params

# Bytes each kernel moves per neuron-step (float32): forward reads x and writes spikes and H;
# backward reads H, spikes and grad_spikes and writes grad_x.
FORWARD_BYTES = 12
BACKWARD_BYTES = 16


def copy_bandwidth(g, nbytes, repeats):
    """Read+write bytes/s of a plain vec4 copy kernel (shaders/copy.wgsl), dispatched like the
    neuron kernels, so the ratio compares like with like."""
    count = nbytes // 16
    src, dst = g.empty(nbytes), g.empty(nbytes)
    params = g.uniform(np.array([count, dispatch_shape(count)[0] * WORKGROUP_SIZE, 0, 0], np.uint32))

    def copies():
        g.run("copy", [params, src, dst], count, includes=(), repeats=repeats)
        g.wait()
    seconds = median_seconds(copies, 3) / repeats
    return 2 * count * 16 / seconds


def torch_copy_bandwidth(nbytes, repeats):
    """Read+write bytes/s of torch's device-to-device copy (the CUDA driver's tuned copy)."""
    src = torch.empty(nbytes // 4, device="cuda")
    dst = torch.empty_like(src)

    def copies():
        for _ in range(repeats):
            dst.copy_(src)
        torch.cuda.synchronize()
    return 2 * nbytes / (median_seconds(copies, 3) / repeats)


def gpu_times(g, steps, n, repeats):
    x = np.random.default_rng(0).normal(0.6, 1.0, (steps, n)).astype(np.float32)
    fwd = _params(steps, n, "lif", [2.0], True, 1.0, 0.0, 0)
    bwd = _params(steps, n, "lif", [2.0], True, 1.0, 0.0, 32, "ATan", [2.0])
    dummy = g.buffer(np.zeros(1, np.float32))
    xb, spikes, h_seq = g.buffer(x), g.empty(x.nbytes), g.empty(x.nbytes)
    forward = [g.uniform(fwd), xb, dummy, spikes, h_seq, g.empty(4), g.empty(4 * n)]
    backward = [g.uniform(bwd), h_seq, spikes, g.buffer(np.ones_like(x)), dummy, dummy, dummy, dummy,
                g.empty(x.nbytes), g.empty(4 * n), g.empty(4 * n)]

    def run(kernel, buffers):
        def go():
            g.run(kernel, buffers, n, repeats=repeats)
            g.wait()
        return median_seconds(go, 3) / repeats
    t_fwd = run("neuron_forward", forward)
    t_bwd = run("neuron_backward", backward)
    return t_fwd, t_fwd + t_bwd


def engine_times(steps, n, repeats):
    x = np.random.default_rng(0).normal(0.6, 1.0, (steps, n)).astype(np.float32)
    grad = np.ones_like(x)
    kwargs = dict(neuron="lif", params=[2.0])
    t_fwd = median_seconds(lambda: _engine.neuron_forward(x, **kwargs), repeats)
    _, _, h, bits, _ = _engine.neuron_forward(x, **kwargs)
    t_bwd = median_seconds(lambda: _engine.neuron_backward(grad, h, bits, **kwargs, surrogate="ATan",
                                                 surrogate_params=[2.0]), repeats)
    return t_fwd, t_fwd + t_bwd


def torch_cuda_times(steps, n, repeats):
    from snnrs import neuron
    x = (torch.rand(steps, n, device="cuda") * 1.5).requires_grad_()
    node = neuron.LIFNode(step_mode="m", backend="torch")

    def fwd():
        with torch.no_grad():
            node(x)
        node.reset()
        torch.cuda.synchronize()

    def both():
        x.grad = None
        node(x).sum().backward()
        node.reset()
        torch.cuda.synchronize()
    return median_seconds(fwd, repeats), median_seconds(both, repeats)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="dispatches per timed submission")
    parser.add_argument("--quick", action="store_true", help="T=8, N=2^20 only (for software devices)")
    args = parser.parse_args(argv)
    g = gpu.gpu()
    bandwidth = copy_bandwidth(g, min(256 << 20, g.max_binding_bytes), args.repeats)
    cuda = torch.cuda.is_available()
    copy_note = f"WGSL copy {bandwidth / 1e9:.1f} GB/s"
    if cuda:
        # The yardstick is the faster of the two copies: a weak WGSL copy must not flatter the kernels.
        cuda_bandwidth = torch_copy_bandwidth(min(256 << 20, g.max_binding_bytes), args.repeats)
        copy_note += f", torch CUDA copy {cuda_bandwidth / 1e9:.1f} GB/s"
        bandwidth = max(bandwidth, cuda_bandwidth)
    print(f"device: {g.name}; copy bandwidth (read+write): {copy_note}; LIF (ATan), float32; "
          f"ns per neuron-step; GPU: median of 3 submissions of {args.repeats} dispatches\n")
    print("| T | N | pass | wgpu | CPU engine | engine / wgpu | torch CUDA | torch / wgpu | wgpu GB/s | of copy bw |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    sizes = [(8, 1 << 20)] if args.quick else [(8, 1 << 20), (8, 1 << 22), (32, 1 << 20), (32, 1 << 22)]
    for steps, n in sizes:
        cells = steps * n
        if cells * 4 > g.max_binding_bytes:
            print(f"| {steps} | 2^{n.bit_length() - 1} | - | exceeds the device's {g.max_binding_bytes >> 20} MiB "
                  "binding limit | | | | | | |")
            continue
        gf, gb = gpu_times(g, steps, n, args.repeats)
        ef, eb = engine_times(steps, n, 3)
        tf, tb = torch_cuda_times(steps, n, 5) if cuda else (None, None)
        for name, tg, te, tt, nbytes in (("fwd", gf, ef, tf, FORWARD_BYTES),
                                         ("fwd+bwd", gb, eb, tb, FORWARD_BYTES + BACKWARD_BYTES)):
            rate = nbytes * cells / tg
            torch_cols = (f"{tt / cells * 1e9:.3f} | {tt / tg:.1f}x" if tt else "- | -")
            print(f"| {steps} | 2^{n.bit_length() - 1} | {name} | {tg / cells * 1e9:.3f} | {te / cells * 1e9:.3f} | "
                  f"{te / tg:.1f}x | {torch_cols} | {rate / 1e9:.1f} | {rate / bandwidth:.2f} |", flush=True)


if __name__ == "__main__":
    main()
