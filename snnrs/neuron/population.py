"""Neurons of spiking actor networks for reinforcement learning (``docs/semantics.md#actor-neurons``), with
SpikingJelly's names and arguments (its ``noisy_san`` and ``ilc_san`` examples):

- inter-layer connections (ILC-SAN, Chen et al. 2024): the output population of each action dimension
  feeds its own spikes back, through a grouped 1-d convolution ``conn``, into the next step's input;
- noisy neurons (Noisy-SAN, Chen et al. 2024): temporally correlated ("coloured", power spectrum
  ``∝ 1/f^beta``) noise added to the charge and to the spikes during training, for exploration;
  :func:`powerlaw_psd_gaussian` draws it.

All are multi-step only, run ``T`` steps from rest on every call and return ``[T, N, ...]``.
"""

import math
from collections.abc import Callable, Iterable

import numpy as np
import torch
from torch import nn

from snnrs import surrogate
from snnrs.base import MultiStepModule
from snnrs.neuron.nonspiking import decode_voltages

__all__ = ["powerlaw_psd_gaussian", "ILCBaseNode", "ILCIFNode", "ILCLIFNode", "ILCCUBALIFNode", "NoisyBaseNode",
           "NoisyCUBALIFNode", "NoisyILCBaseNode", "NoisyILCCUBALIFNode", "NoisyNonSpikingBaseNode",
           "NoisyNonSpikingIFNode"]


def _normal_sampler(random_state):
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.default_rng(random_state).normal
    if isinstance(random_state, (np.random.Generator, np.random.RandomState)):
        return random_state.normal
    raise ValueError(f"random_state: expected None, an int, a numpy Generator or RandomState, got "
                     f"{type(random_state).__name__}")


def powerlaw_psd_gaussian(exponent: float, size, fmin: float = 0.0, random_state=None) -> np.ndarray:
    """Gaussian noise of unit variance whose power spectrum falls as ``1/f^exponent`` along the last axis
    (0: white, 1: pink, 2: brown), by random Fourier amplitudes (Timmer & König 1995). Frequencies below
    ``fmin`` (at least ``1/samples``, at most 0.5) get the spectrum's value at ``fmin``."""
    if isinstance(size, (int, np.integer)):
        size = [int(size)]
    elif isinstance(size, Iterable):
        size = list(size)
    else:
        raise ValueError(f"size: expected an int or a sequence of ints, got {type(size).__name__}")
    samples = size[-1]
    freqs = np.fft.rfftfreq(samples)
    if not 0 <= fmin <= 0.5:
        raise ValueError(f"fmin: expected a value in [0, 0.5], got {fmin}")
    fmin = max(fmin, 1.0 / samples)
    scale = freqs
    below = int(np.sum(scale < fmin))
    if below and below < len(scale):
        scale[:below] = scale[below]
    scale = scale ** (-exponent / 2.0)
    # The standard deviation of the resulting series, to normalise it to 1.
    weights = scale[1:].copy()
    weights[-1] *= (1 + samples % 2) / 2.0
    sigma = 2 * np.sqrt(np.sum(weights ** 2)) / samples
    size[-1] = len(freqs)
    scale = scale[(np.newaxis,) * (len(size) - 1) + (Ellipsis,)]
    normal = _normal_sampler(random_state)
    real = normal(scale=scale, size=size)
    imag = normal(scale=scale, size=size)
    if not samples % 2:  # the Nyquist term of an even length is real
        imag[..., -1] = 0
        real[..., -1] *= np.sqrt(2)
    imag[..., 0] = 0  # so is the constant term
    real[..., 0] *= np.sqrt(2)
    return np.fft.irfft(real + 1j * imag, n=samples, axis=-1) / sigma


def _check_firing(v_threshold, v_reset):
    if not math.isfinite(v_threshold):
        raise ValueError(f"v_threshold: expected a finite number, got {v_threshold}")
    if v_reset is not None and not math.isfinite(v_reset):
        raise ValueError(f"v_reset: expected a finite number or None, got {v_reset}")


