"""Full training steps of deep SNNs: SpikingJelly vs snnrs's torch path vs snnrs's fast path.

    python benchmarks/train_step.py [--repeats 5] [--batch 8 32] [--nets sew,vgg,spikformer]
                                    [--precision fp32 bf16] [--threads N] [--quick]

Networks (T=4, 3x32x32 images, 10 classes): SEW ResNet-18 (LIF tau 2, ADD), spiking VGG-11-BN
(LIF) and Spikformer 2-256 (16 heads, patch 4). Each step is forward, cross-entropy on the mean
over T, backward, SGD (momentum 0.9) and state reset. Three builds of each network, timed in the
same run, median of ``--repeats`` steps after two warm-up steps:

- ``SJ``: SpikingJelly 2.0's own model (when installed; its CPU path);
- ``torch``: snnrs's model with ``backend='torch'`` neurons and torch's dense convolutions;
- ``fast``: snnrs's default (engine neurons, spike-sparse synapses, kernels on torch's threads).

``--precision bf16`` runs the same steps under ``torch.autocast("cpu", dtype=torch.bfloat16)``.
Where the time goes, per build: one profiled step split into convolutions and matrix products
(``conv``), BatchNorm (``BN``), neurons (replayed alone on the inputs they saw, forward and
backward) and the rest (elementwise, pooling, optimizer, glue).
"""

import argparse
import contextlib
import importlib.util

import torch
import torch.nn.functional as F

from snnrs import functional, models, neuron
from snnrs.bench.timing import median_seconds
from snnrs.ops import synapse
from snnrs.ops.host import cpu_computes_natively

CLASSES = 10


def _sj_networks():
    from spikingjelly.activation_based import functional as sjf
    from spikingjelly.activation_based import neuron as sjn
    from spikingjelly.activation_based import surrogate as sjs
    from spikingjelly.activation_based.model import sew_resnet, spikformer, spiking_vgg

    def multi(net):
        sjf.set_step_mode(net, "m")
        return net

    lif = dict(tau=2.0, detach_reset=True, surrogate_function=sjs.ATan())
    return {
        "sew": lambda: multi(sew_resnet.sew_resnet18(num_classes=CLASSES, cnf="ADD", spiking_neuron=sjn.LIFNode,
                                                     **lif)),
        "vgg": lambda: multi(spiking_vgg.spiking_vgg11_bn(num_classes=CLASSES, spiking_neuron=sjn.LIFNode, **lif)),
        "spikformer": lambda: spikformer.Spikformer(T=4, img_size_h=32, img_size_w=32, patch_size=4,
                                                    embed_dims=256, num_heads=16, depths=2, num_classes=CLASSES),
    }, sjf.reset_net, (sjn.BaseNode,)


def _our_networks(backend: str):
    lif = dict(tau=2.0, detach_reset=True, backend=backend)
    return {
        "sew": lambda: models.sew_resnet18(num_classes=CLASSES, cnf="ADD", spiking_neuron=neuron.LIFNode,
                                           return_sequence=True, **lif),
        "vgg": lambda: models.spiking_vgg11_bn(num_classes=CLASSES, spiking_neuron=neuron.LIFNode,
                                               return_sequence=True, **lif),
        "spikformer": lambda: models.Spikformer(img_size=32, patch_size=4, embed_dim=256, num_heads=16, depths=2,
                                                T=4, num_classes=CLASSES, return_sequence=True, backend=backend),
    }, functional.reset_net, (neuron.BaseNode,)


NAMES = {"sew": "SEW ResNet-18", "vgg": "spiking VGG-11-BN", "spikformer": "Spikformer 2-256"}


@contextlib.contextmanager
def _synapses(enabled: bool):
    before = synapse.ENABLED
    synapse.ENABLED = enabled
    try:
        yield
    finally:
        synapse.ENABLED = before


class Build:
    def __init__(self, label, make, reset, neuron_types, synapses):
        self.label, self.make, self.reset, self.neuron_types, self.synapses = (
            label, make, reset, neuron_types, synapses)


def _logits(out: torch.Tensor) -> torch.Tensor:
    return out.mean(0) if out.dim() == 3 else out


def _step(net, reset, x, y, optimizer, bf16: bool):
    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = _logits(net(x))
        F.cross_entropy(out.float(), y).backward()
        optimizer.step()
        reset(net)
    return step


def _neuron_seconds(net, neuron_types, reset, x, bf16, repeats):
    """Σ over neuron calls of one forward + backward of that neuron alone, on the input it saw."""
    seen = []
    handles = [m.register_forward_hook(lambda m, i, o: seen.append((m, i[0].detach().clone())))
               for m in net.modules() if isinstance(m, neuron_types)]
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        net(x)
    reset(net)
    for h in handles:
        h.remove()
    calls = [(m, xi.requires_grad_()) for m, xi in seen]

    def run_all():
        for m, xi in calls:
            out = m(xi)
            out.backward(torch.ones_like(out))
            m.reset()
            xi.grad = None
    return median_seconds(run_all, repeats)


