"""The Triton kernels compile for an NVIDIA GPU (sm_90 through triton's own ptxas), here, without one:
types, loop-carried values and constexpr branches of the compiled path hold, which triton's interpreter
(conformance/test_cuda_equals_reference.py) does not check. Every neuron in every streamed dtype forward,
every surrogate and every neuron backward, Izhikevich both ways."""

import importlib.util
import os
from pathlib import Path

import pytest

import snnrs
from snnrs.gpu.ids import NEURON_IDS, SURROGATE_IDS

SINGLE_STATE = ("if", "lif", "plif", "qif", "eif", "cuba", "klif")
F32 = "*fp32"


@pytest.fixture(scope="module")
def compiled_kernels():
    """A copy of snnrs/cuda/kernels.py loaded for compiling (its functions are interpreted when the module
    was imported under TRITON_INTERPRET=1, as the conformance tests do), with triton's compile entry."""
    if importlib.util.find_spec("triton") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("triton is missing in CI (it comes with torch's Linux wheels)")
        pytest.skip("triton is not installed")
    before = os.environ.pop("TRITON_INTERPRET", None)
    try:
        spec = importlib.util.spec_from_file_location(
            "snnrs_cuda_kernels_for_compiling", Path(snnrs.__file__).parent / "cuda" / "kernels.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if before is not None:
            os.environ["TRITON_INTERPRET"] = before
    return module


def compile_for_sm90(fn, pointers: dict, ints: set, constants: dict):
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    signature = {name: ("constexpr" if name in constants else pointers.get(name, "i32" if name in ints else "fp32"))
                 for name in fn.arg_names}
    compiled = triton.compile(ASTSource(fn, signature, constexprs=constants), target=GPUTarget("cuda", 90, 32))
    assert compiled.asm["cubin"], fn.__name__
    return compiled


@pytest.mark.parametrize("neuron", SINGLE_STATE)
@pytest.mark.parametrize("dtype", ["*fp32", "*bf16", "*fp16"])
def test_forward_compiles_for_every_neuron_and_dtype(compiled_kernels, neuron, dtype):
    pointers = {"x_ptr": dtype, "spikes_ptr": dtype, "bits_ptr": "*u8"}
    pointers.update(dict.fromkeys(("v_init_ptr", "v_last_ptr", "h_ptr", "v_seq_ptr"), F32))
    compile_for_sm90(compiled_kernels.neuron_forward, pointers, {"steps", "n", "row_bytes"},
                     dict(NEURON=NEURON_IDS[neuron], DECAY_INPUT=neuron != "qif", HARD_RESET=neuron != "eif",
                          HAS_V_INIT=True, SAVE=True, STORE_V_SEQ=True, BLOCK=256))


BACKWARD_CASES = [(neuron, "ATan", "*fp32") for neuron in SINGLE_STATE]
BACKWARD_CASES += [("lif", surrogate, "*fp32") for surrogate in SURROGATE_IDS]
BACKWARD_CASES += [("plif", "Sigmoid", "*bf16"), ("klif", "Rect", "*fp16")]


@pytest.mark.parametrize("neuron,surrogate,dtype", BACKWARD_CASES)
def test_backward_compiles(compiled_kernels, neuron, surrogate, dtype):
    pointers = {p: F32 for p in compiled_kernels.neuron_backward.arg_names if p.endswith("_ptr")}
    pointers.update({"grad_spikes_ptr": dtype, "x_ptr": dtype, "grad_x_ptr": dtype, "bits_ptr": "*u8"})
    compile_for_sm90(compiled_kernels.neuron_backward, pointers, {"steps", "n", "row_bytes", "sg_count"},
                     dict(NEURON=NEURON_IDS[neuron], DECAY_INPUT=neuron != "cuba", HARD_RESET=neuron != "if",
                          DETACH_RESET=neuron == "lif", SURROGATE=SURROGATE_IDS[surrogate], HAS_GRAD_SPIKES=True,
                          HAS_GRAD_V_SEQ=True, HAS_GRAD_V_LAST=True, HAS_GRAD_H=True, HAS_V_INIT=neuron != "qif",
                          V_PREV=neuron in ("plif", "qif", "eif", "klif"), LEARNABLE=neuron in ("plif", "klif"),
                          BLOCK=256))


def test_izhikevich_compiles(compiled_kernels):
    for fn, ints, constants in (
            (compiled_kernels.izhikevich_forward, {"steps", "n", "row_bytes"},
             dict(HARD_RESET=False, HAS_V_INIT=False, HAS_W_INIT=True, SAVE=True, STORE_V_SEQ=True, BLOCK=256)),
            (compiled_kernels.izhikevich_backward, {"steps", "n", "row_bytes", "sg_count"},
             dict(HARD_RESET=True, DETACH_RESET=False, SURROGATE=SURROGATE_IDS["SquarewaveFourierSeries"],
                  HAS_GRAD_SPIKES=True, HAS_GRAD_V_SEQ=True, HAS_GRAD_V_LAST=True, HAS_GRAD_W_LAST=True,
                  HAS_V_INIT=True, BLOCK=256))):
        pointers = {p: F32 for p in fn.arg_names if p.endswith("_ptr")}
        pointers["bits_ptr"] = "*u8"
        compile_for_sm90(fn, pointers, ints, constants)
