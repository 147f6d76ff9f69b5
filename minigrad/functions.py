"""PyTorch's module-level tensor functions: ``mg.cat``, ``mg.stack``, ``mg.where``, and ``mg.<name>(x, ...)``
for the Tensor methods that PyTorch also offers as functions (``mg.max(x, 1)`` is ``x.max(1)``).

cat, stack and where take several tensors, so their checks live here; the others forward to the
method of their first argument, which checks its own arguments.
"""
import numpy as np

from . import arguments, backend, dtypes, ops
from .tensor import Tensor


# --- joining ------------------------------------------------------------------------------------------

def cat(tensors, dim=0):
    """The tensors joined along ``dim``: their sizes must match in every other dim; dtypes promote as
    in PyTorch; 1-d empty tensors (shape (0,)) are skipped, as PyTorch's legacy rule does."""
    tensors = _tensor_list("cat", tensors)
    for position, tensor in enumerate(tensors):
        if tensor.ndim == 0:
            raise ValueError(f"cat: a zero-dimensional tensor (at position {position}) cannot be concatenated")
    used = [tensor for tensor in tensors if tuple(tensor.shape) != (0,)]
    if not used:  # only legacy empty tensors: nothing to join, and no dim to check (as PyTorch)
        return ops.Concatenate.apply(*_promoted("cat", tensors, tensors), axis=0)
    reference, first = used[0], next(position for position, tensor in enumerate(tensors) if tensor is used[0])
    axis = arguments.one_axis(reference, "cat", arguments.integer("cat", "dim", dim))
    used_ids = {id(tensor) for tensor in used}
    for position, tensor in enumerate(tensors):
        if id(tensor) not in used_ids:
            continue
        if tensor.ndim != reference.ndim:
            raise ValueError(f"cat: tensors must have the same number of dimensions: tensor {first} has shape "
                             f"{reference.shape}, tensor {position} has shape {tensor.shape}")
        if any(size != expected for index, (size, expected) in enumerate(zip(tensor.shape, reference.shape))
               if index != axis):
            raise ValueError(f"cat: sizes of tensors must match except in dim {axis}: tensor {first} has shape "
                             f"{reference.shape}, tensor {position} has shape {tensor.shape}")
    return ops.Concatenate.apply(*_promoted("cat", tensors, used), axis=axis)


concat = cat


def concatenate(tensors, axis=0):
    """``cat`` under NumPy's name and argument (torch.concatenate)."""
    return cat(tensors, axis)


def stack(tensors, dim=0):
    """The tensors (all of one shape) stacked along a new axis ``dim``; dtypes promote as in PyTorch."""
    tensors = _tensor_list("stack", tensors)
    reference = tensors[0]
    for position, tensor in enumerate(tensors):
        if tensor.shape != reference.shape:
            raise ValueError(f"stack: expects each tensor to be equal size, but got {reference.shape} at entry 0 "
                             f"and {tensor.shape} at entry {position}")
    dim = arguments.integer("stack", "dim", dim)
    if not -reference.ndim - 1 <= dim <= reference.ndim:
        raise IndexError(f"stack: dim {dim} is out of range for stacking tensors of shape {reference.shape} "
                         f"(expected one in [{-reference.ndim - 1}, {reference.ndim}])")
    return ops.Stack.apply(*_promoted("stack", tensors, tensors), axis=dim % (reference.ndim + 1))


def _tensor_list(name, tensors):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (tuple, list)):
        raise TypeError(f"{name}: argument 'tensors' must be a tuple or list of tensors, got "
                        f"{type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{name}: expected a non-empty list of tensors")
    for position, tensor in enumerate(tensors):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"{name}: expected a tensor at position {position}, got {type(tensor).__name__}")
    return list(tensors)


def _promoted(name, tensors, used):
    """``used`` cast to the dtype all of ``tensors`` promote to; all on one device."""
    dtype = tensors[0].dtype
    for tensor in tensors[1:]:
        dtype = dtypes.promote_types(dtype, tensor.dtype)
        if tensor.device != tensors[0].device:
            raise RuntimeError(f"{name}: expected all tensors on one device, got {tensors[0].device} and "
                               f"{tensor.device}")
    return [tensor if tensor.dtype == dtype else tensor.to(dtype) for tensor in used]


