"""Adaptive 2-D pooling on the GPU: minigrad/backend/adaptive_pool.py's functions on CudaArrays,
launching kernels/cuda/adaptive_pool.py."""
import numpy as np

from .array import CudaArray
from .ops import _contiguous, _numba
from .runtime import kernels


def adaptive_avg_pool2d_forward(x, output_size):
    if x.shape[2] * x.shape[3] == 0:
        return CudaArray.full(x.shape[:2] + tuple(output_size), np.nan, x.dtype)  # the mean of an empty plane
    out = CudaArray.empty(x.shape[:2] + tuple(output_size), x.dtype)
    if out.size:
        kernels("adaptive_pool").adaptive_avg_pool2d_forward(_contiguous(x), _numba(out))
    return out


def adaptive_avg_pool2d_backward(grad_out, input_shape):
    if grad_out.size == 0:
        return CudaArray.full(tuple(input_shape), 0, grad_out.dtype)  # no bin, no gradient
    grad_x = CudaArray.empty(tuple(input_shape), grad_out.dtype)
    if grad_x.size:
        kernels("adaptive_pool").adaptive_avg_pool2d_backward(_contiguous(grad_out), _numba(grad_x))
    return grad_x


def adaptive_max_pool2d_forward(x, output_size):
    shape = x.shape[:2] + tuple(output_size)
    out, indices = CudaArray.empty(shape, x.dtype), CudaArray.empty(shape, np.int64)
    if out.size:
        kernels("adaptive_pool").adaptive_max_pool2d_forward(_contiguous(x), _numba(out), _numba(indices))
    return out, indices
