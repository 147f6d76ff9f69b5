"""Batch normalization on the GPU: minigrad/backend/batch_norm.py's functions on CudaArrays, launching
kernels/cuda/batch_norm.py."""
import numpy as np

from .array import CudaArray
from .runtime import kernels


def _numba(array):
    return array.numba_array()


def _contiguous(array):
    """A Numba view of ``array``, copied first if it has gaps or another order (the kernels need row-major)."""
    return _numba(array if array.is_contiguous else array.copy())


def _or_constant(array, channels, value, dtype):
    return _numba(CudaArray.full((channels,), value, dtype)) if array is None else _contiguous(array)


def batch_norm_training(x, weight, bias, eps, momentum, running_mean, running_var):
    channels = x.shape[1]
    out = CudaArray.empty(x.shape, x.dtype)
    mean, invstd = CudaArray.empty((channels,), x.dtype), CudaArray.empty((channels,), x.dtype)
    if x.shape[0] * x.shape[2] == 0:
        return out, CudaArray.full((channels,), np.nan, x.dtype), CudaArray.full((channels,), np.nan, x.dtype)
    update_running = running_mean is not None
    if not update_running:
        running_mean = running_var = CudaArray.empty((0,), x.dtype)
    # the running statistics are updated in place: they must be the buffers themselves, never copies
    kernels("batch_norm").batch_norm_forward_training(
        _contiguous(x), _or_constant(weight, channels, 1, x.dtype), _or_constant(bias, channels, 0, x.dtype),
        float(eps), float(momentum), update_running, _numba(running_mean), _numba(running_var), _numba(out),
        _numba(mean), _numba(invstd))
    return out, mean, invstd


def batch_norm_affine(x, scale, shift):
    out = CudaArray.empty(x.shape, x.dtype)
    if x.size:
        kernels("batch_norm").batch_norm_affine(_contiguous(x), _contiguous(scale), _contiguous(shift), _numba(out))
    return out


def batch_norm_backward(grad_out, x, weight, mean, invstd, training, compute_grad_input):
    channels = x.shape[1]
    grad_x = CudaArray.empty(x.shape if compute_grad_input else (0, 0, 0), x.dtype)
    grad_weight, grad_bias = CudaArray.full((channels,), 0, x.dtype), CudaArray.full((channels,), 0, x.dtype)
    if x.size:
        kernels("batch_norm").batch_norm_backward(
            _contiguous(grad_out), _contiguous(x), _or_constant(weight, channels, 1, x.dtype), _contiguous(mean),
            _contiguous(invstd), bool(training), bool(compute_grad_input), _numba(grad_x), _numba(grad_weight),
            _numba(grad_bias))
    return (grad_x if compute_grad_input else None), grad_weight, grad_bias
