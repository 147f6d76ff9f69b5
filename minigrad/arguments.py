"""The arguments of Tensor methods, normalised: axes, shapes, indices, and binary-op operands.

Checking here, before an op runs, is what lets errors name the method and the offending shape.
"""
import numpy as np

from . import dtypes
from . import tensor as tensor_module  # a cycle: Tensor is only looked up when a function runs


def one_axis(tensor, name, axis):
    """``axis`` as a non-negative int, with a clear error when it is out of range."""
    ndim = max(tensor.ndim, 1)
    if not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise IndexError(f"{name}: axis {axis} is out of range for a tensor of shape {tensor.shape}")
    return int(axis) % ndim


def reduction(tensor, name, axis, keepdims, dim, keepdim):
    """Reduction options with PyTorch's ``dim``/``keepdim`` accepted as aliases."""
    axis = axis if dim is None else dim
    keepdims = keepdims if keepdim is None else keepdim
    if axis is not None:
        axes = axis if isinstance(axis, (tuple, list)) else (axis,)
        axis = tuple(sorted({one_axis(tensor, name, a) for a in axes}))
        if tensor.ndim == 0:
            axis = None
    return {"axis": axis, "keepdims": bool(keepdims)}


def shape_argument(shape):
    """Accept ``f(2, 3)`` and ``f((2, 3))`` alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def resolved_shape(tensor, shape):
    """``shape`` with one -1 filled in, checked against the tensor's size."""
    shape = tuple(int(size) for size in shape)
    unknown = [index for index, size in enumerate(shape) if size == -1]
    known = int(np.prod([size for size in shape if size != -1]))
    if len(unknown) > 1 or any(size < -1 for size in shape):
        raise ValueError(f"reshape: invalid shape {shape}")
    if unknown:
        if known == 0 or tensor.size % known:
            raise ValueError(f"reshape: shape {shape} is invalid for a tensor of shape {tensor.shape}")
        shape = shape[: unknown[0]] + (tensor.size // known,) + shape[unknown[0] + 1 :]
    elif known != tensor.size:
        raise ValueError(f"reshape: shape {shape} is invalid for a tensor of shape {tensor.shape} ({tensor.size} elements)")
    return shape


def array_index(index):
    """An index with Tensors replaced by their arrays, so NumPy can apply it."""
    if isinstance(index, tensor_module.Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(item.data if isinstance(item, tensor_module.Tensor) else item for item in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def pair(tensor, other, reflected=False):
    """The two operands of a binary op as Tensors, in the order the op sees them.

    A Python scalar takes the tensor's dtype (``x * 2`` stays float32) unless it is a float meeting
    an integer tensor. An integer tensor meeting a floating one is cast to the floating dtype, as
    PyTorch does (NumPy would give float64).
    """
    if type(other) in (float, int) and tensor.dtype.kind == "f":  # the common case, kept cheap
        other = tensor_module.Tensor._wrap(np.array(other, dtype=tensor.dtype), tensor.device)
        return (other, tensor) if reflected else (tensor, other)
    if not isinstance(other, tensor_module.Tensor):
        value = np.asarray(other)
        if tensor.dtype == dtypes.bool_:
            dtype = dtypes.inferred_dtype(value)
        elif value.dtype.kind == "f" and not dtypes.is_floating(tensor.dtype):
            dtype = dtypes.default_float
        else:
            dtype = tensor.dtype
        other = tensor_module.Tensor._wrap(value.astype(dtype, copy=False), tensor.device)
    if other.dtype != tensor.dtype:
        if dtypes.is_floating(tensor.dtype) and not dtypes.is_floating(other.dtype):
            other = other.to(tensor.dtype)
        elif dtypes.is_floating(other.dtype) and not dtypes.is_floating(tensor.dtype):
            tensor = tensor.to(other.dtype)
    return (other, tensor) if reflected else (tensor, other)

