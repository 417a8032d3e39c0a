"""Triton kernels of the multi-step neurons: one program per block of neurons runs all T steps
(docs/semantics.md#neurons, #bptt), the neuron, reset and surrogate chosen at compile time.

One template for every neuron, as the CPU engine and the WGSL shaders are built: the charge rule
``H = f(V[t-1], X[t])`` and its partial derivatives are the only per-neuron code (``_charge``,
``_dh_dv``, ``_dh_dx``, ``_dh_dk``); fire, reset, the saved state and BPTT are shared. Neuron and
surrogate ids are the engine's (``snnrs.gpu.ids``, from ``snnrs._engine.NEURONS`` / ``SURROGATES``).

Memory per neuron-step: forward reads X and writes the spike, H (state dtype) and one bit; backward
reads H, the bit and the incoming gradients and writes dL/dX. Indices are int64 (T·N may pass 2^31).
Importing this module imports triton; ``snnrs.cuda`` does so only when a kernel is asked for.
"""

import math

import triton
import triton.language as tl

from snnrs.gpu.ids import NEURON_IDS, SURROGATE_IDS

IF = tl.constexpr(NEURON_IDS["if"])
LIF = tl.constexpr(NEURON_IDS["lif"])
PLIF = tl.constexpr(NEURON_IDS["plif"])
QIF = tl.constexpr(NEURON_IDS["qif"])
EIF = tl.constexpr(NEURON_IDS["eif"])
CUBA = tl.constexpr(NEURON_IDS["cuba"])
KLIF = tl.constexpr(NEURON_IDS["klif"])

SIGMOID = tl.constexpr(SURROGATE_IDS["Sigmoid"])
ATAN = tl.constexpr(SURROGATE_IDS["ATan"])
PIECEWISE_QUADRATIC = tl.constexpr(SURROGATE_IDS["PiecewiseQuadratic"])
PIECEWISE_EXP = tl.constexpr(SURROGATE_IDS["PiecewiseExp"])
SOFT_SIGN = tl.constexpr(SURROGATE_IDS["SoftSign"])
SUPER_SPIKE = tl.constexpr(SURROGATE_IDS["SuperSpike"])
ERF = tl.constexpr(SURROGATE_IDS["Erf"])
PIECEWISE_LEAKY_RELU = tl.constexpr(SURROGATE_IDS["PiecewiseLeakyReLU"])
RECT = tl.constexpr(SURROGATE_IDS["Rect"])
Q_PSEUDO_SPIKE = tl.constexpr(SURROGATE_IDS["QPseudoSpike"])
S2NN = tl.constexpr(SURROGATE_IDS["S2NN"])
LEAKY_K_RELU = tl.constexpr(SURROGATE_IDS["LeakyKReLU"])
FAKE_NUMERICAL_GRADIENT = tl.constexpr(SURROGATE_IDS["FakeNumericalGradient"])
LOG_TAILED_RELU = tl.constexpr(SURROGATE_IDS["LogTailedReLU"])
NONZERO_SIGN_LOG_ABS = tl.constexpr(SURROGATE_IDS["NonzeroSignLogAbs"])
SQUAREWAVE_FOURIER_SERIES = tl.constexpr(SURROGATE_IDS["SquarewaveFourierSeries"])

PI = tl.constexpr(math.pi)
SQRT_PI = tl.constexpr(math.sqrt(math.pi))


# ---- charge rules: the per-neuron code (docs/semantics.md#charge-rules) ----
# p0..p3 are the neuron's parameters in the engine's order (snnrs._engine.NEURONS): LIF (tau),
# ParametricLIF (k = 1/tau), QIF (tau, v_c, a0, v_rest), EIF (tau, delta_T, theta_rh, v_rest),
# CUBA's membrane (v_decay; its input is the filtered current), KLIF (tau, k). ``v_rest`` of LIF,
# ParametricLIF and KLIF is v_reset (0 for soft reset). Each rule is written as the engine writes it.

@triton.jit
def _lif(v, x, tau, v_rest, DECAY_INPUT: tl.constexpr):
    if DECAY_INPUT:
        h = v + (x - (v - v_rest)) / tau
    else:
        h = v - (v - v_rest) / tau + x
    return h


