"""The CUDA path for torch tensors: the multi-step neurons as Triton kernels (:mod:`snnrs.cuda.kernels`).

Triton ships with the CUDA builds of torch. ``TRITON_INTERPRET=1`` (set before triton is imported) runs
the same kernels on CPU tensors in NumPy, which is how CI holds them to ``reference/`` without a GPU.
Importing this package imports neither triton nor the kernels; :func:`neuron_forward` and
:func:`neuron_backward` do, on first use.
"""

import contextlib
import functools
import importlib.util
import os

__all__ = ["available", "interpreted", "interpreter", "runs", "neuron_forward", "neuron_backward",
           "izhikevich_forward", "izhikevich_backward", "CUDA_NEURONS"]

# The neurons the Triton charge rules implement (snnrs/cuda/kernels.py).
CUDA_NEURONS = ("if", "lif", "plif", "qif", "eif", "cuba", "klif")


def interpreted() -> bool:
    """True when triton runs kernels in its interpreter (``TRITON_INTERPRET=1``): on CPU tensors."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


@functools.lru_cache(maxsize=1)
def _triton_installed() -> bool:
    return importlib.util.find_spec("triton") is not None


def available() -> bool:
    """True when the Triton kernels can run here: triton is installed and a CUDA device is present
    (or the interpreter is on)."""
    if not _triton_installed():
        return False
    if interpreted():
        return True
    import torch

    return torch.cuda.is_available()


def runs(t) -> bool:
    """True when the fused neuron ops run the Triton kernels on tensor ``t``: a CUDA tensor where triton
    is installed. For tests of this path without a GPU, ``SNNRS_TRITON_ON_CPU=1`` with
    ``TRITON_INTERPRET=1`` sends CPU tensors through the kernels in triton's interpreter."""
    if t.device.type == "cuda":
        return _triton_installed()
    return (t.device.type == "cpu" and os.environ.get("SNNRS_TRITON_ON_CPU") == "1" and interpreted()
            and _triton_installed())


@contextlib.contextmanager
def interpreter(cpu_tensors: bool = False):
    """Within the block, triton's interpreter runs the kernels (``TRITON_INTERPRET=1``: they take CPU
    tensors); with ``cpu_tensors`` the neuron ops send CPU tensors through them too
    (``SNNRS_TRITON_ON_CPU=1``). Both variables are restored after. The kernels module must first be
    imported inside such a block (triton decides at that point whether to compile or interpret)."""
    wanted = {"TRITON_INTERPRET": "1", "SNNRS_TRITON_ON_CPU": "1" if cpu_tensors else "0"}
    before = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def __getattr__(name):
    if name in ("neuron_forward", "neuron_backward", "izhikevich_forward", "izhikevich_backward"):
        from snnrs.cuda import neuron

        return getattr(neuron, name)
    raise AttributeError(f"module 'snnrs.cuda' has no attribute {name!r}")
