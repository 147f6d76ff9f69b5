"""The one message for "this should have been a Tensor", shared by Module.__call__ and the functions.

A NumPy array handed to a layer is the most common first mistake (``mg.data.load_mnist`` returns
arrays); the message names the layer or function, says what it got and how to make a Tensor of it.
"""
import numpy as np

from .. import backend


def is_array(value):
    """A raw array, NumPy or CUDA, rather than a minigrad Tensor."""
    return isinstance(value, backend.ARRAY_TYPES)


def describe(value):
    """``numpy.ndarray of shape (2, 3) and dtype float64``, ``list``, ``torch.Tensor``: what was passed."""
    kind = type(value)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    if isinstance(value, np.ndarray):
        name = "numpy.ndarray"  # not numpy's internal module path
    if is_array(value):
        return f"{name} of shape {tuple(value.shape)} and dtype {value.dtype}"
    return name


def not_a_tensor(owner, what, value):
    """The TypeError for ``value`` given as ``what`` ("input", "weight", ...) to ``owner`` (a layer or function)."""
    if isinstance(value, np.ndarray):
        fix = "wrap it with mg.from_numpy(x) (shares the array's memory) or mg.tensor(x) (copies it)"
    elif is_array(value):
        fix = "make one with mg.tensor(x, device='cuda')"
    else:
        fix = "make one with mg.tensor(x)"
    return TypeError(f"{owner}: expected a Tensor as {what}, got {describe(value)}; {fix}")
