"""LATS (Chen et al., ICML 2023): soft-threshold reparameterisation with a scheduled threshold.

    python examples/digits_lats.py --schedule slats --D 0.5 --epochs 40
"""

import common
import torch

from snnrs import pruning
from snnrs.models import SpikingCNN


def main(argv=None):
    p = common.parser(__doc__.splitlines()[0], epochs=40)
    p.add_argument("--schedule", choices=["lats", "slats", "pgh"], default="slats")
    p.add_argument("--D", type=float, default=0.5, help="final threshold")
    p.add_argument("--beta", type=float, default=10.0, help="PGH growth factor")
    args = p.parse_args(argv)
    train, test = common.digits_loaders(args)
    model = SpikingCNN(T=args.T, channels=(32, 64))
    steps = args.epochs * len(train)
    if args.schedule == "lats":  # the cosine learning rates of every step, as the trainer will use
        lrs = [args.lr * 0.5 * (1 + torch.cos(torch.tensor(torch.pi * s / steps)).item()) for s in range(steps)]
        schedule = pruning.LATSSchedule(args.D, lrs)
    elif args.schedule == "slats":
        schedule = pruning.SLATSSchedule(args.D, steps)
    else:
        schedule = pruning.PGHSchedule(args.D, steps, beta=args.beta)
    pruning.apply_soft_threshold(model, schedule)
    trainer = common.trainer(args, model, torch.optim.Adam(model.parameters(), lr=args.lr),
                             after_step=schedule.step)
    trainer.fit(train, test)
    result = common.finish(args, trainer, test)
    result["sparsity"] = pruning.sparsity(model)
    for name, value in result["sparsity"].items():
        print(f"sparsity {name:<24} {value:.4f}")
    return result


if __name__ == "__main__":
    main()
