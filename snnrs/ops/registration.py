"""One way to put a fused kernel pair into torch, used by every backend.

:class:`FusedOp` registers a forward and a backward custom op with their fake (meta)
implementations and the autograd between them, so both run in eager mode, under
``torch.compile(fullgraph=True)`` and pass ``torch.library.opcheck``. In eager mode calls take
an autograd.Function over the very same kernel functions instead: the custom-op dispatch layers
cost about 150 us per forward+backward, as much as the kernels take for 2^17 neuron-steps.

Everything is by name: kernels take a NamedTuple configuration (spread into the flat schema
torch needs by :func:`flat_signature`), and the autograd glue hands backward its arguments by
the names of its parameters (see :class:`FusedOp`), never by position.
"""

import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

# When False, modules reach the kernels through torch.ops even in eager mode (tests use this
# to run the custom ops' autograd glue as torch.compile would).
EAGER_FAST_PATH = True


def _schema_type(annotation):
    """``annotation`` as torch.library's schema inference reads it on every supported torch:
    before 2.7 it knows ``typing.List[X]`` but not the builtin ``list[X]`` that modern code writes."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list:
        return typing.List[_schema_type(args[0])]  # noqa: UP006
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_schema_type(a) for a in args)]  # noqa: UP007  (a Union built from a tuple)
    return annotation


def _is_config(annotation) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, tuple) and hasattr(annotation, "_fields")


class FlatKernel:
    """A kernel whose NamedTuple parameters are spread into their fields: the flat, annotated
    signature torch.library infers an op schema from. Calling it rebuilds the tuples."""

    def __init__(self, kernel: Callable):
        hints = typing.get_type_hints(kernel)
        self.kernel = kernel
        self.configs: dict[str, type] = {}
        params = []
        for p in inspect.signature(kernel).parameters.values():
            annotation = hints.get(p.name, p.annotation)
            if _is_config(annotation):
                self.configs[p.name] = annotation
                fields = typing.get_type_hints(annotation)
                params += [inspect.Parameter(f, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                             annotation=_schema_type(fields[f]))
                           for f in annotation._fields]
            else:
                params.append(p.replace(annotation=_schema_type(annotation)))
        self.signature = inspect.Signature(params, return_annotation=hints.get("return"))
        self.kernel_signature = inspect.signature(kernel)

    def named(self, *flat_args, **flat_kwargs) -> dict[str, object]:
        """The kernel's own arguments, by name (configs as their NamedTuple), from a flat call."""
        bound = self.signature.bind(*flat_args, **flat_kwargs)
        bound.apply_defaults()
        flat = bound.arguments
        return {name: (self.configs[name](*(flat[f] for f in self.configs[name]._fields))
                       if name in self.configs else flat[name])
                for name in self.kernel_signature.parameters}

    def flatten(self, *args, **kwargs) -> tuple:
        """A kernel-style call (configs as NamedTuples) as the flat positional arguments of the op."""
        bound = self.kernel_signature.bind(*args, **kwargs)
        flat = []
        for name, value in bound.arguments.items():
            flat.extend(value if name in self.configs else (value,))
        return tuple(flat)

    def flat_function(self) -> Callable:
        """The kernel as a function with the flat signature (what torch.library registers)."""
        def flat(*args, **kwargs):
            return self.kernel(**self.named(*args, **kwargs))

        flat.__signature__ = self.signature
        flat.__name__ = flat.__qualname__ = self.kernel.__name__
        flat.__module__ = self.kernel.__module__
        flat.__doc__ = self.kernel.__doc__
        return flat


