"""``snnrs train``: the main job. With no arguments it trains a spiking CNN on the embedded digits
(real 8x8 scans), then prints the test accuracy, per-layer firing rates and the energy estimate and
writes checkpoints, a NIR graph and plots into ``--out``. ``--dataset NAME --root PATH`` trains on any
dataset class of ``snnrs.datasets`` as frames. Under ``torchrun`` it trains data-parallel (gloo on
CPU, nccl on CUDA); rank 0 prints and writes."""

import os
import time
from pathlib import Path

DATASETS = ("digits", "dvs_digits", "NMNIST", "CIFAR10DVS", "DVS128Gesture", "ASLDVS", "NAVGesture", "NCaltech101",
            "SHD", "SSC")
NEURONS = ("lif", "if", "plif")
MODELS = ("auto", "spiking_cnn", "spiking_mlp")


def add_parser(sub):
    p = sub.add_parser("train", help="train a spiking network (default: a spiking CNN on the embedded digits)",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="digits", choices=DATASETS)
    p.add_argument("--root", type=Path, default=None, help="the dataset's folder (any dataset but digits)")
    p.add_argument("--model", default="auto", choices=MODELS,
                   help="auto: spiking_cnn for images, spiking_mlp for 1-D inputs")
    p.add_argument("--neuron", default="lif", choices=NEURONS)
    p.add_argument("--backend", default="engine", choices=("engine", "torch", "wgpu"))
    p.add_argument("--channels", type=int, nargs="+", default=[32, 64], help="conv channels (or MLP widths)")
    p.add_argument("--T", type=int, default=4, help="time steps (frames for event data)")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--seed", type=int, default=0, help="seeds torch, numpy and Python (and the shuffling)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (AMP on CUDA)")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                   help="bf16/fp16: autocast the convolutions and matrix products to 16 bits (the engine "
                        "neurons' state stays float32); auto: float16 autocast on CUDA, float32 on CPU")
    p.add_argument("--out", type=Path, default=Path("runs/train"), help="checkpoints, metrics, NIR graph, plots")
    p.add_argument("--resume", type=Path, default=None,
                   help="continue from a last.pt of the same settings (up to --epochs in total)")
    p.add_argument("--force", action="store_true",
                   help="replace an earlier run in --out (its checkpoints, metrics and graph) instead of refusing")
    p.add_argument("--no-progress", action="store_true")
    return p


# What a run leaves in --out: finding any of them there means an earlier run.
RUN_FILES = ("last.pt", "best.pt", "metrics.csv", "model.nir")


def check_out(args, main: bool = True):
    """Before any work: --out must be a folder (or not exist yet), and an earlier run in it is continued
    (--resume), replaced (--force: its metrics are cleared, the rest overwritten as the run saves) or refused."""
    out = args.out
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out}: a file, not a folder")
    earlier = [name for name in RUN_FILES if (out / name).exists()]
    if not earlier or args.resume is not None:
        return
    if not args.force:
        raise FileExistsError(f"--out {out}: holds an earlier run ({', '.join(earlier)}); --resume its last.pt, "
                              "--force to replace it, or choose another --out")
    if main:
        (out / "metrics.csv").unlink(missing_ok=True)  # a new run's rows must not follow the old run's


def _positive(name, value):
    if value < 1:
        raise ValueError(f"--{name}: expected a positive integer, got {value}")


def neuron_class(name: str):
    from snnrs import neuron
    return {"lif": (neuron.LIFNode, {"tau": 2.0}), "if": (neuron.IFNode, {}),
            "plif": (neuron.ParametricLIFNode, {"init_tau": 2.0})}[name]


def build_model(config: dict):
    """The model a config describes (kept in checkpoints so that ``snnrs export`` can rebuild it)."""
    import numpy as np

    from snnrs import functional
    from snnrs.models import SpikingCNN, SpikingMLP

    cls, kwargs = neuron_class(config["neuron"])
    shape = tuple(config["input_shape"])
    if config["model"] == "spiking_cnn":
        model = SpikingCNN(in_channels=shape[0], num_classes=config["classes"], image_size=tuple(shape[1:]),
                           channels=tuple(config["channels"]), T=config["T"], pool="sum", spiking_neuron=cls,
                           **kwargs)
    else:
        model = SpikingMLP(int(np.prod(shape)), config["classes"], tuple(config["channels"]), T=config["T"],
                           input_dims=len(shape), spiking_neuron=cls, **kwargs)
    functional.set_backend(model, config["backend"])
    return model


