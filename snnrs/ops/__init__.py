"""All torch glue for the fused kernels: one module per backend, one registration helper.

- :mod:`snnrs.ops.engine` — the CPU engine (Rust): ``torch.ops.snnrs.multistep_neuron_*``
  and ``torch.ops.snnrs.izhikevich_*``, ``torch.ops.snnrs.resonate_*``;
- :mod:`snnrs.ops.wgsl` — the WGSL kernels on any GPU: ``torch.ops.snnrs.wgpu_neuron_*``
  (imported on first use of ``backend='wgpu'``: it loads wgpu-py);
- :mod:`snnrs.ops.registration` — :class:`~snnrs.ops.registration.FusedOp`, which registers a
  kernel pair as custom ops with fakes and autograd, from named configurations;
- :mod:`snnrs.ops.config`, :mod:`snnrs.ops.learnable`, :mod:`snnrs.ops.host` — the kernels'
  configurations, the learnable scalars' chain rules, and CPU tensor plumbing.
"""

from snnrs.ops.config import IzhikevichConfig, NeuronConfig, TwoStateConfig
from snnrs.ops.engine import izhikevich, multistep_neuron, resonate
from snnrs.ops.host import ENGINE_DTYPES, functorch_active, state_dtype

__all__ = ["ENGINE_DTYPES", "functorch_active", "state_dtype", "IzhikevichConfig", "NeuronConfig", "TwoStateConfig",
           "izhikevich", "multistep_neuron", "resonate"]
