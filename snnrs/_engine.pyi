"""Types of the compiled extension `snnrs._engine` (Rust sources in engine/src/python/).

Checked against the built module by tests/test_engine_stub.py (mypy's stubtest): a
change to a binding's name, parameters, defaults or module attributes fails that test
until this file follows.

Float arrays of one call share one dtype, float32 or float64 (`_F`); outputs have it too.
Defaults the extension does not expose are written `...`, with their value in a comment.
"""

from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar, final

import numpy as np
from numpy.typing import NDArray
from typing_extensions import Self

__all__ = [
    "neuron_forward",
    "neuron_backward",
    "izhikevich_forward",
    "izhikevich_backward",
    "resonate_forward",
    "resonate_backward",
    "surrogate_derivative",
    "saved_bytes_per_neuron_step",
    "set_buffer_pool_limit",
    "buffer_pool_stats",
    "SURROGATES",
    "NEURONS",
    "decode_events",
    "detect_event_format",
    "accumulate_frames",
    "frames_from_file",
    "EventStream",
    "EVENT_FORMATS",
    "EVENT_RECORD_BYTES",
    "sparse_conv_forward",
    "sparse_conv_weight_grad",
    "IZHIKEVICH_PARAMETERS",
    "RESONATE_PARAMETERS",
]

_F = TypeVar("_F", np.float32, np.float64)

# Registries. A name's position in SURROGATES / NEURONS is its numeric id in the WGSL shaders.
SURROGATES: Final[list[str]]
"""Surrogate names, in table order."""
NEURONS: Final[list[tuple[str, list[str]]]]
"""(neuron name, its parameter names), in table order."""
IZHIKEVICH_PARAMETERS: Final[list[str]]
RESONATE_PARAMETERS: Final[list[str]]
EVENT_FORMATS: Final[list[str]]
EVENT_RECORD_BYTES: Final[int]

# Single-state neurons.

def neuron_forward(
    x: NDArray[_F] | NDArray[np.uint16],
    v_init: NDArray[_F] | None = None,
    *,
    neuron: str,
    params: Sequence[float] = ...,  # []
    decay_input: bool = True,
    v_threshold: float = 1.0,
    v_reset: float | None = ...,  # 0.0; None: soft reset
    store_v_seq: bool = False,
    save_for_backward: bool = True,
    storage: str | None = None,
) -> tuple[NDArray[Any], NDArray[_F], NDArray[_F] | None, NDArray[np.uint8] | None, NDArray[_F] | None]:
    """Returns (spikes, v_last, h_seq, bits, v_seq); h_seq and bits are None without
    save_for_backward, v_seq without store_v_seq. storage='bfloat16'/'float16': x and the
    spikes are that dtype's bits (uint16), the state arrays float32."""

def neuron_backward(
    grad_spikes: NDArray[_F] | NDArray[np.uint16] | None,
    h_seq: NDArray[_F],
    bits: NDArray[np.uint8],
    v_init: NDArray[_F] | None = None,
    *,
    grad_v_seq: NDArray[_F] | None = None,
    grad_v_last: NDArray[_F] | None = None,
    grad_h_seq: NDArray[_F] | None = None,
    x: NDArray[_F] | NDArray[np.uint16] | None = None,
    neuron: str,
    params: Sequence[float] = ...,  # []
    decay_input: bool = True,
    v_threshold: float = 1.0,
    v_reset: float | None = ...,  # 0.0
    detach_reset: bool = False,
    surrogate: str = "Sigmoid",
    surrogate_params: Sequence[float] = ...,  # [4.0]
    storage: str | None = None,
) -> tuple[NDArray[Any], NDArray[_F], float]:
    """Returns (grad_x, grad_v_init, grad_k); with storage, grad_spikes, x and grad_x are uint16 bits."""

# Izhikevich: a second state W.

def izhikevich_forward(
    x: NDArray[_F],
    v_init: NDArray[_F] | None = None,
    w_init: NDArray[_F] | None = None,
    *,
    params: Sequence[float],
    v_threshold: float = 1.0,
    v_reset: float | None = ...,  # 0.0
    store_v_seq: bool = False,
    save_for_backward: bool = True,
) -> tuple[
    NDArray[_F], NDArray[_F], NDArray[_F], NDArray[_F] | None, NDArray[np.uint8] | None, NDArray[_F] | None
]:
    """Returns (spikes, v_last, w_last, h_seq, bits, v_seq)."""

def izhikevich_backward(
    grad_spikes: NDArray[_F] | None,
    h_seq: NDArray[_F],
    bits: NDArray[np.uint8],
    v_init: NDArray[_F] | None = None,
    *,
    grad_v_seq: NDArray[_F] | None = None,
    grad_v_last: NDArray[_F] | None = None,
    grad_w_last: NDArray[_F] | None = None,
    params: Sequence[float],
    v_threshold: float = 1.0,
    v_reset: float | None = ...,  # 0.0
    detach_reset: bool = False,
    surrogate: str = "Sigmoid",
    surrogate_params: Sequence[float] = ...,  # [4.0]
) -> tuple[NDArray[_F], NDArray[_F], NDArray[_F]]:
    """Returns (grad_x, grad_v_init, grad_w_init)."""