def _seed_everything(seed: int):
    """--seed fixes torch's, numpy's and Python's generators: two runs with the same settings are the same
    run (and so are their checkpoints, which save every generator's state)."""
    import random

    import numpy as np
    import torch
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _distributed():
    import torch
    import torch.distributed as dist
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() and os.environ.get("SNNRS_DDP_NCCL") else "gloo")
    return dist.get_rank(), dist.get_world_size()


def _data(args, rank, world):
    """(train loader, test loader, test inputs for the reports, input shape, classes)."""
    import torch

    from snnrs.training import TensorBatches, TimeFirst

    if args.dataset == "digits":
        if args.root is not None:
            raise ValueError("--root: the digits are embedded; --root is for the other datasets")
        from snnrs.datasets import load_digits
        (x_train, y_train), (x_test, y_test) = load_digits(seed=args.seed)
        train = TensorBatches(x_train, y_train, args.batch_size, seed=args.seed, shard=(rank, world))
        test = TensorBatches(x_test, y_test, 512, shuffle=False)
        return train, test, x_test, tuple(x_train.shape[1:]), 10
    if args.dataset == "dvs_digits":  # the digits through the DVS emulator: T frames [T, N, 2, 12, 12]
        if args.root is not None:
            raise ValueError("--root: the emulated-DVS digits are made from the embedded digits; --root is for the "
                             "other datasets")
        from snnrs.datasets import load_dvs_digits
        (x_train, y_train), (x_test, y_test) = load_dvs_digits(args.T, seed=args.seed)
        train = TimeFirst(TensorBatches(x_train, y_train, args.batch_size, seed=args.seed, shard=(rank, world)))
        test = TimeFirst(TensorBatches(x_test, y_test, 512, shuffle=False))
        return train, test, x_test[:64].transpose(0, 1), tuple(x_train.shape[2:]), 10
    if args.root is None:
        raise ValueError(f"--root: {args.dataset} needs the folder holding its files")
    from torch.utils.data import DataLoader, DistributedSampler

    import snnrs.datasets as datasets
    cls = getattr(datasets, args.dataset)
    kwargs = dict(data_type="frame", frames_number=args.T, split_by="number")
    train_set, test_set = cls(args.root, train=True, **kwargs), cls(args.root, train=False, **kwargs)
    sampler = DistributedSampler(train_set, world, rank, seed=args.seed) if world > 1 else None
    train = TimeFirst(DataLoader(train_set, args.batch_size, shuffle=sampler is None, sampler=sampler))
    test = TimeFirst(DataLoader(test_set, 64))
    sample, _ = train_set[0]
    shape = tuple(sample.shape[1:])
    classes = len(getattr(cls, "classes", [])) or int(max(int(test_set[i][1]) for i in range(len(test_set)))) + 1
    x_report = torch.stack([test_set[i][0] for i in range(min(64, len(test_set)))]).float().transpose(0, 1)
    return train, test, x_report, shape, classes


