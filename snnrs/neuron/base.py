"""BaseNode: charge, fire, reset (``docs/semantics.md#neurons``), the argument checks every
neuron shares, and the three ways to run a neuron.

``backend='engine'`` (the default) runs the fused Rust kernels through the ``snnrs::`` custom
ops (:mod:`snnrs.ops`) wherever they support the configuration (CPU, float32/float64, a
surrogate from :mod:`snnrs.surrogate` with ``spiking=True``) and falls back to ``'torch'`` — a
plain loop over time with autograd — everywhere else; ``'wgpu'`` runs the WGSL kernels. All give
the numbers of ``reference/neuron.py``.
"""

from collections.abc import Callable

import torch

from snnrs import ops, surrogate
from snnrs.base import BackendModule, MemoryModule
from snnrs.checks import finite, time_constant
from snnrs.gpu.ids import GPU_NEURONS
from snnrs.ops.config import NeuronConfig

BACKENDS = ("torch", "engine")
# Half-precision inputs (torch.autocast, .half()/.bfloat16() models) run with float32 state: the
# single-state kernels read x and write the spikes (0/1, exact in any dtype) in the 16-bit dtype
# themselves (docs/semantics.md#mixed-precision); other neurons run in float32 and convert back.
HALF_DTYPES = (torch.bfloat16, torch.float16)
# Neurons whose charge rule the WGSL shaders implement (snnrs.gpu.ids.GPU_NEURONS) also run on the GPU.
GPU_BACKENDS = BACKENDS + ("wgpu",)

__all__ = ["BaseNode", "finite", "time_constant", "set_firing"]


def state_like(value, like: torch.Tensor, default: float) -> torch.Tensor:
    """A state for input ``like``: ``value`` when it is a tensor of the same shape (moved to its dtype
    and device), otherwise a fresh one filled with ``default`` (first step, or a new batch shape)."""
    if isinstance(value, torch.Tensor) and value.shape == like.shape:
        return value if (value.dtype == like.dtype and value.device == like.device) else value.to(like)
    return torch.full_like(like, default)


def set_firing(node, v_threshold, v_reset, surrogate_function, detach_reset, step_mode):
    """Checks and sets the arguments every spiking neuron shares (its firing and reset)."""
    node.v_threshold = finite("v_threshold", v_threshold)
    node.v_reset = None if v_reset is None else finite("v_reset", v_reset)
    if not callable(surrogate_function):
        raise TypeError(f"surrogate_function: expected a callable, got {type(surrogate_function).__name__}")
    node.surrogate_function = surrogate_function
    node.detach_reset = bool(detach_reset)
    node.step_mode = step_mode