# --- selection ----------------------------------------------------------------------------------------

def where(condition, input=None, other=None):  # noqa: A002  (PyTorch's argument names)
    """``input`` where ``condition`` (a bool tensor) is True, ``other`` elsewhere, all three broadcast
    together; either may be a number. With the condition alone, the indices of its True elements (a
    tuple of int64 tensors, one per dim, as ``torch.where(condition)``)."""
    arguments.boolean_tensor("where", "condition", condition, None)
    if input is None and other is None:
        found = np.nonzero(backend.to_host(condition.data))
        return tuple(Tensor._wrap(backend.to_device(np.asarray(positions, dtype=np.int64), condition.device),
                                  condition.device) for positions in found)
    if input is None or other is None:
        raise TypeError("where: give both input and other, or neither (for the indices of the True elements)")
    dtype = dtypes.result_type(input, other)
    chosen = []
    for label, value in (("input", input), ("other", other)):
        if isinstance(value, Tensor):
            if value.device != condition.device:
                raise RuntimeError(f"where: {label} is on {value.device}, the condition on {condition.device}")
            chosen.append(value if value.dtype == dtype else value.to(dtype))
        elif isinstance(value, (bool, int, float, np.generic)):
            chosen.append(Tensor._wrap(backend.full((), value, dtype, condition.device), condition.device))
        else:
            raise TypeError(f"where: {label} must be a tensor or a number, got {type(value).__name__}")
    arguments.broadcast_shape("where", ("condition", condition.shape), ("input", chosen[0].shape),
                              ("other", chosen[1].shape))
    return ops.Where.apply(*chosen, mask=condition.data)


def gather(input, dim, index):  # noqa: A002
    return _tensor("gather", input).gather(dim, index)


def scatter_add(input, dim, index, src):  # noqa: A002
    return _tensor("scatter_add", input).scatter_add(dim, index, src)


def masked_fill(input, mask, value):  # noqa: A002
    return _tensor("masked_fill", input).masked_fill(mask, value)


def sort(input, dim=-1, descending=False, *, stable=False):  # noqa: A002
    return _tensor("sort", input).sort(dim, descending, stable=stable)


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    return _tensor("topk", input).topk(k, dim, largest, sorted)


def clamp(input, min=None, max=None):  # noqa: A002
    return _tensor("clamp", input).clamp(min, max)


clip = clamp


def maximum(input, other):  # noqa: A002
    return _tensor("maximum", input).maximum(other)


def minimum(input, other):  # noqa: A002
    return _tensor("minimum", input).minimum(other)


# --- shapes -------------------------------------------------------------------------------------------

def split(tensor, split_size_or_sections, dim=0):
    return _tensor("split", tensor).split(split_size_or_sections, dim)


def chunk(input, chunks, dim=0):  # noqa: A002
    return _tensor("chunk", input).chunk(chunks, dim)


def flatten(input, start_dim=0, end_dim=-1):  # noqa: A002
    return _tensor("flatten", input).flatten(start_dim, end_dim)


def squeeze(input, dim=None):  # noqa: A002
    return _tensor("squeeze", input).squeeze(dim)


def unsqueeze(input, dim):  # noqa: A002
    return _tensor("unsqueeze", input).unsqueeze(dim)


def reshape(input, shape):  # noqa: A002
    return _tensor("reshape", input).reshape(shape)


def permute(input, dims):  # noqa: A002
    return _tensor("permute", input).permute(dims)


def transpose(input, dim0, dim1):  # noqa: A002
    return _tensor("transpose", input).transpose(dim0, dim1)


# --- reductions and scans -----------------------------------------------------------------------------

def sum(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):  # noqa: A001,A002
    return _tensor("sum", input).sum(dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)


def mean(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):  # noqa: A002
    return _tensor("mean", input).mean(dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)


def amax(input, dim=None, keepdim=False):  # noqa: A002
    return _tensor("amax", input).amax(dim, keepdim)


