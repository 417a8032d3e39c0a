"""Stateless torch layers with a ``step_mode`` (``docs/semantics.md#layers``).

In ``'m'`` they take ``[T, N, ...]`` and run once on ``[T·N, ...]`` (so BatchNorm statistics
are over T·N), then restore the time dimension. Names and arguments follow SpikingJelly's
``activation_based.layer``; every torch argument is passed through. Threshold-dependent
BatchNorm (tdBN) is the same wrapping with its own initialisation.
"""

from torch import nn

from snnrs import functional
from snnrs.base import StepModule
from snnrs.ops import synapse

__all__ = [
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "Linear",
    "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "GroupNorm",
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "Flatten", "Upsample",
    "ThresholdDependentBatchNorm1d", "ThresholdDependentBatchNorm2d", "ThresholdDependentBatchNorm3d",
]


class _StepModeLayer(StepModule):
    """Mixin for a stateless torch layer: multi-step mode folds T into the batch."""

    def forward(self, x):
        if self.step_mode == "s":
            return super().forward(x)
        return functional.seq_to_ann_forward(x, super().forward)

    def extra_repr(self):
        return f"{super().extra_repr()}, step_mode={self.step_mode}"


def _step_mode_layer(torch_class, mixin=_StepModeLayer, doc=None):
    """A subclass of ``torch_class`` (with ``mixin``'s forward) taking an extra keyword ``step_mode='s'``."""

    def __init__(self, *args, step_mode="s", **kwargs):
        torch_class.__init__(self, *args, **kwargs)
        self.step_mode = step_mode

    doc = doc or (f"``torch.nn.{torch_class.__name__}`` with ``step_mode`` ('s': as torch; 'm': input "
                  f"``[T, N, ...]``, computed on ``[T·N, ...]``).")
    return type(torch_class.__name__, (mixin, torch_class), {"__init__": __init__, "__doc__": doc,
                                                              "__module__": "snnrs.layer"})


class _SynapseConv(_StepModeLayer):
    """Mixin for Conv1d/Conv2d: on CPU float32/float64 the convolution goes through the engine's
    synapse op (``snnrs.ops.synapse``), which sums over the nonzero inputs only when the input is
    sparse enough (spikes), else runs torch's; the same numbers up to float rounding."""

    def _conv_forward(self, input, weight, bias):
        if (self.padding_mode == "zeros" and not isinstance(self.padding, str) and input.dim() == weight.dim()
                and synapse.supports(input, weight)):
            return synapse.conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)
        return super()._conv_forward(input, weight, bias)


class _SynapseLinear(_StepModeLayer):
    """Mixin for Linear: the engine's synapse op on CPU float32/float64 (see :class:`_SynapseConv`)."""

    def _linear(self, x):
        if x.dim() >= 2 and synapse.supports(x, self.weight):
            return synapse.linear(x, self.weight, self.bias)
        return nn.Linear.forward(self, x)

    def forward(self, x):
        if self.step_mode == "s":
            return self._linear(x)
        return functional.seq_to_ann_forward(x, self._linear)


_SYNAPSE_DOC = (" On CPU float32/float64 it runs the engine's synapse op: spike-sparse forward and weight "
                "gradient when the input is mostly zeros (docs/semantics.md#sparse-synapses).")
Conv1d = _step_mode_layer(nn.Conv1d, _SynapseConv, doc=(
    "``torch.nn.Conv1d`` with ``step_mode`` ('s': as torch; 'm': input ``[T, N, ...]``, computed on "
    "``[T·N, ...]``)." + _SYNAPSE_DOC))
Conv2d = _step_mode_layer(nn.Conv2d, _SynapseConv, doc=(
    "``torch.nn.Conv2d`` with ``step_mode`` ('s': as torch; 'm': input ``[T, N, ...]``, computed on "
    "``[T·N, ...]``)." + _SYNAPSE_DOC))
Conv3d = _step_mode_layer(nn.Conv3d)
ConvTranspose1d = _step_mode_layer(nn.ConvTranspose1d)
ConvTranspose2d = _step_mode_layer(nn.ConvTranspose2d)
Linear = _step_mode_layer(nn.Linear, _SynapseLinear, doc=(
    "``torch.nn.Linear`` with ``step_mode`` ('s': as torch; 'm': input ``[T, N, ...]``, computed on "
    "``[T·N, ...]``)." + _SYNAPSE_DOC))
