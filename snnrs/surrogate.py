"""Surrogate gradient functions (``docs/semantics.md#surrogates``), as torch modules.

Each surrogate computes the Heaviside step ``Θ(x)`` in forward and uses its
``sg'(x)`` in backward; with ``spiking=False`` it returns the smooth primitive
``g(x)`` instead. Names, arguments and defaults follow SpikingJelly
(``spikingjelly.activation_based.surrogate``). The formulas are those of
``reference/surrogate.py``; conformance tests hold the two equal.
"""

import inspect
import math

import torch
from torch import nn

from snnrs.checks import finite

__all__ = [
    "SurrogateFunctionBase", "heaviside", "Sigmoid", "ATan", "PiecewiseQuadratic", "PiecewiseExp", "SoftSign",
    "SuperSpike", "Erf", "PiecewiseLeakyReLU", "Rect", "QPseudoSpike", "S2NN", "LeakyKReLU",
    "FakeNumericalGradient", "LogTailedReLU", "NonzeroSignLogAbs", "SquarewaveFourierSeries", "DeterministicPass",
    "PoissonPass", "MultiLevelSpikeCount", "deterministic_pass", "poisson_pass", "check_manual_grad",
]


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """Θ(x) = 1 where x >= 0, else 0 (same dtype as x)."""
    return (x >= 0).to(x.dtype)


def _sign_prime(x):
    return 2.0 * heaviside(x) - 1.0


class _SpikeFunction(torch.autograd.Function):
    """Θ(x) forward, ``grad · surrogate.derivative(x)`` backward: for a subclass that redefines
    ``derivative`` (snnrs's own extension style)."""

    generate_vmap_rule = True  # elementwise torch ops only: torch.func.vmap derives the batched rule

    @staticmethod
    def forward(x, surrogate):
        return heaviside(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, surrogate = inputs
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * ctx.surrogate.derivative(x), None


def _spike_function(name: str, derivative, params: tuple) -> type:
    """SpikingJelly's lowercase autograd function for one surrogate (e.g. ``sigmoid.apply(x, alpha)``):
    Θ(x) forward, ``grad · sg'(x; params)`` backward, vmap-able."""

    def forward(x, *args):
        return heaviside(x)

    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])
        ctx.params = inputs[1:]

    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return (grad_output * derivative(x, *ctx.params),) + (None,) * len(ctx.params)

    doc = f"Θ(x) forward, the {name} surrogate gradient backward: ``{name}.apply(x, {', '.join(params)})``."
    return type(name, (torch.autograd.Function,), {
        "__doc__": doc, "__module__": __name__, "generate_vmap_rule": True, "forward": staticmethod(forward),
        "setup_context": staticmethod(setup_context), "backward": staticmethod(backward)})


def _backward_function(name: str, derivative, params: tuple):
    """SpikingJelly's ``<name>_backward(grad_output, x, *params)``: the gradient and one None per parameter."""

    def backward(grad_output, x, *args):
        return (grad_output * derivative(x, *args),) + (None,) * len(params)

    backward.__name__ = backward.__qualname__ = f"{name}_backward"
    backward.__doc__ = f"``grad_output · sg'(x)`` of the {name} surrogate, then None for each of {params}."
    return backward


def _check_number(name, value, *, positive=False):
    value = finite(name, value)
    if positive and value <= 0:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    return float(value)