class BaseNode(MemoryModule, BackendModule):
    """Charge, fire, reset. Subclasses give the charge rule: ``neuronal_charge(x)`` (set ``self.v``),
    or, as SpikingJelly 2.0 custom neurons do, ``single_step_functional_forward(inputs, states)``
    returning ``((spike,), (v, ...))`` — either runs on the torch loop.

    Args:
        v_threshold: firing threshold V_th (spike when H >= V_th).
        v_reset: voltage after a spike (hard reset); ``None`` for soft reset (subtract V_th).
        surrogate_function: gradient surrogate, e.g. ``surrogate.Sigmoid()``.
        detach_reset: stop gradients through the reset.
        step_mode: ``'s'`` (one step per call) or ``'m'`` (``[T, N, ...]`` per call).
        backend: ``'engine'`` (fused Rust kernels, torch fallback) or ``'torch'``; IF, LIF and
            ParametricLIF also take ``'wgpu'`` (WGSL on the GPU, float32; the CPU engine with a
            warning when there is no adapter).
        store_v_seq: keep the post-reset voltages as ``self.v_seq`` ``[T, ...]`` (multi-step: of the
            last call; single-step: appended by each call since the last ``reset()``).
    """

    # The engine's name of the charge rule (a row of snnrs._engine.NEURONS), given as a class keyword:
    # ``class LIFNode(BaseNode, engine_neuron="lif")``. It also decides whether 'wgpu' is a backend.
    _engine_neuron: str | None = None
    supported_backends = BACKENDS

    # True for a SpikingJelly-2.0-style subclass defining single_step_functional_forward.
    _functional_step = False

    def __init_subclass__(cls, engine_neuron: str | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if "single_step_functional_forward" in cls.__dict__:
            cls._functional_step = True
            cls._engine_neuron = None  # its own dynamics: never the fused kernel of a parent class
        if engine_neuron is not None:
            cls._engine_neuron = engine_neuron
            cls.supported_backends = GPU_BACKENDS if engine_neuron in GPU_NEURONS else BACKENDS

    def __init__(self, v_threshold: float = 1.0, v_reset: float | None = 0.0,
                 surrogate_function: Callable = surrogate.Sigmoid(), detach_reset: bool = False,
                 step_mode: str = "s", store_v_seq: bool = False, backend: str = "engine"):
        super().__init__()
        set_firing(self, v_threshold, v_reset, surrogate_function, detach_reset, step_mode)
        if not isinstance(store_v_seq, (bool, int)):
            # SpikingJelly 0.0.0.0.14 put `backend` before `store_v_seq`; 2.0 (and snnrs) the other way round.
            raise TypeError(f"store_v_seq: expected a bool, got {store_v_seq!r} (the argument order is SpikingJelly "
                            "2.0's: ..., step_mode, store_v_seq, backend; pass backend= by name)")
        self.backend = backend
        self.store_v_seq = bool(store_v_seq)
        self.register_memory("v", self.vr)
        # Not a memory (as in SpikingJelly 2.0: a record of the last sequence, not state carried between
        # steps), but cleared by reset() like one.
        self.v_seq = None

    def reset(self):
        super().reset()
        self.v_seq = None

    def detach(self):
        super().detach()
        if isinstance(self.v_seq, torch.Tensor):
            self.v_seq = self.v_seq.detach()

    @property
    def vr(self) -> float:
        """The initial voltage and the charge rules' resting level: v_reset, or 0 for soft reset."""
        return 0.0 if self.v_reset is None else self.v_reset

    def extra_repr(self):
        return (f"v_threshold={self.v_threshold}, v_reset={self.v_reset}, detach_reset={self.detach_reset}, "
                f"step_mode={self.step_mode}, backend={self.backend}")

    # ---- the torch backend: one step at a time, autograd does BPTT ----

    def neuronal_charge(self, x: torch.Tensor):
        """Sets ``self.v`` to H[t] from V[t-1] (``self.v``) and the input ``x``."""
        raise NotImplementedError(f"{type(self).__name__} must define neuronal_charge(x) or "
                                  "single_step_functional_forward(inputs, states)")

    def single_step_functional_forward(self, inputs: tuple, states: tuple, **kwargs) -> tuple:
        """SpikingJelly 2.0's functional step: ``((spike,), new_states)`` from ``inputs = (x,)`` and
        ``states``, the values of every memory in registration order (``v`` first; Izhikevich's ``w``,
        CUBA-LIF's ``c``), leaving the module's own state alone."""
        if self._functional_step:
            raise NotImplementedError(f"{type(self).__name__}.single_step_functional_forward must compute the step "
                                      "itself")
        names = list(self._memory_defaults)
        if len(states) != len(names):
            raise ValueError(f"states: expected {len(names)} values {names}, got {len(states)}")
        saved = {name: getattr(self, name) for name in names}
        try:
            for name, value in zip(names, states, strict=True):
                setattr(self, name, value)
            spike = self._torch_step(inputs[0])
            return (spike,), tuple(getattr(self, name) for name in names)
        finally:
            for name, value in saved.items():
                setattr(self, name, value)

    def materialize_states(self, inputs: tuple, states: tuple, step_mode: str) -> tuple:
        """SpikingJelly 2.0's hook: the memories' values made ready for a step on ``inputs`` — here ``v``
        becomes a tensor shaped like the input step (fresh at first use or a new batch shape); a subclass
        with more states extends it (as :class:`AdaptBaseNode` does for ``w``)."""
        x = inputs[0][0] if step_mode == "m" else inputs[0]
        saved = self.v
        try:
            self.v = states[0]
            return (self._prepare_v(x), *states[1:])
        finally:
            self.v = saved

    def _functional_torch_step(self, x: torch.Tensor) -> torch.Tensor:
        """One step of a subclass written in SpikingJelly 2.0's functional style: every memory goes in
        (made ready by :meth:`materialize_states`) and comes back updated."""
        names = list(self._memory_defaults)
        states = self.materialize_states((x,), tuple(getattr(self, name) for name in names), "s")
        outputs, new_states = self.single_step_functional_forward((x,), states)
        if len(new_states) != len(names):
            raise ValueError(f"{type(self).__name__}.single_step_functional_forward returned {len(new_states)} "
                             f"states for the memories {names}")
        for name, value in zip(names, new_states, strict=True):
            setattr(self, name, value)
        return outputs[0]

    @staticmethod
    def apply_hard_reset(v: torch.Tensor, spike: torch.Tensor, v_reset: float) -> torch.Tensor:
        """``(1 - S)·V + S·V_reset`` (SpikingJelly 2.0's helper for functional-style neurons)."""
        return (1.0 - spike) * v + spike * v_reset

    @staticmethod
    def apply_soft_reset(v: torch.Tensor, spike: torch.Tensor, v_threshold: float) -> torch.Tensor:
        """``V - S·V_th``."""
        return v - spike * v_threshold

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
        dtype = ops.state_dtype(x)
        return v.to(x.device, dtype) if (v.dtype != dtype or v.device != x.device) else v

    def _torch_step(self, x: torch.Tensor) -> torch.Tensor:
        if self._functional_step:
            return self._functional_torch_step(x)
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

    def _weight_for(self, x_seq: torch.Tensor) -> torch.Tensor | None:
        """The learnable decay in the kernel's state dtype (a half-precision model's runs in float32)."""
        w, dtype = self._decay_weight(), ops.state_dtype(x_seq)
        return w.to(dtype) if w is not None and w.dtype != dtype else w

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
        return (self.backend in ("engine", "wgpu") and self._engine_neuron is not None and self._runs_on(x)
                and (x.dtype in ops.ENGINE_DTYPES or x.dtype in HALF_DTYPES) and surrogate.is_engine_surrogate(sg)
                and x.dim() >= 1 and not isinstance(self.v_threshold, torch.Tensor)  # set_threshold_margin's
                and not ops.functorch_active())

    def _runs_on(self, x: torch.Tensor) -> bool:
        """The fused kernels take x's device: the CPU engine, or on CUDA the Triton kernels of the neurons
        they implement (float32 and 16-bit x, which Izhikevich runs in float32; float64 stays on torch's
        loop there)."""
        if x.device.type == "cpu":
            return True
        from snnrs import cuda
        return (self.backend == "engine" and self._engine_neuron in cuda.CUDA_NEURONS + ("izhikevich",)
                and x.dtype != torch.float64 and cuda.runs(x))

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
            x_seq, self._carried_v(x_seq[0]), self._weight_for(x_seq), self._kernel_config(), self.store_v_seq)
        self.v = v_last
        if self.store_v_seq:
            self.v_seq = v_seq
        return spikes

    def _engine_run(self, x_seq: torch.Tensor, need_h: bool = False):
        """The fused kernel over ``x_seq``; updates the state and returns ``(spikes, h_seq)``
        (h_seq is empty unless ``need_h`` or a gradient will be needed)."""
        v_init, w = self._carried_v(x_seq[0]), self._weight_for(x_seq)
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
        stored = self.v_seq
        if self.engine_supports(x):
            spike = self._engine_in_float32(x.unsqueeze(0))[0]
        else:
            spike = self._torch_step(x)
        if self.store_v_seq:
            self._append_v_seq(stored)
        return spike

    def _append_v_seq(self, seq):
        """Single-step mode with ``store_v_seq``: each call appends its post-reset V to ``v_seq``
        (``[steps so far, ...]``), which starts afresh at ``reset()`` or when the shape changes."""
        v = self.v.unsqueeze(0)
        if (not isinstance(seq, torch.Tensor) or seq.shape[1:] != v.shape[1:] or seq.dtype != v.dtype
                or seq.device != v.device):
            self.v_seq = v.clone()
        else:
            self.v_seq = torch.cat((seq, v))

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        self._check_input(x_seq)
        if x_seq.dim() < 1 or x_seq.shape[0] == 0:
            raise ValueError(f"x_seq: expected [T, ...] with T >= 1, got shape {tuple(x_seq.shape)}")
        if self.engine_supports(x_seq):
            return self._engine_in_float32(x_seq)
        return self._torch_steps(x_seq)

    def _engine_in_float32(self, x_seq: torch.Tensor) -> torch.Tensor:
        """The engine on ``x_seq``. Half precision streams through the single-state kernel as it is
        (its state in float32); a neuron computing more around the kernel (CUBA's current, LIAF's
        output) or the GPU's runs in float32 and comes back in the input's dtype."""
        if x_seq.dtype in HALF_DTYPES and not self._streams_half():
            return self._engine_steps(x_seq.float()).to(x_seq.dtype)
        return self._engine_steps(x_seq)

    def _streams_half(self) -> bool:
        """True when ``_engine_steps`` is the kernel alone, which takes 16-bit x itself."""
        return self.backend == "engine" and type(self)._engine_steps is BaseNode._engine_steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.step_mode == "m":
            return self.multi_step_forward(x)
        return self.single_step_forward(x)
