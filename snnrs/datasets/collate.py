"""Batching samples whose number of time steps differs (fixed-duration frames)."""

from collections.abc import Sequence

import torch


def pad_sequence_collate(batch: Sequence[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``[(x [T_i, ...], y), ...]`` → ``(x [B, T_max, ...] zero-padded, y [B], lengths [B])``,
    as SpikingJelly's ``pad_sequence_collate``; pair with :func:`padded_sequence_mask`."""
    if not batch:
        raise ValueError("batch: expected at least one sample")
    xs = [torch.as_tensor(x) for x, _ in batch]
    shapes = {tuple(x.shape[1:]) for x in xs}
    if len(shapes) != 1:
        raise ValueError(f"batch: samples differ beyond the time dimension: {sorted(shapes)}")
    lengths = torch.tensor([x.shape[0] for x in xs])
    padded = xs[0].new_zeros((len(xs), int(lengths.max()), *xs[0].shape[1:]))
    for i, x in enumerate(xs):
        padded[i, : x.shape[0]] = x
    return padded, torch.as_tensor([y for _, y in batch]), lengths


def padded_sequence_mask(lengths: torch.Tensor, T: int | None = None) -> torch.Tensor:
    """Bool mask ``[T, B]``: True where step t < lengths[b] (time-first, as snnrs modules)."""
    lengths = torch.as_tensor(lengths)
    T = int(lengths.max()) if T is None else int(T)
    return torch.arange(T).unsqueeze(1) < lengths.unsqueeze(0)


__all__: list[str] = ["pad_sequence_collate", "padded_sequence_mask"]