class SurrogateFunctionBase(nn.Module):
    """Base class, as in SpikingJelly 2.0: ``super().__init__(spiking=spiking, alpha=alpha, ...)``
    stores the keyword arguments as the surrogate's parameters (attributes, in order);
    ``forward`` calls the static ``spiking_function(x, **params)`` (Θ forward, surrogate gradient
    backward) or, with ``spiking=False``, ``primitive_function(x, **params)``.

    A subclass written for SpikingJelly defines those static methods (and ``backward(grad_output, x,
    **params)``); one written in snnrs's style may instead redefine ``derivative(self, x)`` (sg'(x))
    and ``primitive(self, x)``. The built-in surrogates provide all of them.
    """

    has_primitive: bool = True

    def __init__(self, spiking: bool = True, **kwargs):
        super().__init__()
        if not isinstance(spiking, bool):
            raise TypeError(f"spiking: expected a bool, got {type(spiking).__name__}")
        if not spiking and not self.has_primitive:
            raise ValueError(f"{type(self).__name__} defines only sg'(x); spiking=False needs a primitive g(x)")
        self.spiking = spiking
        # snnrs's older extension style declares the names as a class attribute ``params`` instead.
        declared = getattr(type(self), "params", ())
        self._sg_param_names = tuple(kwargs) or (tuple(declared) if isinstance(declared, tuple) else ())
        for key, value in kwargs.items():
            setattr(self, key, value)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # snnrs's extension style: a class that redefines derivative() but not spiking_function().
        own = cls.__dict__
        if "derivative" in own and "spiking_function" not in own:
            cls._own_derivative = True
        if "primitive" in own and "primitive_function" not in own:
            cls._own_primitive = True

    _own_derivative = False
    _own_primitive = False

    @property
    def params(self) -> tuple:
        """The parameter names, in the order the engine kernels take them."""
        return self._sg_param_names

    @property
    def _sg_params(self) -> dict:
        return {name: getattr(self, name) for name in self._sg_param_names}

    def set_spiking_mode(self, spiking: bool):
        self.spiking = spiking

    def engine_spec(self):
        """(name, parameter list) understood by the engine kernels."""
        return type(self).__name__, [float(v) for v in self._sg_params.values()]

    def extra_repr(self):
        return ", ".join([f"{k}={v}" for k, v in self._sg_params.items()] + [f"spiking={self.spiking}"])

    @staticmethod
    def spiking_function(x, **kwargs):
        raise NotImplementedError("a surrogate defines spiking_function(x, **params) or derivative(self, x)")

    @staticmethod
    def primitive_function(x, **kwargs):
        raise NotImplementedError("a surrogate defines primitive_function(x, **params) or primitive(self, x)")

    def derivative(self, x):
        """sg'(x) with this surrogate's parameters."""
        grad = x.detach().clone().requires_grad_(True) if not x.requires_grad else x
        with torch.enable_grad():
            y = self.spiking_function(grad, **self._sg_params)
            (g,) = torch.autograd.grad(y.sum(), grad)
        return g

    def primitive(self, x):
        if not self.has_primitive:
            raise ValueError(f"{type(self).__name__} has no primitive g(x)")
        return self.primitive_function(x, **self._sg_params)

    def forward(self, x):
        if self.spiking:
            if self._own_derivative:
                return _SpikeFunction.apply(x, self)
            return self.spiking_function(x, **self._sg_params)
        if self._own_primitive:
            return self.primitive(x)
        return self.primitive_function(x, **self._sg_params)


