"""Event data end to end: digits seen by an emulated DVS during three saccades (as N-MNIST was
recorded), integrated into T frames with two polarity channels, learnt by a spiking CNN.

    python examples/digits_events.py --epochs 15
    python examples/digits_events.py --nmnist-root data/NMNIST   # the real N-MNIST, if downloaded

With ``--nmnist-root``, the recordings are read by the ATIS reader through
``snnrs.datasets.NMNIST`` (frames cached on first use) instead of being emulated.
"""

import common
import torch
from torch.utils.data import DataLoader

from snnrs.datasets import NMNIST, load_digits
from snnrs.datasets.digits import DVS_SENSOR, dvs_frames
from snnrs.models import SpikingCNN
from snnrs.training import TensorBatches, TimeFirst

SIZE = DVS_SENSOR  # the 8x8 digit on a 12x12 sensor, room for the saccades


def event_frames(images: torch.Tensor, steps: int) -> torch.Tensor:
    return dvs_frames(images, steps).transpose(0, 1)  # [T, N, 2, H, W]


def main(argv=None):
    p = common.parser(__doc__.splitlines()[0], epochs=15)
    p.add_argument("--nmnist-root", default=None, help="folder with N-MNIST's Train/ and Test/")
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    if args.nmnist_root:
        sets = [NMNIST(args.nmnist_root, train=t, data_type="frame", frames_number=args.T, split_by="number")
                for t in (True, False)]
        train = TimeFirst(DataLoader(sets[0], batch_size=args.batch_size, shuffle=True))
        test = TimeFirst(DataLoader(sets[1], batch_size=256))
        model = SpikingCNN(in_channels=2, image_size=34, channels=(32, 64))
    else:
        (x_train, y_train), (x_test, y_test) = load_digits(seed=args.seed)
        train = TensorBatches(event_frames(x_train, args.T).transpose(0, 1), y_train, args.batch_size)
        test = TensorBatches(event_frames(x_test, args.T).transpose(0, 1), y_test, 512, shuffle=False)
        train, test = TimeFirst(train), TimeFirst(test)
        model = SpikingCNN(in_channels=2, image_size=SIZE, channels=(32, 64))
    trainer = common.trainer(args, model, torch.optim.Adam(model.parameters(), lr=args.lr))
    trainer.fit(train, test)
    result = trainer.evaluate(test)
    if args.out is not None:
        trainer.plot(args.out / "curves.png")
    print(f"test accuracy {result['accuracy']:.4f}")
    return {"accuracy": result["accuracy"], "history": trainer.history}


if __name__ == "__main__":
    main()
