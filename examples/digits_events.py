"""Event data end to end: digits seen by an emulated DVS during three saccades (as N-MNIST was
recorded), integrated into T frames with two polarity channels, learnt by a spiking CNN.

    python examples/digits_events.py --epochs 15
    python examples/digits_events.py --nmnist-root data/NMNIST   # the real N-MNIST, if downloaded

With ``--nmnist-root``, the recordings are read by the ATIS reader through
``snnrs.datasets.NMNIST`` (frames cached on first use) instead of being emulated.
"""

import common
import numpy as np
import torch
from torch.utils.data import DataLoader

from snnrs import events
from snnrs.datasets import NMNIST, load_digits
from snnrs.models import SpikingCNN
from snnrs.training import TensorBatches, TimeFirst

SIZE = 12  # the 8x8 digit on a 12x12 sensor, room for the saccades
# the sensor's view moves along a triangle (three saccades), 4 frames per saccade, 10 ms apart
PATH = [(0, 0), (1, 1), (2, 2), (3, 3), (3, 3), (2, 3), (1, 3), (0, 3), (0, 3), (0, 2), (0, 1), (0, 0)]


def saccade_events(image: np.ndarray) -> np.ndarray:
    frames = np.zeros((len(PATH), SIZE, SIZE))
    for k, (dy, dx) in enumerate(PATH):
        frames[k, 1 + dy:9 + dy, 1 + dx:9 + dx] = image
    return events.emulate_dvs(frames + 0.05, np.arange(len(PATH)) * 10_000, 0.25, 0.25)


def event_frames(images: torch.Tensor, steps: int) -> torch.Tensor:
    out = [events.integrate_events_by_fixed_frames_number(saccade_events(img[0].numpy()), "number", steps, SIZE,
                                                          SIZE, binarize=True) for img in images]
    return torch.from_numpy(np.stack(out)).float().transpose(0, 1)  # [T, N, 2, H, W]


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