class _Builtin(SurrogateFunctionBase):
    """A built-in surrogate: ``_sg(x, *params)`` and ``_g(x, *params)`` define it; the SpikingJelly
    static methods and the lowercase autograd function derive from them."""

    _function: type = None  # the lowercase autograd function

    def __init_subclass__(cls, function: str | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if function is None:
            return
        names = tuple(inspect.signature(cls.__init__).parameters)[1:]
        params = tuple(n for n in names if n != "spiking")
        sg, g = cls.__dict__["_sg"], cls.__dict__.get("_g")
        cls._function = _spike_function(function, sg, params)
        apply = cls._function.apply

        def spiking_function(x, *args, **kwargs):
            return apply(x, *args, *(kwargs[p] for p in params[len(args):]))

        def backward(grad_output, x, *args, **kwargs):
            return grad_output * sg(x, *args, *(kwargs[p] for p in params[len(args):]))

        cls.spiking_function = staticmethod(spiking_function)
        cls.backward = staticmethod(backward)
        if g is not None:
            def primitive_function(x, *args, **kwargs):
                return g(x, *args, *(kwargs[p] for p in params[len(args):]))
            cls.primitive_function = staticmethod(primitive_function)

    def derivative(self, x):
        return type(self)._sg(x, *self._sg_params.values())


def is_engine_surrogate(sg) -> bool:
    """True for an unmodified built-in surrogate with ``spiking=True``: the engine kernels know
    exactly these derivatives (a user subclass may redefine ``derivative``)."""
    return type(sg) in _ENGINE_CLASSES and sg.spiking


class Sigmoid(_Builtin, function="sigmoid"):
    """g = sigmoid(αx); sg' = α·σ(αx)(1 - σ(αx))."""

    def __init__(self, alpha=4.0, spiking=True):
        super().__init__(spiking, alpha=_check_number("alpha", alpha, positive=True))

    @staticmethod
    def _g(x, alpha):
        return torch.sigmoid(alpha * x)

    @staticmethod
    def _sg(x, alpha):
        s = torch.sigmoid(alpha * x)
        return alpha * s * (1.0 - s)


class ATan(_Builtin, function="atan"):
    """g = atan(π/2·αx)/π + 1/2; sg' = α/2 / (1 + (π/2·αx)²)."""

    def __init__(self, alpha=2.0, spiking=True):
        super().__init__(spiking, alpha=_check_number("alpha", alpha, positive=True))

    @staticmethod
    def _g(x, alpha):
        return torch.atan(math.pi / 2 * alpha * x) / math.pi + 0.5

    @staticmethod
    def _sg(x, alpha):
        return alpha / 2 / (1 + (math.pi / 2 * alpha * x) ** 2)


class PiecewiseQuadratic(_Builtin, function="piecewise_quadratic"):
    """sg' = α - α²|x| where |x| <= 1/α, else 0."""

    def __init__(self, alpha=1.0, spiking=True):
        super().__init__(spiking, alpha=_check_number("alpha", alpha, positive=True))

    @staticmethod
    def _g(x, a):
        mid = -(a**2 / 2) * x**2 * torch.sign(x) + a * x + 0.5
        return torch.where(x < -1 / a, torch.zeros_like(x), torch.where(x > 1 / a, torch.ones_like(x), mid))

    @staticmethod
    def _sg(x, a):
        return torch.where(x.abs() <= 1 / a, a - a**2 * x.abs(), torch.zeros_like(x))


class PiecewiseExp(_Builtin, function="piecewise_exp"):
    """g = Θ(x) - sign'(x)·exp(-α|x|)/2; sg' = α/2·exp(-α|x|)."""

    def __init__(self, alpha=1.0, spiking=True):
        super().__init__(spiking, alpha=_check_number("alpha", alpha, positive=True))

    @staticmethod
    def _g(x, alpha):
        return heaviside(x) - _sign_prime(x) * torch.exp(-alpha * x.abs()) / 2

    @staticmethod
    def _sg(x, alpha):
        return alpha / 2 * torch.exp(-alpha * x.abs())


class SoftSign(_Builtin, function="soft_sign"):
    """g = (αx/(1+|αx|) + 1)/2; sg' = 1/(2α(1/α + |x|)²)."""

    def __init__(self, alpha=2.0, spiking=True):
        super().__init__(spiking, alpha=_check_number("alpha", alpha, positive=True))

    @staticmethod
    def _g(x, alpha):
        return (alpha * x / (1 + (alpha * x).abs()) + 1) / 2

    @staticmethod
    def _sg(x, alpha):
        return 1 / (2 * alpha * (1 / alpha + x.abs()) ** 2)


class SuperSpike(_Builtin, function="super_spike"):
    """sg' = α/(|x|+1)² (no published primitive)."""

    has_primitive = False

    def __init__(self, alpha=1.0, spiking=True):
        super().__init__(spiking, alpha=_check_number("alpha", alpha))

    @staticmethod
    def _sg(x, alpha):
        return alpha / (x.abs() + 1) ** 2


class Erf(_Builtin, function="erf"):
    """g = erfc(-αx)/2; sg' = α/√π·exp(-(αx)²)."""

    def __init__(self, alpha=2.0, spiking=True):
        super().__init__(spiking, alpha=_check_number("alpha", alpha))

    @staticmethod
    def _g(x, alpha):
        return torch.erfc(-alpha * x) / 2

    @staticmethod
    def _sg(x, alpha):
        return alpha / math.sqrt(math.pi) * torch.exp(-((alpha * x) ** 2))


class PiecewiseLeakyReLU(_Builtin, function="piecewise_leaky_relu"):
    """sg' = 1/(2w) where |x| < w, else c."""

    def __init__(self, w=1.0, c=0.01, spiking=True):
        super().__init__(spiking, w=_check_number("w", w, positive=True), c=_check_number("c", c))

    @staticmethod
    def _g(x, w, c):
        inside = x / (2 * w) + 0.5
        return torch.where(x.abs() <= w, inside, torch.where(x < -w, c * x + c * w, c * x + 1 - c * w))

    @staticmethod
    def _sg(x, w, c):
        return torch.where(x.abs() < w, torch.full_like(x, 1 / (2 * w)), torch.full_like(x, c))


class Rect(_Builtin, function="rect"):
    """g = clamp(αx + 1/2, 0, 1); sg' = α·[|x| < 1/(2α)]."""

    def __init__(self, alpha=1.0, spiking=True):
        super().__init__(spiking, alpha=_check_number("alpha", alpha, positive=True))

    @staticmethod
    def _g(x, alpha):
        return torch.clamp(alpha * x + 0.5, 0.0, 1.0)

    @staticmethod
    def _sg(x, alpha):
        return alpha * (x.abs() < 1 / (2 * alpha)).to(x.dtype)


class QPseudoSpike(_Builtin, function="q_pseudo_spike"):
    """sg' = (1 + 2/(α-1)·|x|)^(-α), α > 1."""

    def __init__(self, alpha=2.0, spiking=True):
        alpha = _check_number("alpha", alpha)
        if alpha <= 1:
            raise ValueError(f"alpha: QPseudoSpike needs alpha > 1, got {alpha}")
        super().__init__(spiking, alpha=alpha)

    @staticmethod
    def _g(x, a):
        return heaviside(x) - _sign_prime(x) / 2 * (1 + 2 / (a - 1) * x.abs()) ** (1 - a)

    @staticmethod
    def _sg(x, alpha):
        return (1 + 2 / (alpha - 1) * x.abs()) ** (-alpha)


class S2NN(_Builtin, function="s2nn"):
    """x < 0: sigmoid branch; x >= 0: sg' = β/(x+1)."""

    def __init__(self, alpha=4.0, beta=1.0, spiking=True):
        super().__init__(spiking, alpha=_check_number("alpha", alpha), beta=_check_number("beta", beta))

    @staticmethod
    def _g(x, alpha, beta):
        pos = beta * torch.log((x.clamp(min=0) + 1).abs() + 1e-5) + 0.5
        return torch.where(x < 0, torch.sigmoid(alpha * x), pos)

    @staticmethod
    def _sg(x, alpha, beta):
        s = torch.sigmoid(alpha * x)
        return torch.where(x < 0, alpha * s * (1 - s), beta / (x.clamp(min=0) + 1))


class LeakyKReLU(_Builtin, function="leaky_k_relu"):
    """g = (leak·[x<0] + k·[x>=0])·x; sg' = k (x >= 0) or leak."""

    def __init__(self, leak=0.0, k=1.0, spiking=True):
        super().__init__(spiking, leak=_check_number("leak", leak), k=_check_number("k", k))

    @staticmethod
    def _g(x, leak, k):
        return torch.where(x < 0, leak * x, k * x)

    @staticmethod
    def _sg(x, leak, k):
        return torch.where(x >= 0, torch.full_like(x, k), torch.full_like(x, leak))


class FakeNumericalGradient(_Builtin, function="fake_numerical_gradient"):
    """sg' = min((2Θ(x)-1)/x, α) (no primitive)."""

    has_primitive = False

    def __init__(self, alpha=0.3, spiking=True):
        super().__init__(spiking, alpha=_check_number("alpha", alpha))

    @staticmethod
    def _sg(x, alpha):
        return torch.clamp(_sign_prime(x) / x, max=alpha)


class LogTailedReLU(_Builtin, function="log_tailed_relu"):
    """x > 1: g = ln x + 1; else leaky_relu(x, α)."""

    def __init__(self, alpha=0.0, spiking=True):
        super().__init__(spiking, alpha=_check_number("alpha", alpha))

    @staticmethod
    def _g(x, alpha):
        return torch.where(x > 1, torch.log(x.clamp(min=1.0)) + 1, torch.where(x > 0, x, alpha * x))

    @staticmethod
    def _sg(x, alpha):
        one = torch.ones_like(x)
        return torch.where(x > 1, 1 / x.clamp(min=1.0), torch.where(x > 0, one, alpha * one))


class NonzeroSignLogAbs(_Builtin, function="nonzero_sign_log_abs"):
    """g = sign'(x)·ln(α·sign'(x)·x + 1); sg' = 1/(1/α + |x|)."""

    def __init__(self, alpha=1.0, spiking=True):
        super().__init__(spiking, alpha=_check_number("alpha", alpha, positive=True))

    @staticmethod
    def _g(x, alpha):
        sp = _sign_prime(x)
        return sp * torch.log(alpha * sp * x + 1)

    @staticmethod
    def _sg(x, alpha):
        return 1 / (1 / alpha + x.abs())


class SquarewaveFourierSeries(_Builtin, function="squarewave_fourier_series"):
    """g = 1/2 + 2/π·Σ_{1<=i<n} sin((2i-1)ωx)/(2i-1), ω = 2π/T_period."""

    def __init__(self, n=2, T_period=8, spiking=True):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n: expected an integer >= 1, got {n!r}")
        super().__init__(spiking, n=n, T_period=_check_number("T_period", T_period, positive=True))

    def engine_spec(self):
        return type(self).__name__, [float(self.n), float(self.T_period)]

    @staticmethod
    def _g(x, n, T_period):
        omega = 2 * math.pi / T_period
        total = torch.zeros_like(x)
        for i in range(1, n):
            total = total + torch.sin((2 * i - 1) * omega * x) / (2 * i - 1)
        return 0.5 + 2 / math.pi * total

    @staticmethod
    def _sg(x, n, T_period):
        omega = 2 * math.pi / T_period
        total = torch.zeros_like(x)
        for i in range(1, n):
            total = total + torch.cos((2 * i - 1) * omega * x)
        return 4 / T_period * total


def _straight_through_function(name: str, fire, doc: str, vmap: bool) -> type:
    """A lowercase autograd function of one input: ``fire(x)`` forward, the gradient unchanged backward."""

    def setup_context(ctx, inputs, output):
        pass

    def backward(ctx, grad_output):
        return grad_output

    return type(name, (torch.autograd.Function,), {
        "__doc__": doc, "__module__": __name__, "generate_vmap_rule": vmap, "forward": staticmethod(fire),
        "setup_context": staticmethod(setup_context), "backward": staticmethod(backward)})


deterministic_pass = _straight_through_function(
    "deterministic_pass", heaviside, "Θ(x) forward, the gradient unchanged backward (straight-through).", vmap=True)
# A random draw has no batching rule torch could derive (each sample needs its own draw).
poisson_pass = _straight_through_function(
    "poisson_pass", lambda x: torch.bernoulli(x).float(),
    "A Bernoulli draw with probability x forward (float32, as SpikingJelly's), the gradient unchanged backward.",
    vmap=False)


class _StraightThrough(SurrogateFunctionBase):
    """A surrogate whose spikes come from ``_function`` with a straight-through gradient (sg' = 1);
    ``spiking=False``: the identity."""

    _function: type = None

    def __init__(self, spiking=True):
        super().__init__(spiking)

    @classmethod
    def spiking_function(cls, x):
        return cls._function.apply(x)

    @staticmethod
    def primitive_function(x):
        return x

    @staticmethod
    def backward(grad_output, x, alpha=None):
        return grad_output


class DeterministicPass(_StraightThrough):
    """Θ(x) with a straight-through gradient (sg' = 1); ``spiking=False``: the identity."""

    _function = deterministic_pass


class PoissonPass(_StraightThrough):
    """A Bernoulli spike with probability x, straight-through gradient; ``spiking=False``: the identity."""

    _function = poisson_pass


class _MultiLevelCount(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(x, max_spike_count, grad_min, grad_max):
        return torch.round(torch.clamp(x, 0, max_spike_count))

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])
        ctx.window = inputs[2:]

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        inside = (x >= ctx.window[0]) & (x <= ctx.window[1])
        return grad_output * inside.to(grad_output.dtype), None, None, None