def run(args):
    import torch

    from snnrs.training import Trainer

    for name in ("T", "epochs", "batch_size"):
        _positive(name.replace("_", "-"), getattr(args, name))
    if any(c < 1 for c in args.channels):
        raise ValueError(f"--channels: expected positive widths, got {args.channels}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device: cuda requested but torch sees no CUDA device")
    rank, world = _distributed()
    check_out(args, main=rank == 0)
    _seed_everything(args.seed)
    started = time.perf_counter()
    train, test, x_report, shape, classes = _data(args, rank, world)
    model_kind = args.model if args.model != "auto" else ("spiking_cnn" if len(shape) == 3 and min(shape[1:]) >= 4
                                                          else "spiking_mlp")
    # what defines the run: saved in every checkpoint, so that `snnrs export` rebuilds the model and a
    # --resume with other settings is refused instead of silently mixing two runs
    config = {"model": model_kind, "neuron": args.neuron, "backend": args.backend, "channels": list(args.channels),
              "T": args.T, "input_shape": list(shape), "classes": classes, "dataset": args.dataset,
              "lr": args.lr, "batch_size": args.batch_size, "seed": args.seed}
    if args.precision != "auto":  # recorded only when chosen: checkpoints from before --precision still resume
        config["precision"] = args.precision
    model = build_model(config).to(args.device)
    trained = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel
        trained = DistributedDataParallel(model)
    main = rank == 0
    if main:
        print(f"snnrs train: {args.dataset}, {model_kind} {args.channels} with {args.neuron.upper()} neurons, "
              f"T={args.T}, backend {args.backend}, {sum(p.numel() for p in model.parameters()):,} parameters"
              + (f", {world} processes" if world > 1 else "")
              + (f", {args.precision} autocast" if args.precision in ("bf16", "fp16") else ""), flush=True)
    if args.resume is not None and not args.resume.is_file():
        raise FileNotFoundError(f"--resume: no checkpoint at {args.resume}")
    trainer = Trainer(trained, torch.optim.Adam(model.parameters(), lr=args.lr), epochs=args.epochs,
                      device=args.device, checkpoint_dir=args.out, log_dir=args.out, progress=not args.no_progress,
                      resume=args.resume, config=config,
                      precision=None if args.precision == "auto" else args.precision)
    history = trainer.fit(train, test)
    if main and trainer.resumed_epoch is not None and trainer.resumed_epoch >= args.epochs:
        print(f"snnrs train: {args.resume} already holds {trainer.resumed_epoch} epochs (--epochs {args.epochs}): "
              "nothing left to train", flush=True)
    if world > 1:
        _finish_distributed(main, lambda: _after_training(args, trainer, model, test, x_report, config, history,
                                                          started))
        return
    _after_training(args, trainer, model, test, x_report, config, history, started)


def _finish_distributed(main, report):
    """Rank 0 reports while the others wait; then every rank leaves the group together."""
    import torch.distributed as dist
    if main:
        report()
    dist.barrier()
    dist.destroy_process_group()


def _after_training(args, trainer, model, test, x_report, config, history, started):
    from snnrs import functional

    trainer.model = model  # the module itself: rank 0 evaluates alone, without DDP's collectives
    result = trainer.evaluate(test)
    print(f"test accuracy {result['accuracy']:.4f} (best {trainer.best_accuracy:.4f}) after {trainer.start_epoch} "
          f"epochs, {time.perf_counter() - started:.0f} s")
    _reports(model, x_report.to(args.device), args, config, history, trainer)
    functional.reset_net(model)


def _reports(model, x, args, config, history, trainer):
    import torch

    from snnrs import export, functional, neuron, visualizing
    from snnrs.energy import EnergyCounter

    model.eval()
    neurons = [(name, m) for name, m in model.named_modules() if isinstance(m, neuron.BaseNode)]
    spikes = {}
    hooks = [m.register_forward_hook(lambda m, i, o, name=name: spikes.__setitem__(name, o.detach().cpu()))
             for name, m in neurons]
    # sum pooling passes spike counts on: counted as that many accumulates (snnrs.energy, spike_counts)
    with torch.no_grad(), EnergyCounter(model, spike_counts=True) as counter:
        model(x)
    for h in hooks:
        h.remove()
    functional.reset_net(model)
    samples = x.shape[1] if x.dim() == len(config["input_shape"]) + 2 else x.shape[0]
    rates = {name: float(s.float().mean()) for name, s in spikes.items()}
    print("firing rate per layer (test inputs):")
    for name, rate in rates.items():
        print(f"  {name:<24} {rate:.4f}")
    print(counter.summary(samples=samples))
    out = args.out
    trainer.plot(out / "training_curve.png")
    visualizing.plot_firing_rates(rates, out / "firing_rates.png")
    first = next(iter(spikes.values()))
    visualizing.plot_spike_raster(first[:, 0].reshape(first.shape[0], -1)[:, :256].unsqueeze(1),
                                  out / "raster.png", title=f"Spikes of {next(iter(spikes))} (first test sample)")
    written = ["best.pt", "last.pt", "metrics.csv", "training_curve.png", "firing_rates.png", "raster.png"]
    try:
        export.write_nir(model.cpu(), tuple(config["input_shape"]), out / "model.nir", dt=1e-3)
        written.append("model.nir")
    except (ValueError, ImportError) as e:
        print(f"snnrs train: NIR export skipped: {e}")
    print(f"wrote {', '.join(written)} in {out}")
