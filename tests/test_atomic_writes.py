"""Nothing a save writes is ever half there (#16, item 3): a kill or an exception in the middle of writing a
checkpoint, a metrics row, a NIR graph or the search state leaves the previous file intact (the content goes
to a temporary file beside it, is flushed, and is renamed over it), and a damaged checkpoint is reported in
one line naming the file."""

import csv
import os

import pytest
import torch
from torch import nn

import snnrs.export
from snnrs import atomic, layer, neuron
from snnrs.training import Trainer


class Killed(BaseException):
    """Stands for a kill arriving while the bytes are written (not an Exception: nothing may catch it)."""


def _dying_after(fraction: float, real):
    """A writer that writes the first ``fraction`` of what ``real`` would write to the same target, then dies."""
    def write(obj, target, *args, **kwargs):
        import io
        buffer = io.BytesIO()
        real(obj, buffer, *args, **kwargs)
        data = buffer.getvalue()
        with open(target, "wb") as f:
            f.write(data[: int(len(data) * fraction)])
        raise Killed
    return write


def _trainer(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(1), nn.Linear(4, 3))
    return Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, checkpoint_dir=tmp_path,
                   log_dir=tmp_path, progress=False)


def test_a_kill_during_a_checkpoint_save_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    trainer = _trainer(tmp_path)
    path = tmp_path / "last.pt"
    trainer.save_checkpoint(path)
    before = path.read_bytes()
    with torch.no_grad():
        next(trainer.model.parameters()).add_(1.0)
    monkeypatch.setattr(torch, "save", _dying_after(0.3, torch.save))
    with pytest.raises(Killed):
        trainer.save_checkpoint(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []
    _trainer(tmp_path).load_checkpoint(path)  # still loads


def test_a_kill_while_logging_keeps_every_earlier_metrics_row(tmp_path, monkeypatch):
    trainer = _trainer(tmp_path)
    for epoch in range(3):
        trainer._log({"epoch": epoch, "loss": 0.5 / (epoch + 1)})
    before = (tmp_path / "metrics.csv").read_text()
    real_replace = os.replace

    def killed_replace(*args):
        raise Killed
    monkeypatch.setattr(os, "replace", killed_replace)
    with pytest.raises(Killed):
        trainer._log({"epoch": 3, "loss": 0.1})
    monkeypatch.setattr(os, "replace", real_replace)
    assert (tmp_path / "metrics.csv").read_text() == before
    trainer._log({"epoch": 3, "loss": 0.1})
    rows = list(csv.DictReader((tmp_path / "metrics.csv").open()))
    assert [r["epoch"] for r in rows] == ["0", "1", "2", "3"]


def test_a_failed_nir_export_leaves_the_previous_graph(tmp_path, monkeypatch):
    import nir
    model = nn.Sequential(layer.Linear(3, 2), neuron.LIFNode())
    path = tmp_path / "model.nir"
    snnrs.export.write_nir(model, (3,), path)
    before = path.read_bytes()

    def dying_write(target, graph):
        with open(target, "wb") as f:
            f.write(before[:100])
        raise Killed
    monkeypatch.setattr(nir, "write", dying_write)
    with pytest.raises(Killed):
        snnrs.export.write_nir(model, (3,), path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 not really", b"\x80\x02}q\x00."])
def test_a_damaged_checkpoint_is_one_line_naming_the_file(tmp_path, content):
    path = tmp_path / "last.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        _trainer(tmp_path).load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    if not content:
        assert "empty" in message


def test_atomic_path_removes_its_temporary_file_on_any_failure(tmp_path):
    target = tmp_path / "x.json"
    with pytest.raises(ValueError), atomic.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise ValueError("boom")
    assert list(tmp_path.iterdir()) == []
    atomic.write_json(target, {"a": 1})
    assert target.read_text() == '{"a": 1}'


def test_export_of_an_empty_checkpoint_is_one_line(tmp_path, capsys):
    from snnrs.cli import main
    path = tmp_path / "best.pt"
    path.write_bytes(b"")
    assert main(["export", str(path)]) == 1
    err = capsys.readouterr().err
    assert "empty" in err and len(err.strip().splitlines()) == 1
