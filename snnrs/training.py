"""A training loop for spiking networks, used by the examples and the CLI.

What it adds to a plain torch loop: the network's state is reset after every batch
(``functional.reset_net``), outputs ``[T, N, C]`` are averaged over T for accuracy, a cosine
learning-rate schedule per optimizer step, automatic mixed precision on CUDA, a progress bar,
a metrics log (``metrics.csv``), checkpoints (``last.pt`` every epoch, ``best.pt`` at the best
validation accuracy, resumable), and a plot of the curves::

    trainer = Trainer(model, torch.optim.Adam(model.parameters(), 1e-3), epochs=20, log_dir="runs/a")
    history = trainer.fit(train_loader, val_loader)
    trainer.plot("runs/a/curves.png")
"""

import math
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from snnrs import atomic, functional, rng_state
from snnrs.checkpoint import check_contents, config_differences, read_checkpoint

Batch = Sequence[torch.Tensor]
# Trainer(precision=...): the autocast dtype of each (None: no autocast).
PRECISIONS = {"fp32": None, "32": None, "bf16": torch.bfloat16, "fp16": torch.float16, "16": torch.float16}


def class_scores(output) -> torch.Tensor:
    """The class scores ``[N, C]`` in a model's output: the first element of a tuple, averaged
    over T when time-first ``[T, N, C]``."""
    if isinstance(output, (tuple, list)):
        output = output[0]
    return output.mean(0) if output.dim() == 3 else output


def mean_over_time_cross_entropy(output, labels: torch.Tensor) -> torch.Tensor:
    """The default loss: cross-entropy of the time-averaged scores (SpikingJelly's examples)."""
    return F.cross_entropy(class_scores(output), labels)


