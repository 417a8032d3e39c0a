"""Energy estimate of a spiking network (``docs/semantics.md#energy``): operations counted with forward hooks.

A conv or linear layer whose input is truly binary (only 0 and 1) performs synaptic operations,
``SOPs = fr_in · FLOPs`` summed over every row it processes (so T time steps count T times);
any other layer multiply-accumulates, ``MACs = FLOPs`` per row. ``E = e_mac·ΣMACs + e_ac·ΣSOPs``
with 4.6 pJ and 0.9 pJ by default (45 nm, as the papers). FLOPs per row: conv
``Kh·Kw·Cin/groups·Cout·Hout·Wout``, linear ``in·out``. Spiking self-attention (Spikformer's SSA)
adds ``T·H·L·d_h²·(fr_Q + min(fr_K, fr_V))`` SOPs per sample, the firing rates read off its Q, K, V
neurons.

``spike_counts=True`` (**our definition**, off by default): an input of non-negative integers —
sums of spike tensors, as residual additions in SEW ResNet (ADD) and Spikformer produce — counts
as SOPs too, each count k costing k accumulates (``fr_in`` = the mean count). This is how the
Spikformer paper counts (only the first, real-valued layer multiply-accumulates). Keep it off
where a first layer's input could be integer-valued (raw 0..255 pixels).
"""

from dataclasses import dataclass, field

import torch
from torch import nn

COUNTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


@dataclass
class LayerCount:
    name: str
    kind: str = ""
    calls: int = 0
    rows: int = 0
    flops_per_row: int = 0
    macs: float = 0.0
    sops: float = 0.0
    input_ones: float = 0.0
    input_values: int = 0
    binary: bool = True  # every input seen was spikes (binary, or counts with spike_counts=True)

    @property
    def firing_rate(self) -> float:
        """Mean input value: the input firing rate when the input is binary."""
        return self.input_ones / self.input_values if self.input_values else 0.0


def _flops_per_row(module: nn.Module, out: torch.Tensor) -> int:
    if isinstance(module, nn.Linear):
        return module.in_features * module.out_features
    kernel = int(torch.tensor(module.kernel_size).prod())
    spatial = int(torch.tensor(out.shape[2:]).prod()) if out.dim() > 2 else 1
    return kernel * module.in_channels // module.groups * module.out_channels * spatial


def _rows(module: nn.Module, x: torch.Tensor) -> int:
    """How many rows (samples × time steps × leading dims) the layer processed in this call."""
    if isinstance(module, nn.Linear):
        return x.numel() // module.in_features
    return x.shape[0] if x.dim() == module.weight.dim() else 1


@dataclass
class EnergyCounter:
    """Counts MACs and SOPs of every conv/linear layer while active::

        with EnergyCounter(model) as counter:
            model(x)
        print(counter.summary(samples=x.shape[1]))
    """

    model: nn.Module
    e_mac_pj: float = 4.6
    e_ac_pj: float = 0.9
    spike_counts: bool = False
    layers: dict[str, LayerCount] = field(default_factory=dict)
    _handles: list = field(default_factory=list)

    def __enter__(self):
        from snnrs.models.spikformer import SpikingSelfAttention
        for name, m in self.model.named_modules():
            if isinstance(m, COUNTED):
                self.layers[name] = LayerCount(name, type(m).__name__)
                self._handles.append(m.register_forward_hook(self._hook(name)))
            elif isinstance(m, SpikingSelfAttention):
                self.layers[name] = LayerCount(name, "SSA")
                self._handles += self._attention_hooks(name, m)
        return self

    def _attention_hooks(self, name, attention):
        spikes = {}

        def keep(key):
            def hook(module, inputs, output):
                spikes[key] = output.detach()
            return hook

        def count(module, inputs, output):
            q, k, v = spikes.pop("q"), spikes.pop("k"), spikes.pop("v")
            steps, batch, tokens, dim = q.shape
            head_dim = dim // module.num_heads
            rates = [float(s.float().mean()) for s in (q, k, v)]
            c = self.layers[name]
            c.calls += 1
            c.rows += steps * batch
            c.flops_per_row = module.num_heads * tokens * head_dim * head_dim
            c.input_ones += rates[0] * q.numel()
            c.input_values += q.numel()
            c.sops += steps * batch * c.flops_per_row * (rates[0] + min(rates[1], rates[2]))
        return [attention.q_lif.register_forward_hook(keep("q")), attention.k_lif.register_forward_hook(keep("k")),
                attention.v_lif.register_forward_hook(keep("v")), attention.register_forward_hook(count)]

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles.clear()
        return False

    def _hook(self, name):
        def count(module, inputs, output):
            x = inputs[0].detach()
            c = self.layers[name]
            binary = bool(torch.all((x == 0) | (x == 1)))
            if not binary and self.spike_counts:
                binary = bool(torch.all((x >= 0) & (x == torch.floor(x))))
            rows, per_row = _rows(module, x), _flops_per_row(module, output)
            ones = float(x.sum()) if binary else 0.0
            c.calls += 1
            c.rows += rows
            c.flops_per_row = per_row
            c.binary = c.binary and binary
            c.input_values += x.numel()
            if binary:
                c.input_ones += ones
                c.sops += ones / x.numel() * rows * per_row
            else:
                c.macs += rows * per_row
        return count

    def reset(self):
        for name in list(self.layers):
            self.layers[name] = LayerCount(name, self.layers[name].kind)

    def totals(self, samples: int = 1) -> dict[str, float]:
        macs = sum(c.macs for c in self.layers.values()) / samples
        sops = sum(c.sops for c in self.layers.values()) / samples
        return {"MACs": macs, "SOPs": sops, "energy_mJ": (self.e_mac_pj * macs + self.e_ac_pj * sops) * 1e-9}

    def summary(self, samples: int = 1) -> str:
        """A per-layer table (per sample) and the totals."""
        width = max([8] + [len(c.kind) for c in self.layers.values()])
        lines = [f"{'layer':<32} {'type':<{width}} {'kind':<4} {'fr_in':>7} {'MACs':>14} {'SOPs':>14}"]
        for c in self.layers.values():
            if not c.calls:
                continue
            kind = "SOP" if c.binary else "MAC"
            rate = f"{c.firing_rate:.3f}" if c.binary else "-"
            lines.append(f"{c.name or '(model)':<32} {c.kind:<{width}} {kind:<4} {rate:>7} {c.macs / samples:>14,.0f} "
                         f"{c.sops / samples:>14,.0f}")
        t = self.totals(samples)
        lines.append(f"total per sample: {t['MACs']:,.0f} MACs x {self.e_mac_pj} pJ + {t['SOPs']:,.0f} SOPs x "
                     f"{self.e_ac_pj} pJ = {t['energy_mJ']:.6f} mJ")
        return "\n".join(lines)


__all__ = ["EnergyCounter", "LayerCount"]
