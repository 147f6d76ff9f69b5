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
    """Reduction options with PyTorch's ``dim``/``keepdim`` accepted as aliases.

    ``dim`` is an int, a tuple of ints or None (every axis; an empty tuple means the same, as in
    PyTorch); a dim named twice is an error, as in PyTorch.
    """
    axis = axis if dim is None else dim
    keepdims = keepdims if keepdim is None else keepdim
    if axis is not None:
        axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
        resolved = [one_axis(tensor, name, a) for a in axes]
        if len(set(resolved)) != len(resolved):
            raise ValueError(f"{name}: dim {axes} names a dim more than once (shape {tensor.shape})")
        axis = tuple(sorted(resolved)) if resolved and tensor.ndim else None
    return {"axis": axis, "keepdims": bool(keepdims)}


def dims(tensor, name, dim, keepdim, axis=None, keepdims=None):
    """``reduction`` for methods with PyTorch's signature first (``dim``, ``keepdim``) and NumPy's
    ``axis``/``keepdims`` as keyword aliases; naming both spellings of one argument is an error."""
    if axis is not None and dim is not None:
        raise TypeError(f"{name}: got both dim={dim!r} and its NumPy alias axis={axis!r}; give one")
    return reduction(tensor, name, axis, keepdim if keepdims is None else keepdims, dim, None)


def one_dim(tensor, name, dim, axis=None):
    """One dim given as ``dim`` or as NumPy's ``axis`` (not both), checked: a non-negative int."""
    if axis is not None and dim is not None:
        raise TypeError(f"{name}: got both dim={dim!r} and its NumPy alias axis={axis!r}; give one")
    return one_axis(tensor, name, dim if axis is None else axis)


def integer(name, argument, value):
    """``value`` as an int, or a TypeError naming the function and argument (a bool is no integer here)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: argument '{argument}' must be an int, got {type(value).__name__} {value!r}")
    return int(value)


def index_tensor(name, index, tensor):
    """An index argument: an int64 tensor on ``tensor``'s device."""
    if not isinstance(index, tensor_module.Tensor):
        raise TypeError(f"{name}: argument 'index' must be an int64 tensor, got {type(index).__name__}")
    if index.dtype != dtypes.int64:
        raise TypeError(f"{name}: expected an int64 index tensor, got {index.dtype}")
    if index.device != tensor.device:
        raise RuntimeError(f"{name}: the index is on {index.device}, the tensor on {tensor.device}; "
                           "move one with .to()")
    return index


def boolean_tensor(name, argument, value, tensor):
    """A mask or condition: a bool tensor on ``tensor``'s device (PyTorch takes no other dtype)."""
    if not isinstance(value, tensor_module.Tensor):
        raise TypeError(f"{name}: argument '{argument}' must be a bool tensor, got {type(value).__name__}")
    if value.dtype != dtypes.bool_:
        raise TypeError(f"{name}: expected '{argument}' to be a bool tensor, got one of dtype {value.dtype}")
    if tensor is not None and value.device != tensor.device:
        raise RuntimeError(f"{name}: '{argument}' is on {value.device}, the tensor on {tensor.device}; "
                           "move one with .to()")
    return value


def broadcast_shape(name, *named_shapes):
    """The shape ``(name, shape)`` pairs broadcast to, or a ValueError naming each of them."""
    try:
        return np.broadcast_shapes(*(tuple(shape) for _, shape in named_shapes))
    except ValueError:
        listed = ", ".join(f"{label} {tuple(shape)}" for label, shape in named_shapes)
        raise ValueError(f"{name}: shapes cannot be broadcast together: {listed}") from None


