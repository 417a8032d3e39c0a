"""Auto-Spikformer (``docs/semantics.md#auto-spikformer``): a weight-entangled Spikformer supernet,
evolutionary search of architecture and neuron genes, and the accuracy–energy fitness F_AEB with a Pareto front."""

from snnrs.search.auto_spikformer import (
    DIGITS_SPACE,
    SubnetEvaluator,
    hand_designed,
    measure,
    search,
    search_digits,
    train_supernet,
    write_front,
)
from snnrs.search.data import SearchData
from snnrs.search.evolution import Evaluation, EvolutionSearch, crossover, fitness, mutate, pareto_front
from snnrs.search.space import SearchSpace, key
from snnrs.search.supernet import ElasticBatchNorm, ElasticConv2d, ElasticLinear, SpikformerSupernet

__all__ = ["SearchSpace", "key", "SpikformerSupernet", "ElasticLinear", "ElasticConv2d", "ElasticBatchNorm",
           "EvolutionSearch", "Evaluation", "fitness", "pareto_front", "mutate", "crossover", "DIGITS_SPACE",
           "SubnetEvaluator", "search", "search_digits", "train_supernet", "write_front", "measure", "hand_designed",
           "SearchData"]
