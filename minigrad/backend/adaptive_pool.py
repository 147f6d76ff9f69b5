"""Adaptive 2-D pooling (NCHW): the output arrays, then the kernels of kernels/cpu/adaptive_pool.py
that fill them; a CudaArray call goes to minigrad/cuda/ops_adaptive_pool.py."""
import numpy as np

from ..cuda import ops_adaptive_pool
from .routing import kernels, routed_to

on_either_device = routed_to(ops_adaptive_pool)


@on_either_device
def adaptive_avg_pool2d_forward(x, output_size):
    """The mean of each of PyTorch's adaptive bins, (N, C) + output_size."""
    out = np.empty(x.shape[:2] + tuple(output_size), dtype=x.dtype)
    if out.size and x.shape[2] * x.shape[3] == 0:
        out[...] = np.nan  # the global mean of an empty plane (the only output size allowed on one)
    elif out.size:
        kernels("adaptive_pool").adaptive_avg_pool2d_forward(np.ascontiguousarray(x), out)
    return out


@on_either_device
def adaptive_avg_pool2d_backward(grad_out, input_shape):
    grad_x = np.empty(input_shape, dtype=grad_out.dtype)
    if grad_x.size:
        if grad_out.size:
            kernels("adaptive_pool").adaptive_avg_pool2d_backward(np.ascontiguousarray(grad_out), grad_x)
        else:
            grad_x[...] = 0  # an output size of 0: no bin, no gradient
    return grad_x


@on_either_device
def adaptive_max_pool2d_forward(x, output_size):
    """The maximum of each adaptive bin and, for backward, the flat in-plane index it came from.
    (Its backward is max pooling's scatter to those indices: backend.max_pool2d_backward.)"""
    shape = x.shape[:2] + tuple(output_size)
    out = np.empty(shape, dtype=x.dtype)
    indices = np.empty(shape, dtype=np.int64)
    if out.size:
        kernels("adaptive_pool").adaptive_max_pool2d_forward(np.ascontiguousarray(x), out, indices)
    return out, indices
