"""Argument checks shared by the functions: tensors where tensors belong, one float dtype, one device,
a known reduction, targets of the right shape and kind. Each raises with the function's name."""
import numpy as np

from ... import backend
from ...tensor import Tensor
from ..checks import not_a_tensor


def check_tensors(name, *labelled):
    for label, tensor in labelled:
        if tensor is not None and not isinstance(tensor, Tensor):
            raise not_a_tensor(name, label, tensor)


def check_one_float_dtype(name, *labelled):
    present = [(label, tensor) for label, tensor in labelled if tensor is not None]
    if len({tensor.dtype for _, tensor in present}) > 1 or present[0][1].dtype.kind != "f":
        described = ", ".join(f"{label} {tensor.dtype}" for label, tensor in present)
        raise TypeError(f"{name}: {' and '.join(label for label, _ in present)} must share one float dtype, got {described}")


def check_reduction(name, reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def on_device_of(name, label, x, array):
    """``array`` after checking it lives where the tensor ``x`` does: an op never mixes devices."""
    device = backend.device_of(array)
    if device != x.device:
        raise RuntimeError(f"{name}: expected all tensors on one device, got {x.device} (input) and {device} "
                           f"({label}); move the {label} with .to('{x.device}')")
    return array


def class_targets(name, target, x):
    input_shape = x.shape
    targets = on_device_of(name, "targets", x, target.data if isinstance(target, Tensor) else np.asarray(target))
    if targets.dtype.kind not in "iu":
        raise TypeError(f"{name}: targets must be integer class indices (int64), got {targets.dtype}")
    if targets.shape != input_shape[:1]:
        raise ValueError(f"{name}: targets of shape {targets.shape} do not match input of shape {input_shape}")
    return targets.astype(np.int64, copy=False)


def same_shape_target(name, x, target):
    """The target as a constant tensor of x's dtype, after checking it has exactly x's shape."""
    check_tensors(name, ("input", x))
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: input must be float32 or float64, got {x.dtype}")
    array = on_device_of(name, "target", x, target.data if isinstance(target, Tensor) else np.asarray(target))
    if array.shape != x.shape:
        raise ValueError(
            f"{name}: target of shape {array.shape} must have the input's shape {x.shape} "
            "(reshape one of them; broadcasting here is almost always a bug)"
        )
    if isinstance(target, Tensor) and target.dtype == x.dtype:
        return target
    return Tensor._wrap(array.astype(x.dtype), x.device)


def constant_array(name, label, value, x):
    array = value.data if isinstance(value, Tensor) else np.asarray(value)
    if array.ndim:
        on_device_of(name, label, x, array)
    try:
        np.broadcast_shapes(array.shape, x.shape)
    except ValueError:
        raise ValueError(f"{name}: {label} of shape {array.shape} cannot broadcast to the input's {x.shape}") from None
    return array.astype(x.dtype, copy=False)


def check_targets(name, targets, classes, ignore_index):
    """Raise for the first target that is neither a class index nor ``ignore_index``."""
    out_of_range = (targets != ignore_index) & ((targets < 0) | (targets >= classes))
    if out_of_range.any():
        index = int(np.argmax(out_of_range))
        raise IndexError(
            f"{name}: target {targets[index]} at index {index} is out of range for {classes} classes "
            f"(valid: 0 to {classes - 1}, or ignore_index={ignore_index})"
        )
