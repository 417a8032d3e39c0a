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
        # count = n (harmonics + 1), b = T_period: 4/T Σ_{i=1}^{n-1} cos((2i - 1)·ω·x), ω = 2π/T, summed in
        # float64 as the engine sums it (the terms oscillate fast: float32 rounding of each would show)
        xd = tl.cast(x, tl.float64)
        period = tl.cast(b, tl.float64)
        omega = 2 * PI / period
        g = tl.full(xd.shape, 0.0, tl.float64)
        for i in range(1, count):
            g += tl.cos((2 * i - 1) * omega * xd)
        g = 4.0 / period * g
    return g


@triton.jit
def _reset(h, s, v_threshold, v_reset, HARD_RESET: tl.constexpr):
    """V[t] from H[t] and S[t] (0 or 1)."""
    if HARD_RESET:
        v = h * (1.0 - s) + v_reset * s
    else:
        v = h - v_threshold * s
    return v


@triton.jit
def _dv_dh(h, s, g, v_threshold, v_reset, HARD_RESET: tl.constexpr, DETACH_RESET: tl.constexpr):
    """dV[t]/dH[t] through fire and reset, sg' = g (the reset's path dropped when detached)."""
    keep = 0.0 if DETACH_RESET else 1.0
    if HARD_RESET:
        d = 1.0 - s + (v_reset - h) * g * keep
    else:
        d = 1.0 - v_threshold * g * keep
    return d


# ---- what every kernel shares: the block's neurons, initial states, saved spikes ----

@triton.jit
def _neurons(n, BLOCK: tl.constexpr):
    """This program's neuron indices (int64) and which of them exist."""
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    return offs, offs < n


@triton.jit
def _row(t, width):
    """The first index of step t's row of ``width`` values, in int64 (T·N may pass 2^31)."""
    return tl.cast(t, tl.int64) * width


@triton.jit
def _initial(ptr, offs, inside, default, state, GIVEN: tl.constexpr, BLOCK: tl.constexpr):
    """A state's initial values: loaded when given, else ``default`` everywhere."""
    if GIVEN:
        value = tl.load(ptr + offs, mask=inside, other=0.0).to(state)
    else:
        value = tl.full([BLOCK], default, state)
    return value


@triton.jit
def _add(a, b):
    return a + b


