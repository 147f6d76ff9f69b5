"""Function transforms with the names of ``torch.func`` and JAX: ``grad``, ``grad_and_value``,
``vjp``, ``jacrev``, ``hessian``, ``hvp``, and ``functional_call`` for a module's parameters.

A transform takes a function of Tensors and returns a function. It runs the function on fresh
copies of the arguments it differentiates, then asks the tape (``mg.autograd.grad``) for the
derivative. Transforms nest (``grad(grad(f))``): when an argument is already being differentiated
by an outer transform, the inner one records its own gradient (``create_graph``), so the outer
one can differentiate it again.

``jvp`` and ``jacfwd`` are forward mode (minigrad/forward_ad.py): the tangents ride along the
forward pass, one pass per direction, with each op's ``jvp`` rule. Their results are values: a
forward-mode tangent is not itself recorded for reverse mode.
"""
import contextlib

import numpy as np

from . import autograd, forward_ad
from .gradients import grad as _tape_grad
from .tensor import Tensor

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "hvp", "functional_call"]


def grad(func, argnums=0, has_aux=False):
    """A function returning d func / d (argument ``argnums``) (an int, or a tuple giving a tuple).

    ``func`` must return a scalar Tensor, or ``(scalar, aux)`` with ``has_aux=True``, and the
    transformed function then returns ``(gradient, aux)``.
    """
    transformed = grad_and_value(func, argnums, has_aux)

    def gradient_only(*args, **kwargs):
        gradients, value = transformed(*args, **kwargs)
        return (gradients, value[1]) if has_aux else gradients

    return _named(gradient_only, "grad", func)


def grad_and_value(func, argnums=0, has_aux=False):
    """A function returning ``(gradient, value)``: ``grad``'s result and what ``func`` returned."""

    def transformed(*args, **kwargs):
        positions = _positions("grad", argnums, len(args))
        args, differentiated, nested = _differentiable_arguments("grad", args, positions)
        with autograd.enable_grad():
            result = func(*args, **kwargs)
            output, aux = _split_aux("grad", result, has_aux)
            if not isinstance(output, Tensor) or output.data.size != 1:
                raise RuntimeError(f"grad: the function must return a scalar Tensor, got "
                                   f"{_describe(output)}; for other outputs use vjp or jacrev")
            gradients = _gradients(output, differentiated, None, nested)
        value = output if nested else output.detach()
        gradients = gradients[0] if isinstance(argnums, int) else gradients
        return gradients, ((value, aux) if has_aux else value)

    return _named(transformed, "grad_and_value", func)


def vjp(func, *primals, has_aux=False):
    """``(output, vjp_fn)``: func(*primals), and a function taking a cotangent like the output
    (a Tensor, or a tuple for a tuple output) and returning one gradient per primal."""
    primals, differentiated, nested = _differentiable_arguments("vjp", primals, range(len(primals)))
    with autograd.enable_grad():
        result = func(*primals)
    output, aux = _split_aux("vjp", result, has_aux)
    outputs = output if isinstance(output, tuple) else (output,)

    def vjp_fn(cotangents):
        cotangents = cotangents if isinstance(cotangents, tuple) else (cotangents,)
        if len(cotangents) != len(outputs):
            raise ValueError(f"vjp: {len(cotangents)} cotangents given for {len(outputs)} outputs")
        with autograd.enable_grad():
            return _gradients(outputs, differentiated, cotangents, nested, retain_graph=True)

    shown = output if nested else _detached(output)
    return (shown, vjp_fn, aux) if has_aux else (shown, vjp_fn)


