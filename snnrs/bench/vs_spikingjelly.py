"""snnrs against SpikingJelly on CPU (SpikingJelly's own torch backend: its cupy/triton backends need CUDA).

    python benchmarks/vs_spikingjelly.py [--repeats 7]     # needs `pip install spikingjelly`

1. Neurons (T=8, N=2^18, ATan surrogate, float32), forward+backward: SpikingJelly's multi-step
   ``LIFNode``/``IFNode``/``ParametricLIFNode`` vs snnrs's engine; the largest differences of spikes
   and input gradients (the same numbers, up to float32 rounding in the gradient sums).
2. A VGG-style network built twice from the two libraries' layers with the same weights
   (conv3x3-BN-LIF x 4 with pooling, linear readout; T=4, batch 8, 3x32x32): a full training step
   (forward, cross-entropy, backward, SGD), and the largest difference of the outputs.
"""

import argparse
import inspect

import torch
import torch.nn.functional as F
from torch import nn

from snnrs.bench.timing import median_seconds


def _spikingjelly():
    try:
        from spikingjelly.activation_based import functional, layer, neuron, surrogate
    except ImportError as e:
        raise SystemExit(f"snnrs bench vs_spikingjelly: SpikingJelly is not installed ({e}); "
                         "pip install spikingjelly") from None
    return functional, layer, neuron, surrogate


def _torch_backend(sj_class) -> dict:
    """``backend='torch'`` where SpikingJelly's neuron takes a backend (0.0.0.0.14); 2.0 removed the
    argument and picks its kernels by device itself (plain torch on CPU)."""
    return {"backend": "torch"} if "backend" in inspect.signature(sj_class).parameters else {}


def neuron_pairs(sj_neuron, sj_surrogate):
    from snnrs import neuron, surrogate
    yield "LIF", (lambda: sj_neuron.LIFNode(tau=2.0, surrogate_function=sj_surrogate.ATan(), step_mode="m",
                                            **_torch_backend(sj_neuron.LIFNode)),
                  lambda: neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan(), step_mode="m"))
    yield "IF", (lambda: sj_neuron.IFNode(surrogate_function=sj_surrogate.ATan(), step_mode="m",
                                                  **_torch_backend(sj_neuron.IFNode)),
                 lambda: neuron.IFNode(surrogate_function=surrogate.ATan(), step_mode="m"))
    yield "ParametricLIF", (lambda: sj_neuron.ParametricLIFNode(init_tau=2.0, surrogate_function=sj_surrogate.ATan(),
                                                                step_mode="m",
                                                                **_torch_backend(sj_neuron.ParametricLIFNode)),
                            lambda: neuron.ParametricLIFNode(init_tau=2.0, surrogate_function=surrogate.ATan(),
                                                             step_mode="m"))


def time_neuron(make, x, repeats):
    node = make()
    grad = torch.ones_like(x)

    def step():
        xi = x.detach().requires_grad_()
        out = node(xi)
        out.backward(grad)
        node.reset()
        return out.detach(), xi.grad
    out, g = step()
    return median_seconds(step, repeats), out, g


def vgg(conv, bn, lif, pool, flatten, linear, container):
    layers, c = [], 3
    for out, pooled in ((64, False), (128, True), (256, True), (256, True)):
        layers += [conv(c, out), bn(out), lif()]
        if pooled:
            layers.append(pool())
        c = out
    return container(*layers, flatten(), linear(c * 4 * 4, 10))


def networks():
    functional, sj_layer, sj_neuron, sj_surrogate = _spikingjelly()
    from snnrs import layer, neuron, surrogate
    sj = vgg(lambda i, o: sj_layer.Conv2d(i, o, 3, padding=1, bias=False, step_mode="m"),
             lambda o: sj_layer.BatchNorm2d(o, step_mode="m"),
             lambda: sj_neuron.LIFNode(tau=2.0, surrogate_function=sj_surrogate.ATan(), detach_reset=True,
                                       step_mode="m", **_torch_backend(sj_neuron.LIFNode)),
             lambda: sj_layer.MaxPool2d(2, step_mode="m"), lambda: sj_layer.Flatten(step_mode="m"),
             lambda i, o: sj_layer.Linear(i, o, step_mode="m"), nn.Sequential)
    ours = vgg(lambda i, o: layer.Conv2d(i, o, 3, padding=1, bias=False, step_mode="m"),
               lambda o: layer.BatchNorm2d(o, step_mode="m"),
               lambda: neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan(), detach_reset=True, step_mode="m"),
               lambda: layer.MaxPool2d(2, step_mode="m"), lambda: layer.Flatten(step_mode="m"),
               lambda i, o: layer.Linear(i, o, step_mode="m"), nn.Sequential)
    ours.load_state_dict(sj.state_dict())
    return (sj, functional.reset_net), (ours, None)


def time_step(net, reset, x, y, repeats):
    from snnrs import functional
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    reset = reset or functional.reset_net

    def step():
        optimizer.zero_grad(set_to_none=True)
        out = net(x).mean(0)
        F.cross_entropy(out, y).backward()
        optimizer.step()
        reset(net)
        return out.detach()
    return median_seconds(step, repeats)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--neurons", type=int, default=1 << 18)
    args = parser.parse_args(argv)
    _, _, sj_neuron, sj_surrogate = _spikingjelly()
    from importlib.metadata import version as _version
    version = _version("spikingjelly")
    torch.manual_seed(0)
    x = torch.rand(8, args.neurons) * 1.5
    print(f"SpikingJelly {version} (its CPU path) vs snnrs (engine), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; median of {args.repeats}\n")
    print(f"| neuron, T=8, N=2^{args.neurons.bit_length() - 1}, fwd+bwd | SpikingJelly (ms) | snnrs (ms) | speed-up "
          "| max |Δ spikes| | max |Δ grad x| |")
    print("|---|---|---|---|---|---|")
    for name, (make_sj, make_ours) in neuron_pairs(sj_neuron, sj_surrogate):
        t_sj, s_sj, g_sj = time_neuron(make_sj, x, args.repeats)
        t_ours, s_ours, g_ours = time_neuron(make_ours, x, args.repeats)
        print(f"| {name} | {t_sj * 1e3:.1f} | {t_ours * 1e3:.1f} | {t_sj / t_ours:.1f}x | "
              f"{(s_sj - s_ours).abs().max().item():.0f} | {(g_sj - g_ours).abs().max().item():.2e} |", flush=True)
    (sj, sj_reset), (ours, _) = networks()
    xb, yb = torch.rand(4, 8, 3, 32, 32), torch.randint(0, 10, (8,))
    with torch.no_grad():
        diff = (sj(xb) - ours(xb)).abs().max().item()
    sj_reset(sj)
    from snnrs import functional
    functional.reset_net(ours)
    t_sj, t_ours = time_step(sj, sj_reset, xb, yb, args.repeats), time_step(ours, None, xb, yb, args.repeats)
    print(f"\nVGG-style net, T=4, batch 8, 3x32x32, training step: SpikingJelly {t_sj * 1e3:.1f} ms, snnrs "
          f"{t_ours * 1e3:.1f} ms ({t_sj / t_ours:.2f}x); max |Δ output| {diff:.2e}")


if __name__ == "__main__":
    main()
