"""SpikingJelly 2.0.0's own sources, read at test time from the installed package, and the same
sources with their imports pointed at snnrs (rewritten in memory: no SpikingJelly code is part
of this repository).

SpikingJelly imports tensorboard at the top of its monitor module, only to log; where tensorboard
is not installed a stand-in ``SummaryWriter`` takes its place so that the rest imports.
"""

import importlib
import importlib.util
import os
import re
import sys
import types
from pathlib import Path

import pytest

SJ_VERSION = "2.0.0"


def _stand_in_tensorboard():
    if importlib.util.find_spec("tensorboard") is not None:
        return
    module = types.ModuleType("torch.utils.tensorboard")

    class SummaryWriter:  # the examples only log through it
        def __init__(self, *args, **kwargs):
            pass

        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    module.SummaryWriter = SummaryWriter
    sys.modules["torch.utils.tensorboard"] = module


def spikingjelly():
    """``spikingjelly.activation_based`` of the installed SpikingJelly 2.0.0; skips without it
    (fails in CI, which installs it)."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        installed = version("spikingjelly")
    except PackageNotFoundError:
        installed = None
    if installed != SJ_VERSION:
        message = f"SpikingJelly {SJ_VERSION} is not installed (found {installed})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    _stand_in_tensorboard()
    for name in ("neuron", "layer", "functional", "surrogate", "encoding", "monitor", "base", "learning"):
        importlib.import_module(f"spikingjelly.activation_based.{name}")
    return importlib.import_module("spikingjelly.activation_based")


def source_path(relative: str) -> Path:
    """The path of a file of ``spikingjelly/activation_based`` (e.g. ``'examples/lif_fc_mnist.py'``)."""
    return Path(spikingjelly().__file__).parent / relative


# (pattern, replacement) applied in order: absolute imports, then the relative ones of the model files.
_IMPORT_REWRITES = [
    (r"\bspikingjelly\.activation_based\.model\b", "snnrs.models"),
    (r"\bspikingjelly\.activation_based\b", "snnrs"),
    (r"^(\s*)from \.\.model import", r"\1from snnrs.models import"),
    (r"^(\s*)from \.\.([\w.]+) import", r"\1from snnrs.\2 import"),
    (r"^(\s*)from \.\. import", r"\1from snnrs import"),
    # a model file's sibling (masnn.py imports ms_resnet.py): that file, rewritten too
    (r"^(\s*)from \.([\w.]+) import", r"\1from sj_as_snnrs.model.\2 import"),
]
_SIBLING = re.compile(r"^\s*from \.(\w+) import", re.MULTILINE)


# SpikingJelly's multi-GPU tooling (tensor/pipeline parallel builders, activation-memory planning) is
# deliberately not part of snnrs (docs/spikingjelly.md); model files that import it keep SpikingJelly's.
KEPT_FROM_SPIKINGJELLY = ("memopt", "distributed")
_KEPT = "KEPT_SPIKINGJELLY_TOOLING"  # a marker the general rewrites leave alone


def _keep_tooling(match: re.Match) -> str:
    indent, names = match.group(1), [n.strip() for n in match.group(2).split(",")]
    ours = [n for n in names if n not in KEPT_FROM_SPIKINGJELLY]
    theirs = [n for n in names if n in KEPT_FROM_SPIKINGJELLY]
    lines = [f"{indent}from .. import {', '.join(ours)}"] if ours else []
    if theirs:
        lines.append(f"{indent}from {_KEPT} import {', '.join(theirs)}")
    return "\n".join(lines)


def rewrite_imports(source: str) -> str:
    source = re.sub(r"^(\s*)from \.\. import ([\w, ]+)$", _keep_tooling, source, flags=re.MULTILINE)
    kept = "|".join(KEPT_FROM_SPIKINGJELLY)
    source = re.sub(rf"^(\s*)from \.\.({kept})\b", rf"\1from {_KEPT}.\2", source, flags=re.MULTILINE)
    for pattern, replacement in _IMPORT_REWRITES:
        source = re.sub(pattern, replacement, source, flags=re.MULTILINE)
    return source.replace(_KEPT, "spikingjelly.activation_based")


def load_as_snnrs(relative: str, module_name: str | None = None) -> types.ModuleType:
    """Executes SpikingJelly's file ``relative`` with its imports pointed at snnrs, as a fresh module."""
    path = source_path(relative)
    name = module_name or "sj_as_snnrs." + relative.removesuffix(".py").replace("/", ".")
    source = path.read_text()
    parts = name.split(".")
    for depth in range(1, len(parts)):  # parent packages, so that imports of siblings resolve
        package = ".".join(parts[:depth])
        if package not in sys.modules:
            sys.modules[package] = types.ModuleType(package)
            sys.modules[package].__path__ = []
    folder = relative.rsplit("/", 1)[0] if "/" in relative else ""
    for sibling in _SIBLING.findall(source):
        sibling_name = "sj_as_snnrs." + (f"{folder}." if folder else "") + sibling
        if sibling_name not in sys.modules:
            load_as_snnrs(f"{folder}/{sibling}.py" if folder else f"{sibling}.py", sibling_name)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module  # dataclasses and pickling look the module up
    code = compile(rewrite_imports(source), f"{path} (imports -> snnrs)", "exec")
    exec(code, module.__dict__)
    return module


def load_spikingjelly(relative: str) -> types.ModuleType:
    """SpikingJelly's own module for the file ``relative``."""
    spikingjelly()
    dotted = "spikingjelly.activation_based." + relative.removesuffix(".py").replace("/", ".")
    return importlib.import_module(dotted)