BatchNorm1d = _step_mode_layer(nn.BatchNorm1d)
BatchNorm2d = _step_mode_layer(nn.BatchNorm2d)
BatchNorm3d = _step_mode_layer(nn.BatchNorm3d)
GroupNorm = _step_mode_layer(nn.GroupNorm)
MaxPool1d = _step_mode_layer(nn.MaxPool1d)
MaxPool2d = _step_mode_layer(nn.MaxPool2d)
MaxPool3d = _step_mode_layer(nn.MaxPool3d)
AvgPool1d = _step_mode_layer(nn.AvgPool1d)
AvgPool2d = _step_mode_layer(nn.AvgPool2d)
AvgPool3d = _step_mode_layer(nn.AvgPool3d)
AdaptiveAvgPool1d = _step_mode_layer(nn.AdaptiveAvgPool1d)
AdaptiveAvgPool2d = _step_mode_layer(nn.AdaptiveAvgPool2d)
AdaptiveAvgPool3d = _step_mode_layer(nn.AdaptiveAvgPool3d)
Flatten = _step_mode_layer(nn.Flatten)
Upsample = _step_mode_layer(nn.Upsample)
ConvTranspose3d = _step_mode_layer(nn.ConvTranspose3d)


class _StepModeUnpool(StepModule):
    """Mixin for max-unpooling: ``forward(x, indices, output_size=None)``; in 'm' both ``x`` and
    ``indices`` are ``[T, N, ...]`` and fold T into the batch together."""

    def forward(self, x, indices, output_size=None):
        if self.step_mode == "s":
            return super().forward(x, indices, output_size)
        if indices.shape != x.shape:
            raise ValueError(f"indices: expected the shape of x {tuple(x.shape)}, got {tuple(indices.shape)}")
        unpool = super().forward
        return functional.seq_to_ann_forward((x, indices), lambda values, where: unpool(values, where, output_size))

    def extra_repr(self):
        return f"{super().extra_repr()}, step_mode={self.step_mode}"


def _unpool_layer(torch_class):
    return _step_mode_layer(torch_class, _StepModeUnpool, (
        f"``torch.nn.{torch_class.__name__}`` with ``step_mode`` ('m': ``x`` and ``indices`` ``[T, N, ...]``, "
        "computed on ``[T·N, ...]``)."))


MaxUnpool1d = _unpool_layer(nn.MaxUnpool1d)
MaxUnpool2d = _unpool_layer(nn.MaxUnpool2d)
MaxUnpool3d = _unpool_layer(nn.MaxUnpool3d)


def _threshold_dependent(bn_class, dims):
    class TdBN(bn_class):
        __doc__ = (f"Threshold-dependent BatchNorm (tdBN, Zheng et al. 2021): ``{bn_class.__name__}`` over "
                   f"T·N with its weight initialised to ``alpha·v_th``. Always multi-step: input [T, N, C, ...].")

        def __init__(self, alpha: float, v_th: float, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if not self.affine:
                raise ValueError("affine: tdBN scales its weight by alpha·v_th, so it needs affine=True")
            self.alpha, self.v_th = float(alpha), float(v_th)
            self.step_mode = "m"
            nn.init.constant_(self.weight, self.alpha * self.v_th)

        def forward(self, x_seq):
            if x_seq.dim() not in dims:
                raise ValueError(f"x_seq: expected {' or '.join(f'{d}-D' for d in dims)} [T, N, C, ...], "
                                 f"got shape {tuple(x_seq.shape)}")
            return functional.seq_to_ann_forward(x_seq, super().forward)

    TdBN.__name__ = TdBN.__qualname__ = f"ThresholdDependent{bn_class.__name__}"
    TdBN.__module__ = "snnrs.layer"
    return TdBN


ThresholdDependentBatchNorm1d = _threshold_dependent(nn.BatchNorm1d, (3, 4))
ThresholdDependentBatchNorm2d = _threshold_dependent(nn.BatchNorm2d, (5,))
ThresholdDependentBatchNorm3d = _threshold_dependent(nn.BatchNorm3d, (6,))