class MultiLevelSpikeCount(SurrogateFunctionBase):
    """A spike count: ``round(clamp(x, 0, max_spike_count))`` forward; the gradient passes where
    ``grad_min <= x <= grad_max`` (default ``[0, max_spike_count]``); ``spiking=False``: the clamp."""

    def __init__(self, max_spike_count: int, spiking: bool = True, grad_window: tuple | None = None):
        if isinstance(max_spike_count, bool) or not isinstance(max_spike_count, int):
            raise TypeError(f"max_spike_count: expected an int, got {type(max_spike_count).__name__}")
        if max_spike_count < 1:
            raise ValueError(f"max_spike_count: expected >= 1, got {max_spike_count}")
        grad_min, grad_max = (0.0, float(max_spike_count)) if grad_window is None else map(float, grad_window)
        if grad_min > grad_max:
            raise ValueError(f"grad_window: expected (min, max) with min <= max, got {grad_window}")
        super().__init__(spiking, max_spike_count=max_spike_count, grad_min=grad_min, grad_max=grad_max)

    @staticmethod
    def spiking_function(x, max_spike_count, grad_min, grad_max):
        return _MultiLevelCount.apply(x, max_spike_count, grad_min, grad_max)

    @staticmethod
    def primitive_function(x, max_spike_count, grad_min, grad_max):
        return torch.clamp(x, 0, max_spike_count)


