"""Deployment: NIR export and import (``docs/semantics.md#nir``). :func:`to_nir` writes snnrs models as NIR graphs;
:func:`from_nir` builds torch modules from NIR graphs of any framework. ``nir.write(path, graph)``
saves a graph; ``snnrs.runtime`` runs saved graphs without torch."""

from snnrs.export.nir_export import to_nir
from snnrs.export.nir_import import NIRGraphModule, from_nir
from snnrs.export.nir_modules import NIRNeuron, Scale, Threshold

__all__ = ["to_nir", "from_nir", "NIRGraphModule", "NIRNeuron", "Scale", "Threshold", "write_nir"]


def write_nir(model, example_input, path, dt: float | None = None, target: str | None = None):
    """``to_nir`` and ``nir.write`` in one call (the file written atomically); returns the graph.
    ``target='snntorch'``: a file snnTorch reads as snnrs runs it (see ``to_nir``)."""
    import nir

    from snnrs import atomic
    graph = to_nir(model, example_input, dt, target)
    with atomic.atomic_path(path) as tmp:
        nir.write(str(tmp), graph)
    return graph
