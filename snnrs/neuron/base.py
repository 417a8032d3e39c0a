"""BaseNode: charge, fire, reset (``docs/semantics.md#neurons``), the argument checks every
neuron shares, and the three ways to run a neuron.

``backend='engine'`` (the default) runs the fused Rust kernels through the ``snnrs::`` custom
ops (:mod:`snnrs.ops`) wherever they support the configuration (CPU, float32/float64, a
surrogate from :mod:`snnrs.surrogate` with ``spiking=True``) and falls back to ``'torch'`` — a
plain loop over time with autograd — everywhere else; ``'wgpu'`` runs the WGSL kernels. All give
the numbers of ``reference/neuron.py``.
"""

import abc
from collections.abc import Callable

import torch

from snnrs import ops, surrogate
from snnrs.base import BackendModule, MemoryModule
from snnrs.checks import finite, time_constant
from snnrs.gpu.ids import GPU_NEURONS
from snnrs.ops.config import NeuronConfig

BACKENDS = ("torch", "engine")
# Neurons whose charge rule the WGSL shaders implement (snnrs.gpu.ids.GPU_NEURONS) also run on the GPU.
GPU_BACKENDS = BACKENDS + ("wgpu",)

__all__ = ["BaseNode", "finite", "time_constant"]


class BaseNode(MemoryModule, BackendModule, metaclass=abc.ABCMeta):
    """Charge, fire, reset. Subclasses give the charge rule.

    Args:
        v_threshold: firing threshold V_th (spike when H >= V_th).
        v_reset: voltage after a spike (hard reset); ``None`` for soft reset (subtract V_th).
        surrogate_function: gradient surrogate, e.g. ``surrogate.Sigmoid()``.
        detach_reset: stop gradients through the reset.
        step_mode: ``'s'`` (one step per call) or ``'m'`` (``[T, N, ...]`` per call).
        backend: ``'engine'`` (fused Rust kernels, torch fallback) or ``'torch'``; IF, LIF and
            ParametricLIF also take ``'wgpu'`` (WGSL on the GPU, float32; the CPU engine with a
            warning when there is no adapter).
        store_v_seq: in multi-step mode keep the post-reset voltages as ``self.v_seq``.
    """

    # The engine's name of the charge rule (a row of snnrs._engine.NEURONS), given as a class keyword:
    # ``class LIFNode(BaseNode, engine_neuron="lif")``. It also decides whether 'wgpu' is a backend.
    _engine_neuron: str | None = None
    supported_backends = BACKENDS

    def __init_subclass__(cls, engine_neuron: str | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if engine_neuron is not None:
            cls._engine_neuron = engine_neuron
            cls.supported_backends = GPU_BACKENDS if engine_neuron in GPU_NEURONS else BACKENDS

    def __init__(self, v_threshold: float = 1.0, v_reset: float | None = 0.0,
                 surrogate_function: Callable = surrogate.Sigmoid(), detach_reset: bool = False,
                 step_mode: str = "s", backend: str = "engine", store_v_seq: bool = False):
        super().__init__()
        self.v_threshold = finite("v_threshold", v_threshold)
        self.v_reset = None if v_reset is None else finite("v_reset", v_reset)
        if not callable(surrogate_function):
            raise TypeError(f"surrogate_function: expected a callable, got {type(surrogate_function).__name__}")
        self.surrogate_function = surrogate_function
        self.detach_reset = bool(detach_reset)
        self.step_mode = step_mode
        self.backend = backend
        self.store_v_seq = bool(store_v_seq)
        self.register_memory("v", self.vr)
        self.register_memory("v_seq", None)

    @property
    def vr(self) -> float:
        """The initial voltage and the charge rules' resting level: v_reset, or 0 for soft reset."""
        return 0.0 if self.v_reset is None else self.v_reset

    def extra_repr(self):
        return (f"v_threshold={self.v_threshold}, v_reset={self.v_reset}, detach_reset={self.detach_reset}, "
                f"step_mode={self.step_mode}, backend={self.backend}")

    # ---- the torch backend: one step at a time, autograd does BPTT ----

    @abc.abstractmethod
    def neuronal_charge(self, x: torch.Tensor):
        """Sets ``self.v`` to H[t] from V[t-1] (``self.v``) and the input ``x``."""

    def neuronal_fire(self) -> torch.Tensor:
        return self.surrogate_function(self.v - self.v_threshold)

    def neuronal_reset(self, spike: torch.Tensor):
        s = spike.detach() if self.detach_reset else spike
        if self.v_reset is None:
            self.v = self.v - self.v_threshold * s
        else:
            self.v = self.v * (1.0 - s) + self.v_reset * s

    def _prepare_v(self, x: torch.Tensor) -> torch.Tensor:
        """The state for input step ``x``: fresh at first use or when the batch shape changed."""
        v = self.v
        if not isinstance(v, torch.Tensor) or v.shape != x.shape:
            v = torch.full_like(x, self.vr)
        elif v.dtype != x.dtype or v.device != x.device:
            v = v.to(x)
        return v

    def _carried_v(self, x: torch.Tensor) -> torch.Tensor | None:
        """The state carried into the engine, or None when starting from rest (the kernel fills it)."""
        v = self.v
        if not isinstance(v, torch.Tensor) or v.shape != x.shape:
            return None
        return v.to(x) if (v.dtype != x.dtype or v.device != x.device) else v

    def _torch_step(self, x: torch.Tensor) -> torch.Tensor:
        self.v = self._prepare_v(x)
        self.neuronal_charge(x)
        spike = self.neuronal_fire()
        self.neuronal_reset(spike)
        return spike

    def _torch_steps(self, x_seq: torch.Tensor) -> torch.Tensor:
        spikes, v_seq = [], []
        for t in range(x_seq.shape[0]):
            spikes.append(self._torch_step(x_seq[t]))
            if self.store_v_seq:
                v_seq.append(self.v)
        if self.store_v_seq:
            self.v_seq = torch.stack(v_seq)
        return torch.stack(spikes)

    # ---- the engine backend: the fused kernel through the custom op ----

    def _decay_weight(self) -> torch.Tensor | None:
        return None

    def _charge_config(self) -> tuple:
        """(the neuron's engine parameters, decay_input): see ``snnrs._engine.NEURONS``."""
        return [], True

    def _kernel_config(self) -> NeuronConfig:
        """Everything a fused kernel needs to know of this neuron besides its tensors."""
        name, params = self.surrogate_function.engine_spec()
        charge_params, decay_input = self._charge_config()
        return NeuronConfig(self._engine_neuron, self.v_threshold, self.v_reset, charge_params, decay_input,
                            self.detach_reset, name, params)

    def engine_supports(self, x: torch.Tensor) -> bool:
        """True when the engine (or, for backend='wgpu', the GPU kernels) can run this neuron on ``x``."""
        sg = self.surrogate_function
        return (self.backend in ("engine", "wgpu") and self._engine_neuron is not None and x.device.type == "cpu"
                and x.dtype in ops.ENGINE_DTYPES and surrogate.is_engine_surrogate(sg) and x.dim() >= 1)

    def _engine_steps(self, x_seq: torch.Tensor) -> torch.Tensor:
        if self.backend == "wgpu" and self._wgpu_supports(x_seq):
            return self._wgpu_steps(x_seq)
        return self._engine_run(x_seq)[0]

    # ---- the GPU backend: WGSL kernels through wgpu-py (IF, LIF, ParametricLIF) ----

    def _backend_chosen(self, value):
        if value == "wgpu":
            from snnrs.ops import wgsl
            wgsl.available()  # find the adapter now, outside any compiled region

    def _wgpu_supports(self, x: torch.Tensor) -> bool:
        from snnrs.ops import wgsl
        if x.dtype != torch.float32:
            wgsl.warn_once(f"dtype-{x.dtype}", f"backend='wgpu' computes in float32; {x.dtype} runs on the "
                           "CPU engine")
            return False
        return wgsl.available()

    def _wgpu_steps(self, x_seq: torch.Tensor) -> torch.Tensor:
        from snnrs.ops import wgsl
        spikes, v_last, _, v_seq = wgsl.wgpu_multistep_neuron(
            x_seq, self._carried_v(x_seq[0]), self._decay_weight(), self._kernel_config(), self.store_v_seq)
        self.v = v_last
        if self.store_v_seq:
            self.v_seq = v_seq
        return spikes

    def _engine_run(self, x_seq: torch.Tensor, need_h: bool = False):
        """The fused kernel over ``x_seq``; updates the state and returns ``(spikes, h_seq)``
        (h_seq is empty unless ``need_h`` or a gradient will be needed)."""
        v_init, w = self._carried_v(x_seq[0]), self._decay_weight()
        # Inference saves nothing for backward: H and the spike bits are not written out.
        save = need_h or (torch.is_grad_enabled() and any(
            t is not None and t.requires_grad for t in (x_seq, v_init, w)))
        spikes, v_last, h_seq, _, v_seq = ops.multistep_neuron(
            x_seq, v_init, w, self._kernel_config(), self.store_v_seq, save)
        self.v = v_last
        if self.store_v_seq:
            self.v_seq = v_seq
        return spikes, h_seq

    # ---- entry points ----

    def _check_input(self, x):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"x: expected a floating-point tensor, got {x.dtype}")

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        if self.engine_supports(x):
            return self._engine_steps(x.unsqueeze(0))[0]
        return self._torch_step(x)

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        self._check_input(x_seq)
        if x_seq.dim() < 1 or x_seq.shape[0] == 0:
            raise ValueError(f"x_seq: expected [T, ...] with T >= 1, got shape {tuple(x_seq.shape)}")
        if self.engine_supports(x_seq):
            return self._engine_steps(x_seq)
        return self._torch_steps(x_seq)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.step_mode == "m":
            return self.multi_step_forward(x)
        return self.single_step_forward(x)