@triton.jit
def _charge(v, x, p0, p1, p2, p3, v_rest, NEURON: tl.constexpr, DECAY_INPUT: tl.constexpr):
    """H[t] from V[t-1] and X[t]."""
    if NEURON == IF:
        h = v + x
    elif NEURON == LIF:
        h = _lif(v, x, p0, v_rest, DECAY_INPUT)
    elif NEURON == PLIF:
        if DECAY_INPUT:
            h = v + (x - (v - v_rest)) * p0
        else:
            h = v - (v - v_rest) * p0 + x
    elif NEURON == QIF:
        h = v + (x + p2 * (v - p3) * (v - p1)) / p0
    elif NEURON == EIF:
        h = v + (x + p3 - v + p1 * tl.exp((v - p2) / p1)) / p0
    elif NEURON == CUBA:
        h = v * p0 + x
    else:
        tl.static_assert(NEURON == KLIF, "no Triton charge rule for this neuron")
        # F = relu(k·L(V, X)), NaN kept NaN (as numpy.maximum)
        f = p1 * _lif(v, x, p0, v_rest, DECAY_INPUT)
        h = tl.where((f > 0) | (f != f), f, 0.0)
    return h


@triton.jit
def _open(h):
    """KLIF's relu'(F): 1 where F > 0 (0 at 0, as torch)."""
    return tl.where(h > 0, 1.0, 0.0)


@triton.jit
def _dh_dv(v_prev, h, p0, p1, p2, p3, NEURON: tl.constexpr):
    """dH[t]/dV[t-1] at V[t-1] = v_prev, given H[t] = h."""
    if NEURON == IF:
        d = 1.0
    elif NEURON == LIF:
        d = 1.0 - 1.0 / p0
    elif NEURON == PLIF:
        d = 1.0 - p0
    elif NEURON == QIF:
        d = 1.0 + p2 * ((v_prev - p3) + (v_prev - p1)) / p0
    elif NEURON == EIF:
        d = 1.0 + (tl.exp((v_prev - p2) / p1) - 1.0) / p0
    elif NEURON == CUBA:
        d = p0
    else:
        d = _open(h) * p1 * (1.0 - 1.0 / p0)
    return d


@triton.jit
def _dh_dx(h, p0, p1, NEURON: tl.constexpr, DECAY_INPUT: tl.constexpr):
    """dH[t]/dX[t], given H[t] = h."""
    if NEURON == IF or NEURON == CUBA:  # noqa: SIM109 (triton compiles == chains of constexprs)
        d = 1.0
    elif NEURON == LIF:
        d = 1.0 / p0 if DECAY_INPUT else 1.0
    elif NEURON == PLIF:
        d = p0 if DECAY_INPUT else 1.0
    elif NEURON == QIF or NEURON == EIF:  # noqa: SIM109
        d = 1.0 / p0
    else:
        d = _open(h) * p1 * (1.0 / p0 if DECAY_INPUT else 1.0)
    return d


@triton.jit
def _dh_dk(v_prev, x, h, p0, v_rest, NEURON: tl.constexpr, DECAY_INPUT: tl.constexpr):
    """dH[t]/dk of the learnable neurons: ParametricLIF's k = 1/tau, KLIF's k."""
    if NEURON == PLIF:
        if DECAY_INPUT:
            d = x - (v_prev - v_rest)
        else:
            d = -(v_prev - v_rest)
    else:
        d = _open(h) * _lif(v_prev, x, p0, v_rest, DECAY_INPUT)
    return d


# ---- surrogate derivatives sg'(x) (docs/semantics.md#surrogates); a, b: the first two parameters, ----
# ---- count: the first as an integer (SquarewaveFourierSeries' n) ----