def jacrev(func, argnums=0, has_aux=False):
    """A function returning the Jacobian of ``func`` with respect to argument ``argnums``, of shape
    output.shape + argument.shape, built row by row from vector-Jacobian products."""

    def transformed(*args, **kwargs):
        positions = _positions("jacrev", argnums, len(args))
        args, differentiated, nested = _differentiable_arguments("jacrev", args, positions)
        with autograd.enable_grad():
            output, aux = _split_aux("jacrev", func(*args, **kwargs), has_aux)
            if not isinstance(output, Tensor):
                raise TypeError(f"jacrev: the function must return a Tensor, got {_describe(output)}")
            rows = [[] for _ in differentiated]
            for element in range(output.data.size):
                one_hot = np.zeros(output.data.size, dtype=output.dtype)
                one_hot[element] = 1
                cotangent = output._wrap(one_hot.reshape(output.shape), output.device)
                for row, gradient in zip(rows, _gradients(output, differentiated, (cotangent,), nested,
                                                          retain_graph=True)):
                    row.append(gradient)
            jacobians = tuple(_stack(row, output.shape, argument.shape, argument)
                              for row, argument in zip(rows, differentiated))
        jacobians = jacobians[0] if isinstance(argnums, int) else jacobians
        return (jacobians, aux) if has_aux else jacobians

    return _named(transformed, "jacrev", func)


def jvp(func, primals, tangents, has_aux=False):
    """``(output, jvp_out)``: func(*primals) and its derivative along ``tangents`` (one per primal,
    same shapes), by forward-mode AD in one forward pass, as ``torch.func.jvp``."""
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(tangents)} tangents given for {len(primals)} primals")
    for index, (primal, tangent) in enumerate(zip(primals, tangents)):
        if not isinstance(primal, Tensor) or not isinstance(tangent, Tensor):
            raise TypeError(f"jvp: primals and tangents must be Tensors, got {type(primal).__name__} and "
                            f"{type(tangent).__name__} at position {index}")
        if tuple(primal.shape) != tuple(tangent.shape) or primal.dtype != tangent.dtype:
            raise ValueError(f"jvp: tangent {index} is {tangent.dtype} {tuple(tangent.shape)}, its primal "
                             f"{primal.dtype} {tuple(primal.shape)}; they must match")
    with forward_ad.dual_level():
        duals = tuple(forward_ad.make_dual(primal, tangent) for primal, tangent in zip(primals, tangents))
        output, aux = _split_aux("jvp", func(*duals), has_aux)
        outputs = output if isinstance(output, tuple) else (output,)
        unpacked = [forward_ad.unpack_dual(value) for value in outputs]
    values = tuple(primal.detach() for primal, _ in unpacked)
    derivatives = tuple(_zeros_like(primal) if tangent is None else tangent for primal, tangent in unpacked)
    if not isinstance(output, tuple):
        values, derivatives = values[0], derivatives[0]
    return (values, derivatives, aux) if has_aux else (values, derivatives)


def jacfwd(func, argnums=0, has_aux=False):
    """A function returning the Jacobian of ``func`` with respect to argument ``argnums``, of shape
    output.shape + argument.shape, built column by column from forward-mode products (one forward
    pass per element of the argument: the cheap direction when the output is the larger)."""

    def transformed(*args, **kwargs):
        positions = _positions("jacfwd", argnums, len(args))
        jacobians, aux = [], None
        for position in positions:
            argument = args[position]
            if not isinstance(argument, Tensor) or argument.dtype.kind != "f":
                raise TypeError(f"jacfwd: argument {position} must be a floating point Tensor, got {_describe(argument)}")
            columns = []
            for element in range(argument.data.size):
                one_hot = np.zeros(argument.data.size, dtype=argument.dtype)
                one_hot[element] = 1
                direction = argument._wrap(one_hot.reshape(argument.shape), "cpu").to(argument.device)

                def along(value, position=position):
                    changed = list(args)
                    changed[position] = value
                    return func(*changed, **kwargs)

                result = jvp(along, (argument,), (direction,), has_aux=has_aux)
                output, column = result[0], result[1]
                aux = result[2] if has_aux else None
                columns.append(column)
            jacobians.append(_columns_to_jacobian(columns, output, argument))
        jacobians = jacobians[0] if isinstance(argnums, int) else tuple(jacobians)
        return (jacobians, aux) if has_aux else jacobians

    return _named(transformed, "jacfwd", func)


