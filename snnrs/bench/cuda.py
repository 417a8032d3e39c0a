"""The CUDA path (Triton kernels) against SpikingJelly 2.0, a torch loop and torch.compile, on one GPU.

    python benchmarks/cuda.py [--repeats 10] [--sections lif,on,train] [--steps 4 8 32 128]
                              [--neurons 16 20 22] [--compile-max-steps 128] [--quick] [--smoke]

Three tables, measured in one run on the same device:

- ``lif``: multi-step LIF (tau 2, hard reset, ATan), forward (as in training: H and the spike bits are
  kept) and forward+backward, at each T and N (``--neurons`` as powers of two), as ns per
  neuron-step: snnrs's kernels called directly, snnrs's ``LIFNode`` (autograd), SpikingJelly 2.0's
  ``LIFNode`` (it picks native CUDA, else Triton, else torch; the header says which ran), the
  per-step torch loop (snnrs ``backend='torch'``) and ``torch.compile`` of that loop; the kernels'
  bytes against the HBM bound (bytes moved ÷ the bandwidth of a device-to-device copy measured here).
- ``on``: the Open Neuromorphic benchmark: Linear(16384, 16384) + LIF, batch 16, T=500,
  forward+backward: time and peak memory allocated, snnrs vs SpikingJelly vs the torch loop.
- ``train``: training steps (forward, cross-entropy, backward, SGD, reset) of SEW ResNet-18 and
  Spikformer 2-256 at batch 32, T=4, 3x32x32: snnrs vs SpikingJelly 2.0 vs snnrs's torch loop.

A measurement that fails (out of memory, a missing peer) shows it in its cell and the run goes on; the
failures are listed at the end and the run then raises (exit status 1). ``--smoke`` runs tiny sizes, and
without a GPU runs the kernels on CPU tensors in triton's interpreter: it checks this script, it measures
nothing worth reading.
"""

import argparse
import contextlib
import gc
import importlib.metadata
import os

import torch
import torch.nn.functional as F

from snnrs import cuda, functional, neuron, surrogate
from snnrs.bench import train_step
from snnrs.bench.timing import median_seconds

# Bytes the kernels move per neuron-step in float32. Forward for training: reads x, writes the spikes
# and H (4 B each) and the packed spike bits (1/8 B). Backward: reads grad spikes, H and the bits,
# writes grad x. The state (v once per neuron) is left out: T steps dwarf it.
FORWARD_BYTES = 12 + 1 / 8
BACKWARD_BYTES = 12 + 1 / 8
TAU = 2.0
SECTIONS = ("lif", "on", "train")


class Failures:
    """The measurements that failed, each shown in its cell and listed at the end."""

    def __init__(self):
        self.errors = []

    def attempt(self, label, fn, *args):
        # any Exception: triton's compile errors are not RuntimeErrors, and one failed cell must not end a
        # run on a GPU lent for minutes
        try:
            return fn(*args)
        except Exception as e:  # shown in the cell, listed and raised at the end
            self.errors.append(f"{label}: {type(e).__name__}: {e}")
            e.__traceback__ = None  # the failing frames' tensors (a 1 GiB Linear) must not outlive the cell
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            return e


def _cell(value, fmt):
    if isinstance(value, BaseException):
        return "out of memory" if isinstance(value, torch.cuda.OutOfMemoryError) else f"failed ({type(value).__name__})"
    return "-" if value is None else fmt(value)