@triton.jit
def _surrogate(x, a, b, count, SURROGATE: tl.constexpr):
    ax = tl.abs(x)
    if SURROGATE == SIGMOID:
        s = 1.0 / (1.0 + tl.exp(-a * x))
        g = a * s * (1.0 - s)
    elif SURROGATE == ATAN:
        z = PI / 2 * a * x
        g = a / 2 / (1.0 + z * z)
    elif SURROGATE == PIECEWISE_QUADRATIC:
        g = tl.where(ax <= 1.0 / a, a - a * a * ax, 0.0)
    elif SURROGATE == PIECEWISE_EXP:
        g = a / 2 * tl.exp(-a * ax)
    elif SURROGATE == SOFT_SIGN:
        d = 1.0 / a + ax
        g = 1.0 / (2 * a * d * d)
    elif SURROGATE == SUPER_SPIKE:
        d = ax + 1.0
        g = a / (d * d)
    elif SURROGATE == ERF:
        z = a * x
        g = a / SQRT_PI * tl.exp(-(z * z))
    elif SURROGATE == PIECEWISE_LEAKY_RELU:  # a = w, b = c
        g = tl.where(ax < a, 1.0 / (2 * a), b)
    elif SURROGATE == RECT:
        g = tl.where(ax < 1.0 / (2 * a), a, 0.0)
    elif SURROGATE == Q_PSEUDO_SPIKE:
        g = tl.exp(-a * tl.log(1.0 + 2.0 / (a - 1.0) * ax))
    elif SURROGATE == S2NN:  # a = alpha, b = beta
        s = 1.0 / (1.0 + tl.exp(-a * x))
        g = tl.where(x < 0, a * s * (1.0 - s), b / (tl.maximum(x, 0.0) + 1.0))
    elif SURROGATE == LEAKY_K_RELU:  # a = leak, b = k
        g = tl.where(x >= 0, b, a)
    elif SURROGATE == FAKE_NUMERICAL_GRADIENT:
        # min(sign'(x) / x, alpha) with sign'(0) = +1: alpha at 0, where 1/x is +inf
        safe = tl.where(x == 0, 1.0, x)
        g = tl.where(x == 0, a, tl.minimum(tl.where(x >= 0, 1.0, -1.0) / safe, a))
    elif SURROGATE == LOG_TAILED_RELU:
        g = tl.where(x > 1, 1.0 / tl.maximum(x, 1.0), tl.where(x > 0, 1.0, a))
    elif SURROGATE == NONZERO_SIGN_LOG_ABS:
        g = 1.0 / (1.0 / a + ax)
    else:
        tl.static_assert(SURROGATE == SQUAREWAVE_FOURIER_SERIES, "no Triton rule for this surrogate")
        # count = n (harmonics + 1), b = T_period: 4/T Σ_{i=1}^{n-1} cos((2i - 1)·ω·x), ω = 2π/T
        omega = 2 * PI / b
        g = tl.zeros_like(x)
        for i in range(1, count):
            g += tl.cos((2 * i - 1) * omega * x)
        g = 4.0 / b * g
    return g


@triton.jit
def _reset(h, s, v_threshold, v_reset, HARD_RESET: tl.constexpr):
    """V[t] from H[t] and S[t] (0 or 1)."""
    if HARD_RESET:
        v = h * (1.0 - s) + v_reset * s
    else:
        v = h - v_threshold * s
    return v


# ---- the template ----

