"""A Spikformer supernet with weight entanglement (Auto-Spikformer, ``docs/semantics.md#auto-spikformer``).

One Spikformer at the largest configuration of the search space; its Linear, Conv2d and BatchNorm
layers are elastic: a subnet uses the leading slices ``W[:out, :in]``, ``b[:out]``, ``BN[:C]``
(views of the supernet's tensors, so training any subnet trains the shared weights), blocks beyond
the sampled depth are skipped (identity), and the neuron genes set T, per-block thresholds and tau.
"""


import torch
import torch.nn.functional as F
from torch import nn

from snnrs import neuron
from snnrs.models.spikformer import Spikformer, SpikingSelfAttention
from snnrs.search.space import SearchSpace


class ElasticLinear(nn.Linear):
    """``nn.Linear`` at its largest size; uses ``weight[:active_out, :x.shape[-1]]``. ``in_features``
    and ``out_features`` follow the active slice (the energy counter reads them)."""

    def __init__(self, source: nn.Linear):
        super().__init__(source.in_features, source.out_features, source.bias is not None)
        self.load_state_dict(source.state_dict())
        self.max_out = source.out_features
        self.active_out = source.out_features
        self.active_weight: torch.Tensor | None = None

    def forward(self, x):
        self.in_features, self.out_features = x.shape[-1], self.active_out
        self.active_weight = self.weight[:self.active_out, :x.shape[-1]]
        bias = None if self.bias is None else self.bias[:self.active_out]
        return F.linear(x, self.active_weight, bias)


class ElasticConv2d(nn.Conv2d):
    def __init__(self, source: nn.Conv2d):
        super().__init__(source.in_channels, source.out_channels, source.kernel_size, source.stride, source.padding,
                         source.dilation, source.groups, source.bias is not None)
        if source.groups != 1:
            raise ValueError("ElasticConv2d: grouped convolutions are not elastic")
        self.load_state_dict(source.state_dict())
        self.active_out = source.out_channels
        self.active_weight: torch.Tensor | None = None

    def forward(self, x):
        self.in_channels, self.out_channels = x.shape[1], self.active_out
        self.active_weight = self.weight[:self.active_out, :x.shape[1]]
        bias = None if self.bias is None else self.bias[:self.active_out]
        return F.conv2d(x, self.active_weight, bias, self.stride, self.padding, self.dilation)


class ElasticBatchNorm(nn.Module):
    """BatchNorm over the leading ``C`` channels of its buffers and affine parameters (C from the
    input). ``momentum=None`` accumulates a plain average (for re-calibrating a subnet)."""

    def __init__(self, source: nn.modules.batchnorm._BatchNorm):
        super().__init__()
        self.eps, self.momentum = source.eps, source.momentum
        self.weight, self.bias = source.weight, source.bias
        self.register_buffer("running_mean", source.running_mean.clone())
        self.register_buffer("running_var", source.running_var.clone())
        self.register_buffer("num_batches_tracked", torch.zeros((), dtype=torch.long))

    def forward(self, x):
        c = x.shape[1]
        momentum = self.momentum
        if self.training and momentum is None:
            self.num_batches_tracked += 1
            momentum = 1.0 / float(self.num_batches_tracked)
        return F.batch_norm(x, self.running_mean[:c], self.running_var[:c], self.weight[:c], self.bias[:c],
                            self.training, momentum if momentum is not None else 0.0, self.eps)

    def reset_statistics(self):
        self.running_mean.zero_()
        self.running_var.fill_(1.0)
        self.num_batches_tracked.zero_()


def _make_elastic(module: nn.Module) -> None:
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Linear):
            setattr(module, name, ElasticLinear(child))
        elif isinstance(child, nn.Conv2d):
            setattr(module, name, ElasticConv2d(child))
        elif isinstance(child, (nn.BatchNorm1d, nn.BatchNorm2d)):
            setattr(module, name, ElasticBatchNorm(child))
        else:
            _make_elastic(child)