def _columns_to_jacobian(columns, output, argument):
    shape = tuple(output.shape) + tuple(argument.shape)
    if not columns:
        return argument._wrap(np.zeros(shape, dtype=argument.dtype), "cpu").to(argument.device)
    with autograd.no_grad():
        stacked = _stack(columns, (len(columns),), output.shape, argument)  # (argument elements, *output)
        return stacked.reshape(len(columns), -1).transpose().reshape(shape)


def hessian(func, argnums=0):
    """A function returning the Hessian of a scalar ``func``: the Jacobian of its gradient, of
    shape argument.shape + argument.shape; forward over reverse (jacfwd of jacrev), as torch.func."""
    return _named(jacfwd(jacrev(func, argnums), argnums), "hessian", func)


def hvp(func, inputs, v):
    """``(func(inputs), H v)``: a Hessian-vector product of a scalar ``func`` without forming H, as
    ``torch.autograd.functional.hvp``: the gradient recorded, then differentiated along ``v``.
    ``inputs`` and ``v`` are a Tensor or matching tuples of Tensors."""
    single = isinstance(inputs, Tensor)
    inputs, vectors = (inputs,) if single else tuple(inputs), (v,) if single else tuple(v)
    if len(vectors) != len(inputs):
        raise ValueError(f"hvp: {len(vectors)} vectors given for {len(inputs)} inputs")
    for index, (tensor, vector) in enumerate(zip(inputs, vectors)):
        if tuple(vector.shape) != tuple(tensor.shape):
            raise ValueError(f"hvp: v[{index}] has shape {tuple(vector.shape)}, input {index} has shape "
                             f"{tuple(tensor.shape)}")
    inputs, differentiated, nested = _differentiable_arguments("hvp", inputs, range(len(inputs)))
    with autograd.enable_grad():
        output = func(*inputs)
        if not isinstance(output, Tensor) or output.data.size != 1:
            raise RuntimeError(f"hvp: the function must return a scalar Tensor, got {_describe(output)}")
        gradients = _tape_grad(output, differentiated, create_graph=True, allow_unused=True)
        used = [(gradient, vector) for gradient, vector in zip(gradients, vectors) if gradient is not None]
        if used:
            products = _gradients([gradient for gradient, _ in used], differentiated,
                                  tuple(vector for _, vector in used), nested)
        else:
            products = tuple(_zeros_like(tensor) for tensor in differentiated)
    value = output if nested else output.detach()
    return value, products[0] if single else products


@contextlib.contextmanager
def _swapped_parameters(module, tensors):
    """Let ``module`` (and its children) read ``tensors`` (by ``named_parameters`` name) in place
    of their parameters, for the block; the parameters themselves are not touched."""
    known = dict(module.named_parameters())
    unknown = sorted(set(tensors) - set(known))
    if unknown:
        raise KeyError(f"functional_call: {unknown} are not parameters of {type(module).__name__} "
                       f"(it has {sorted(known)})")
    owners = dict(module.named_modules())
    previous = []
    try:
        for name, tensor in tensors.items():
            owner_name, _, attribute = name.rpartition(".")
            owner = owners[owner_name]
            previous.append((owner, attribute, owner.__dict__[attribute]))
            object.__setattr__(owner, attribute, tensor)  # the attribute forward reads; the registry keeps the Parameter
        yield
    finally:
        for owner, attribute, original in reversed(previous):
            object.__setattr__(owner, attribute, original)


def functional_call(module, parameters, args, kwargs=None):
    """``module(*args, **kwargs)`` with the tensors in ``parameters`` (a dict by parameter name, or
    a tuple of such dicts) in place of its own parameters, as ``torch.func.functional_call``: the
    way to differentiate a model's output with respect to parameters given as arguments."""
    if isinstance(parameters, (tuple, list)):
        merged = {}
        for mapping in parameters:
            merged.update(mapping)
        parameters = merged
    args = args if isinstance(args, tuple) else (args,)
    with _swapped_parameters(module, dict(parameters)):
        return module(*args, **(kwargs or {}))


