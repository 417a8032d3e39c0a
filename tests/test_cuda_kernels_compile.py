"""The Triton kernels compile for an NVIDIA GPU (sm_90 through triton's own ptxas), here, without one:
types, loop-carried values and constexpr branches of the compiled path hold, which triton's interpreter
(conformance/test_cuda_equals_reference.py) does not check. Every neuron in every streamed dtype forward,
every surrogate and every neuron backward, Izhikevich both ways.

The compiling runs in a fresh process with an empty triton cache: in a process where the interpreter has
run kernels (tests/test_cuda_dispatch.py), triton's code generator fails on them (seen with triton 3.7), and a
warm cache would skip the compiling this test is for."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

import snnrs
from snnrs.gpu.ids import NEURON_IDS, SURROGATE_IDS

SINGLE_STATE = ("if", "lif", "plif", "qif", "eif", "cuba", "klif")
F32 = "*fp32"


def kernels_for_compiling():
    """snnrs/cuda/kernels.py loaded as a fresh module (JIT functions, not interpreted ones)."""
    spec = importlib.util.spec_from_file_location(
        "snnrs_cuda_kernels_for_compiling", Path(snnrs.__file__).parent / "cuda" / "kernels.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
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


def forward(compiled_kernels, neuron, dtype):
    pointers = {"x_ptr": dtype, "spikes_ptr": dtype, "bits_ptr": "*u8"}
    pointers.update(dict.fromkeys(("v_init_ptr", "v_last_ptr", "h_ptr", "v_seq_ptr"), F32))
    compile_for_sm90(compiled_kernels.neuron_forward, pointers, {"steps", "n", "row_bytes"},
                     dict(NEURON=NEURON_IDS[neuron], DECAY_INPUT=neuron != "qif", HARD_RESET=neuron != "eif",
                          HAS_V_INIT=True, SAVE=True, STORE_V_SEQ=True, BLOCK=256))


BACKWARD_CASES = [(neuron, "ATan", "*fp32") for neuron in SINGLE_STATE]
BACKWARD_CASES += [("lif", surrogate, "*fp32") for surrogate in SURROGATE_IDS]
BACKWARD_CASES += [("plif", "Sigmoid", "*bf16"), ("klif", "Rect", "*fp16")]


def backward(compiled_kernels, neuron, surrogate, dtype):
    pointers = {p: F32 for p in compiled_kernels.neuron_backward.arg_names if p.endswith("_ptr")}
    pointers.update({"grad_spikes_ptr": dtype, "x_ptr": dtype, "grad_x_ptr": dtype, "bits_ptr": "*u8"})
    compile_for_sm90(compiled_kernels.neuron_backward, pointers, {"steps", "n", "row_bytes", "sg_count"},
                     dict(NEURON=NEURON_IDS[neuron], DECAY_INPUT=neuron != "cuba", HARD_RESET=neuron != "if",
                          DETACH_RESET=neuron == "lif", SURROGATE=SURROGATE_IDS[surrogate], HAS_GRAD_SPIKES=True,
                          HAS_GRAD_V_SEQ=True, HAS_GRAD_V_LAST=True, HAS_GRAD_H=True, HAS_V_INIT=neuron != "qif",
                          V_PREV=neuron in ("plif", "qif", "eif", "klif"), LEARNABLE=neuron in ("plif", "klif"),
                          BLOCK=256))


def izhikevich(compiled_kernels):
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


def compile_all() -> list[str]:
    """Compiles every case; returns one line per failure."""
    kernels = kernels_for_compiling()
    cases = [(forward, (neuron, dtype)) for neuron in SINGLE_STATE for dtype in ("*fp32", "*bf16", "*fp16")]
    cases += [(backward, case) for case in BACKWARD_CASES] + [(izhikevich, ())]
    failures = []
    for fn, args in cases:
        try:
            fn(kernels, *args)
        except Exception as e:  # every failing case is reported, not only the first
            failures.append(f"{fn.__name__}{args}: {type(e).__name__}: {str(e).splitlines()[-1] if str(e) else ''}")
    print(f"compiled {len(cases) - len(failures)} of {len(cases)} kernel variants")
    return failures


def test_every_kernel_family_compiles_for_an_nvidia_gpu(tmp_path):
    if importlib.util.find_spec("triton") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("triton is missing in CI (it comes with torch's Linux wheels)")
        pytest.skip("triton is not installed")
    env = {k: v for k, v in os.environ.items() if k not in ("TRITON_INTERPRET", "SNNRS_TRITON_ON_CPU")}
    env["TRITON_CACHE_DIR"] = str(tmp_path / "triton-cache")
    result = subprocess.run([sys.executable, __file__], env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "compiled 47 of 47 kernel variants" in result.stdout, result.stdout


if __name__ == "__main__":
    problems = compile_all()
    print("\n".join(problems))
    sys.exit(1 if problems else 0)