_CONV_OPS = ("conv", "synapse", "addmm", "mm", "matmul", "linear", "bmm")


def _profile_split(step) -> tuple[float, float]:
    """(seconds in convolutions and matrix products, seconds in BatchNorm) of one step (self time)."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    conv = bn = 0.0
    for event in prof.key_averages():
        name = event.key.lower()
        seconds = event.self_cpu_time_total / 1e6
        if "batch_norm" in name:
            bn += seconds
        elif any(op in name for op in _CONV_OPS) and "neuron" not in name:
            conv += seconds
    return conv, bn


def measure(build: Build, net_name: str, batch: int, bf16: bool, repeats: int) -> dict:
    with _synapses(build.synapses):
        torch.manual_seed(0)
        net = build.make()
        x, y = torch.rand(4, batch, 3, 32, 32), torch.randint(0, CLASSES, (batch,))
        optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        step = _step(net, build.reset, x, y, optimizer, bf16)
        seconds = median_seconds(step, repeats, warmup=2)
        conv, bn = _profile_split(step)
        neurons = _neuron_seconds(net, build.neuron_types, build.reset, x, bf16, max(1, repeats // 2))
    return {"step": seconds, "conv": conv, "bn": bn, "neurons": neurons}


def _builds(sj_available: bool) -> dict[str, dict[str, Build]]:
    """{label: {net: Build}}"""
    out = {}
    if sj_available:
        nets, reset, types = _sj_networks()
        out["SJ"] = {k: Build("SJ", make, reset, types, False) for k, make in nets.items()}
    for label, backend, synapses in (("torch", "torch", False), ("fast", "engine", True)):
        nets, reset, types = _our_networks(backend)
        out[label] = {k: Build(label, make, reset, types, synapses) for k, make in nets.items()}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--nets", default="sew,vgg,spikformer", help="comma-separated: sew, vgg, spikformer")
    parser.add_argument("--precision", nargs="+", default=None, choices=["fp32", "bf16"],
                        help="default: fp32, and bf16 where the CPU computes in bfloat16 natively")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--quick", action="store_true", help="SEW ResNet-18 at batch 8 only")
    args = parser.parse_args(argv)
    if args.quick:
        args.nets, args.batch = "sew", [8]
    if args.threads:
        torch.set_num_threads(args.threads)
    nets = [n.strip() for n in args.nets.split(",") if n.strip()]
    unknown = set(nets) - set(NAMES)
    if unknown:
        parser.error(f"--nets: unknown {sorted(unknown)}; expected some of {list(NAMES)}")
    precisions = args.precision
    if precisions is None:
        precisions = ["fp32", "bf16"] if cpu_computes_natively(torch.bfloat16) else ["fp32"]
        if "bf16" not in precisions:
            print("bf16 left out: this CPU has no native bfloat16 arithmetic (no avx512_bf16/amx_bf16), where torch "
                  "computes bfloat16 convolutions 10-100x slower than float32; ask for it with --precision bf16\n")
    sj_available = importlib.util.find_spec("spikingjelly") is not None
    if not sj_available:
        print("SpikingJelly is not installed: its column is left out (pip install spikingjelly)\n")
    builds = _builds(sj_available)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; T=4, 3x32x32; median of {args.repeats} "
          "steps (ms); split of each step: conv / BN / neurons / rest (ms)\n")
    labels = list(builds)
    print("| network | batch | precision | " + " | ".join(f"{b} step" for b in labels)
          + " | fast vs " + " / ".join(b for b in labels if b != "fast") + " | "
          + " | ".join(f"{b}: conv/BN/neurons/rest" for b in labels) + " |")
    print("|---|---|---|" + "---|" * (2 * len(labels) + 1))
    for net_name in nets:
        for batch in args.batch:
            for precision in precisions:
                results = {label: measure(builds[label][net_name], net_name, batch, precision == "bf16",
                                          args.repeats) for label in labels}
                fast = results["fast"]["step"]
                ratios = " / ".join(f"{results[b]['step'] / fast:.2f}x" for b in labels if b != "fast")
                splits = []
                for b in labels:
                    r = results[b]
                    rest = r["step"] - r["conv"] - r["bn"] - r["neurons"]
                    splits.append(f"{r['conv'] * 1e3:.0f}/{r['bn'] * 1e3:.0f}/{r['neurons'] * 1e3:.0f}/"
                                  f"{rest * 1e3:.0f}")
                print(f"| {NAMES[net_name]} | {batch} | {precision} | "
                      + " | ".join(f"{results[b]['step'] * 1e3:.1f}" for b in labels)
                      + f" | {ratios} | " + " | ".join(splits) + " |", flush=True)


if __name__ == "__main__":
    main()