def shape_argument(shape):
    """Accept ``f(2, 3)`` and ``f((2, 3))`` alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def resolved_shape(tensor, shape):
    """``shape`` with one -1 filled in, checked against the tensor's size."""
    shape = tuple(int(size) for size in shape)
    count = tensor.data.size
    unknown = [index for index, size in enumerate(shape) if size == -1]
    known = int(np.prod([size for size in shape if size != -1]))
    if len(unknown) > 1 or any(size < -1 for size in shape):
        raise ValueError(f"reshape: invalid shape {shape}")
    if unknown:
        if known == 0 or count % known:
            raise ValueError(f"reshape: shape {shape} is invalid for a tensor of shape {tensor.shape}")
        shape = shape[: unknown[0]] + (count // known,) + shape[unknown[0] + 1 :]
    elif known != count:
        raise ValueError(f"reshape: shape {shape} is invalid for a tensor of shape {tensor.shape} ({count} elements)")
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


def pair(tensor, other, reflected=False, name=None):
    """The two operands of a binary op as Tensors of one dtype, PyTorch's result type, in the order
    the op sees them (dtypes.result_type: ``x * 2`` stays float32, ``int_tensor * 2.5`` is float32,
    a 0-d float64 tensor does not promote a float32 one). A tensor of another dtype is cast by a
    recorded Cast, so its gradient comes back in its own dtype.

    ``name`` adds the op's own rules: "div" gives floating results for integers, "sub" refuses bool
    operands and "pow", "remainder", "floor_divide", "fmod" bool results, as PyTorch does, "matmul"
    wants one dtype on both sides.
    """
    # The common cases, kept cheap: a float tensor with a Python number, or with a tensor of its dtype.
    if type(other) in (float, int) and tensor.dtype.kind == "f":
        other = tensor_module.Tensor._wrap(np.array(other, dtype=tensor.dtype), tensor.device)
        return (other, tensor) if reflected else (tensor, other)
    if type(other) is tensor_module.Tensor and other.dtype == tensor.dtype and tensor.dtype.kind == "f":
        return (other, tensor) if reflected else (tensor, other)
    if name == "matmul":
        if not isinstance(other, tensor_module.Tensor):
            other = tensor_module.Tensor(other, device=tensor.device)
        if other.dtype != tensor.dtype:
            first, second = (other, tensor) if reflected else (tensor, other)
            raise TypeError(f"matmul: expected both operands to have the same dtype, got {first.dtype} and {second.dtype}")
        return (other, tensor) if reflected else (tensor, other)
    # Anything else (a str, a list, None) would fail inside result_type with an AttributeError.
    if not (isinstance(other, (bool, int, float, np.generic)) or hasattr(other, "dtype")):
        raise TypeError(f"{name}: unsupported operand type {type(other).__name__} (expected a tensor, a NumPy array "
                        "or a number)")
    dtype = dtypes.result_type(tensor, other)
    if name == "sub" and dtypes.bool_ in (tensor.dtype, dtypes.result_type(other)):
        raise TypeError("sub: subtraction (the - operator) with a bool tensor is not supported; "
                        "to invert a mask use ~ or logical_not()")
    if name in ("pow", "remainder", "floor_divide", "fmod") and dtype == dtypes.bool_:
        raise TypeError(f"{name}: not implemented for bool tensors")
    if name == "div" and not dtypes.is_floating(dtype):
        dtype = dtypes.default_float  # true division: 1 / 2 is 0.5
    if not isinstance(other, tensor_module.Tensor):
        other = tensor_module.Tensor._wrap(np.asarray(other).astype(dtype, copy=False), tensor.device)
    elif other.dtype != dtype:
        other = other.to(dtype)
    if tensor.dtype != dtype:
        tensor = tensor.to(dtype)
    return (other, tensor) if reflected else (tensor, other)


def power_base(tensor, exponent):
    """``tensor`` ready for ``tensor ** exponent`` with a Python number: cast to the result dtype
    (an integer tensor to a float power is float32), with PyTorch's errors for bool results and
    for integers to negative integer powers."""
    dtype = dtypes.result_type(tensor, exponent)
    if dtype == dtypes.bool_:
        raise TypeError("pow: not implemented for bool tensors")
    if not dtypes.is_floating(dtype) and exponent < 0:
        raise ValueError(f"pow: integers to negative integer powers are not allowed (a {tensor.dtype} tensor "
                         f"to the power {exponent})")
    return (tensor if tensor.dtype == dtype else tensor.to(dtype),)



def tensor_argument(name, value, argument="input"):
    """``value`` itself when it is a Tensor; else the TypeError a function named ``name`` raises."""
    if not isinstance(value, tensor_module.Tensor):
        raise TypeError(f"{name}: argument '{argument}' must be a Tensor, not {type(value).__name__}")
    return value
