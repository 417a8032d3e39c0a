"""SpikingJelly checkpoints in snnrs models: :func:`load_spikingjelly_state_dict`.

SpikingJelly's model zoo (``spikingjelly.activation_based.model``) keeps each convolution and its
batch norm as two modules (``conv1.weight``, ``bn1.weight``); snnrs runs them as one
``SeqToANNContainer`` (``conv1.0.weight``, ``conv1.1.weight``). Both register their parameters and
buffers in forward order, so the two state dicts line up entry by entry: this loader pairs them in
order and checks, for every pair, the last name part (``weight``, ``running_var``, a PLIF's ``w``)
and the shape — any disagreement is an error naming both entries, never a silent partial load.

The neuron settings (surrogate, ``detach_reset``, ``v_threshold``, ...) are not in a state dict:
build the snnrs model with those the checkpoint was trained with.
"""

from collections import OrderedDict
from collections.abc import Mapping

import torch
from torch import nn

__all__ = ["load_spikingjelly_state_dict", "spikingjelly_state_dict_to_snnrs"]


def _unwrap(state_dict: Mapping) -> Mapping:
    """A training checkpoint's model state (``{'model': sd, 'optimizer': ...}``) or the state dict itself;
    DataParallel/DDP's ``module.`` prefix removed."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict: expected a mapping of tensors, got {type(state_dict).__name__}")
    for key in ("model", "state_dict", "net"):
        inner = state_dict.get(key)
        if isinstance(inner, Mapping) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
            state_dict = inner
            break
    if state_dict and all(k.startswith("module.") for k in state_dict):
        state_dict = OrderedDict((k[len("module."):], v) for k, v in state_dict.items())
    return state_dict


def spikingjelly_state_dict_to_snnrs(model: nn.Module, state_dict: Mapping) -> OrderedDict:
    """SpikingJelly's ``state_dict`` renamed to ``model``'s keys (see the module docstring); raises
    ValueError where the two do not correspond."""
    theirs = _unwrap(state_dict)
    ours = model.state_dict()
    if set(theirs) == set(ours):
        return OrderedDict(theirs)
    if len(theirs) != len(ours):
        raise ValueError(f"state_dict: {len(theirs)} entries, but {type(model).__name__} has {len(ours)}; "
                         f"first of theirs {list(theirs)[:3]}, of ours {list(ours)[:3]} (wrong model, depth, or "
                         "options such as linear_bias?)")
    renamed = OrderedDict()
    for (their_key, value), (our_key, our_value) in zip(theirs.items(), ours.items(), strict=True):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"state_dict[{their_key!r}]: expected a tensor, got {type(value).__name__}")
        if their_key.rsplit(".", 1)[-1] != our_key.rsplit(".", 1)[-1] or value.shape != our_value.shape:
            raise ValueError(f"state_dict[{their_key!r}] {tuple(value.shape)} does not correspond to "
                             f"{type(model).__name__}'s {our_key!r} {tuple(our_value.shape)}")
        renamed[our_key] = value
    return renamed


def load_spikingjelly_state_dict(model: nn.Module, state_dict: Mapping) -> nn.Module:
    """Loads a SpikingJelly (2.0 or 0.0.0.0.14) model-zoo checkpoint into the matching snnrs model —
    ``sew_resnet*``/``spiking_resnet*``, ``spiking_vgg*``, the PLIF nets — and returns the model::

        net = models.sew_resnet18(spiking_neuron=neuron.IFNode, surrogate_function=surrogate.ATan(),
                                  detach_reset=True)
        models.load_spikingjelly_state_dict(net, torch.load("sew18_checkpoint.pth"))

    Accepts a bare state dict or a training checkpoint holding one under ``'model'``."""
    model.load_state_dict(spikingjelly_state_dict_to_snnrs(model, state_dict), strict=True)
    return model