@triton.jit
def neuron_forward(x_ptr, v_init_ptr, spikes_ptr, v_last_ptr, h_ptr, bits_ptr, v_seq_ptr,
                   steps, n, row_bytes, p0, p1, p2, p3, v_threshold, v_reset,
                   NEURON: tl.constexpr, DECAY_INPUT: tl.constexpr, HARD_RESET: tl.constexpr,
                   HAS_V_INIT: tl.constexpr, SAVE: tl.constexpr, STORE_V_SEQ: tl.constexpr,
                   BLOCK: tl.constexpr):
    """T steps of charge, fire (H >= V_th) and reset for BLOCK neurons; ``v_last`` in the state dtype
    (float32 for 16-bit x), spikes in x's dtype; H and the packed spikes (bit i % 8 of byte i / 8 of a
    step's row) when ``SAVE``, the post-reset V when ``STORE_V_SEQ``."""
    state = v_last_ptr.dtype.element_ty
    block = tl.program_id(0)
    offs = block.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    inside = offs < n
    v_rest = v_reset if HARD_RESET else 0.0
    if HAS_V_INIT:
        v = tl.load(v_init_ptr + offs, mask=inside, other=0.0).to(state)
    else:
        v = tl.full([BLOCK], v_rest, state)
    byte = block.to(tl.int64) * (BLOCK // 8) + tl.arange(0, BLOCK // 8)
    weights = (1 << tl.arange(0, 8)).to(tl.int32)
    row = offs
    packed_row = byte
    for _ in range(steps):
        x = tl.load(x_ptr + row, mask=inside, other=0.0).to(state)
        h = _charge(v, x, p0, p1, p2, p3, v_rest, NEURON, DECAY_INPUT).to(state)
        fired = (h >= v_threshold) & inside
        s = fired.to(state)
        tl.store(spikes_ptr + row, s.to(spikes_ptr.dtype.element_ty), mask=inside)
        if SAVE:
            tl.store(h_ptr + row, h, mask=inside)
            bits = tl.sum(tl.reshape(fired.to(tl.int32), (BLOCK // 8, 8)) * weights[None, :], axis=1)
            tl.store(bits_ptr + packed_row, bits.to(tl.uint8), mask=byte < row_bytes)
        v = _reset(h, s, v_threshold, v_reset, HARD_RESET).to(state)
        if STORE_V_SEQ:
            tl.store(v_seq_ptr + row, v, mask=inside)
        row += n
        packed_row += row_bytes
    tl.store(v_last_ptr + offs, v, mask=inside)


@triton.jit
def neuron_backward(grad_spikes_ptr, h_ptr, bits_ptr, v_init_ptr, grad_v_seq_ptr, grad_v_last_ptr,
                    grad_h_ptr, x_ptr, grad_x_ptr, grad_v_init_ptr, grad_k_ptr,
                    steps, n, row_bytes, p0, p1, p2, p3, v_threshold, v_reset, sg_a, sg_b, sg_count,
                    NEURON: tl.constexpr, DECAY_INPUT: tl.constexpr, HARD_RESET: tl.constexpr,
                    DETACH_RESET: tl.constexpr, SURROGATE: tl.constexpr, HAS_GRAD_SPIKES: tl.constexpr,
                    HAS_GRAD_V_SEQ: tl.constexpr, HAS_GRAD_V_LAST: tl.constexpr, HAS_GRAD_H: tl.constexpr,
                    HAS_V_INIT: tl.constexpr, V_PREV: tl.constexpr, LEARNABLE: tl.constexpr,
                    BLOCK: tl.constexpr):
    """Exact BPTT over the T steps, backwards, for BLOCK neurons (docs/semantics.md#bptt):
    dL/dX in grad_x's dtype, dL/dV[-1] and (learnable neurons) each neuron's Σ_t gH·dH/dk in the state
    dtype, from H, the packed spikes and the incoming gradients. ``V_PREV``: the partials need V[t-1]
    (nonlinear charge, or dH/dk), rebuilt from the saved H[t-1] and spike as the engine does."""
    state = h_ptr.dtype.element_ty
    block = tl.program_id(0)
    offs = block.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    inside = offs < n
    v_rest = v_reset if HARD_RESET else 0.0
    keep = 0.0 if DETACH_RESET else 1.0
    shift = (offs % 8).to(tl.int32)
    if HAS_GRAD_V_LAST:
        carry = tl.load(grad_v_last_ptr + offs, mask=inside, other=0.0).to(state)
    else:
        carry = tl.zeros([BLOCK], state)
    grad_k = tl.zeros([BLOCK], state)
    for step in range(steps):
        t = steps - 1 - step
        row = t.to(tl.int64) * n + offs
        if HAS_GRAD_V_SEQ:
            carry += tl.load(grad_v_seq_ptr + row, mask=inside, other=0.0).to(state)
        h = tl.load(h_ptr + row, mask=inside, other=0.0)
        packed = tl.load(bits_ptr + t.to(tl.int64) * row_bytes + offs // 8, mask=inside, other=0).to(tl.int32)
        s = ((packed >> shift) & 1).to(state)
        g = _surrogate(h - v_threshold, sg_a, sg_b, sg_count, SURROGATE).to(state)
        if HARD_RESET:
            dv_dh = 1.0 - s + (v_reset - h) * g * keep
        else:
            dv_dh = 1.0 - v_threshold * g * keep
        gh = carry * dv_dh
        if HAS_GRAD_SPIKES:
            gh += tl.load(grad_spikes_ptr + row, mask=inside, other=0.0).to(state) * g
        if HAS_GRAD_H:
            gh += tl.load(grad_h_ptr + row, mask=inside, other=0.0).to(state)
        if V_PREV:
            if t == 0:
                if HAS_V_INIT:
                    v_prev = tl.load(v_init_ptr + offs, mask=inside, other=0.0).to(state)
                else:
                    v_prev = tl.full([BLOCK], v_rest, state)
            else:
                h_prev = tl.load(h_ptr + row - n, mask=inside, other=0.0)
                packed_prev = tl.load(bits_ptr + (t - 1).to(tl.int64) * row_bytes + offs // 8, mask=inside,
                                      other=0).to(tl.int32)
                v_prev = _reset(h_prev, ((packed_prev >> shift) & 1).to(state), v_threshold, v_reset,
                                HARD_RESET).to(state)
        else:
            v_prev = h  # unused by these partials
        tl.store(grad_x_ptr + row, (gh * _dh_dx(h, p0, p1, NEURON, DECAY_INPUT)).to(grad_x_ptr.dtype.element_ty),
                 mask=inside)
        if LEARNABLE:
            x = tl.load(x_ptr + row, mask=inside, other=0.0).to(state)
            grad_k += gh * _dh_dk(v_prev, x, h, p0, v_rest, NEURON, DECAY_INPUT)
        carry = (gh * _dh_dv(v_prev, h, p0, p1, p2, p3, NEURON)).to(state)
    tl.store(grad_v_init_ptr + offs, carry, mask=inside)
    tl.store(grad_k_ptr + offs, grad_k, mask=inside)
