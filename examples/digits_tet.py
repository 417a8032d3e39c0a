"""TET (Deng et al., ICLR 2022): the loss acts on every time step's output, not their mean.

    python examples/digits_tet.py --lamb 0.05
"""

import common
import torch

from snnrs.losses import tet_loss
from snnrs.models import SpikingCNN


def main(argv=None):
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--lamb", type=float, default=0.05, help="weight of the MSE regulariser")
    args = p.parse_args(argv)
    train, test = common.digits_loaders(args)
    model = SpikingCNN(T=args.T, channels=(32, 64))
    trainer = common.trainer(args, model, torch.optim.Adam(model.parameters(), lr=args.lr),
                             loss_fn=lambda out, y: tet_loss(out, y, lamb=args.lamb))
    trainer.fit(train, test)
    return common.finish(args, trainer, test)


if __name__ == "__main__":
    main()