@dataclass
class FusedOp:
    """A forward kernel and its backward kernel, registered as ``snnrs::<name>_forward`` and
    ``snnrs::<name>_backward``.

    Backward's parameters are named after what it needs: ``grad_<output>`` is the gradient
    arriving at that forward output (None when none arrived), a name in ``saved`` is the
    tensor saved by forward, and any other name is the forward argument of that name (the
    configuration). It returns the gradients of the forward inputs named in ``gradients``, in
    that order; an input that was None gets None.

    Args:
        name: the op family, e.g. ``"multistep_neuron"``.
        forward, forward_fake, backward, backward_fake: the kernels and their fakes, written
            with NamedTuple configurations (the ops' schemas spread them).
        outputs: the names of forward's outputs, in order.
        saved: forward inputs or outputs that backward needs.
        gradients: the forward inputs backward returns gradients for, in its return order.
        non_differentiable: outputs that carry no gradient.
        saved_when: ``{saved name: input name}``: saved only when that input is not None
            (a learnable neuron's backward needs x again; the others do not).
        gradient_when: ``{output name: flag argument}``: the gradient arriving at that output
            reaches backward only when the flag is true (v_seq exists only when stored).

    A backward kernel may also take ``needs_grad`` (a list of bools, one per name in
    ``gradients``): which gradients autograd wants; the others it may return as empty tensors.
    """

    name: str
    forward: Callable
    forward_fake: Callable
    backward: Callable
    backward_fake: Callable
    outputs: tuple[str, ...]
    saved: tuple[str, ...]
    gradients: tuple[str, ...]
    non_differentiable: tuple[str, ...] = ()
    saved_when: dict[str, str] = field(default_factory=dict)
    gradient_when: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        self._forward = FlatKernel(self.forward)
        self._backward = FlatKernel(self.backward)
        self.forward_op = self._register("forward", self._forward, self.forward_fake)
        self.backward_op = self._register("backward", self._backward, self.backward_fake)
        self.forward_op.register_autograd(self._custom_op_backward, setup_context=self._custom_op_setup_context)
        self._eager = _eager_function(self)

    def _register(self, which: str, kernel: FlatKernel, fake: Callable):
        op = torch.library.custom_op(f"snnrs::{self.name}_{which}", kernel.flat_function(), mutates_args=())
        op.register_fake(FlatKernel(fake).flat_function())
        return op

    def __call__(self, *args, **kwargs):
        """Runs forward with autograd; arguments as the forward kernel's (configs as NamedTuples)."""
        if EAGER_FAST_PATH and not torch.compiler.is_compiling():
            if not torch.is_grad_enabled():  # inference: no graph to record
                return self.forward(*args, **kwargs)
            bound = self._forward.kernel_signature.bind(*args, **kwargs)
            return self._eager.apply(*bound.args)
        return self.forward_op(*self._forward.flatten(*args, **kwargs))

    # ---- autograd, shared by the custom op and the eager Function ----

    def _setup_context(self, ctx, arguments: dict[str, object], output, input_names):
        """Saves what backward needs; ``arguments`` are forward's by name, ``input_names`` the
        names of the inputs the caller passed (backward returns one gradient for each)."""
        if not arguments.get("save_for_backward", True):
            raise ValueError("save_for_backward: False, but the inputs require grad (pass True to train)")
        outputs = dict(zip(self.outputs, output))
        values = {**arguments, **outputs}
        ctx.save_for_backward(*(values[n] if arguments.get(self.saved_when.get(n), True) is not None else None
                                for n in self.saved))
        ctx.arguments = {n: v for n, v in arguments.items() if not isinstance(v, Tensor) and n not in self.saved}
        ctx.given = tuple(arguments[n] is not None for n in self.gradients)
        ctx.input_names = input_names
        ctx.mark_non_differentiable(*(outputs[n] for n in self.non_differentiable))
        # Unused outputs (usually h_seq, v_last and v_seq) get None, not a tensor of zeros
        # that would cost as much memory traffic as the kernel itself.
        ctx.set_materialize_grads(False)

    def _custom_op_setup_context(self, ctx, inputs, output):
        names = tuple(self._forward.signature.parameters)[:len(inputs)]
        self._setup_context(ctx, self._forward.named(*inputs), output, names)

    def _backward_with(self, kernel: Callable, ctx, grads) -> tuple:
        arriving = {f"grad_{n}": (g if ctx.arguments.get(self.gradient_when.get(n), True) else None)
                    for n, g in zip(self.outputs, grads)}
        available = {**ctx.arguments, **dict(zip(self.saved, ctx.saved_tensors)), **arriving}
        needed = dict(zip(ctx.input_names, ctx.needs_input_grad))
        wanted = [given and needed.get(n, True) for n, given in zip(self.gradients, ctx.given)]
        # A backward kernel with a ``needs_grad`` parameter is told which gradients are wanted
        # (e.g. none for the input image of a first layer) and may skip the others.
        available["needs_grad"] = wanted
        results = kernel(**{name: available[name] for name in self._backward.kernel_signature.parameters})
        by_input = {n: (g if want else None) for n, g, want in zip(self.gradients, results, wanted)}
        return tuple(by_input.get(name) for name in ctx.input_names)

    def _custom_op_backward(self, ctx, *grads):
        return self._backward_with(self._backward_op_by_name, ctx, grads)

    def _backward_op_by_name(self, **arguments):
        return self.backward_op(*self._backward.flatten(**arguments))


def _eager_function(op: FusedOp):
    # Built with type() so the class (and its autograd node, ``Eager_<name>Backward``, as
    # profilers show it) carries the op's name from the start.
    class EagerFusedOp(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *inputs):
            output = op.forward(*inputs)
            if any(isinstance(a, Tensor) and a.requires_grad for a in inputs):
                bound = op._forward.kernel_signature.bind(*inputs)
                bound.apply_defaults()
                names = tuple(op._forward.kernel_signature.parameters)[:len(inputs)]
                op._setup_context(ctx, bound.arguments, output, names)
            return output

        @staticmethod
        def backward(ctx, *grads):
            return op._backward_with(op.backward, ctx, grads)

    return type(f"Eager_{op.name}", (torch.autograd.Function,), {
        "forward": EagerFusedOp.forward, "backward": EagerFusedOp.backward, "__module__": __name__})
