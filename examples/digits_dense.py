"""A multi-step spiking CNN (LIF, ATan surrogate) on scikit-learn's digits: the dense baseline.

    python examples/digits_dense.py --epochs 20 --out runs/dense
"""

import common
import torch

from snnrs.models import SpikingCNN


def main(argv=None):
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    train, test = common.digits_loaders(args)
    model = SpikingCNN(T=args.T, channels=(32, 64))
    trainer = common.trainer(args, model, torch.optim.Adam(model.parameters(), lr=args.lr))
    trainer.fit(train, test)
    return common.finish(args, trainer, test)


if __name__ == "__main__":
    main()
