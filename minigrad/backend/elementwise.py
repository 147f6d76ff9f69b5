"""Large elementwise ops on parallel kernels: ReLU forward and backward, the dropout mask."""
import numpy as np

from ..cuda import ops as cuda_ops
from .routing import kernels, on_either_device


# Below this many elements NumPy's single thread is faster than starting a parallel region.
PARALLEL_ELEMENTWISE_SIZE = 1 << 16


@on_either_device
def relu_forward(x):
    if x.size < PARALLEL_ELEMENTWISE_SIZE or x.dtype.kind != "f" or not x.flags.c_contiguous:
        # x < 0 ? 0 : x, as PyTorch: np.maximum would turn -0.0 into 0.0 (its 1 / x is -inf).
        return np.where(x < 0, x.dtype.type(0), x)
    out = np.empty_like(x)
    kernels("elementwise").relu_forward(x.reshape(-1), out.reshape(-1))
    return out


@on_either_device
def relu_backward(x, grad_output):
    if x.size < PARALLEL_ELEMENTWISE_SIZE or not (x.flags.c_contiguous and grad_output.flags.c_contiguous):
        return np.where(x <= 0, 0, grad_output)  # a selection: an infinite gradient stays finite at x < 0
    grad_input = np.empty_like(grad_output)
    kernels("elementwise").relu_backward(x.reshape(-1), grad_output.reshape(-1), grad_input.reshape(-1))
    return grad_input


def dropout_mask(seed, keep_probability, shape, dtype, device):
    """1 / keep_probability where an element is kept, else 0: a counter-based hash of (seed, element)
    decides, the same on both devices, so a model trains to the same losses on the CPU and the GPU."""
    if device == "cuda":
        return cuda_ops.dropout_mask(seed, keep_probability, shape, dtype)
    out = np.empty(shape, dtype=dtype)
    if out.size:
        kernels("dropout").dropout_mask(seed, keep_probability, out.reshape(-1))
    return out