class _FiringPopulation(nn.Module, MultiStepModule):
    """Charge (by the subclass), fire ``S = sg(V - V_th)``, reset; states start at rest each call."""

    def __init__(self, v_threshold: float, v_reset: float | None, surrogate_function: Callable):
        _check_firing(v_threshold, v_reset)
        super().__init__()
        self.step_mode = "m"
        self.v_threshold, self.v_reset = float(v_threshold), v_reset
        self.surrogate_function = surrogate_function

    def neuronal_charge(self, x: torch.Tensor):
        raise NotImplementedError(f"{type(self).__name__} must define neuronal_charge(x), setting self.v")

    def neuronal_fire(self) -> torch.Tensor:
        return self.surrogate_function(self.v - self.v_threshold)

    def neuronal_reset(self, spike: torch.Tensor):
        if self.v_reset is None:
            self.v = self.v - spike * self.v_threshold
        else:
            self.v = (1.0 - spike) * self.v + spike * self.v_reset

    def init_tensor(self, data: torch.Tensor):
        self.v = torch.full_like(data, 0.0 if self.v_reset is None else self.v_reset)


class _CurrentCharge:
    """CUBA-LIF charge ``I = I·c_decay + X``, ``V = V·v_decay + I`` (current from 0)."""

    def neuronal_charge(self, x):
        self.c = self.c * self.c_decay + x
        self.v = self.v * self.v_decay + self.c

    def init_tensor(self, data):
        self.c = torch.zeros_like(data)
        super().init_tensor(data)


def _feedback(conn, spike, act_dim, pop_dim):
    return conn(spike.view(-1, act_dim, pop_dim)).view(-1, act_dim * pop_dim)


class ILCBaseNode(_FiringPopulation):
    """``act_dim`` populations of ``dec_pop_dim`` neurons (input ``[T, N, act_dim·dec_pop_dim]``); after each
    step but the last, ``conn(spikes)`` is added to the next step's input. The caller's tensor is not
    modified (SpikingJelly 2.0 writes the feedback into it)."""

    def __init__(self, act_dim: int, dec_pop_dim: int, v_threshold: float = 1.0, v_reset: float | None = 0.0,
                 surrogate_function: Callable = surrogate.Rect()):
        super().__init__(v_threshold, v_reset, surrogate_function)
        self.act_dim, self.dec_pop_dim = act_dim, dec_pop_dim
        self.out_pop_dim = act_dim * dec_pop_dim
        self.conn = nn.Conv1d(act_dim, self.out_pop_dim, dec_pop_dim, groups=act_dim)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        self.init_tensor(x_seq[0].detach())
        spikes, feedback = [], None
        for t in range(x_seq.shape[0]):
            self.neuronal_charge(x_seq[t] if feedback is None else x_seq[t] + feedback)
            spike = self.neuronal_fire()
            self.neuronal_reset(spike)
            spikes.append(spike)
            if t + 1 < x_seq.shape[0]:
                feedback = _feedback(self.conn, spike, self.act_dim, self.dec_pop_dim)
        return torch.stack(spikes)


class ILCIFNode(ILCBaseNode):
    """ILC with IF charge ``V = V + X``."""

    def neuronal_charge(self, x):
        self.v = self.v + x


class ILCLIFNode(ILCBaseNode):
    """ILC with ``V = V·v_decay + X``."""

    def __init__(self, act_dim: int, dec_pop_dim: int, v_decay: float = 0.75, v_threshold: float = 1.0,
                 v_reset: float | None = 0.0, surrogate_function: Callable = surrogate.Rect()):
        super().__init__(act_dim, dec_pop_dim, v_threshold, v_reset, surrogate_function)
        self.v_decay = v_decay

    def neuronal_charge(self, x):
        self.v = self.v * self.v_decay + x


class ILCCUBALIFNode(_CurrentCharge, ILCBaseNode):
    """ILC with current-based LIF charge."""

    def __init__(self, act_dim: int, dec_pop_dim: int, c_decay: float = 0.5, v_decay: float = 0.75,
                 v_threshold: float = 0.5, v_reset: float | None = 0.0,
                 surrogate_function: Callable = surrogate.Rect()):
        super().__init__(act_dim, dec_pop_dim, v_threshold, v_reset, surrogate_function)
        self.c_decay, self.v_decay = c_decay, v_decay


