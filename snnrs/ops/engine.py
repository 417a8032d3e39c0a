"""The CPU engine's fused kernels as torch custom ops (``snnrs._engine``, Rust).

- ``torch.ops.snnrs.multistep_neuron_forward`` / ``_backward``: every single-state neuron of
  the engine (``snnrs._engine.NEURONS``); :func:`multistep_neuron` calls it with autograd.
- ``torch.ops.snnrs.izhikevich_forward`` / ``_backward`` and ``torch.ops.snnrs.resonate_forward`` /
  ``_backward``: the two-state neurons (Izhikevich, resonate-and-fire); :func:`izhikevich` and
  :func:`resonate` call them with autograd.

Tensors are ``[T, *shape]``; the kernels see them flattened to ``[T, N]``. Backward is the
exact BPTT of ``docs/semantics.md#bptt``.
"""


import torch
from torch import Tensor

from snnrs import _engine
from snnrs.ops import cuda, host, learnable
from snnrs.ops.config import NeuronConfig, TwoStateConfig
from snnrs.ops.registration import FusedOp


def _saved_fakes(x: Tensor, save_for_backward: bool, store_v_seq: bool):
    """Fakes of (h_seq, bits, v_seq): present only when saved for backward / stored (in the state's dtype)."""
    bits_shape = (x.shape[0], (x[0].numel() + 7) // 8) if save_for_backward else (0,)
    state = host.state_dtype(x)
    return (x.new_empty(x.shape if save_for_backward else 0, dtype=state),
            x.new_empty(bits_shape, dtype=torch.uint8), x.new_empty(x.shape if store_v_seq else 0, dtype=state))


def _neuron_forward(x: Tensor, v_init: Tensor | None, w: Tensor | None, config: NeuronConfig,
                    store_v_seq: bool, save_for_backward: bool = True
                    ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Returns ``(spikes [T,*], v_last [*], h_seq [T,*], bits uint8 [T, ceil(N/8)], v_seq [T,*] or [0])``.

    ``v_init=None`` starts every neuron at rest (``v_reset``, or 0 for soft reset).
    ``config.params`` are the neuron's own (``snnrs._engine.NEURONS``) less the learnable one,
    which comes from the tensor ``w``: ParametricLIF's k = sigmoid(w) ('plif', params empty),
    KLIF's k = w ('klif'). ``detach_reset`` and the surrogate only matter to backward.
    ``save_for_backward=False`` (inference) skips writing h_seq and bits (returned empty).

    Mixed precision: a bfloat16/float16 ``x`` gives spikes of its dtype, the state (``v_init``,
    ``v_last``, ``h_seq``, ``v_seq``) in float32 (``docs/semantics.md#mixed-precision``).
    """
    if cuda.takes(x, config):  # a CUDA tensor: the Triton kernels
        return cuda.neuron_forward(x, v_init, w, config, store_v_seq, save_for_backward)
    host.check_sequence(x, half=True)
    host.check_state("v_init", v_init, x)
    spikes, v_last, h_seq, bits, v_seq = _engine.neuron_forward(
        host.steps(x, x.shape[0]), host.state(v_init), neuron=config.neuron,
        params=learnable.kernel_params(config.neuron, w, config.params), decay_input=config.decay_input,
        v_threshold=config.v_threshold, v_reset=config.v_reset, store_v_seq=store_v_seq,
        save_for_backward=save_for_backward, storage=host.storage(x))
    state = x.new_empty(0, dtype=host.state_dtype(x))
    return (host.tensor(spikes, x.shape, x.dtype), host.tensor(v_last, x.shape[1:]),
            host.saved_or_empty(h_seq, x.shape, state, save_for_backward),
            host.saved_or_empty(bits, None, x, save_for_backward, torch.uint8),
            host.saved_or_empty(v_seq, x.shape, state, store_v_seq))


def _neuron_forward_fake(x: Tensor, v_init: Tensor | None, w: Tensor | None, config: NeuronConfig,
                         store_v_seq: bool, save_for_backward: bool = True):
    return (x.new_empty(x.shape), x.new_empty(x.shape[1:], dtype=host.state_dtype(x))) + _saved_fakes(
        x, save_for_backward, store_v_seq)


def _streamed_dtype(grad_spikes: Tensor | None, x: Tensor | None, h_seq: Tensor) -> torch.dtype:
    """The dtype backward streams grad_spikes, x and grad_x in: the 16-bit dtype of the spikes' gradient
    (else of x) after a mixed-precision forward, else the state's (one dtype throughout)."""
    given = next(t.dtype for t in (grad_spikes, x, h_seq) if t is not None)
    return given if given in host.HALF_STORAGE else h_seq.dtype


def _neuron_backward(grad_spikes: Tensor | None, grad_v_last: Tensor | None, grad_v_seq: Tensor | None,
                     grad_h_seq: Tensor | None, h_seq: Tensor, bits: Tensor, v_init: Tensor | None,
                     x: Tensor | None, w: Tensor | None, config: NeuronConfig
                     ) -> tuple[Tensor, Tensor, Tensor]:
    """Exact BPTT. Returns ``(grad_x, grad_v_init, grad_w)``; grad_w is 0 unless w is given.
    After a mixed-precision forward, grad_x comes in the 16-bit dtype of the spikes' gradient."""
    host.check_gradients(h_seq, {"grad_spikes": grad_spikes, "grad_v_seq": grad_v_seq, "grad_h_seq": grad_h_seq},
                         {"grad_v_last": grad_v_last})
    count, streamed = h_seq.shape[0], _streamed_dtype(grad_spikes, x, h_seq)
    if cuda.takes(h_seq, config):  # a CUDA tensor: the Triton kernels
        return cuda.neuron_backward(grad_spikes, grad_v_last, grad_v_seq, grad_h_seq, h_seq, bits, v_init, x, w,
                                    config, streamed)
    host.check_tensor("h_seq", h_seq)
    if streamed in host.HALF_STORAGE and h_seq.dtype != torch.float32:
        raise TypeError(f"h_seq: expected float32 (the state of a {streamed} pass), got {h_seq.dtype}")

    def as_streamed(t):
        return None if t is None else t.to(streamed)

    def as_state(t):
        return None if t is None else t.to(h_seq.dtype)

    grad_x, grad_v_init, grad_k = _engine.neuron_backward(
        host.steps(as_streamed(grad_spikes), count), host.steps(h_seq, count), bits.detach().contiguous().numpy(),
        host.state(as_state(v_init)), grad_v_seq=host.steps(as_state(grad_v_seq), count),
        grad_v_last=host.state(as_state(grad_v_last)), grad_h_seq=host.steps(as_state(grad_h_seq), count),
        x=host.steps(as_streamed(x), count), neuron=config.neuron,
        params=learnable.kernel_params(config.neuron, w, config.params), decay_input=config.decay_input,
        v_threshold=config.v_threshold, v_reset=config.v_reset, detach_reset=config.detach_reset,
        surrogate=config.surrogate, surrogate_params=list(config.surrogate_params),
        storage=host.HALF_STORAGE.get(streamed))
    return (host.tensor(grad_x, h_seq.shape, streamed), host.tensor(grad_v_init, h_seq.shape[1:]),
            learnable.grad_w(config.neuron, w, grad_k, h_seq))


def _neuron_backward_fake(grad_spikes, grad_v_last, grad_v_seq, grad_h_seq, h_seq, bits, v_init, x, w,
                          config: NeuronConfig):
    grad_w = w.new_empty(w.shape) if w is not None else h_seq.new_empty(())
    grad_x = h_seq.new_empty(h_seq.shape, dtype=_streamed_dtype(grad_spikes, x, h_seq))
    return grad_x, h_seq.new_empty(h_seq.shape[1:]), grad_w


multistep_neuron = FusedOp(
    "multistep_neuron", _neuron_forward, _neuron_forward_fake, _neuron_backward, _neuron_backward_fake,
    outputs=("spikes", "v_last", "h_seq", "bits", "v_seq"),
    saved=("h_seq", "bits", "v_init", "x", "w"),
    gradients=("x", "v_init", "w"),
    non_differentiable=("bits",),
    # Only a learnable w needs x again (for dH/dk); x is the caller's tensor, not a copy.
    saved_when={"x": "w"},
    gradient_when={"v_seq": "store_v_seq"},
)


def _two_state_op(name: str, state: str) -> FusedOp:
    """The fused op of a two-state neuron whose engine functions are ``<name>_forward`` /
    ``<name>_backward``, its second state called ``state`` (``w``, ``u``): the same arrays as
    Izhikevich's, the second state's initial value in and last value out, and its gradients."""
    engine_forward, engine_backward = getattr(_engine, f"{name}_forward"), getattr(_engine, f"{name}_backward")

    def forward(x: Tensor, v_init: Tensor | None, state_init: Tensor | None, config: TwoStateConfig,
                store_v_seq: bool, save_for_backward: bool = True
                ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
        """Returns ``(spikes, v_last, state_last, h_seq, bits, v_seq)``; empty h_seq/bits in inference,
        empty v_seq unless stored."""
        if cuda.takes_two_state(name, x):  # a CUDA tensor: the Triton kernels
            return cuda.two_state_forward(name, x, v_init, state_init, config, store_v_seq, save_for_backward)
        host.check_sequence(x)
        host.check_state("v_init", v_init, x)
        host.check_state(f"{state}_init", state_init, x)
        spikes, v_last, state_last, h_seq, bits, v_seq = engine_forward(
            host.steps(x, x.shape[0]), host.state(v_init), host.state(state_init), params=list(config.params),
            v_threshold=config.v_threshold, v_reset=config.v_reset, store_v_seq=store_v_seq,
            save_for_backward=save_for_backward)
        return (host.tensor(spikes, x.shape), host.tensor(v_last, x.shape[1:]), host.tensor(state_last, x.shape[1:]),
                host.saved_or_empty(h_seq, x.shape, x, save_for_backward),
                host.saved_or_empty(bits, None, x, save_for_backward, torch.uint8),
                host.saved_or_empty(v_seq, x.shape, x, store_v_seq))

    def forward_fake(x: Tensor, v_init: Tensor | None, state_init: Tensor | None, config: TwoStateConfig,
                     store_v_seq: bool, save_for_backward: bool = True):
        shape = x.shape[1:]
        return (x.new_empty(x.shape), x.new_empty(shape), x.new_empty(shape)) + _saved_fakes(
            x, save_for_backward, store_v_seq)

    def backward(grad_spikes: Tensor | None, grad_v_last: Tensor | None, grad_state_last: Tensor | None,
                 grad_v_seq: Tensor | None, h_seq: Tensor, bits: Tensor, v_init: Tensor | None,
                 config: TwoStateConfig) -> tuple[Tensor, Tensor, Tensor]:
        """Exact BPTT: ``(grad_x, grad_v_init, grad_state_init)``."""
        host.check_gradients(h_seq, {"grad_spikes": grad_spikes, "grad_v_seq": grad_v_seq},
                             {"grad_v_last": grad_v_last, f"grad_{state}_last": grad_state_last})
        if cuda.takes_two_state(name, h_seq):
            return cuda.two_state_backward(name, grad_spikes, grad_v_last, grad_state_last, grad_v_seq, h_seq, bits,
                                           v_init, config)
        host.check_tensor("h_seq", h_seq)
        count, shape = h_seq.shape[0], h_seq.shape[1:]
        grad_x, grad_v_init, grad_state_init = engine_backward(
            host.steps(grad_spikes, count), host.steps(h_seq, count), bits.detach().contiguous().numpy(),
            host.state(v_init), grad_v_seq=host.steps(grad_v_seq, count), grad_v_last=host.state(grad_v_last),
            params=list(config.params), v_threshold=config.v_threshold, v_reset=config.v_reset,
            detach_reset=config.detach_reset, surrogate=config.surrogate,
            surrogate_params=list(config.surrogate_params), **{f"grad_{state}_last": host.state(grad_state_last)})
        return host.tensor(grad_x, h_seq.shape), host.tensor(grad_v_init, shape), host.tensor(grad_state_init, shape)

    def backward_fake(grad_spikes, grad_v_last, grad_state_last, grad_v_seq, h_seq, bits, v_init,
                      config: TwoStateConfig):
        return h_seq.new_empty(h_seq.shape), h_seq.new_empty(h_seq.shape[1:]), h_seq.new_empty(h_seq.shape[1:])

    return FusedOp(
        name, forward, forward_fake, backward, backward_fake,
        outputs=("spikes", "v_last", "state_last", "h_seq", "bits", "v_seq"),
        saved=("h_seq", "bits", "v_init"),
        gradients=("x", "v_init", "state_init"),
        non_differentiable=("h_seq", "bits"),
        gradient_when={"v_seq": "store_v_seq"},
    )


izhikevich = _two_state_op("izhikevich", "w")
resonate = _two_state_op("resonate", "u")
