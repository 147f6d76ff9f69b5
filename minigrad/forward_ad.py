"""Forward-mode AD, as ``torch.autograd.forward_ad``: tangents carried alongside values through each op.

    with forward_ad.dual_level():
        x = forward_ad.make_dual(primal, tangent)     # x carries the direction `tangent`
        y = f(x)
        value, directional_derivative = forward_ad.unpack_dual(y)   # J_f(primal) @ tangent

Inside a ``dual_level``, every op whose inputs carry tangents computes its output's tangent right
after its forward, with the op's ``jvp`` rule (beside its forward and backward in minigrad/ops/; a
custom Function's is its ``jvp(ctx, *tangents)``, see ``propagate_custom``): one pass gives the
Jacobian-vector product, where reverse mode would need one backward per output element. Outside a
level nothing of this runs: ``Function.apply`` tests one flag.

Tangents are plain arrays kept here by tensor (not on the tensor), and forgotten when the level ends.
"""
import collections
import weakref

from . import autograd

__all__ = ["dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor"]

UnpackedDualTensor = collections.namedtuple("UnpackedDualTensor", ["primal", "tangent"])

_tangents = {}  # id(tensor) -> (weak reference to the tensor, its tangent array)


class dual_level:
    """The block in which dual tensors exist; their tangents are dropped when it ends. One level at a time."""

    def __enter__(self):
        if autograd._dual_level_active:
            raise RuntimeError("dual_level: a forward AD level is already active; nested levels are not supported")
        autograd._dual_level_active = True
        return 0

    def __exit__(self, *exception):
        autograd._dual_level_active = False
        _tangents.clear()
        return False


def make_dual(tensor, tangent, *, level=None):
    """A view of ``tensor`` that carries ``tangent`` (same shape, dtype and device) as its direction."""
    from .tensor import Tensor

    if not autograd._dual_level_active:
        raise RuntimeError("make_dual: no forward AD level is active; call it inside `with forward_ad.dual_level():`")
    for name, value in (("tensor", tensor), ("tangent", tangent)):
        if not isinstance(value, Tensor):
            raise TypeError(f"make_dual: {name} must be a Tensor, got {type(value).__name__}")
    if tensor.dtype.kind != "f":
        raise TypeError(f"make_dual: only floating point tensors have tangents, got {tensor.dtype}")
    if tuple(tangent.shape) != tuple(tensor.shape) or tangent.dtype != tensor.dtype or tangent.device != tensor.device:
        raise ValueError(f"make_dual: the tangent ({tangent.dtype} {tuple(tangent.shape)} on {tangent.device}) must have "
                         f"the primal's shape, dtype and device ({tensor.dtype} {tuple(tensor.shape)} on {tensor.device})")
    # Through an op, so that a primal that requires grad stays differentiable in reverse mode too.
    dual = tensor.view(tuple(tensor.shape))
    _set_tangent(dual, tangent.data)
    return dual


def unpack_dual(tensor, *, level=None):
    """``(primal, tangent)``: the value as a tensor without tangent, and the tangent (None if it has none)."""
    tangent = tangent_of(tensor)
    primal = tensor.view(tuple(tensor.shape)) if tensor.requires_grad else tensor.detach()
    _tangents.pop(id(primal), None)
    return UnpackedDualTensor(primal, None if tangent is None else tensor._wrap(tangent, tensor.device))


def tangent_of(tensor):
    """The tangent array ``tensor`` carries at the active level, or None."""
    entry = _tangents.get(id(tensor))
    if entry is None or entry[0]() is not tensor:  # an id reused after its tensor was freed
        return None
    return entry[1]


def propagate(function, inputs, input_arrays, output):
    """After ``function``'s forward: give ``output`` the tangent of its op's jvp rule, if an input has one."""
    tangents = [tangent_of(tensor) for tensor in inputs]
    if all(tangent is None for tangent in tangents):
        return
    function.primal_inputs, function.primal_output = input_arrays, output.data
    try:
        tangent = function.jvp(*tangents)
    finally:
        del function.primal_inputs, function.primal_output
    if tangent is not None and output.dtype.kind == "f":
        if tangent.dtype != output.dtype:
            tangent = tangent.astype(output.dtype)
        _set_tangent(output, tangent)


def _set_tangent(tensor, tangent):
    _tangents[id(tensor)] = (weakref.ref(tensor), tangent)


def propagate_custom(cls, ctx, args, outputs, differentiable):
    """After a custom Function's forward (PyTorch's form, custom_function.py): its outputs' tangents
    from the user's ``jvp(ctx, *tangents)``, if an argument has a tangent."""
    from . import backend
    from .custom_function_checks import output_tangents
    from .tensor import Tensor

    tangents = [tangent_of(value) if isinstance(value, Tensor) else None for value in args]
    if all(tangent is None for tangent in tangents):
        return
    if cls.jvp is autograd.Function.jvp:
        raise NotImplementedError(
            f"{cls.__name__}: forward-mode AD needs the Function's jvp: add @staticmethod def jvp(ctx, *tangents), "
            "which returns the outputs' tangents from the inputs' (save what it needs with ctx.save_for_forward)")
    # As PyTorch: a Tensor argument without a tangent gets zeros, any other argument None.
    tangent_tensors = [
        None if not isinstance(value, Tensor)
        else value._wrap(backend.full(value.shape, 0, value.dtype, value.device) if tangent is None else tangent,
                         value.device)
        for value, tangent in zip(args, tangents)
    ]
    # The tangents' own ops need no tangents (nor a tape): one level, and tangents are arrays.
    autograd._dual_level_active, ctx._in_jvp = False, True
    try:
        with autograd.no_grad():
            result = cls.jvp(ctx, *tangent_tensors)
    finally:
        autograd._dual_level_active, ctx._in_jvp = True, False
    for output, tangent in output_tangents(cls.__name__, result, outputs, differentiable):
        _set_tangent(output, tangent)
