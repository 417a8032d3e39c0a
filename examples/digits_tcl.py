"""TCL / STCL: temporal (and Siamese temporal) supervised contrastive learning on digits.

Each time step's projected features are a view; views with the same label attract
(``CE(mean_t logits) + λ·TCL``). STCL adds a second augmented view of each image (2T views).

    python examples/digits_tcl.py --method stcl
"""

import common
import torch
import torch.nn.functional as F
from torch import nn

from snnrs import functional
from snnrs.losses import ProjectionHead, stcl_loss, tcl_loss
from snnrs.models import SpikingCNN


def augment(x: torch.Tensor) -> torch.Tensor:
    """A random shift of up to one pixel per image plus a little noise."""
    dx, dy = torch.randint(-1, 2, (2,)).tolist()
    return (torch.roll(x, (dy, dx), dims=(-2, -1)) + 0.05 * torch.randn_like(x)).clamp(0, 1)


class ContrastiveNet(nn.Module):
    """Outputs ``(logits [T, N, C], z [T, N, D])``; in training with ``siamese`` also the second
    view's ``z``."""

    def __init__(self, backbone: SpikingCNN, dim: int = 64, siamese: bool = False):
        super().__init__()
        self.backbone, self.siamese = backbone, siamese
        self.head = ProjectionHead(backbone.classifier[1].in_features, dim)

    def forward(self, x):
        if not (self.training and self.siamese):
            logits, features = self.backbone(x, return_features=True)
            return logits, self.head(features)
        logits, features = self.backbone(torch.cat([augment(x), augment(x)]), return_features=True)
        z_a, z_b = self.head(features).chunk(2, dim=1)
        return logits[:, : len(x)], z_a, z_b


def objective(lamb, temperature):
    def loss(output, y):
        ce = F.cross_entropy(output[0].mean(0), y)
        if len(output) == 3:
            return ce + lamb * stcl_loss(output[1], output[2], y, temperature)
        return ce + lamb * tcl_loss(output[1], y, temperature)
    return loss


def main(argv=None):
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--method", choices=["tcl", "stcl"], default="tcl")
    p.add_argument("--lamb", type=float, default=0.1, help="weight of the contrastive term")
    p.add_argument("--temperature", type=float, default=0.07)
    args = p.parse_args(argv)
    train, test = common.digits_loaders(args)
    model = ContrastiveNet(SpikingCNN(T=args.T, channels=(32, 64)), siamese=args.method == "stcl")
    trainer = common.trainer(args, model, torch.optim.Adam(model.parameters(), lr=args.lr),
                             loss_fn=objective(args.lamb, args.temperature))
    trainer.fit(train, test)
    result = common.finish(args, trainer, test, forward=model.backbone)
    model.eval()
    with torch.no_grad():  # how tightly each class's per-step representations cluster on held-out digits
        _, z = model(test.x)
    functional.reset_net(model)
    result["model_contrastive"] = tcl_loss(z, test.y, args.temperature).item()
    print(f"TCL loss on the test digits: {result['model_contrastive']:.4f}")
    return result


if __name__ == "__main__":
    main()
