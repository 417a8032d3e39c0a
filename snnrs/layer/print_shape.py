"""A pass-through layer that logs the shape of what flows through it (SpikingJelly's ``PrintShapeModule``),
for finding where a network's shapes go wrong; it logs at DEBUG level on the ``snnrs`` logger."""

import logging

from torch import Tensor, nn

__all__ = ["PrintShapeModule"]

_log = logging.getLogger("snnrs")


class PrintShapeModule(nn.Module):
    def __init__(self, ext_str: str = "PrintShapeModule"):
        super().__init__()
        self.ext_str = ext_str

    def forward(self, x: Tensor) -> Tensor:
        _log.debug("%s shape=%s", self.ext_str, tuple(x.shape))
        return x