@triton.jit
def _save_spikes(bits_ptr, t, fired, row_bytes, BLOCK: tl.constexpr):
    """Packs step t's spikes of this program's neurons into whole bytes (bit i % 8 of byte i / 8)."""
    byte = tl.program_id(0).to(tl.int64) * (BLOCK // 8) + tl.arange(0, BLOCK // 8)
    weights = (1 << tl.arange(0, 8)).to(tl.int32)
    # tl.reduce with our own combine, not tl.sum (nor tl.zeros elsewhere): triton's library functions are
    # compiled or interpreted once for the process, at its import, so a copy of this module loaded for the
    # other mode (snnrs.cuda.neuron._kernels) must call only builtins and its own functions
    packed = tl.reduce(tl.reshape(fired.to(tl.int32), (BLOCK // 8, 8)) * weights[None, :], 1, _add)
    tl.store(bits_ptr + _row(t, row_bytes) + byte, packed.to(tl.uint8), mask=byte < row_bytes)


@triton.jit
def _saved_spike(bits_ptr, t, offs, inside, row_bytes, state):
    """Step t's spike of each neuron, from the packed bits."""
    packed = tl.load(bits_ptr + _row(t, row_bytes) + offs // 8, mask=inside, other=0).to(tl.int32)
    return ((packed >> (offs % 8).to(tl.int32)) & 1).to(state)


@triton.jit
def _v_before(h_ptr, bits_ptr, v_init_ptr, t, n, offs, inside, row_bytes, v_threshold, v_reset, state,
              HARD_RESET: tl.constexpr, HAS_V_INIT: tl.constexpr, BLOCK: tl.constexpr):
    """V[t-1], rebuilt from the saved H[t-1] and spike (the initial V at t = 0), as the engine does."""
    if t == 0:
        v = _initial(v_init_ptr, offs, inside, v_reset if HARD_RESET else 0.0, state, HAS_V_INIT, BLOCK)
    else:
        h = tl.load(h_ptr + _row(t - 1, n) + offs, mask=inside, other=0.0)
        s = _saved_spike(bits_ptr, t - 1, offs, inside, row_bytes, state)
        v = _reset(h, s, v_threshold, v_reset, HARD_RESET).to(state)
    return v


@triton.jit
def _fire(h, t, row, inside, spikes_ptr, h_ptr, bits_ptr, row_bytes, v_threshold, state, SAVE: tl.constexpr,
          BLOCK: tl.constexpr):
    """S[t] = Θ(H[t] - V_th), stored in the spikes' dtype; H and the spike bit saved for backward."""
    fired = (h >= v_threshold) & inside
    s = fired.to(state)
    tl.store(spikes_ptr + row, s.to(spikes_ptr.dtype.element_ty), mask=inside)
    if SAVE:
        tl.store(h_ptr + row, h, mask=inside)
        _save_spikes(bits_ptr, t, fired, row_bytes, BLOCK)
    return s


# ---- the template of the single-state neurons ----

@triton.jit
def neuron_forward(x_ptr, v_init_ptr, spikes_ptr, v_last_ptr, h_ptr, bits_ptr, v_seq_ptr,
                   steps, n, row_bytes, p0, p1, p2, p3, v_threshold, v_reset,
                   NEURON: tl.constexpr, DECAY_INPUT: tl.constexpr, HARD_RESET: tl.constexpr,
                   HAS_V_INIT: tl.constexpr, SAVE: tl.constexpr, STORE_V_SEQ: tl.constexpr,
                   BLOCK: tl.constexpr):
    """T steps of charge, fire (H >= V_th) and reset for BLOCK neurons; ``v_last`` in the state dtype
    (float32 for 16-bit x), spikes in x's dtype; H and the packed spikes when ``SAVE``, the post-reset V
    when ``STORE_V_SEQ``."""
    state = v_last_ptr.dtype.element_ty
    offs, inside = _neurons(n, BLOCK)
    v_rest = v_reset if HARD_RESET else 0.0
    v = _initial(v_init_ptr, offs, inside, v_rest, state, HAS_V_INIT, BLOCK)
    for t in range(steps):
        row = _row(t, n) + offs
        x = tl.load(x_ptr + row, mask=inside, other=0.0).to(state)
        h = _charge(v, x, p0, p1, p2, p3, v_rest, NEURON, DECAY_INPUT).to(state)
        s = _fire(h, t, row, inside, spikes_ptr, h_ptr, bits_ptr, row_bytes, v_threshold, state, SAVE, BLOCK)
        v = _reset(h, s, v_threshold, v_reset, HARD_RESET).to(state)
        if STORE_V_SEQ:
            tl.store(v_seq_ptr + row, v, mask=inside)
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
    (nonlinear charge, or dH/dk)."""
    state = h_ptr.dtype.element_ty
    offs, inside = _neurons(n, BLOCK)
    v_rest = v_reset if HARD_RESET else 0.0
    carry = _initial(grad_v_last_ptr, offs, inside, 0.0, state, HAS_GRAD_V_LAST, BLOCK)
    grad_k = tl.full([BLOCK], 0.0, state)
    for step in range(steps):
        t = steps - 1 - step
        row = _row(t, n) + offs
        if HAS_GRAD_V_SEQ:
            carry += tl.load(grad_v_seq_ptr + row, mask=inside, other=0.0).to(state)
        h = tl.load(h_ptr + row, mask=inside, other=0.0)
        s = _saved_spike(bits_ptr, t, offs, inside, row_bytes, state)
        g = _surrogate(h - v_threshold, sg_a, sg_b, sg_count, SURROGATE).to(state)
        gh = carry * _dv_dh(h, s, g, v_threshold, v_reset, HARD_RESET, DETACH_RESET)
        if HAS_GRAD_SPIKES:
            gh += tl.load(grad_spikes_ptr + row, mask=inside, other=0.0).to(state) * g
        if HAS_GRAD_H:
            gh += tl.load(grad_h_ptr + row, mask=inside, other=0.0).to(state)
        if V_PREV:
            v_prev = _v_before(h_ptr, bits_ptr, v_init_ptr, t, n, offs, inside, row_bytes, v_threshold, v_reset,
                               state, HARD_RESET, HAS_V_INIT, BLOCK)
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


# ---- Izhikevich: a second state W (docs/semantics.md#izhikevich), the engine's two-state loops ----
# H = V + (X + a0·(V - v_rest)·(V - v_c) - W) / tau;  W ← W + (a·(H - v_rest) - W) / tau_w;
# fire and reset V;  W ← W + b·S. Backward needs no W: H and W[t] are linear in W[t-1].

@triton.jit
def izhikevich_forward(x_ptr, v_init_ptr, w_init_ptr, spikes_ptr, v_last_ptr, w_last_ptr, h_ptr, bits_ptr,
                       v_seq_ptr, steps, n, row_bytes, tau, v_c, a0, v_rest, w_rest, tau_w, a, b,
                       v_threshold, v_reset, HARD_RESET: tl.constexpr, HAS_V_INIT: tl.constexpr,
                       HAS_W_INIT: tl.constexpr, SAVE: tl.constexpr, STORE_V_SEQ: tl.constexpr,
                       BLOCK: tl.constexpr):
    state = v_last_ptr.dtype.element_ty
    offs, inside = _neurons(n, BLOCK)
    v = _initial(v_init_ptr, offs, inside, v_reset if HARD_RESET else 0.0, state, HAS_V_INIT, BLOCK)
    w = _initial(w_init_ptr, offs, inside, w_rest, state, HAS_W_INIT, BLOCK)
    for t in range(steps):
        row = _row(t, n) + offs
        x = tl.load(x_ptr + row, mask=inside, other=0.0).to(state)
        h = (v + (x + a0 * (v - v_rest) * (v - v_c) - w) / tau).to(state)
        relaxed = w + (a * (h - v_rest) - w) / tau_w
        s = _fire(h, t, row, inside, spikes_ptr, h_ptr, bits_ptr, row_bytes, v_threshold, state, SAVE, BLOCK)
        v = _reset(h, s, v_threshold, v_reset, HARD_RESET).to(state)
        w = (relaxed + b * s).to(state)
        if STORE_V_SEQ:
            tl.store(v_seq_ptr + row, v, mask=inside)
    tl.store(v_last_ptr + offs, v, mask=inside)
    tl.store(w_last_ptr + offs, w, mask=inside)


@triton.jit
def izhikevich_backward(grad_spikes_ptr, h_ptr, bits_ptr, v_init_ptr, grad_v_seq_ptr, grad_v_last_ptr,
                        grad_w_last_ptr, grad_x_ptr, grad_v_init_ptr, grad_w_init_ptr,
                        steps, n, row_bytes, tau, v_c, a0, v_rest, tau_w, a, b, v_threshold, v_reset,
                        sg_a, sg_b, sg_count, HARD_RESET: tl.constexpr, DETACH_RESET: tl.constexpr,
                        SURROGATE: tl.constexpr, HAS_GRAD_SPIKES: tl.constexpr, HAS_GRAD_V_SEQ: tl.constexpr,
                        HAS_GRAD_V_LAST: tl.constexpr, HAS_GRAD_W_LAST: tl.constexpr, HAS_V_INIT: tl.constexpr,
                        BLOCK: tl.constexpr):
    """Exact BPTT: dL/dX, and the gradients at the initial V and W. ``carry_v`` / ``carry_w`` hold
    dL/dV[t] and dL/dW[t] after step t."""
    state = h_ptr.dtype.element_ty
    offs, inside = _neurons(n, BLOCK)
    carry_v = _initial(grad_v_last_ptr, offs, inside, 0.0, state, HAS_GRAD_V_LAST, BLOCK)
    carry_w = _initial(grad_w_last_ptr, offs, inside, 0.0, state, HAS_GRAD_W_LAST, BLOCK)
    w_keep = 1.0 - 1.0 / tau_w
    dw_dh = a / tau_w
    inv_tau = 1.0 / tau
    for step in range(steps):
        t = steps - 1 - step
        row = _row(t, n) + offs
        if HAS_GRAD_V_SEQ:
            carry_v += tl.load(grad_v_seq_ptr + row, mask=inside, other=0.0).to(state)
        h = tl.load(h_ptr + row, mask=inside, other=0.0)
        s = _saved_spike(bits_ptr, t, offs, inside, row_bytes, state)
        v_prev = _v_before(h_ptr, bits_ptr, v_init_ptr, t, n, offs, inside, row_bytes, v_threshold, v_reset, state,
                           HARD_RESET, HAS_V_INIT, BLOCK)
        g = _surrogate(h - v_threshold, sg_a, sg_b, sg_count, SURROGATE).to(state)
        # W[t] = relaxed + b·S: the spike's gradient gains b·dL/dW[t]
        g_spike = b * carry_w
        if HAS_GRAD_SPIKES:
            g_spike += tl.load(grad_spikes_ptr + row, mask=inside, other=0.0).to(state)
        gh = g_spike * g + carry_v * _dv_dh(h, s, g, v_threshold, v_reset, HARD_RESET, DETACH_RESET) + carry_w * dw_dh
        tl.store(grad_x_ptr + row, (gh * inv_tau).to(grad_x_ptr.dtype.element_ty), mask=inside)
        carry_w = (carry_w * w_keep - gh * inv_tau).to(state)
        carry_v = (gh * (1.0 + a0 * ((v_prev - v_rest) + (v_prev - v_c)) / tau)).to(state)
    tl.store(grad_v_init_ptr + offs, carry_v, mask=inside)
    tl.store(grad_w_init_ptr + offs, carry_w, mask=inside)