def amin(input, dim=None, keepdim=False):  # noqa: A002
    return _tensor("amin", input).amin(dim, keepdim)


def argmax(input, dim=None, keepdim=False):  # noqa: A002
    return _tensor("argmax", input).argmax(dim, keepdim)


def argmin(input, dim=None, keepdim=False):  # noqa: A002
    return _tensor("argmin", input).argmin(dim, keepdim)


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    return _tensor("var", input).var(dim, unbiased, keepdim, correction=correction)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: A002
    return _tensor("std", input).std(dim, unbiased, keepdim, correction=correction)


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):  # noqa: A002
    if out is not None:
        raise TypeError("norm: out= is not supported")
    return _tensor("norm", input).norm(p, dim, keepdim, dtype)


def logsumexp(input, dim, keepdim=False):  # noqa: A002
    return _tensor("logsumexp", input).logsumexp(dim, keepdim)


def cumsum(input, dim, *, dtype=None, axis=None):  # noqa: A002
    return _tensor("cumsum", input).cumsum(dim, dtype=dtype, axis=axis)


def softmax(input, dim):  # noqa: A002
    return _tensor("softmax", input).softmax(dim)


def log_softmax(input, dim):  # noqa: A002
    return _tensor("log_softmax", input).log_softmax(dim)


# --- elementwise --------------------------------------------------------------------------------------

def exp(input):  # noqa: A002
    return _tensor("exp", input).exp()


def log(input):  # noqa: A002
    return _tensor("log", input).log()


def sqrt(input):  # noqa: A002
    return _tensor("sqrt", input).sqrt()


def abs(input):  # noqa: A001,A002
    return _tensor("abs", input).abs()


def relu(input):  # noqa: A002
    return _tensor("relu", input).relu()


def sigmoid(input):  # noqa: A002
    return _tensor("sigmoid", input).sigmoid()


def tanh(input):  # noqa: A002
    return _tensor("tanh", input).tanh()


def matmul(input, other):  # noqa: A002
    return _tensor("matmul", input) @ other


def pow(input, exponent):  # noqa: A001,A002
    """input ** exponent, with a tensor on either side (``mg.pow(2, x)`` as ``torch.pow(2, x)``)."""
    if isinstance(input, Tensor):
        return input ** exponent
    if isinstance(exponent, Tensor) and isinstance(input, (bool, int, float, np.generic)):
        return exponent.__rpow__(input)
    raise TypeError(f"pow: expected a tensor among its arguments, got {type(input).__name__} and "
                    f"{type(exponent).__name__}")


# max, min, sum, abs and pow above are PyTorch's functions: nothing in this module calls the Python
# built-ins of those names (a module's globals win at call time).

def max(input, dim=None, keepdim=False, *, other=None, axis=None, keepdims=None):  # noqa: A001,A002
    """``torch.max``: the largest element; along ``dim`` the pair (values, indices); against a
    tensor (``mg.max(a, b)`` or ``other=``) the elementwise maximum."""
    if other is not None:
        return _tensor("max", input).maximum(other)
    return _tensor("max", input).max(dim, keepdim, axis=axis, keepdims=keepdims)


def min(input, dim=None, keepdim=False, *, other=None, axis=None, keepdims=None):  # noqa: A001,A002
    """``torch.min``: the smallest element, the pair along ``dim``, or the elementwise minimum."""
    if other is not None:
        return _tensor("min", input).minimum(other)
    return _tensor("min", input).min(dim, keepdim, axis=axis, keepdims=keepdims)


_tensor = arguments.tensor_argument


__all__ = [
    "cat", "concat", "concatenate", "stack", "where", "gather", "scatter_add", "masked_fill", "sort", "topk",
    "clamp", "clip", "maximum", "minimum", "split", "chunk", "flatten", "squeeze", "unsqueeze", "reshape",
    "permute", "transpose", "sum", "mean", "amax", "amin", "argmax", "argmin", "var", "std", "norm", "logsumexp",
    "cumsum", "softmax", "log_softmax", "exp", "log", "sqrt", "abs", "relu", "sigmoid", "tanh", "matmul", "pow",
    "max", "min",
]