def _colored_noise(beta, num_node, num_rl_step, steps):
    """``[num_rl_step, T, num_node]`` float32 noise, correlated along the RL steps × T axis."""
    noise = powerlaw_psd_gaussian(beta, [num_node, num_rl_step * steps]).reshape(num_node, num_rl_step, steps)
    return torch.tensor(noise, dtype=torch.float32).permute(1, 2, 0)


class _NoiseSchedule:
    """Pre-drawn noise for ``num_rl_step`` environment steps (:meth:`reset_noise`); each training forward
    uses the next one, unless a stored noise was loaded (:meth:`load_colored_noise`, for replaying)."""

    def _next_noise_index(self):
        if not hasattr(self, "noise_step"):
            raise RuntimeError(f"{type(self).__name__}: call reset_noise(num_rl_step) before training forwards")
        self.noise_step += 1


class NoisyBaseNode(_NoiseSchedule, _FiringPopulation):
    """In training (``is_training``), step t adds ``sigma_v·noise_v[t]`` to the input and
    ``sigma_s·noise_s[t]`` to the spikes, ``sigma = sigma_init/sqrt(num_node)``."""

    def __init__(self, num_node: int, is_training: bool = True, T: int = 5, sigma_init: float = 0.5,
                 beta: float = 0.0, v_threshold: float = 0.5, v_reset: float | None = 0.0,
                 surrogate_function: Callable = surrogate.Rect()):
        super().__init__(v_threshold, v_reset, surrogate_function)
        self.num_node, self.is_training, self.T, self.beta = num_node, is_training, T, beta
        self.sigma_v = self.sigma_s = sigma_init / math.sqrt(num_node)
        self.cn_v = self.cn_s = None

    def _after_spike(self, t: int, spike: torch.Tensor):
        return None

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        self.init_tensor(x_seq[0])
        if self.is_training and (self.cn_v is None or self.cn_s is None):
            self._next_noise_index()
        spikes, recurrent = [], None
        for t in range(self.T):
            x = x_seq[t] if recurrent is None else x_seq[t] + recurrent
            if self.is_training:
                noise = self.eps_v_seq[self.noise_step][t].to(x_seq.device) if self.cn_v is None else self.cn_v[:, t]
                x = x + self.sigma_v * noise
            self.neuronal_charge(x)
            spike = self.neuronal_fire()
            self.neuronal_reset(spike)
            if self.is_training:
                noise = self.eps_s_seq[self.noise_step][t].to(x_seq.device) if self.cn_s is None else self.cn_s[:, t]
                spike = spike + self.sigma_s * noise
            spikes.append(spike)
            recurrent = self._after_spike(t, spike)
        return torch.stack(spikes)

    def reset_noise(self, num_rl_step: int):
        self.eps_v_seq = _colored_noise(self.beta, self.num_node, num_rl_step, self.T)
        self.eps_s_seq = _colored_noise(self.beta, self.num_node, num_rl_step, self.T)
        self.noise_step = -1

    def get_colored_noise(self) -> torch.Tensor:
        """The noise of the current step, ``[T, 2·num_node]`` (membrane, then spike noise)."""
        return torch.cat([self.eps_v_seq[self.noise_step], self.eps_s_seq[self.noise_step]], dim=1)

    def load_colored_noise(self, cn: torch.Tensor):
        """Replays stored noise ``[N, T, 2·num_node]`` (a batch from a replay buffer)."""
        self.cn_v, self.cn_s = cn[:, :, :self.num_node], cn[:, :, self.num_node:]

    def cancel_load(self):
        self.cn_v = self.cn_s = None


class NoisyCUBALIFNode(_CurrentCharge, NoisyBaseNode):
    """Noisy neuron with current-based LIF charge."""

    def __init__(self, num_node: int, c_decay: float = 0.5, v_decay: float = 0.75, is_training: bool = True,
                 T: int = 5, sigma_init: float = 0.5, beta: float = 0.0, v_threshold: float = 0.5,
                 v_reset: float | None = 0.0, surrogate_function: Callable = surrogate.Rect()):
        super().__init__(num_node, is_training, T, sigma_init, beta, v_threshold, v_reset, surrogate_function)
        self.c_decay, self.v_decay = c_decay, v_decay


