"""Spiking recurrent layers (SpikingJelly's ``activation_based.rnn``; ``docs/semantics.md#spiking-rnn``): LSTM,
GRU and vanilla RNN cells whose gates are spikes — each gate's pre-activation goes through a spiking surrogate
function (``surrogate.Erf()`` by default; a second one may serve the candidate gate) — and multi-layer,
optionally bidirectional, layers of them over ``[T, N, input_size]``.

Cells follow ``torch.nn`` (``linear_ih``/``linear_hh``, weights uniform in ±1/sqrt(hidden_size)). The LSTM's
cell state is clamped to at most 1 in the forward pass only (its gradient passes unchanged), as in
SpikingJelly. Layers return ``(outputs [T, N, hidden·directions], states)`` with states shaped like
``torch.nn``'s: ``[layers·directions, N, hidden]`` (a tuple ``(h, c)`` of them for the LSTM).
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from snnrs import surrogate

__all__ = ["directional_rnn_cell_forward", "bidirectional_rnn_cell_forward", "SpikingRNNCellBase", "SpikingRNNBase",
           "SpikingLSTMCell", "SpikingLSTM", "SpikingVanillaRNNCell", "SpikingVanillaRNN", "SpikingGRUCell",
           "SpikingGRU"]


def _check_states(states):
    if states.dim() not in (2, 3):
        raise ValueError(f"states: expected [N, hidden] or [states, N, hidden], got shape {tuple(states.shape)}")


def directional_rnn_cell_forward(cell: nn.Module, x: torch.Tensor, states: torch.Tensor):
    """Runs ``cell`` over ``x [T, ...]`` from ``states``; returns (the hidden outputs [T, ...], final states)."""
    _check_states(states)
    outputs = []
    for x_t in x:
        states = cell(x_t, states)
        outputs.append(states if isinstance(states, torch.Tensor) else states[0])
    return torch.stack(outputs), states


def bidirectional_rnn_cell_forward(cell: nn.Module, cell_reverse: nn.Module, x: torch.Tensor, states: torch.Tensor,
                                   states_reverse: torch.Tensor):
    """``cell`` forward in time and ``cell_reverse`` backward; outputs concatenated on the last dimension."""
    _check_states(states)
    if states_reverse.dim() != states.dim():
        raise ValueError("states, states_reverse: expected the same number of dimensions")
    forward, states = directional_rnn_cell_forward(cell, x, states)
    backward, states_reverse = directional_rnn_cell_forward(cell_reverse, x.flip(0), states_reverse)
    return torch.cat((forward, backward.flip(0)), dim=-1), states, states_reverse


class SpikingRNNCellBase(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias

    def reset_parameters(self):
        bound = math.sqrt(1 / self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def weight_ih(self):
        return self.linear_ih.weight

    def weight_hh(self):
        return self.linear_hh.weight

    def bias_ih(self):
        return self.linear_ih.bias

    def bias_hh(self):
        return self.linear_hh.bias

    def _zeros(self, x):
        return torch.zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)


def _check_pair(first, second):
    if second is not None and first.spiking != second.spiking:
        raise ValueError("surrogate_function1, surrogate_function2: expected both spiking or both not")


class SpikingLSTMCell(SpikingRNNCellBase):
    """Gates ``i, f, o`` from ``surrogate_function1``, the candidate ``g`` from ``surrogate_function2`` (or the
    first): ``c = c·f + i·g`` (clamped to ≤ 1 forward), ``h = c·o``. Returns ``(h, c)``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 surrogate_function1=surrogate.Erf(), surrogate_function2=None):
        super().__init__(input_size, hidden_size, bias)
        self.linear_ih = nn.Linear(input_size, 4 * hidden_size, bias=bias)
        self.linear_hh = nn.Linear(hidden_size, 4 * hidden_size, bias=bias)
        _check_pair(surrogate_function1, surrogate_function2)
        self.surrogate_function1, self.surrogate_function2 = surrogate_function1, surrogate_function2
        self.reset_parameters()

    def forward(self, x: torch.Tensor, hc=None):
        h, c = (self._zeros(x), self._zeros(x)) if hc is None else (hc[0], hc[1])
        pre = self.linear_ih(x) + self.linear_hh(h)
        if self.surrogate_function2 is None:
            i, f, g, o = torch.split(self.surrogate_function1(pre), self.hidden_size, dim=1)
        else:
            i, f, g, o = torch.split(pre, self.hidden_size, dim=1)
            i, f, o = self.surrogate_function1(i), self.surrogate_function1(f), self.surrogate_function1(o)
            g = self.surrogate_function2(g)
        c = c * f + i * g
        with torch.no_grad():  # a forward-only bound: the gradient sees the unclamped cell state
            torch.clamp_max_(c, 1.0)
        return c * o, c


