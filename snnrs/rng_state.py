"""Every random number generator a training run draws from, saved and restored as one value, so that a
resumed run continues exactly as the uninterrupted one would have (the same shuffles, dropout masks and
noise).

Covered: torch's CPU generator, every CUDA device's generator (when CUDA is in use), numpy's and Python's
global generators, and the ``torch.Generator`` objects a data loader owns (``loader.generator``,
``loader.sampler.generator``, ``loader.batch_sampler.sampler.generator``, also behind a wrapper's
``.loader``). A DataLoader without its own generator seeds each pass from torch's global generator, which
is covered too. The state holds only tensors, numbers and lists, so ``torch.load(weights_only=True)``
reads it. Under ``torch.distributed`` rank 0 writes checkpoints, so a resume gives every rank rank 0's
generators: identical for the CPU generators when every rank seeds and draws alike (``snnrs train``), but each
GPU's own CUDA generator is not restored per rank.
"""

import random
import warnings

import numpy as np
import torch

__all__ = ["capture", "restore", "loader_generators"]


def loader_generators(loader) -> list[torch.Generator]:
    """The distinct ``torch.Generator`` objects ``loader`` shuffles or samples with, in a fixed order."""
    found: list[torch.Generator] = []
    holders = [loader, getattr(loader, "loader", None)]
    for holder in holders:
        if holder is None:
            continue
        sampler = getattr(holder, "sampler", None)
        batch_sampler = getattr(holder, "batch_sampler", None)
        for candidate in (getattr(holder, "generator", None), getattr(sampler, "generator", None),
                          getattr(getattr(batch_sampler, "sampler", None), "generator", None)):
            if isinstance(candidate, torch.Generator) and all(candidate is not g for g in found):
                found.append(candidate)
    return found


def capture(loader=None) -> dict:
    """The state of every generator (see the module's docstring), ``loader``'s included when given."""
    keys, position, has_gauss, cached_gaussian = np.random.get_state()[1:]
    version, internal, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(position),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached_gaussian)},
        "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64),
                   "gauss_next": gauss_next},
        "loader": [g.get_state() for g in loader_generators(loader)] if loader is not None else [],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore(state: dict, loader=None) -> None:
    """Puts every generator back as :func:`capture` saw it. A loader with another number of generators
    than the saved one is a ValueError (it would shuffle differently from the interrupted run)."""
    # a checkpoint loaded with map_location='cuda' brings these tensors to the GPU; generators take CPU bytes
    torch.set_rng_state(state["torch"].cpu())
    numpy_state = state["numpy"]
    np.random.set_state(("MT19937", numpy_state["keys"].cpu().numpy().astype(np.uint32), numpy_state["pos"],
                         numpy_state["has_gauss"], numpy_state["cached_gaussian"]))
    python_state = state["python"]
    random.setstate((python_state["version"], tuple(int(v) for v in python_state["internal"].cpu().tolist()),
                     python_state["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        saved = state["cuda"]
        if len(saved) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.cpu() for s in saved])
        else:
            warnings.warn(f"the checkpoint saved {len(saved)} CUDA generators, this machine has "
                          f"{torch.cuda.device_count()} devices: CUDA random numbers will differ from the "
                          "interrupted run's", stacklevel=2)
    if loader is not None:
        generators = loader_generators(loader)
        if len(generators) != len(state["loader"]):
            raise ValueError(f"the data loader has {len(generators)} random generators, the checkpoint saved "
                             f"{len(state['loader'])}: it would not shuffle as the interrupted run did")
        for generator, saved in zip(generators, state["loader"]):
            generator.set_state(saved.cpu())
