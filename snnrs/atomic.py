"""Files written whole or not at all: a kill, a full disk or an exception during a save leaves the previous
file as it was, never a truncated one.

Every writer of user-visible state (checkpoints, ``metrics.csv``, NIR graphs, search state and reports) goes
through :func:`atomic_path`: the content is written to a temporary file in the destination's folder, flushed
to disk (fsync), and renamed over the destination (atomic on POSIX and Windows), then the folder entry is
flushed too.
"""

import contextlib
import csv
import json
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_path", "save_torch", "write_text", "write_json", "append_csv_row", "write_csv_rows", "save_figure"]


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()  # read once, at import: os.umask can only be read by setting it


def _fsync_directory(folder: Path):
    if os.name != "posix":  # Windows cannot open a directory; its rename is flushed with the file
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yields a temporary path beside ``path``; write the whole content there. On a normal exit it is
    flushed and renamed to ``path``; on an exception it is removed and ``path`` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        # mkstemp makes the file private (0600); give it the mode a plain open() would have
        os.chmod(tmp, 0o666 & ~_UMASK)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_directory(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_torch(obj, path: str | Path):
    """``torch.save(obj, path)``, atomically."""
    import torch
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def write_text(path: str | Path, text: str):
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | Path, value, **kwargs):
    write_text(path, json.dumps(value, **kwargs))


def append_csv_row(path: str | Path, row: dict):
    """Appends ``row`` to the CSV file ``path`` (with a header when new), rewriting the file atomically so a
    crash leaves either all the previous rows or all of them plus this one."""
    path = Path(path)
    previous = path.read_bytes() if path.exists() else b""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as raw:
            raw.write(previous)
        with open(tmp, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if not previous:
                writer.writeheader()
            writer.writerow(row)


def write_csv_rows(path: str | Path, rows: list[dict]):
    """Replaces the CSV file ``path`` with a header and ``rows`` (the columns of the first row), atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        if rows:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def save_figure(fig, path: str | Path, dpi: int = 100):
    """A matplotlib figure saved atomically, in the format of ``path``'s suffix (PNG without one)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".").lower() or "png")
    return path