def is_main_process() -> bool:
    """True outside ``torch.distributed`` and on rank 0 inside it (the one that prints and writes)."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0



class TensorBatches:
    """Mini-batches of in-memory tensors, reshuffled each pass (a light DataLoader). Under
    ``torch.distributed``, ``shard=(rank, world_size)`` keeps every world_size-th sample of each
    shuffled pass (the same permutation on every rank, as ``DistributedSampler``)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int = 64, shuffle: bool = True,
                 seed: int = 0, shard=None):
        if len(x) != len(y):
            raise ValueError(f"x, y: expected the same length, got {len(x)} and {len(y)}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle
        self.generator = torch.Generator().manual_seed(seed)
        self.rank, self.world = shard if shard is not None else (0, 1)
        if not 0 <= self.rank < self.world:
            raise ValueError(f"shard: expected (rank, world_size) with 0 <= rank < world_size, got {shard}")

    def _count(self):
        return math.ceil(len(self.y) / self.world)

    def __len__(self):
        return math.ceil(self._count() / self.batch_size)

    def __iter__(self):
        order = torch.randperm(len(self.y), generator=self.generator) if self.shuffle else torch.arange(len(self.y))
        if self.world > 1:  # every rank the same number of samples (and batches): wrap around, as DistributedSampler
            padding = self._count() * self.world - len(order)
            order = torch.cat([order, order[:padding]])
        for idx in order[self.rank::self.world].split(self.batch_size):
            yield self.x[idx], self.y[idx]


class TimeFirst:
    """A loader of frames ``[N, T, ...]`` (the datasets' layout) as float batches ``[T, N, ...]``."""

    def __init__(self, loader):
        self.loader = loader

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for x, y in self.loader:
            yield x.float().transpose(0, 1), y


class Trainer:
    """Trains ``model`` with one optimizer or several (e.g. Grad R for weights + Adam for the rest).

    ``loss_fn(output, labels)``: defaults to cross-entropy of the time-averaged scores.
    ``scheduler``: ``'cosine'`` (per step, to zero at the end), ``None``, or a callable making a
    scheduler from an optimizer and the total step count. ``precision``: ``'fp32'``, ``'bf16'``
    (autocast to bfloat16: the convolutions and matrix products in bfloat16, the engine neurons' state
    in float32, ``docs/semantics.md#mixed-precision``) or ``'fp16'`` (autocast to float16 with a gradient
    scaler); None leaves it to ``amp``: ``'auto'`` (float16 autocast on CUDA), True or False.
    ``after_step()``: called after each optimizer step (threshold schedules).
    ``checkpoint_dir`` / ``log_dir``: where ``last.pt``/``best.pt`` and ``metrics.csv`` go
    (None: nowhere). ``resume``: a checkpoint path to continue from.

    A checkpoint holds every random generator's state (torch, CUDA, numpy, Python and the training
    loader's own generators, :mod:`snnrs.rng_state`), so a resumed run is bit-identical to an
    uninterrupted one with the same settings. ``config``: the settings that define the run (a dictionary
    of plain values, e.g. model, neuron, T, lr); saved with every checkpoint, and resuming from a checkpoint
    whose config differs raises ValueError listing the differences. Resuming with more ``epochs`` than the
    checkpoint planned continues to the new end; the cosine schedule is redrawn for the new length.
    """

    def __init__(self, model: nn.Module, optimizers: torch.optim.Optimizer | list[torch.optim.Optimizer], *,
                 epochs: int, loss_fn: Callable = mean_over_time_cross_entropy,
                 scheduler: str | None | Callable = "cosine", device: str | torch.device | None = None,
                 amp: str | bool = "auto", precision: str | None = None,
                 after_step: Callable[[], None] | None = None,
                 checkpoint_dir: str | Path | None = None, log_dir: str | Path | None = None,
                 progress: bool = True, resume: str | Path | None = None, config: dict | None = None):
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs: expected a positive int, got {epochs!r}")
        self.optimizers = list(optimizers) if isinstance(optimizers, (list, tuple)) else [optimizers]
        if not self.optimizers or not all(isinstance(o, torch.optim.Optimizer) for o in self.optimizers):
            raise TypeError("optimizers: expected a torch.optim.Optimizer or a list of them")
        if not (scheduler is None or scheduler == "cosine" or callable(scheduler)):
            raise ValueError(f"scheduler: expected 'cosine', None or a callable, got {scheduler!r}")
        if amp not in ("auto", True, False):
            raise ValueError(f"amp: expected 'auto', True or False, got {amp!r}")
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.model = model.to(self.device)
        self.epochs, self.loss_fn, self.scheduler_spec = epochs, loss_fn, scheduler
        if precision is not None and precision not in PRECISIONS:
            raise ValueError(f"precision: expected one of {sorted(PRECISIONS)} or None, got {precision!r}")
        if precision is not None and amp != "auto":
            raise ValueError(f"amp, precision: give one of them, got amp={amp!r} and precision={precision!r}")
        if precision is None:
            self.amp = (self.device.type == "cuda") if amp == "auto" else bool(amp)
            self.autocast_dtype = None  # torch's default for the device (float16 on CUDA, bfloat16 on CPU)
        else:
            self.autocast_dtype = PRECISIONS[precision]
            self.amp = self.autocast_dtype is not None
        self.precision = precision
        # float16's narrow range needs loss scaling; bfloat16 has float32's range and does not.
        scaled = self.amp and (self.autocast_dtype == torch.float16 or (
            self.autocast_dtype is None and self.device.type == "cuda"))
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=scaled)
        # under torch.distributed only rank 0 shows progress and writes logs and checkpoints
        self.main = is_main_process()
        self.after_step, self.progress = after_step, progress and self.main
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None and self.main else None
        self.log_dir = Path(log_dir) if log_dir is not None and self.main else None
        self.history: list[dict[str, float]] = []
        self.schedulers: list = []
        self.start_epoch = 0
        self.resumed_epoch: int | None = None  # the epochs done in the checkpoint resumed from
        self.best_accuracy = -1.0
        self._resume = Path(resume) if resume is not None else None
        self.config = dict(config) if config is not None else None
        self._train_loader = None  # its generators are saved with every checkpoint
        self._steps_per_epoch = 0

    # ---- one pass ----

    def _to_device(self, batch: Batch):
        x, y = batch[0], batch[1]
        return x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=self.autocast_dtype, enabled=self.amp)

    def train_epoch(self, loader: Iterable[Batch], epoch: int = 0) -> dict[str, float]:
        self.model.train()
        total_loss, correct, seen = 0.0, 0, 0
        bar = _progress(loader, f"epoch {epoch + 1}/{self.epochs}", self.progress)
        for batch in bar:
            x, y = self._to_device(batch)
            with self._autocast():
                output = self.model(x)
                loss = self.loss_fn(output, y)
            for o in self.optimizers:
                o.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            for o in self.optimizers:
                self.scaler.step(o)
            self.scaler.update()
            for s in self.schedulers:
                s.step()
            if self.after_step is not None:
                self.after_step()
            functional.reset_net(self.model)
            n = len(y)
            total_loss += float(loss.detach()) * n
            correct += int((class_scores(output).argmax(1) == y).sum())
            seen += n
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}")
        if seen == 0:
            raise ValueError("train_loader: yielded no batches")
        return {"train_loss": total_loss / seen, "train_accuracy": correct / seen}

    @torch.no_grad()
    def evaluate(self, loader: Iterable[Batch]) -> dict[str, float]:
        """Mean loss and accuracy over ``loader`` in eval mode."""
        self.model.eval()
        total_loss, correct, seen = 0.0, 0, 0
        for batch in loader:
            x, y = self._to_device(batch)
            with self._autocast():
                output = self.model(x)
                loss = self.loss_fn(output, y)
            functional.reset_net(self.model)
            total_loss += float(loss) * len(y)
            correct += int((class_scores(output).argmax(1) == y).sum())
            seen += len(y)
        if seen == 0:
            raise ValueError("loader: yielded no batches")
        return {"loss": total_loss / seen, "accuracy": correct / seen}

    # ---- the whole run ----

    def fit(self, train_loader: Iterable[Batch], val_loader: Iterable[Batch] | None = None) -> list[dict]:
        """Trains for the remaining epochs; returns the history (one dict per epoch)."""
        self._steps_per_epoch = len(train_loader)
        steps = self.epochs * self._steps_per_epoch
        self.schedulers = [self._make_scheduler(o, steps) for o in self.optimizers] if self.scheduler_spec else []
        self._train_loader = train_loader
        if self._resume is not None:
            self.load_checkpoint(self._resume)
            if self.log_dir is not None:
                # a kill between a metrics row and its checkpoint leaves a row the checkpoint does not have:
                # the log restarts from the checkpoint's history, so no epoch is listed twice
                atomic.write_csv_rows(self.log_dir / "metrics.csv", self.history)
        for epoch in range(self.start_epoch, self.epochs):
            started = time.perf_counter()
            _set_epoch(train_loader, epoch)
            row = {"epoch": epoch + 1, **self.train_epoch(train_loader, epoch)}
            if val_loader is not None:
                row.update({f"val_{k}": v for k, v in self.evaluate(val_loader).items()})
            row["lr"] = self.optimizers[0].param_groups[0]["lr"]
            row["seconds"] = time.perf_counter() - started
            self.history.append(row)
            self._log(row)
            self.start_epoch = epoch + 1
            accuracy = row.get("val_accuracy", row["train_accuracy"])
            improved = accuracy > self.best_accuracy
            # before saving: a run resumed from last.pt must know this epoch's accuracy to keep best.pt right
            self.best_accuracy = max(self.best_accuracy, accuracy)
            if self.checkpoint_dir is not None:
                self.save_checkpoint(self.checkpoint_dir / "last.pt")
                if improved:
                    self.save_checkpoint(self.checkpoint_dir / "best.pt")
        return self.history

    def _make_scheduler(self, optimizer, steps):
        if self.scheduler_spec == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, steps))
        return self.scheduler_spec(optimizer, steps)

    def _log(self, row):
        if self.log_dir is None:
            return
        atomic.append_csv_row(self.log_dir / "metrics.csv", row)

    # ---- checkpoints ----

    def save_checkpoint(self, path: str | Path) -> None:
        atomic.save_torch({"model": getattr(self.model, "module", self.model).state_dict(),
                           "optimizers": [o.state_dict() for o in self.optimizers],
                           "schedulers": [s.state_dict() for s in self.schedulers], "scaler": self.scaler.state_dict(),
                           "epoch": self.start_epoch, "epochs": self.epochs, "best_accuracy": self.best_accuracy,
                           "history": self.history, "rng": rng_state.capture(self._train_loader),
                           "config": self.config}, path)

    def load_checkpoint(self, path: str | Path) -> None:
        """Continues from ``path``: weights, optimizer and schedule, epochs done, history and every random
        generator (the training loader's too when called from :meth:`fit`)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"resume: no checkpoint at {path}")
        state = read_checkpoint(path, self.device)
        check_contents(state, path)
        saved_config = state.get("config")
        if self.config is not None and saved_config is not None:
            # the settings the checkpoint recorded (older ones recorded fewer) must all be the same now
            differences = config_differences(saved_config, {k: v for k, v in self.config.items() if k in saved_config})
            if differences:
                raise ValueError(f"{path}: saved with other settings ({'; '.join(differences)}); resume with the "
                                 "checkpoint's settings or start a new run")
        if len(state["optimizers"]) != len(self.optimizers):
            raise ValueError(f"{path}: holds {len(state['optimizers'])} optimizer states, the trainer has "
                             f"{len(self.optimizers)}")
        try:
            getattr(self.model, "module", self.model).load_state_dict(state["model"])
        except RuntimeError as e:  # torch lists every mismatched tensor over many lines
            raise ValueError(f"{path}: its weights do not fit this model ({str(e).splitlines()[0]} ...)") from None
        for o, s in zip(self.optimizers, state["optimizers"]):
            o.load_state_dict(s)
        for sch, s in zip(self.schedulers, state["schedulers"]):
            sch.load_state_dict(s)
        if state["scaler"]:  # a run without loss scaling saved an empty state; a scaled resume starts afresh
            self.scaler.load_state_dict(state["scaler"])
        self.start_epoch, self.best_accuracy = state["epoch"], state["best_accuracy"]
        self.resumed_epoch = state["epoch"]
        self.history = list(state["history"])
        if "rng" in state:
            rng_state.restore(state["rng"], self._train_loader)
        planned = state.get("epochs")
        if planned is None and self._steps_per_epoch and state["schedulers"] and "T_max" in state["schedulers"][0]:
            planned = state["schedulers"][0]["T_max"] // self._steps_per_epoch  # older checkpoints: from the plan
        planned = self.epochs if planned is None else planned
        if planned != self.epochs and self.start_epoch < self.epochs and self.schedulers:
            if self.scheduler_spec == "cosine":
                self._redraw_cosine()
            else:
                warnings.warn(f"{path}: planned for {planned} epochs, now {self.epochs}: the learning-rate "
                              "schedule continues as saved", stacklevel=2)

    def _redraw_cosine(self):
        """The cosine schedule as if planned for ``self.epochs`` from the start, at the step reached."""
        for scheduler in self.schedulers:
            scheduler.T_max = self.epochs * self._steps_per_epoch
            step = scheduler.last_epoch
            rates = [scheduler.eta_min + (base - scheduler.eta_min) * (1 + math.cos(math.pi * step / scheduler.T_max))
                     / 2 for base in scheduler.base_lrs]
            for group, rate in zip(scheduler.optimizer.param_groups, rates):
                group["lr"] = rate
            scheduler._last_lr = rates

    # ---- pictures ----

    def plot(self, path: str | Path) -> Path:
        """Loss and accuracy curves per epoch, saved as an image."""
        return plot_history(self.history, path)


def plot_history(history: list[dict[str, float]], path: str | Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not history:
        raise ValueError("history: nothing to plot (train first)")
    epochs = [row["epoch"] for row in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    for key, axis in (("loss", ax_loss), ("accuracy", ax_acc)):
        for prefix in ("train_", "val_"):
            if prefix + key in history[0]:
                axis.plot(epochs, [row[prefix + key] for row in history], marker="o", label=prefix.rstrip("_"))
        axis.set_xlabel("epoch")
        axis.set_ylabel(key)
        axis.legend()
        axis.grid(alpha=0.3)
    fig.tight_layout()
    path = atomic.save_figure(fig, path)
    plt.close(fig)
    return path


def _set_epoch(loader, epoch: int) -> None:
    """A DistributedSampler (also behind a wrapper's ``loader``) reshuffles per epoch only when told."""
    for candidate in (loader, getattr(loader, "loader", None)):
        sampler = getattr(candidate, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
            return


def _progress(iterable, description, enabled):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm
    return tqdm(iterable, desc=description, leave=False, dynamic_ncols=True, mininterval=0.5)


__all__ = ["Trainer", "TensorBatches", "TimeFirst", "is_main_process", "class_scores", "mean_over_time_cross_entropy",
           "plot_history"]