class NoisyILCBaseNode(NoisyBaseNode):
    """Noisy neurons with the inter-layer feedback of :class:`ILCBaseNode` (on the noisy spikes)."""

    def __init__(self, act_dim: int, dec_pop_dim: int, is_training: bool = True, T: int = 5, sigma_init: float = 0.5,
                 beta: float = 0.0, v_threshold: float = 1.0, v_reset: float | None = 0.0,
                 surrogate_function: Callable = surrogate.Rect()):
        super().__init__(act_dim * dec_pop_dim, is_training, T, sigma_init, beta, v_threshold, v_reset,
                         surrogate_function)
        self.act_dim, self.dec_pop_dim = act_dim, dec_pop_dim
        self.conn = nn.Conv1d(act_dim, self.num_node, dec_pop_dim, groups=act_dim)

    def _after_spike(self, t, spike):
        return None if t + 1 == self.T else _feedback(self.conn, spike, self.act_dim, self.dec_pop_dim)


class NoisyILCCUBALIFNode(_CurrentCharge, NoisyILCBaseNode):
    """Noisy ILC neurons with current-based LIF charge."""

    def __init__(self, act_dim: int, dec_pop_dim: int, c_decay: float = 0.5, v_decay: float = 0.75,
                 is_training: bool = True, T: int = 5, sigma_init: float = 0.5, beta: float = 0.0,
                 v_threshold: float = 1.0, v_reset: float | None = 0.0,
                 surrogate_function: Callable = surrogate.Rect()):
        super().__init__(act_dim, dec_pop_dim, is_training, T, sigma_init, beta, v_threshold, v_reset,
                         surrogate_function)
        self.c_decay, self.v_decay = c_decay, v_decay


DECODES = ("max-mem", "max-abs-mem", "mean-mem", "last-mem", None)


class NoisyNonSpikingBaseNode(_NoiseSchedule, nn.Module, MultiStepModule):
    """A non-spiking readout with learnable noise scale ``sigma`` (per neuron) added to its input in
    training; ``decode`` as :class:`~snnrs.neuron.NonSpikingBaseNode` (None: the list of potentials).
    'last-mem' returns the last potential (SpikingJelly 2.0 spells it 'last-me' and returns the list for
    'last-mem'; both spellings are accepted here)."""

    def __init__(self, num_node: int, is_training: bool = True, T: int = 5, sigma_init: float = 0.5,
                 beta: float = 0.0, decode: str | None = None):
        decode = "last-mem" if decode in ("last-me", "last_mem") else decode  # SpikingJelly spells it 'last-me'
        if decode not in DECODES:
            raise ValueError(f"decode: expected one of {DECODES}, got {decode!r}")
        super().__init__()
        self.step_mode = "m"
        self.num_node, self.is_training, self.T, self.beta, self.decode = num_node, is_training, T, beta, decode
        self.sigma = nn.Parameter(torch.full((num_node,), sigma_init / math.sqrt(num_node)))
        self.cn = None

    def neuronal_charge(self, x: torch.Tensor):
        raise NotImplementedError(f"{type(self).__name__} must define neuronal_charge(x), setting self.v")

    def init_tensor(self, data: torch.Tensor):
        self.v = torch.zeros_like(data)

    def forward(self, x_seq: torch.Tensor):
        self.init_tensor(x_seq[0])
        if self.is_training and self.cn is None:
            self._next_noise_index()
        v_seq = []
        for t in range(self.T):
            x = x_seq[t]
            if self.is_training:
                noise = (self.eps_seq[self.noise_step][t] if self.cn is None else self.cn[:, t]).to(x_seq.device)
                x = x + self.sigma * noise
            self.neuronal_charge(x)
            v_seq.append(self.v)
        return decode_voltages(v_seq, self.decode)

    def reset_noise(self, num_rl_step: int):
        self.eps_seq = _colored_noise(self.beta, self.num_node, num_rl_step, self.T)
        self.noise_step = -1

    def get_colored_noise(self) -> torch.Tensor:
        return self.eps_seq[self.noise_step]

    def load_colored_noise(self, cn: torch.Tensor):
        self.cn = cn

    def cancel_load(self):
        self.cn = None


class NoisyNonSpikingIFNode(NoisyNonSpikingBaseNode):
    """``V = V + X``."""

    def neuronal_charge(self, x):
        self.v = self.v + x