class SpikformerSupernet(Spikformer):
    """``SpikformerSupernet(space, img_size, patch_size, in_channels, num_classes)``; ``set_config``
    picks the subnet that ``forward`` runs."""

    def __init__(self, space: SearchSpace, img_size: int = 8, patch_size: int = 2, in_channels: int = 1,
                 num_classes: int = 10):
        top = space.max_config
        super().__init__(img_size=img_size, patch_size=patch_size, in_channels=in_channels, num_classes=num_classes,
                         embed_dim=top["embed_dim"], num_heads=top["num_heads"], mlp_ratio=top["mlp_ratio"],
                         depths=top["depth"], T=top["T"])
        self.space = space
        _make_elastic(self)
        self.config: dict = {}
        self.set_config(top)

    def set_config(self, config: dict) -> "SpikformerSupernet":
        if not self.space.valid(config):
            raise ValueError(f"config: not in the search space (or num_heads does not divide embed_dim): {config}")
        d = config["embed_dim"]
        for stage, width in zip(self.patch_embed.stages, (d // 8, d // 4, d // 2, d)):
            stage["conv"][0].active_out = width
        self.patch_embed.rpe[0].active_out = d
        hidden = int(d * config["mlp_ratio"])
        for k, block in enumerate(self.blocks):
            attention = block.attn
            for linear in (attention.q, attention.k, attention.v, attention.proj):
                linear.linear.active_out = d
            attention.num_heads = config["num_heads"]
            attention.dim = d
            block.mlp.fc1.linear.active_out = hidden
            block.mlp.fc2.linear.active_out = d
            threshold = float(config["threshold"][k])
            for lif in (attention.q_lif, attention.k_lif, attention.v_lif, attention.proj_lif, block.mlp.lif1,
                        block.mlp.lif2):
                lif.v_threshold = threshold
        for m in self.modules():
            if isinstance(m, neuron.LIFNode):
                m.tau = float(config["tau"])
        self.T = int(config["T"])
        self.depth = int(config["depth"])
        self.config = {**config, "threshold": list(config["threshold"])}
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            x = x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)
        elif x.dim() != 5 or x.shape[0] != self.T:
            raise ValueError(f"x: expected [N, C, H, W] or [T={self.T}, N, C, H, W] (the T gene), got shape "
                             f"{tuple(x.shape)}")
        x = self.patch_embed(x)
        for block in self.blocks[:self.depth]:  # blocks beyond the depth: identity
            x = block(x)
        x = x.mean(2)
        return self.head(x) if self.return_sequence else self.head(x.mean(0))

    def subnet_weights(self, config: dict, example: torch.Tensor) -> dict[str, torch.Tensor]:
        """The subnet's weights: views (slices) of this supernet's parameters, by module name."""
        self.set_config(config)
        was_training = self.training
        self.eval()
        with torch.no_grad():
            self(example)
        self.train(was_training)
        from snnrs import functional
        functional.reset_net(self)
        # detached slices: they share the supernet's storage without tying into autograd
        return {name: m.weight.detach()[tuple(slice(0, n) for n in m.active_weight.shape)]
                for name, m in self.named_modules()
                if isinstance(m, (ElasticLinear, ElasticConv2d)) and m.active_weight is not None
                and self._in_use(name)}

    def _in_use(self, name: str) -> bool:
        if name.startswith("blocks."):
            return int(name.split(".")[1]) < self.depth
        return True

    def recalibrate(self, batches, steps: int = 4) -> None:
        """Re-estimates the active BatchNorm statistics of the current subnet on training batches
        (shared statistics fit the supernet's mix of subnets, not this one)."""
        from snnrs import functional
        norms = [m for m in self.modules() if isinstance(m, ElasticBatchNorm)]
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.reset_statistics()
            m.momentum = None
        was_training = self.training
        self.train()
        with torch.no_grad():
            for k, batch in enumerate(batches):
                if k >= steps:
                    break
                self(batch[0])
                functional.reset_net(self)
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        self.train(was_training)


__all__ = ["SpikformerSupernet", "ElasticLinear", "ElasticConv2d", "ElasticBatchNorm", "SpikingSelfAttention"]
