"""Neuron, surrogate and flag ids come from one table: the shaders name them, never number them."""

import re

from snnrs import _engine
from snnrs.gpu import device, ids


def test_ids_are_positions_in_the_engine_registries():
    assert [name for name, _ in _engine.NEURONS][:3] == ["if", "lif", "plif"]  # the ids the GPU has always used
    assert {name: k for k, (name, _) in enumerate(_engine.NEURONS)} == ids.NEURON_IDS
    assert {name: k for k, name in enumerate(_engine.SURROGATES)} == ids.SURROGATE_IDS
    constants = ids.wgsl_constants()
    assert "const NEURON_plif: u32 = 2u;" in constants
    assert f"const SG_ATan: u32 = {_engine.SURROGATES.index('ATan')}u;" in constants
    assert "const FLAG_hard_reset: u32 = 1u;" in constants and ids.flags(hard_reset=True, v_init=True) == 2 | 16


def test_shaders_use_the_generated_names_not_numbers():
    numbered = re.compile(r"p\.(neuron|surrogate)\s*[!=]=\s*\d|case\s+\d+u?\s*:|flag\(\s*\d+u?\s*\)")
    offending = [f"{path.name}:{k}: {line.strip()}"
                 for path in sorted(device.SHADER_DIR.glob("*.wgsl"))
                 for k, line in enumerate(path.read_text().splitlines(), 1) if numbered.search(line)]
    assert offending == []


def test_every_surrogate_has_a_shader_arm_and_the_gpu_neurons_a_charge_rule():
    surrogate_wgsl = (device.SHADER_DIR / "surrogate.wgsl").read_text()
    charge_wgsl = (device.SHADER_DIR / "charge.wgsl").read_text()
    assert sorted(re.findall(r"case SG_(\w+):", surrogate_wgsl)) == sorted(_engine.SURROGATES)
    # charge() and dh_dv() have one arm per GPU neuron; their default is NaN, never another neuron's rule.
    for function in ("charge", "dh_dv"):
        body = charge_wgsl.split(f"fn {function}(")[1].split("\nfn ")[0]
        assert sorted(re.findall(r"case NEURON_(\w+):", body)) == sorted(ids.GPU_NEURONS), function
        assert "default: {\n            return not_a_gpu_neuron();" in body, function