class SpikingVanillaRNNCell(SpikingRNNCellBase):
    """``h = surrogate_function(W_ih·x + W_hh·h)``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, surrogate_function=surrogate.Erf()):
        super().__init__(input_size, hidden_size, bias)
        self.linear_ih = nn.Linear(input_size, hidden_size, bias=bias)
        self.linear_hh = nn.Linear(hidden_size, hidden_size, bias=bias)
        self.surrogate_function = surrogate_function
        self.reset_parameters()

    def forward(self, x: torch.Tensor, h=None):
        h = self._zeros(x) if h is None else h
        return self.surrogate_function(self.linear_ih(x) + self.linear_hh(h))


class SpikingGRUCell(SpikingRNNCellBase):
    """``r, z`` from ``surrogate_function1``; ``n = surrogate_function2(W_in·x + r·(W_hn·h))`` (or the first);
    ``h = (1 - z)·n + z·h``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 surrogate_function1=surrogate.Erf(), surrogate_function2=None):
        super().__init__(input_size, hidden_size, bias)
        self.linear_ih = nn.Linear(input_size, 3 * hidden_size, bias=bias)
        self.linear_hh = nn.Linear(hidden_size, 3 * hidden_size, bias=bias)
        _check_pair(surrogate_function1, surrogate_function2)
        self.surrogate_function1, self.surrogate_function2 = surrogate_function1, surrogate_function2
        self.reset_parameters()

    def forward(self, x: torch.Tensor, h=None):
        h = self._zeros(x) if h is None else h
        x_r, x_z, x_n = torch.split(self.linear_ih(x), self.hidden_size, dim=1)
        h_r, h_z, h_n = torch.split(self.linear_hh(h), self.hidden_size, dim=1)
        r = self.surrogate_function1(x_r + h_r)
        z = self.surrogate_function1(x_z + h_z)
        n = (self.surrogate_function2 or self.surrogate_function1)(x_n + r * h_n)
        return (1.0 - z) * n + z * h


