"""How a finished gradient lands in a leaf's ``.grad`` at the end of a backward pass (autograd.py).

An array is added in place to an existing ``.grad``. The first gradient a leaf gets becomes its
``.grad``: copied when backward may share it, taken as it is when nothing else refers to it.
"""
import sys

import numpy as np

from . import backend


def write_grad(tensor, gradient, create_graph, anomaly_mode=False):
    """Add a finished gradient to ``tensor.grad``: in place for arrays; for a recorded gradient
    (create_graph) as a new Tensor, so the sum keeps its graph, as PyTorch does."""
    if create_graph:
        tensor.grad = gradient if tensor.grad is None else tensor.grad + gradient
    elif tensor.grad is None:
        # Own the buffer: backward may hand the same array (or a view of it) to several inputs, or
        # return a buffer a node or the caller still holds; those are copied. A fresh array that
        # nothing else refers to is taken as it is, as PyTorch takes a gradient only it holds
        # (the copy cost 1.4 ms per 10 MB, more than a ReLU's whole backward).
        if not anomaly_mode and _unshared(gradient, tensor):
            tensor.grad = tensor._wrap(gradient, tensor.device)
        else:
            tensor.grad = tensor._wrap(backend.copied(gradient, tensor.dtype), tensor.device)
    else:
        tensor.grad.data += gradient


# References to a leaf's finished gradient that nothing else shares, counted while _unshared runs:
# the pass's dict of leaf gradients, the tuple the producing node keeps for explain(), the
# arguments of write_grad and _unshared, and getrefcount's own. One more (a saved buffer, the
# caller's array, a second leaf given the same array) and it is copied.
_UNSHARED_REFERENCES = 5


def _unshared(gradient, tensor):
    """Whether ``gradient`` is a whole NumPy array of the leaf's dtype and shape that only this
    backward pass refers to, so it can become ``tensor.grad`` without a copy."""
    return (type(gradient) is np.ndarray and gradient.base is None and gradient.dtype == tensor.dtype
            and gradient.shape == tensor.shape and gradient.flags.c_contiguous and gradient.flags.writeable
            and sys.getrefcount(gradient) <= _UNSHARED_REFERENCES)
