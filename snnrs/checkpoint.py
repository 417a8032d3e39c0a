"""Reading a training checkpoint (``last.pt`` / ``best.pt``) and saying in one line what is wrong with it.

A checkpoint is a dictionary written by :meth:`snnrs.training.Trainer.save_checkpoint`: ``model`` (a state
dict), ``optimizers`` and ``schedulers`` (lists of state dicts), ``scaler``, ``epoch`` (epochs done),
``epochs`` (epochs planned), ``best_accuracy``, ``history`` (one dict per epoch), ``rng`` (every random
generator, :mod:`snnrs.rng_state`) and ``config`` (the settings that define the run, or None).
"""

from numbers import Real
from pathlib import Path

import torch

__all__ = ["read_checkpoint", "check_contents", "config_differences"]

# entry: (accepted types, what the message calls them); entries absent from older checkpoints are optional
_ENTRIES = {
    "model": (dict, "a state dict"),
    "optimizers": (list, "a list of optimizer states"),
    "schedulers": (list, "a list of scheduler states"),
    "scaler": (dict, "a GradScaler state"),
    "epoch": (int, "a number of epochs"),
    "best_accuracy": (Real, "a number"),
    "history": (list, "a list of per-epoch rows"),
}
_OPTIONAL = {"epochs": (int, "a number of epochs"), "rng": (dict, "random generator states"),
             "config": ((dict, type(None)), "a settings dictionary")}


def read_checkpoint(path: Path, device="cpu") -> dict:
    """The checkpoint dictionary at ``path``, or a one-line ValueError saying what is wrong with the file."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"{path}: the file is empty (0 bytes): not a snnrs checkpoint (an interrupted copy?)")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as e:  # torch raises several types for foreign or damaged files, some without a message
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ValueError(f"{path}: not a snnrs checkpoint (unreadable, {size} bytes: {first})") from None
    if not isinstance(state, dict) or "model" not in state:
        what = type(state).__name__ if not isinstance(state, dict) else "a dictionary without a 'model' entry"
        raise ValueError(f"{path}: not a snnrs checkpoint (it holds {what})")
    return state


def check_contents(state: dict, path) -> None:
    """ValueError naming ``path`` and the first entry that is missing or of the wrong type, so that resuming
    from a hand-edited or foreign file fails before any work with the reason, not a KeyError."""
    for entries, required in ((_ENTRIES, True), (_OPTIONAL, False)):
        for key, (types, meaning) in entries.items():
            if key not in state:
                if required:
                    raise ValueError(f"{path}: not a resumable snnrs checkpoint (no {key!r} entry)")
                continue
            value = state[key]
            if isinstance(value, bool) or not isinstance(value, types):
                raise ValueError(f"{path}: {key!r} is {value!r:.60}, expected {meaning}")
    if state["epoch"] < 0:
        raise ValueError(f"{path}: 'epoch' is {state['epoch']}, expected a number of epochs >= 0")


def config_differences(saved: dict, current: dict) -> list[str]:
    """``'name: saved -> current'`` for every setting that differs (also one only one side has, shown as
    ``(none)``)."""
    missing = object()

    def shown(value):
        return "(none)" if value is missing else repr(value)

    lines = []
    for key in sorted(set(saved) | set(current), key=str):
        before, after = saved.get(key, missing), current.get(key, missing)
        if before != after:
            lines.append(f"{key}: {shown(before)} -> {shown(after)}")
    return lines
