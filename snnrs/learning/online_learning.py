"""Training loops that learn online, one time step at a time (``docs/semantics.md#online-training``), with
SpikingJelly 2.0's names and arguments.

- :func:`ottt_online_training` (OTTT, Xiao et al. 2022): forward one step, backward its loss at once (the
  OTTT neurons keep the graph of one step only), and either step the optimizer every time step
  (``online=True``) or once after the sequence.
- :func:`fptt_online_training` (FPTT, Yin et al. 2021): each step's loss plus a dynamic regulariser
  ``alpha/2·‖W - W̄ - ∇_prev/(2·alpha)‖²`` that keeps the weights near a running average ``W̄``
  (``w_ra``, started by :func:`fptt_online_training_init_w_ra`); the state carried across steps is
  detached after each.
"""

import copy
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from snnrs.base import MemoryModule
from snnrs.functional import detach_net

__all__ = ["ottt_online_training", "fptt_online_training", "fptt_online_training_init_w_ra"]


def _parameters(optimizer: torch.optim.Optimizer) -> list:
    return [p for group in optimizer.param_groups for p in group["params"]]


def fptt_online_training_init_w_ra(optimizer: torch.optim.Optimizer) -> list:
    """The running averages FPTT starts from: a copy of every parameter the optimizer updates."""
    return [p.detach().clone() for p in _parameters(optimizer)]


def _snapshot(modules) -> list:
    return [{name: copy.deepcopy(value) for name, value in m.named_memories()} for m in modules]


def _restore(modules, snapshot):
    for module, state in zip(modules, snapshot, strict=True):
        for name, value in state.items():
            setattr(module, name, value)


def fptt_online_training(model: nn.Module, optimizer: torch.optim.Optimizer, x_seq: torch.Tensor,
                         target_seq: torch.Tensor, f_loss_t: Callable, alpha: float, w_ra: list) -> None:
    """One sequence of FPTT on ``x_seq [T, N, ...]`` with targets ``target_seq [T, ...]``; updates the model
    every step and ``w_ra`` in place. ``f_loss_t(y_t, target_t)`` is the loss of one step."""
    if not alpha > 0:
        raise ValueError(f"alpha: expected > 0, got {alpha}")
    parameters = _parameters(optimizer)
    if len(w_ra) != len(parameters):
        raise ValueError(f"w_ra: {len(w_ra)} tensors for {len(parameters)} parameters "
                         "(start it with fptt_online_training_init_w_ra(optimizer))")
    previous_grads = [0.0] * len(parameters)
    stateful = [m for m in model.modules() if isinstance(m, MemoryModule)]
    for t, x_t in enumerate(x_seq):
        target_t = target_seq[t]
        optimizer.zero_grad()
        loss = f_loss_t(model(x_t), target_t)
        loss = loss + alpha / 2.0 * sum(F.mse_loss(p, w_ra[i] + previous_grads[i] / (2.0 * alpha))
                                        for i, p in enumerate(parameters))
        loss.backward()
        optimizer.step()
        detach_net(model)
        state = _snapshot(stateful)
        optimizer.zero_grad()
        if t < x_seq.shape[0] - 1:
            # The gradient of this step's loss at the updated weights drives the running average; the
            # extra forward must not advance the network's state.
            f_loss_t(model(x_t), target_t).backward()
            with torch.no_grad():
                for i, p in enumerate(parameters):
                    previous_grads[i] = p.grad
                    w_ra[i] = (w_ra[i] + p) / 2.0 - p.grad / (2.0 * alpha)
        optimizer.zero_grad()
        _restore(stateful, state)


def ottt_online_training(model: nn.Module, optimizer: torch.optim.Optimizer, x_seq: torch.Tensor,
                         target_seq: torch.Tensor, f_loss_t: Callable, online: bool) -> tuple:
    """One batch of OTTT on ``x_seq [N, T, ...]`` (batch first, as SpikingJelly's) with ``target_seq [N, T, ...]``;
    returns ``(summed loss, outputs [N, T, ...])``. The model must be reset by the caller."""
    x_seq, target_seq = x_seq.transpose(0, 1), target_seq.transpose(0, 1)
    total, outputs = 0.0, []
    if not online:
        optimizer.zero_grad()
    for x_t, target_t in zip(x_seq, target_seq, strict=True):
        if online:
            optimizer.zero_grad()
        y_t = model(x_t)
        if isinstance(y_t, (list, tuple)):  # [spike, trace] from a network ending in an OTTT neuron
            y_t = y_t[0]
        loss = f_loss_t(y_t, target_t.contiguous())
        loss.backward()
        if online:
            optimizer.step()
        detach_net(model)
        total += loss.detach()
        outputs.append(y_t.detach())
    if not online:
        optimizer.step()
    return total, torch.stack(outputs, dim=1)