def check_manual_grad(primitive_function, spiking_function, *args, **kwargs) -> float:
    """Checks a hand-written surrogate gradient: the gradient of ``spiking_function`` against
    autograd's gradient of ``primitive_function`` on a grid over [-2, 2); prints and returns the
    largest difference."""
    x = torch.arange(-2, 2, 1 / 256, dtype=torch.float64, requires_grad=True)
    (automatic,) = torch.autograd.grad(primitive_function(x, *args, **kwargs).sum(), x)
    (manual,) = torch.autograd.grad(spiking_function(x, *args, **kwargs).sum(), x)
    error = (manual - automatic).abs()
    worst = int(error.argmax())
    print(f"surrogate gradient: largest difference {error[worst].item():.3g} at x={x[worst].item():.4f} "
          f"(autograd {automatic[worst].item():.6g}, manual {manual[worst].item():.6g})")
    return error[worst].item()


_ENGINE_CLASSES = {Sigmoid, ATan, PiecewiseQuadratic, PiecewiseExp, SoftSign, SuperSpike, Erf, PiecewiseLeakyReLU, Rect,
                   QPseudoSpike, S2NN, LeakyKReLU, FakeNumericalGradient, LogTailedReLU, NonzeroSignLogAbs,
                   SquarewaveFourierSeries}

# SpikingJelly's lowercase autograd functions (``surrogate.sigmoid.apply(x, alpha)``) and
# ``<name>_backward(grad_output, x, *params)`` helpers, one pair per built-in surrogate.
for _cls in sorted(_ENGINE_CLASSES, key=lambda c: c.__name__):
    _name = _cls._function.__name__
    globals()[_name] = _cls._function
    _params = tuple(p for p in tuple(inspect.signature(_cls.__init__).parameters)[1:] if p != "spiking")
    globals()[f"{_name}_backward"] = _backward_function(_name, _cls._sg, _params)
    __all__ += [_name, f"{_name}_backward"]
del _cls, _name, _params