# Resonate-and-fire: a second state u.

def resonate_forward(
    x: NDArray[_F],
    v_init: NDArray[_F] | None = None,
    u_init: NDArray[_F] | None = None,
    *,
    params: Sequence[float],
    v_threshold: float = 1.0,
    v_reset: float | None = ...,  # 0.0
    store_v_seq: bool = False,
    save_for_backward: bool = True,
) -> tuple[
    NDArray[_F], NDArray[_F], NDArray[_F], NDArray[_F] | None, NDArray[np.uint8] | None, NDArray[_F] | None
]:
    """Returns (spikes, v_last, u_last, h_seq, bits, v_seq)."""

def resonate_backward(
    grad_spikes: NDArray[_F] | None,
    h_seq: NDArray[_F],
    bits: NDArray[np.uint8],
    v_init: NDArray[_F] | None = None,
    *,
    grad_v_seq: NDArray[_F] | None = None,
    grad_v_last: NDArray[_F] | None = None,
    grad_u_last: NDArray[_F] | None = None,
    params: Sequence[float],
    v_threshold: float = 1.0,
    v_reset: float | None = ...,  # 0.0
    detach_reset: bool = False,
    surrogate: str = "Sigmoid",
    surrogate_params: Sequence[float] = ...,  # [4.0]
) -> tuple[NDArray[_F], NDArray[_F], NDArray[_F]]:
    """Returns (grad_x, grad_v_init, grad_u_init)."""

# Surrogates, saved memory, output-buffer pool.

def surrogate_derivative(name: str, params: Sequence[float], x: NDArray[np.float64]) -> NDArray[np.float64]: ...
def saved_bytes_per_neuron_step(itemsize: int) -> float: ...
def set_buffer_pool_limit(bytes: int) -> None: ...
def buffer_pool_stats() -> tuple[int, int]:
    """(bytes cached now, byte limit)."""

# Spike-sparse synapses (docs/semantics.md#sparse-synapses).

def sparse_conv_forward(
    x: NDArray[_F],
    weight: NDArray[_F],
    bias: NDArray[_F] | None = None,
    *,
    stride: tuple[int, int] = ...,  # (1, 1)
    padding: tuple[int, int] = ...,  # (0, 0)
    dilation: tuple[int, int] = ...,  # (1, 1)
    groups: int = 1,
) -> NDArray[_F]:
    """``conv(x [N, C, H, W], weight [O, C/groups, KH, KW]) + bias`` over the nonzero inputs, channels-last
    ``[N, OH, OW, O]``."""

def sparse_conv_weight_grad(
    x: NDArray[_F],
    grad_output: NDArray[_F],
    *,
    kernel_size: tuple[int, int],
    stride: tuple[int, int] = ...,  # (1, 1)
    padding: tuple[int, int] = ...,  # (0, 0)
    dilation: tuple[int, int] = ...,  # (1, 1)
    groups: int = 1,
) -> NDArray[_F]:
    """The weight gradient ``[O, C/groups, KH, KW]`` over the nonzero inputs of ``x``, from the channels-last
    output gradient ``[N, OH, OW, O]``."""

# Event files and frames.

def decode_events(
    data: bytes | NDArray[np.uint8], format: str, source: str = "<bytes>", max_events: int | None = None
) -> tuple[NDArray[np.uint8], tuple[int, int] | None]:
    """Returns (records as uint8 [16·n], (width, height) or None); ValueError for corrupt bytes,
    MemoryError past ``max_events`` events (None: no budget) or the memory available."""

def detect_event_format(head: bytes, extension: str) -> str | None: ...
def accumulate_frames(
    records: NDArray[np.uint8],
    starts: NDArray[np.uint64],
    ends: NDArray[np.uint64],
    *,
    width: int,
    height: int,
    channels: int = 2,
    binarize: bool = False,
) -> NDArray[np.float32]:
    """Returns float32 [M, channels, height, width]."""

def frames_from_file(
    path: str,
    format: str,
    plan: Callable[[int, tuple[int, int] | None, tuple[int, int] | None],
                   tuple[str, NDArray[Any], NDArray[Any], int, int, int, bool]],
    block_bytes: int | None = None,
) -> NDArray[np.float32]:
    """The events of the file at ``path`` counted into frames, the file read in blocks and no event written
    out: once the events are counted,
    ``plan(count, (first t, last t) or None, (width, height) or None)`` returns
    ``(domain 'index' | 'time', lo, hi, width, height, channels, binarize)``. Returns float32
    [windows, channels, height, width]."""

@final
class EventStream:
    """Streaming decoder: feed(chunk) returns the records completed so far, finish() the rest."""

    def __new__(cls, format: str, source: str = "<stream>") -> Self: ...
    def feed(self, chunk: bytes) -> NDArray[np.uint8]: ...
    def finish(self) -> NDArray[np.uint8]: ...
    @property
    def sensor(self) -> tuple[int, int] | None:
        """(width, height) once the header is read, when the format tells."""

    @property
    def position(self) -> int:
        """Bytes decoded so far."""
