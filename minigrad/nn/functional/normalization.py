"""Layer and group normalization, PyTorch's ``F.layer_norm`` and ``F.group_norm`` (BatchNorm is elsewhere).

The checks take the caller's name, so that nn.LayerNorm and nn.GroupNorm refuse a bad input with
their own names; the messages follow PyTorch's.
"""
import math
import numbers

from ... import ops
from .arguments import check_one_float_dtype, check_tensors


def _shape_text(shape):
    return "[" + ", ".join(str(size) for size in shape) + "]"


def normalized_shape_of(name, normalized_shape):
    """``normalized_shape`` as a tuple of ints (an int is a one-element shape), refused with ``name`` otherwise."""
    if type(normalized_shape) is tuple and all(type(size) is int and size >= 0 for size in normalized_shape):
        return normalized_shape  # the common case, and a module's own (checked when it was made): no copy
    shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else normalized_shape
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{name}: normalized_shape must be an int or a tuple of ints, "
                        f"got {normalized_shape!r}") from None
    for size in shape:
        if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 0:
            raise TypeError(f"{name}: normalized_shape must be a tuple of non-negative ints, got {normalized_shape!r}")
    return tuple(int(size) for size in shape)


def layer_norm_checked(name, x, normalized_shape, weight, bias, eps):
    """F.layer_norm after its checks, every message naming ``name``."""
    check_tensors(name, ("input", x), ("weight", weight), ("bias", bias))
    if name == "layer_norm" and type(normalized_shape) is not tuple and isinstance(normalized_shape, numbers.Integral):
        raise TypeError(f"layer_norm: normalized_shape must be a tuple of ints, not int ({normalized_shape}); "
                        f"write ({normalized_shape},)")
    shape = normalized_shape_of(name, normalized_shape)
    if not shape:
        raise RuntimeError(f"{name}: expected normalized_shape to be at least 1-dimensional, i.e., containing at "
                           "least one element, but got normalized_shape = []")
    dtype = x.dtype
    if dtype.kind != "f" or (weight is not None and weight.dtype != dtype) or (bias is not None and bias.dtype != dtype):
        check_one_float_dtype(name, ("input", x), ("weight", weight), ("bias", bias))
    for label, parameter in (("weight", weight), ("bias", bias)):
        if parameter is not None and parameter.shape != shape:
            raise RuntimeError(f"{name}: expected {label} to be of same shape as normalized_shape, but got {label} of "
                               f"shape {_shape_text(parameter.shape)} and normalized_shape = {_shape_text(shape)}")
    x_shape = x.shape
    if len(x_shape) < len(shape) or tuple(x_shape[len(x_shape) - len(shape):]) != shape:
        raise RuntimeError(f"{name}: given normalized_shape={_shape_text(shape)}, expected input with shape "
                           f"[*, {', '.join(str(size) for size in shape)}], but got input of size{_shape_text(x_shape)}")
    inputs = [tensor for tensor in (x, weight, bias) if tensor is not None]
    return ops.LayerNorm.apply(*inputs, normalized_shape=shape, eps=float(eps), has_weight=weight is not None,
                               has_bias=bias is not None)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05):  # noqa: A002 (PyTorch's name)
    """Normalize over the trailing ``normalized_shape`` axes: (x - mean) / sqrt(var + eps) * weight + bias
    (biased variance), as PyTorch."""
    return layer_norm_checked("layer_norm", input, normalized_shape, weight, bias, eps)


def group_norm_checked(name, x, num_groups, weight, bias, eps):
    """F.group_norm after its checks, every message naming ``name``."""
    check_tensors(name, ("input", x), ("weight", weight), ("bias", bias))
    if not isinstance(num_groups, numbers.Integral) or isinstance(num_groups, bool):
        raise TypeError(f"{name}: num_groups must be an int, got {num_groups!r}")
    if num_groups <= 0:
        raise ValueError(f"{name}: num_groups must be positive, got {num_groups}")
    if x.ndim < 2:
        raise RuntimeError(f"{name}: expected at least 2 dimensions for input tensor but received {x.ndim}")
    dtype = x.dtype
    if dtype.kind != "f" or (weight is not None and weight.dtype != dtype) or (bias is not None and bias.dtype != dtype):
        check_one_float_dtype(name, ("input", x), ("weight", weight), ("bias", bias))
    channels = x.shape[1]
    for label, parameter in (("weight", weight), ("bias", bias)):
        if parameter is not None and tuple(parameter.shape) != (channels,):
            raise RuntimeError(f"{name}: expected {label} to be a vector of size equal to the number of channels in "
                               f"input, but got {label} of shape {_shape_text(parameter.shape)} and input of shape "
                               f"{_shape_text(x.shape)}")
    if channels % num_groups:
        raise RuntimeError(f"{name}: expected number of channels in input to be divisible by num_groups, but got "
                           f"input of shape {_shape_text(x.shape)} and num_groups={num_groups}")
    # PyTorch's _verify_batch_size on the (N * C / G, G, *) view: a group of one value has no variance.
    if x.shape[0] * channels // num_groups * math.prod(x.shape[2:]) == 1:
        raise ValueError(f"{name}: expected more than 1 value per channel when training, got input size "
                         f"{_shape_text(x.shape)}")
    inputs = [tensor for tensor in (x, weight, bias) if tensor is not None]
    return ops.GroupNorm.apply(*inputs, groups=int(num_groups), eps=float(eps), has_weight=weight is not None,
                               has_bias=bias is not None)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05):  # noqa: A002 (PyTorch's name)
    """Normalize x (N, C, *) over each group of C / num_groups channels (and all positions), then
    weight and bias per channel, as PyTorch."""
    return group_norm_checked("group_norm", input, num_groups, weight, bias, eps)
