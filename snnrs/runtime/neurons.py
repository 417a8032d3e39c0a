"""NIR neuron layers stepped with persistent state on the host, without torch: uniform IF and LIF
layers on the CPU engine, anything else (per-neuron parameters, leaks towards another value than the
reset, currents) by the NumPy rule of :mod:`snnrs.runtime.conventions`. (On the GPU:
:mod:`snnrs.runtime.device_ops`.)"""


import numpy as np

from snnrs.runtime.conventions import DiscreteNeuron, inclusive_threshold


def kernel_form(spec: DiscreteNeuron):
    """``(neuron, params, input_gain, v_threshold_strict, v_reset)`` when the layer is a uniform
    IF or LIF the fused kernels run (``H = V + X`` / ``H = V + (X - (V - v_reset))/τ`` on the
    input times ``input_gain``), else None. ``v_reset`` is None for a soft reset (the kernels'
    convention; the leak then goes towards 0)."""
    if spec.kind not in ("IF", "LIF"):
        return None
    values = {name: spec.uniform(name) for name in ("mem_leak", "v_leak", "gain", "v_threshold", "v_reset")}
    if any(v is None for v in values.values()):
        return None
    v_reset = None if spec.soft_reset else values["v_reset"]
    if spec.kind == "IF":
        if values["mem_leak"] != 0:
            return None
        return "if", [], values["gain"], values["v_threshold"], v_reset
    if values["v_leak"] != (0.0 if v_reset is None else v_reset) or not 0 < values["mem_leak"] < 1:
        return None
    return "lif", [1.0 / values["mem_leak"]], values["gain"] / values["mem_leak"], values["v_threshold"], v_reset


class NeuronLayer:
    """One neuron layer's state on the host; ``run(x_seq)`` steps ``[T, N, ...]`` on from where it stopped."""

    def __init__(self, spec: DiscreteNeuron):
        self.spec = spec
        self.kernel = kernel_form(spec)
        self.v: np.ndarray | None = None
        self.current: np.ndarray | None = None

    def reset(self):
        self.v = self.current = None

    def run(self, x_seq: np.ndarray) -> np.ndarray:
        if self.kernel is not None:
            return self._run_kernel(x_seq)
        return self._run_numpy(x_seq)

    def _initial(self, shape, dtype):
        if self.v is None or self.v.shape != shape:
            rest = self.spec.v_reset if self.spec.spiking else self.spec.v_leak * 0
            self.v = np.broadcast_to(np.asarray(rest, dtype), shape).copy()
            self.current = np.zeros(shape, dtype) if self.spec.syn_decay is not None else None

    def _run_numpy(self, x_seq):
        s, dtype = self.spec, x_seq.dtype
        self._initial(x_seq.shape[1:], dtype)
        cast = {k: None if getattr(s, k) is None else np.asarray(getattr(s, k), dtype)
                for k in ("mem_leak", "v_leak", "gain", "v_threshold", "v_reset", "syn_decay", "syn_gain")}
        out = np.empty_like(x_seq)
        for t in range(len(x_seq)):
            u = x_seq[t]
            if cast["syn_decay"] is not None:
                self.current = cast["syn_decay"] * self.current + cast["syn_gain"] * u
                u = self.current
            self.v = self.v + cast["mem_leak"] * (cast["v_leak"] - self.v) + cast["gain"] * u
            if s.spiking:
                fired = self.v > cast["v_threshold"]
                after = self.v - inclusive_threshold(cast["v_threshold"], dtype) if s.soft_reset else cast["v_reset"]
                self.v = np.where(fired, after, self.v)
                out[t] = fired
            else:
                out[t] = self.v
        return out

    def _run_kernel(self, x_seq):
        neuron, params, gain, v_th, v_reset = self.kernel
        steps, shape = x_seq.shape[0], x_seq.shape[1:]
        x = np.ascontiguousarray(x_seq.reshape(steps, -1))
        if gain != 1.0:
            x = x * x.dtype.type(gain)
        if self.v is not None and self.v.shape != (x.shape[1],):
            self.v = None
        threshold = float(inclusive_threshold(v_th, x.dtype))
        from snnrs import _engine
        spikes, v_last, _, _, _ = _engine.neuron_forward(x, self.v, neuron=neuron, params=params,
                                                         v_threshold=threshold, v_reset=v_reset,
                                                         save_for_backward=False)
        self.v = np.asarray(v_last)
        return np.asarray(spikes).reshape(steps, *shape).astype(x_seq.dtype, copy=False)


__all__ = ["NeuronLayer", "kernel_form"]
