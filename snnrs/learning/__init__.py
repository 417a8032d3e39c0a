"""Learning rules beyond backpropagation, with SpikingJelly's names (``activation_based.learning``):

- :mod:`~snnrs.learning.plasticity` — STDP and reward-modulated STDP learners;
- :mod:`~snnrs.learning.online_learning` — online training loops (OTTT, FPTT).
"""

from snnrs.learning import online_learning, plasticity
from snnrs.learning.plasticity import MSTDPETLearner, MSTDPLearner, STDPLearner

__all__ = ["plasticity", "online_learning", "STDPLearner", "MSTDPLearner", "MSTDPETLearner"]
