"""What Module does to its state as a whole: state_dict / load_state_dict, to(device, dtype), zero_grad.

``load_state_dict`` checks every key before it writes any, so a failed load leaves every parameter
and buffer as it was (PyTorch copies the keys that fit and then raises; minigrad copies none).
"""
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from .. import autograd, backend, dtypes
from ..tensor import Tensor
from .checks import describe


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the (missing_keys, unexpected_keys) pair, as torch's."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


# --- state_dict -------------------------------------------------------------------------------------

def state_dict(module, destination, prefix, keep_vars):
    """Parameters, then persistent buffers, then each child's (through its own state_dict), as torch;
    a parameter shared by two modules is listed under both names, as torch lists it."""
    destination = OrderedDict() if destination is None else destination
    for name, parameter in module._parameters.items():
        if parameter is not None:
            destination[prefix + name] = parameter if keep_vars else backend.to_host(parameter.data)
    for name, buffer in module._buffers.items():
        if buffer is not None and name not in module._non_persistent_buffers_set:
            destination[prefix + name] = buffer if keep_vars else backend.to_host(buffer.data)
    for name, child in module._modules.items():
        if child is not None:
            child.state_dict(destination=destination, prefix=f"{prefix}{name}.", keep_vars=keep_vars)
    return destination


def _array_of(value):
    """The array behind a saved value (a Tensor, a NumPy or CUDA array, a NumPy scalar), else None."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, backend.ARRAY_TYPES):
        return value
    if isinstance(value, np.generic):
        return np.asarray(value)
    return None


def load_state_dict(module, saved, strict, assign):
    if not isinstance(saved, Mapping):
        raise TypeError(f"load_state_dict of {type(module).__name__}: expected state_dict to be dict-like, "
                        f"got {describe(saved)}")
    own = module.state_dict(keep_vars=True)
    missing = [name for name in own if name not in saved]
    unexpected = [name for name in saved if name not in own]
    problems, writes = [], []
    for name, target in own.items():
        if name not in saved:
            continue
        array = _array_of(saved[name])
        if array is None:
            problems.append(f'While copying the parameter named "{name}", expected a Tensor or an array from '
                            f"checkpoint but received {describe(saved[name])}")
        elif tuple(array.shape) != tuple(target.shape):
            problems.append(f"size mismatch for {name}: copying a param with shape {tuple(array.shape)} from "
                            f"checkpoint, the shape in current model is {tuple(target.shape)}.")
        else:
            writes.append((target, array))
    if strict and unexpected:
        problems.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{name}"' for name in unexpected) + ". ")
    if strict and missing:
        problems.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{name}"' for name in missing) + ". ")
    if problems:
        raise RuntimeError(f"Error(s) in loading state_dict for {type(module).__name__}:\n\t" + "\n\t".join(problems))
    with autograd.no_grad():
        for target, array in writes:
            if assign:
                target.data, target.device = array, backend.device_of(array)
            else:
                # cast on the value's own device, then onto the target's (one transfer, if any)
                if array.dtype != target.dtype:
                    array = array.astype(target.dtype)
                target.data[...] = backend.to_device(array, target.device)
            target._version_counter.value += 1
    return _IncompatibleKeys(missing, unexpected)


# --- to(device, dtype) --------------------------------------------------------------------------------

_DEVICE_NAMES = ("cpu", "cuda")
_FORMS = "to(device=None, dtype=None, non_blocking=False), to(dtype, non_blocking=False) or to(tensor, non_blocking=False)"


def _names_a_dtype(value):
    """Whether ``value`` names a dtype (a dtype, a NumPy type, "float64") rather than a device."""
    if value is None or isinstance(value, Tensor):
        return False
    if isinstance(value, str) and value.split(":")[0] in _DEVICE_NAMES:
        return False
    try:
        np.dtype(value)
        return True
    except TypeError:
        return False


def parse_to(owner, args, kwargs):
    """(device or None, dtype or None) from Module.to's arguments, in PyTorch's three forms."""
    unknown = set(kwargs) - {"device", "dtype", "non_blocking"}
    if unknown or len(args) > 3:
        got = ", ".join([describe(value) for value in args] + [f"{key}=..." for key in kwargs])
        raise TypeError(f"{owner}.to() received an invalid combination of arguments - got ({got}); expected {_FORMS}")
    device, dtype = kwargs.get("device"), kwargs.get("dtype")
    if args:
        first = args[0]
        if isinstance(first, Tensor):
            device, dtype = first.device, first.dtype
        elif _names_a_dtype(first) and "dtype" not in kwargs:
            dtype = first
        else:
            device = first
            if len(args) > 1 and not isinstance(args[1], bool):
                dtype = args[1]
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype)
        if not dtypes.is_floating(dtype):
            raise TypeError(f"{owner}.to only accepts floating point dtypes, but got desired dtype={dtype}")
    return (None if device is None else backend.check_device(device)), dtype


def _converted(array, device, dtype):
    """``array`` on ``device`` (if given), cast to ``dtype`` if it is floating point (if given)."""
    if dtype is not None and dtypes.is_floating(array.dtype) and array.dtype != dtype:
        array = array.astype(dtype)
    return array if device is None else backend.to_device(array, device)


def convert(module, device, dtype):
    """Every parameter (with its gradient) and buffer of ``module`` moved/cast in place.

    Parameters and their gradients keep their objects (as PyTorch's .to() does); buffers are
    replaced by converted tensors, as PyTorch replaces them.
    """
    for submodule in module.modules():
        for parameter in submodule._parameters.values():
            if parameter is None:
                continue
            _convert_tensor(parameter, device, dtype)
            if parameter.grad is not None:
                _convert_tensor(parameter.grad, device, dtype)
        for name, buffer in list(submodule._buffers.items()):
            if buffer is None:
                continue
            array = _converted(buffer.data, device, dtype)
            if array is not buffer.data:
                moved = Tensor._wrap(array, backend.device_of(array))
                moved._requires_grad = buffer.requires_grad
                submodule._store("_buffers", name, moved)


def _convert_tensor(tensor, device, dtype):
    array = _converted(tensor.data, device, dtype)
    if array is not tensor.data:
        tensor.data, tensor.device = array, backend.device_of(array)


# --- gradients --------------------------------------------------------------------------------------

def clear_grad(parameter, set_to_none):
    """zero_grad for one parameter: drop its gradient, or zero it in place as a detached leaf."""
    gradient = parameter.grad
    if gradient is None:
        return
    if set_to_none:
        parameter.grad = None
        return
    gradient.grad_fn = None  # detach in place (a create_graph gradient), as torch's detach_()
    gradient._requires_grad = False
    gradient.data.fill(0)
    gradient._version_counter.value += 1
