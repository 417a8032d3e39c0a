"""Deploy: train a spiking CNN on digits, export it to NIR, quantize it like a chip (int8 weights,
integer thresholds, 12-bit decays) and compare the integer network's accuracy with the float one.

    python examples/digits_quantize.py --out runs/deploy     # writes runs/deploy/digits.nir
"""

import common
import numpy as np
import torch

from snnrs import export, functional
from snnrs.models import SpikingCNN
from snnrs.quantization import quantize
from snnrs.training import class_scores


def main(argv=None):
    p = common.parser(__doc__.splitlines()[0], epochs=12)
    p.add_argument("--dt", type=float, default=1e-3, help="seconds per step written into the NIR file")
    args = p.parse_args(argv)
    train, test = common.digits_loaders(args)
    model = SpikingCNN(T=args.T, channels=(16, 32), pool="avg")  # NIR has no max pooling
    trainer = common.trainer(args, model, torch.optim.Adam(model.parameters(), lr=args.lr))
    trainer.fit(train, test)
    model.eval()
    with torch.no_grad():
        float_accuracy = (class_scores(model(test.x)).argmax(1) == test.y).float().mean().item()
    functional.reset_net(model)
    if args.out is not None:
        graph = export.write_nir(model, (1, 8, 8), args.out / "digits.nir", dt=args.dt)
        print(f"wrote {args.out / 'digits.nir'}")
    else:
        graph = export.to_nir(model, (1, 8, 8), dt=args.dt)
    raw = np.round(test.x.numpy() * 16).astype(np.int64)  # the chip reads the scans' 0..16 values
    x_seq = np.broadcast_to(raw[None], (args.T, *raw.shape))
    result = {"float_accuracy": float_accuracy}
    print(f"{'model':<28} {'accuracy':>9} {'change':>8}")
    print(f"{'float32':<28} {float_accuracy:>9.4f} {'':>8}")
    for per_channel in (False, True):
        net = quantize(graph, dt=args.dt, per_channel=per_channel, input_scale=1 / 16)
        accuracy = net.accuracy(x_seq, test.y.numpy())
        name = f"int8 {'per-channel' if per_channel else 'per-tensor'}, 12-bit decay"
        print(f"{name:<28} {accuracy:>9.4f} {100 * (accuracy - float_accuracy):>+7.2f}p")
        result["per_channel" if per_channel else "per_tensor"] = accuracy
        result["network_" + ("per_channel" if per_channel else "per_tensor")] = net
    return result


if __name__ == "__main__":
    main()