# --- helpers --------------------------------------------------------------------------------------

def _positions(name, argnums, count):
    positions = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for position in positions:
        if not isinstance(position, int) or not -count <= position < count:
            raise ValueError(f"{name}: argnums {argnums!r} out of range for a function called with {count} arguments")
    return tuple(position % count for position in positions)


def _differentiable_arguments(name, args, positions):
    """The arguments with those at ``positions`` replaced by tensors the tape tracks: a fresh leaf
    for a plain tensor; for one an outer transform already tracks, a recorded copy (so the inner
    gradient stays connected to the outer one, which must then record it: ``nested``)."""
    args = list(args)
    differentiated = []
    nested = False
    for position in positions:
        value = args[position]
        if not isinstance(value, Tensor):
            raise TypeError(f"{name}: argument {position} must be a Tensor to be differentiated, got {_describe(value)}")
        if value.dtype.kind != "f":
            raise TypeError(f"{name}: argument {position} is {value.dtype}; only floating point tensors have gradients")
        if value.requires_grad:
            nested = True
            with autograd.enable_grad():
                tracked = value.clone()  # a recorded copy carries a forward-mode tangent too (Clone's jvp)
        else:
            tracked = value.detach().requires_grad_(True)
            tangent = forward_ad.tangent_of(value) if autograd._dual_level_active else None
            if tangent is not None:
                # Forward over reverse (jacfwd(jacrev(f)), a jvp of a gradient): the tangent stays, and
                # the gradient is computed with recorded ops, whose jvp rules carry it through.
                forward_ad._set_tangent(tracked, tangent)
                nested = True
        args[position] = tracked
        differentiated.append(tracked)
    return tuple(args), tuple(differentiated), nested


def _gradients(outputs, inputs, cotangents, nested, retain_graph=None):
    """Gradients of ``outputs`` with respect to ``inputs``: zeros where an input is unused, as torch.func."""
    outputs = list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]
    cotangents = [None] * len(outputs) if cotangents is None else list(cotangents)
    connected = [(output, cotangent) for output, cotangent in zip(outputs, cotangents) if output.requires_grad]
    if not connected:  # no differentiated argument reached any output
        return tuple(_zeros_like(tensor) for tensor in inputs)
    outputs, cotangents = [output for output, _ in connected], [cotangent for _, cotangent in connected]
    if all(cotangent is None for cotangent in cotangents):
        cotangents = None
    gradients = _tape_grad(outputs, inputs, grad_outputs=cotangents, retain_graph=retain_graph,
                           create_graph=nested, allow_unused=True)
    return tuple(_zeros_like(tensor) if gradient is None else gradient
                 for gradient, tensor in zip(gradients, inputs))


def _zeros_like(tensor):
    return tensor._wrap(np.zeros(tensor.shape, dtype=tensor.dtype), "cpu").to(tensor.device)


def _stack(rows, output_shape, input_shape, like):
    """The rows of a Jacobian (one gradient per output element) as one Tensor of shape output + input."""
    from .ops import Stack

    if not rows:
        return like._wrap(np.zeros(tuple(output_shape) + tuple(input_shape), dtype=like.dtype), like.device)
    return Stack.apply(*rows).reshape(tuple(output_shape) + tuple(input_shape))


def _split_aux(name, result, has_aux):
    if not has_aux:
        return result, None
    if not isinstance(result, tuple) or len(result) != 2:
        raise TypeError(f"{name}: with has_aux=True the function must return (output, aux), got {_describe(result)}")
    return result


def _detached(output):
    return tuple(value.detach() for value in output) if isinstance(output, tuple) else output.detach()


def _describe(value):
    if isinstance(value, Tensor):
        return f"a Tensor of shape {tuple(value.shape)}"
    return type(value).__name__


def _named(function, transform, func):
    function.__name__ = f"{transform}({getattr(func, '__name__', 'function')})"
    function.__doc__ = f"{transform} of {getattr(func, '__name__', 'a function')}"
    return function
