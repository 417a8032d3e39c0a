"""Smoke test of an installed wheel (run from outside the checkout, in a fresh venv): the package
comes from site-packages, the engine's custom op runs forward and backward, the CLI answers."""

import subprocess
import sys
from pathlib import Path

import torch

import snnrs
from snnrs import neuron

here = Path(snnrs.__file__).resolve()
venv = Path(sys.prefix).resolve()
# The venv shares the system's packages (torch), which may include an editable snnrs: the wheel's must win.
assert venv in here.parents and "site-packages" in here.parts, f"snnrs imported from {here}, not the wheel in {venv}"
print(f"snnrs {snnrs.__version__} from {here.parent}")
x = (torch.rand(4, 3, 5) * 2).requires_grad_()
lif = neuron.LIFNode(step_mode="m")
spikes = lif(x)
spikes.sum().backward()
assert spikes.sum() > 0 and x.grad is not None and x.grad.abs().sum() > 0
spikes_op = torch.ops.snnrs.multistep_neuron_forward(x.detach(), None, None, "lif", 1.0, 0.0, [2.0], True, False,
                                                      "ATan", [2.0], False, False)[0]
assert torch.equal(spikes_op, spikes.detach())
cli = Path(sys.executable).with_name("snnrs")
result = subprocess.run([str(cli), "--help"], capture_output=True, text=True, check=True)
assert "train" in result.stdout
print("wheel smoke test passed")
