"""What the digits examples share: arguments, data loaders, the trainer set-up, and the
energy report at the end."""

import argparse
from pathlib import Path

import torch

from snnrs import functional
from snnrs.datasets import load_digits
from snnrs.energy import EnergyCounter
from snnrs.training import TensorBatches, Trainer


def parser(description: str, epochs: int = 20, lr: float = 5e-3) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--lr", type=float, default=lr)
    p.add_argument("--T", type=int, default=4, help="time steps")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="folder for metrics.csv, checkpoints and curves.png")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def digits_loaders(args):
    torch.manual_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_digits(seed=args.seed)
    return (TensorBatches(x_train, y_train, args.batch_size, seed=args.seed),
            TensorBatches(x_test, y_test, 512, shuffle=False))


def trainer(args, model, optimizers, **kwargs) -> Trainer:
    return Trainer(model, optimizers, epochs=args.epochs, log_dir=args.out, checkpoint_dir=args.out,
                   progress=not args.quiet, **kwargs)


def finish(args, trainer: Trainer, test_loader, forward=None) -> dict:
    """Test accuracy, the curves (with --out) and the energy estimate per test sample."""
    model = trainer.model
    result = trainer.evaluate(test_loader)
    if args.out is not None:
        trainer.plot(args.out / "curves.png")
    model.eval()
    x = test_loader.x
    with torch.no_grad(), EnergyCounter(model) as counter:
        (forward or model)(x)
    functional.reset_net(model)
    totals = counter.totals(samples=len(x))
    print(counter.summary(samples=len(x)))
    print(f"test accuracy {result['accuracy']:.4f}")
    return {"accuracy": result["accuracy"], "energy_mJ": totals["energy_mJ"], "history": trainer.history}
