"""Full training steps (forward, backward, optimizer) of deep SNNs: engine backend vs torch backend.

    python benchmarks/train_step.py [--repeats 7] [--threads N]

Networks: SEW ResNet-18 (ADD) with LIF and with IF neurons, T=4, 3x32x32 images, batch 8;
Spikformer 2-256 (T=4, 32x32, patch 4, 16 heads), batch 8. Each step is forward, cross-entropy,
backward, SGD step and state reset. Where the time goes: every neuron module's own forward and
backward are replayed alone on the inputs it saw (recorded with hooks), so
``neuron share = Σ neuron time / step time``; the rest is convolutions, matmuls, BN and glue.
Median of ``--repeats`` steps after one warm-up, both backends in the same run.
"""

import argparse

import torch
import torch.nn.functional as F

from snnrs import functional, models, neuron
from snnrs.bench.timing import median_seconds

BATCH = 8


def networks():
    yield "SEW ResNet-18, LIF", lambda backend: models.sew_resnet18(
        num_classes=10, T=4, spiking_neuron=neuron.LIFNode, tau=2.0, detach_reset=True, backend=backend)
    yield "SEW ResNet-18, IF", lambda backend: models.sew_resnet18(
        num_classes=10, T=4, spiking_neuron=neuron.IFNode, detach_reset=True, backend=backend)
    yield "Spikformer 2-256", lambda backend: models.Spikformer(
        img_size=32, patch_size=4, embed_dim=256, num_heads=16, depths=2, T=4, num_classes=10, backend=backend)


def step_fn(net, x, y, optimizer):
    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()
        functional.reset_net(net)
    return step


def neuron_inputs(net, x):
    """(neuron module, the input it saw) for every neuron call of one forward pass."""
    seen = []
    handles = [m.register_forward_hook(lambda m, i, o: seen.append((m, i[0].detach().clone())))
               for m in net.modules() if isinstance(m, neuron.BaseNode)]
    with torch.no_grad():
        net(x)
    functional.reset_net(net)
    for h in handles:
        h.remove()
    return seen


def neuron_seconds(calls, repeats):
    """Σ over neuron calls of one forward + backward of that neuron alone."""
    inputs = [(m, x.requires_grad_()) for m, x in calls]

    def run_all():
        for m, x in inputs:
            out = m(x)
            out.backward(torch.ones_like(out))
            m.reset()
            x.grad = None
    return median_seconds(run_all, repeats)


def measure(make, backend, repeats):
    torch.manual_seed(0)
    net = make(backend)
    x, y = torch.rand(BATCH, 3, 32, 32), torch.randint(0, 10, (BATCH,))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    step = median_seconds(step_fn(net, x, y, optimizer), repeats)
    neurons = neuron_seconds(neuron_inputs(net, x), repeats)
    return step, neurons


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; batch {BATCH}, 3x32x32, T=4; "
          f"median of {args.repeats} steps (ms)\n")
    print("| network | torch step | engine step | speed-up | torch: neurons | engine: neurons "
          "| rest (torch / engine) |")
    print("|---|---|---|---|---|---|---|")
    for name, make in networks():
        t_step, t_neurons = measure(make, "torch", args.repeats)
        e_step, e_neurons = measure(make, "engine", args.repeats)
        print(f"| {name} | {t_step * 1e3:.1f} | {e_step * 1e3:.1f} | {t_step / e_step:.2f}x | "
              f"{t_neurons * 1e3:.1f} ({t_neurons / t_step:.0%}) | {e_neurons * 1e3:.1f} ({e_neurons / e_step:.0%}) | "
              f"{(t_step - t_neurons) * 1e3:.1f} / {(e_step - e_neurons) * 1e3:.1f} |", flush=True)


if __name__ == "__main__":
    main()
