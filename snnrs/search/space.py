"""The Auto-Spikformer search space (``docs/semantics.md#auto-spikformer``) and its genes.

A configuration holds architecture genes (embed_dim, num_heads, mlp_ratio, depth) and neuron genes
(T, one threshold per block position, tau). Thresholds apply to a block's LIF neurons except the
attention neuron, which keeps its 0.5 (**our definition**: SSA's scale and threshold are part of
the operator); tau applies to every LIF of the network.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass, field


def _steps(start: float, stop: float, step: float) -> tuple[float, ...]:
    count = int(round((stop - start) / step)) + 1
    return tuple(round(start + k * step, 6) for k in range(count))


@dataclass(frozen=True)
class SearchSpace:
    embed_dim: tuple[int, ...] = (192, 240, 336, 384)
    num_heads: tuple[int, ...] = (6, 12)
    mlp_ratio: tuple[float, ...] = (3.0, 3.5, 4.0)
    depth: tuple[int, ...] = (2, 3, 4)
    T: tuple[int, ...] = (2, 3, 4, 5, 6)
    threshold: tuple[float, ...] = field(default_factory=lambda: _steps(0.6, 2.0, 0.2))
    tau: tuple[float, ...] = (1.25, 2.0, 10.0)

    def __post_init__(self):
        for name in ("embed_dim", "num_heads", "mlp_ratio", "depth", "T", "threshold", "tau"):
            if not getattr(self, name):
                raise ValueError(f"{name}: expected at least one choice")
        if any(d % 8 for d in self.embed_dim):
            raise ValueError(f"embed_dim: expected multiples of 8 (SPS uses D/8), got {self.embed_dim}")
        if not any(max(self.embed_dim) % h == 0 for h in self.num_heads):
            raise ValueError(f"num_heads: no choice divides the largest embed_dim {max(self.embed_dim)} "
                             "(the supernet's width)")
        if min(self.tau) <= 1:
            raise ValueError(f"tau: expected values > 1, got {self.tau}")

    @property
    def max_depth(self) -> int:
        return max(self.depth)

    @property
    def max_config(self) -> dict:
        """The largest architecture (the supernet's shape)."""
        return {"embed_dim": max(self.embed_dim), "num_heads": max(h for h in self.num_heads
                                                                  if max(self.embed_dim) % h == 0),
                "mlp_ratio": max(self.mlp_ratio), "depth": self.max_depth, "T": max(self.T),
                "threshold": [1.0] * self.max_depth, "tau": 2.0 if 2.0 in self.tau else self.tau[0]}

    @property
    def min_config(self) -> dict:
        """The cheapest subnet (the sandwich rule's lower slice): the smallest embed_dim that some num_heads
        divides, with the fewest such heads, and the smallest mlp_ratio, depth and T; thresholds and tau
        (which change no size) as in :attr:`max_config`."""
        top = self.max_config
        d = min(d for d in self.embed_dim if any(d % h == 0 for h in self.num_heads))
        heads = min(h for h in self.num_heads if d % h == 0)
        return {**top, "embed_dim": d, "num_heads": heads, "mlp_ratio": min(self.mlp_ratio),
                "depth": min(self.depth), "T": min(self.T), "threshold": list(top["threshold"])}

    def valid(self, config: dict) -> bool:
        """In the space, with num_heads dividing embed_dim."""
        try:
            return (config["embed_dim"] in self.embed_dim and config["num_heads"] in self.num_heads
                    and config["mlp_ratio"] in self.mlp_ratio and config["depth"] in self.depth
                    and config["T"] in self.T and config["tau"] in self.tau
                    and len(config["threshold"]) == self.max_depth
                    and all(t in self.threshold for t in config["threshold"])
                    and config["embed_dim"] % config["num_heads"] == 0)
        except (KeyError, TypeError):
            return False

    def sample(self, rng: random.Random) -> dict:
        while True:
            config = {"embed_dim": rng.choice(self.embed_dim), "num_heads": rng.choice(self.num_heads),
                      "mlp_ratio": rng.choice(self.mlp_ratio), "depth": rng.choice(self.depth), "T": rng.choice(self.T),
                      "threshold": [rng.choice(self.threshold) for _ in range(self.max_depth)],
                      "tau": rng.choice(self.tau)}
            if self.valid(config):
                return config

    def genes(self) -> list[tuple[str, Sequence]]:
        """(gene, choices); thresholds are one gene per block position (``threshold.k``)."""
        plain = [(name, getattr(self, name)) for name in ("embed_dim", "num_heads", "mlp_ratio", "depth", "T", "tau")]
        return plain + [(f"threshold.{k}", self.threshold) for k in range(self.max_depth)]


def get_gene(config: dict, gene: str):
    if gene.startswith("threshold."):
        return config["threshold"][int(gene.split(".")[1])]
    return config[gene]


def set_gene(config: dict, gene: str, value) -> None:
    if gene.startswith("threshold."):
        config["threshold"][int(gene.split(".")[1])] = value
    else:
        config[gene] = value


def key(config: dict) -> str:
    """A canonical text for a configuration (only the thresholds of blocks in use count)."""
    used = config["threshold"][:config["depth"]]
    return (f"D{config['embed_dim']}-H{config['num_heads']}-R{config['mlp_ratio']}-L{config['depth']}-T{config['T']}"
            f"-tau{config['tau']}-th{'/'.join(f'{t:g}' for t in used)}")


__all__ = ["SearchSpace", "get_gene", "set_gene", "key"]
