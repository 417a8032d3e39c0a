"""Grad R (Chen et al., ICLR 2021): prune synapses while training and let them regrow.

Weights are ``s·relu(θ)``; the prior pulls θ below zero where the gradient does not hold it up.

    python examples/digits_grad_r.py --alpha 0.3 --target-sparsity 0.95 --epochs 40
"""

import common
import torch

from snnrs import pruning
from snnrs.models import SpikingCNN


def main(argv=None):
    p = common.parser(__doc__.splitlines()[0], epochs=40)
    p.add_argument("--alpha", type=float, default=0.3, help="strength of the prior")
    p.add_argument("--target-sparsity", type=float, default=0.95)
    args = p.parse_args(argv)
    train, test = common.digits_loaders(args)
    model = SpikingCNN(T=args.T, channels=(32, 64))
    weights = pruning.prunable_weights(model)
    pruned = {id(w) for w in weights}
    others = [q for q in model.parameters() if id(q) not in pruned]
    optimizers = [pruning.GradR(weights, lr=args.lr, alpha=args.alpha, target_sparsity=args.target_sparsity),
                  torch.optim.Adam(others, lr=args.lr)]
    trainer = common.trainer(args, model, optimizers)
    trainer.fit(train, test)
    result = common.finish(args, trainer, test)
    result["connectivity"] = pruning.connectivity(model)
    for name, value in result["connectivity"].items():
        print(f"connectivity {name:<24} {value:.4f}")
    return result


if __name__ == "__main__":
    main()