class SpikingRNNBase(nn.Module):
    """``num_layers`` layers of ``base_cell()``, each fed the previous one's outputs (with dropout ``dropout_p``
    between layers in training — the same mask at every step with ``invariant_dropout_mask``)."""

    def __init__(self, input_size, hidden_size, num_layers, bias=True, dropout_p=0, invariant_dropout_mask=False,
                 bidirectional=False, *args, **kwargs):
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers, self.bias = input_size, hidden_size, num_layers, bias
        self.dropout_p, self.invariant_dropout_mask = dropout_p, invariant_dropout_mask
        self.bidirectional = bidirectional
        if bidirectional:
            self.cells, self.cells_reverse = self.create_cells(*args, **kwargs)
        else:
            self.cells = self.create_cells(*args, **kwargs)

    def create_cells(self, *args, **kwargs):
        width = self.hidden_size * (2 if self.bidirectional else 1)
        sizes = [self.input_size] + [width] * (self.num_layers - 1)

        def stack():
            return nn.Sequential(*(self.base_cell()(size, self.hidden_size, self.bias, *args, **kwargs)
                                   for size in sizes))

        return (stack(), stack()) if self.bidirectional else stack()

    @staticmethod
    def base_cell():
        raise NotImplementedError("a spiking RNN layer names its cell class in base_cell()")

    @staticmethod
    def states_num():
        raise NotImplementedError("a spiking RNN layer gives its number of states in states_num()")

    def _initial_states(self, x, states):
        count, directions = self.states_num(), 2 if self.bidirectional else 1
        if states is None:
            stacked = x.new_zeros(count, self.num_layers * directions, x.shape[1], self.hidden_size)
        elif isinstance(states, tuple):
            stacked = torch.stack(states)
        elif isinstance(states, torch.Tensor) and states.dim() == 3:
            stacked = states.unsqueeze(0)
        else:
            raise TypeError(f"states: expected None, a 3-d tensor or a tuple of them, got {type(states).__name__}")
        if stacked.dim() != 4 or stacked.shape[:2] != (count, self.num_layers * directions):
            raise ValueError(f"states: expected [{count}, {self.num_layers * directions}, N, {self.hidden_size}], "
                             f"got {tuple(stacked.shape)}")
        return stacked

    def forward(self, x: torch.Tensor, states=None):
        count = self.states_num()
        stacked = self._initial_states(x, states)
        directions = 2 if self.bidirectional else 1
        masks = None
        if self.training and self.dropout_p > 0 and self.invariant_dropout_mask and self.num_layers > 1:
            masks = F.dropout(x.new_ones(self.num_layers - 1, x.shape[1], self.hidden_size * directions),
                              p=self.dropout_p, training=True)
        final = torch.empty_like(stacked)

        def layer_states(index):
            return stacked[0, index] if count == 1 else stacked[:, index]

        def store(index, value):
            final[:, index] = value.unsqueeze(0) if count == 1 else torch.stack(tuple(value))

        y = x
        for layer in range(self.num_layers):
            if self.bidirectional:
                back = layer + self.num_layers
                y, last, last_back = bidirectional_rnn_cell_forward(self.cells[layer], self.cells_reverse[layer], y,
                                                                    layer_states(layer), layer_states(back))
                store(back, last_back)
            else:
                y, last = directional_rnn_cell_forward(self.cells[layer], y, layer_states(layer))
            store(layer, last)
            if self.training and self.dropout_p > 0 and layer < self.num_layers - 1:
                y = F.dropout(y, p=self.dropout_p, training=True) if masks is None else y * masks[layer]
        return (y, final[0]) if count == 1 else (y, tuple(final))


class SpikingLSTM(SpikingRNNBase):
    def __init__(self, input_size, hidden_size, num_layers, bias=True, dropout_p=0, invariant_dropout_mask=False,
                 bidirectional=False, surrogate_function1=surrogate.Erf(), surrogate_function2=None):
        super().__init__(input_size, hidden_size, num_layers, bias, dropout_p, invariant_dropout_mask, bidirectional,
                         surrogate_function1, surrogate_function2)

    @staticmethod
    def base_cell():
        return SpikingLSTMCell

    @staticmethod
    def states_num():
        return 2


class SpikingVanillaRNN(SpikingRNNBase):
    def __init__(self, input_size, hidden_size, num_layers, bias=True, dropout_p=0, invariant_dropout_mask=False,
                 bidirectional=False, surrogate_function=surrogate.Erf()):
        super().__init__(input_size, hidden_size, num_layers, bias, dropout_p, invariant_dropout_mask, bidirectional,
                         surrogate_function)

    @staticmethod
    def base_cell():
        return SpikingVanillaRNNCell

    @staticmethod
    def states_num():
        return 1


class SpikingGRU(SpikingRNNBase):
    def __init__(self, input_size, hidden_size, num_layers, bias=True, dropout_p=0, invariant_dropout_mask=False,
                 bidirectional=False, surrogate_function1=surrogate.Erf(), surrogate_function2=None):
        super().__init__(input_size, hidden_size, num_layers, bias, dropout_p, invariant_dropout_mask, bidirectional,
                         surrogate_function1, surrogate_function2)

    @staticmethod
    def base_cell():
        return SpikingGRUCell

    @staticmethod
    def states_num():
        return 1