class Device:
    def __init__(self, device: torch.device, repeats: int):
        self.device, self.repeats = device, repeats

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def seconds(self, fn, repeats=None) -> float:
        def run():
            fn()
            self.sync()
        return median_seconds(run, repeats or self.repeats, warmup=2)

    def name(self) -> str:
        if self.device.type == "cuda":
            return torch.cuda.get_device_name(self.device)
        return "CPU tensors in triton's interpreter (--smoke: not a measurement)"

    def copy_bandwidth(self, nbytes: int) -> float:
        """Read+write bytes/s of a device-to-device copy (the driver's tuned copy): the HBM yardstick."""
        src = torch.empty(nbytes // 4, device=self.device)
        dst = torch.empty_like(src)
        return 2 * src.nbytes / self.seconds(lambda: dst.copy_(src))

    def peak_bytes(self, fn) -> int | None:
        """Peak bytes allocated while fn runs (after a warm-up call), CUDA only."""
        if self.device.type != "cuda":
            return None
        fn()
        self.sync()
        torch.cuda.reset_peak_memory_stats(self.device)
        fn()
        self.sync()
        return torch.cuda.max_memory_allocated(self.device)


# ---- LIF at each T and N -------------------------------------------------------------------------------

def _our_lif(backend):
    return neuron.LIFNode(tau=TAU, v_reset=0.0, surrogate_function=surrogate.ATan(), step_mode="m", backend=backend)


def _sj_lif():
    from spikingjelly.activation_based import neuron as sjn
    from spikingjelly.activation_based import surrogate as sjs
    return sjn.LIFNode(tau=TAU, v_reset=0.0, surrogate_function=sjs.ATan(), step_mode="m")


def _module_passes(node, reset, x, grad):
    """(forward, forward+backward) closures of a multi-step neuron module on x."""
    def forward():
        node(x)
        reset(node)

    def both():
        x.grad = None
        node(x).backward(grad)
        reset(node)
    return forward, both


def _kernel_passes(x, grad):
    kwargs = dict(neuron="lif", params=[TAU])

    def forward():
        return cuda.neuron_forward(x, **kwargs)

    def both():
        _, _, h_seq, bits, _ = forward()
        cuda.neuron_backward(grad, h_seq, bits, **kwargs, surrogate="ATan", surrogate_params=[2.0])
    return forward, both


def _sj_reset(net):
    from spikingjelly.activation_based import functional as sjf
    sjf.reset_net(net)


def _lif_contenders(compile_loop: bool):
    """name -> (x, grad) -> (forward, both); each library's modules reset by its own reset_net."""
    def module(make, reset=functional.reset_net):
        return lambda x, grad: _module_passes(make().to(x.device), reset, x, grad)

    contenders = {"snnrs kernels": lambda x, grad: _kernel_passes(x.detach(), grad),
                  "snnrs LIFNode": module(lambda: _our_lif("engine")),
                  "SJ 2.0 LIFNode": module(_sj_lif, _sj_reset),
                  "torch loop": module(lambda: _our_lif("torch"))}
    if compile_loop:
        def compiled():
            # a fresh dynamo state per (T, N): its recompile limit must not turn this column into eager numbers
            torch._dynamo.reset()
            return torch.compile(_our_lif("torch"))
        contenders["torch.compile loop"] = module(compiled)
    return contenders


def lif_table(dev: Device, steps_list, log2_neurons, compile_max_steps, bandwidth, failures):
    names = list(_lif_contenders(True))
    print("ns per neuron-step (median); `SJ / snnrs`: SpikingJelly's time over snnrs LIFNode's; "
          "`of bound`: the HBM-bound time over the kernels' time\n")
    print("| T | N | pass | " + " | ".join(names) + " | SJ / snnrs | kernels GB/s | of bound |")
    print("|---|---|---|" + "---|" * (len(names) + 3))
    for steps in steps_list:
        for log2 in log2_neurons:
            n = 1 << log2
            gen = torch.Generator(device=dev.device).manual_seed(0)
            x = (torch.randn(steps, n, device=dev.device, generator=gen) + 0.6).requires_grad_()
            grad = torch.ones(steps, n, device=dev.device)
            times = {}
            for name, make in _lif_contenders(steps <= compile_max_steps).items():
                passes = failures.attempt(f"{name} T={steps} N=2^{log2}", make, x, grad)
                if isinstance(passes, BaseException):
                    times[name] = (passes, passes)
                    continue
                times[name] = tuple(failures.attempt(f"{name} T={steps} N=2^{log2}", dev.seconds, p) for p in passes)
            for i, (label, nbytes) in enumerate((("fwd", FORWARD_BYTES), ("fwd+bwd", FORWARD_BYTES + BACKWARD_BYTES))):
                per_step = 1e9 / (steps * n)
                cells = [_cell(times[name][i] if name in times else None, lambda s, k=per_step: f"{s * k:.3f}")
                         for name in names]
                ours, sj, kernel = (times[k][i] for k in ("snnrs LIFNode", "SJ 2.0 LIFNode", "snnrs kernels"))
                ratio = f"{sj / ours:.2f}x" if all(isinstance(v, float) for v in (ours, sj)) else "-"
                if isinstance(kernel, float):
                    moved = nbytes * steps * n
                    rate = f"{moved / kernel / 1e9:.0f} | {moved / bandwidth / kernel:.2f}"
                else:
                    rate = "- | -"
                print(f"| {steps} | 2^{log2} | {label} | " + " | ".join(cells) + f" | {ratio} | {rate} |", flush=True)


# ---- the Open Neuromorphic benchmark ---------------------------------------------------------------------

def _on_step(dev: Device, make, reset, x, neurons):
    torch.manual_seed(0)
    linear = torch.nn.Linear(neurons, neurons).to(dev.device)
    lif = make().to(dev.device)

    def step():
        out = lif(linear(x))
        out.backward(torch.ones_like(out))
        linear.zero_grad(set_to_none=True)
        reset(lif)
    return step


def on_table(dev: Device, neurons, batch, steps, failures):
    print(f"Linear({neurons}, {neurons}) + LIF, batch {batch}, T={steps}, forward+backward: median ms and peak "
          "memory allocated during a pass (weights and input included)\n")
    print("| library | ms | peak MiB | time vs snnrs | memory vs snnrs |")
    print("|---|---|---|---|---|")
    x = torch.rand(steps, batch, neurons, device=dev.device)
    results = {}
    contenders = (("snnrs", lambda: _our_lif("engine"), functional.reset_net), ("SJ 2.0", _sj_lif, _sj_reset),
                  ("torch loop", lambda: _our_lif("torch"), functional.reset_net))
    for name, make, reset in contenders:
        step = failures.attempt(f"{name} (Open Neuromorphic)", _on_step, dev, make, reset, x, neurons)
        if isinstance(step, BaseException):
            results[name] = (step, step)
            continue
        results[name] = (failures.attempt(f"{name} (Open Neuromorphic)", dev.seconds, step),
                         failures.attempt(f"{name} (Open Neuromorphic, memory)", dev.peak_bytes, step))
    ours_t, ours_m = results["snnrs"]
    for name, (t, m) in results.items():
        vs_t = f"{t / ours_t:.2f}x" if isinstance(t, float) and isinstance(ours_t, float) else "-"
        vs_m = f"{m / ours_m:.2f}x" if isinstance(m, int) and isinstance(ours_m, int) else "-"
        print(f"| {name} | {_cell(t, lambda s: f'{s * 1e3:.1f}')} | {_cell(m, lambda b: f'{b / 2**20:.0f}')} | "
              f"{vs_t} | {vs_m} |", flush=True)


# ---- training steps --------------------------------------------------------------------------------------

def _train_step(dev: Device, make, reset, batch, steps, image):
    torch.manual_seed(0)
    net = make().to(dev.device)
    x = torch.rand(steps, batch, 3, image, image, device=dev.device)
    y = torch.randint(0, train_step.CLASSES, (batch,), device=dev.device)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def step():
        optimizer.zero_grad(set_to_none=True)
        out = net(x)
        F.cross_entropy((out.mean(0) if out.dim() == 3 else out).float(), y).backward()
        optimizer.step()
        reset(net)
    return step


def train_table(dev: Device, nets, batch, steps, image, failures):
    builds = {}
    makers = {"SJ 2.0": train_step._sj_networks, "snnrs": lambda: train_step._our_networks("engine"),
              "torch loop": lambda: train_step._our_networks("torch")}
    for label, make in makers.items():
        made = failures.attempt(f"{label} networks", make)
        if not isinstance(made, BaseException):
            builds[label] = made[:2]
    if "snnrs" not in builds:
        return
    labels = list(builds)
    print(f"training step (forward, cross-entropy, backward, SGD, reset), batch {batch}, T={steps}, "
          f"3x{image}x{image}: median ms\n")
    print("| network | " + " | ".join(labels) + " | SJ / snnrs |")
    print("|---|" + "---|" * (len(labels) + 1))
    for net_name in nets:
        times = {}
        for label, (makers, reset) in builds.items():
            where = f"{label} {train_step.NAMES[net_name]}"
            step = failures.attempt(where, _train_step, dev, makers[net_name], reset, batch, steps, image)
            times[label] = step if isinstance(step, BaseException) else failures.attempt(where, dev.seconds, step)
        ours, sj = times["snnrs"], times.get("SJ 2.0")
        ratio = f"{sj / ours:.2f}x" if isinstance(ours, float) and isinstance(sj, float) else "-"
        print(f"| {train_step.NAMES[net_name]} | " + " | ".join(_cell(times[k], lambda s: f"{s * 1e3:.1f}")
                                                              for k in labels) + f" | {ratio} |", flush=True)


def _sj_implementation(device) -> str:
    """What SpikingJelly 2.0 runs its LIF with here (it picks native CUDA, then Triton, then torch)."""
    requested = os.environ.get("SJ_LIF_CUDA_IMPLEMENTATION", "auto")
    try:
        from spikingjelly.activation_based import functional as sjf
        chosen = sjf.neuron_implementation("lif", device).get("implementation")
    except Exception as e:  # reported, not fatal: the SJ cells show their own failures
        return f"unknown ({type(e).__name__}: {e}); SJ_LIF_CUDA_IMPLEMENTATION={requested}"
    return f"{chosen} (SJ_LIF_CUDA_IMPLEMENTATION={requested})"


def _versions() -> str:
    found = []
    for package in ("torch", "triton", "spikingjelly"):
        try:
            found.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{package} not installed")
    return ", ".join(found)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed repeats per measurement (median)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated: {', '.join(SECTIONS)}")
    parser.add_argument("--steps", type=int, nargs="+", default=[4, 8, 32, 128], help="T of the LIF table")
    parser.add_argument("--neurons", type=int, nargs="+", default=[16, 20, 22],
                        help="N of the LIF table, as powers of two")
    parser.add_argument("--compile-max-steps", type=int, default=128,
                        help="torch.compile the loop only up to this T (it unrolls T steps: compile time grows)")
    parser.add_argument("--nets", default="sew,spikformer", help="training steps of: sew, spikformer")
    parser.add_argument("--batch", type=int, default=32, help="batch of the training steps")
    parser.add_argument("--quick", action="store_true", help="LIF at T=8, 32 and N=2^20, 2^22 only")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes (without a GPU: CPU tensors in triton's interpreter); checks the script")
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"--sections: unknown {sorted(unknown)}; expected some of {list(SECTIONS)}")
    nets = [n.strip() for n in args.nets.split(",") if n.strip()]
    if set(nets) - {"sew", "spikformer"}:
        parser.error(f"--nets: unknown {sorted(set(nets) - {'sew', 'spikformer'})}; expected sew, spikformer")
    args.nets = nets
    for name in ("repeats", "batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name}: expected a positive integer, got {getattr(args, name)}")
    if args.quick:
        args.steps, args.neurons = [8, 32], [20, 22]
    on_gpu = torch.cuda.is_available()
    if not on_gpu and not args.smoke:
        raise RuntimeError("no CUDA device here (torch.cuda.is_available() is False): nothing measured; --smoke "
                           "runs this script on CPU tensors in triton's interpreter")
    if on_gpu and not cuda.available():
        raise ImportError("triton is not installed (it ships with the CUDA builds of torch)")
    context = contextlib.nullcontext() if on_gpu else cuda.interpreter(cpu_tensors=True)
    with context:
        failed = _run(args, sections, torch.device("cuda" if on_gpu else "cpu"))
    if failed:
        raise RuntimeError(f"{len(failed)} measurement(s) failed (listed above): {failed[0]}")


def _run(args, sections, device) -> list[str]:
    dev = Device(device, args.repeats)
    failures = Failures()
    if args.smoke:
        args.steps, args.neurons = [2], [6]
    bandwidth = dev.copy_bandwidth(8 << 20 if args.smoke else 1 << 30)
    print(f"device: {dev.name()}; {_versions()}; SpikingJelly's LIF: {_sj_implementation(device)}; "
          f"device-to-device copy (read+write) {bandwidth / 1e9:.0f} GB/s; float32\n")
    if "lif" in sections:
        print("## LIF forward and forward+backward\n")
        lif_table(dev, args.steps, args.neurons, args.compile_max_steps, bandwidth, failures)
    if "on" in sections:
        print("\n## Open Neuromorphic benchmark\n")
        on_table(dev, *((32, 2, 8) if args.smoke else (16384, 16, 500)), failures)
    if "train" in sections:
        print("\n## Training steps\n")
        # smoke: SEW ResNet-18 on 8x8 images (the interpreter takes seconds per neuron call at 32x32)
        train_table(dev, ["sew"] if args.smoke else args.nets, 1 if args.smoke else args.batch, 4,
                    8 if args.smoke else 32, failures)
    if failures.errors:
        print(f"\n{len(failures.errors)} measurement(s) failed:")
        for error in failures.errors:
            print(f"- {error}")
    return failures.errors


if __name__ == "__main__":
    main()
