"""Layer and group normalization on the GPU: the same functions as minigrad/backend/layer_norm.py, on CudaArrays."""
import math

import numpy as np

from .array import CudaArray
from .runtime import kernels


def _contiguous(array, shape):
    """A Numba view of ``array`` reshaped to ``shape``, copied first if it is not row-major."""
    return (array if array.is_contiguous else array.copy()).reshape(shape).numba_array()


def _affine(weight, bias, length, dtype):
    weight = CudaArray.full((length,), 1, dtype) if weight is None else weight
    bias = CudaArray.full((length,), 0, dtype) if bias is None else bias
    return _contiguous(weight, (length,)), _contiguous(bias, (length,))


def layer_norm_forward(x, weight, bias, row_length, eps):
    rows = x.size // row_length if row_length else math.prod(x.shape[:x.ndim - 1])
    out = CudaArray.empty(x.shape, x.dtype)
    mean, rstd = CudaArray.full((rows,), np.nan, x.dtype), CudaArray.full((rows,), np.nan, x.dtype)
    if x.size:
        weight, bias = _affine(weight, bias, row_length, x.dtype)
        kernels("layer_norm").layer_norm_forward(_contiguous(x, (rows, row_length)), weight, bias, float(eps),
                                                 out.reshape((rows, row_length)).numba_array(),
                                                 mean.numba_array(), rstd.numba_array())
    return out, mean, rstd


def layer_norm_backward(grad_out, x, weight, mean, rstd, row_length, affine_grads):
    rows = mean.shape[0]
    grad_x = CudaArray.empty(x.shape, grad_out.dtype)
    grad_weight = CudaArray.full((row_length if affine_grads else 0,), 0, grad_out.dtype)
    grad_bias = CudaArray.full((row_length if affine_grads else 0,), 0, grad_out.dtype)
    if x.size:
        weight, _ = _affine(weight, None, row_length, x.dtype)
        kernels("layer_norm").layer_norm_backward(
            _contiguous(grad_out, (rows, row_length)), _contiguous(x, (rows, row_length)), weight,
            mean.numba_array(), rstd.numba_array(), grad_x.reshape((rows, row_length)).numba_array(),
            grad_weight.numba_array(), grad_bias.numba_array())
    return grad_x, (grad_weight if affine_grads else None), (grad_bias if affine_grads else None)


def _planes_shape(x):
    return (x.shape[0], x.shape[1], x.size // (x.shape[0] * x.shape[1]))


def group_norm_forward(x, weight, bias, groups, eps):
    out = CudaArray.empty(x.shape, x.dtype)
    mean = CudaArray.full((x.shape[0], groups), np.nan, x.dtype)
    rstd = CudaArray.full((x.shape[0], groups), np.nan, x.dtype)
    if x.size:
        weight, bias = _affine(weight, bias, x.shape[1], x.dtype)
        shape = _planes_shape(x)
        kernels("layer_norm").group_norm_forward(_contiguous(x, shape), weight, bias, int(groups), float(eps),
                                                 out.reshape(shape).numba_array(), mean.numba_array(),
                                                 rstd.numba_array())
    return out, mean, rstd


def group_norm_backward(grad_out, x, weight, mean, rstd, groups, affine_grads):
    channels = x.shape[1]
    grad_x = CudaArray.empty(x.shape, grad_out.dtype)
    grad_weight = CudaArray.full((channels if affine_grads else 0,), 0, grad_out.dtype)
    grad_bias = CudaArray.full((channels if affine_grads else 0,), 0, grad_out.dtype)
    if x.size:
        weight, _ = _affine(weight, None, channels, x.dtype)
        shape = _planes_shape(x)
        kernels("layer_norm").group_norm_backward(
            _contiguous(grad_out, shape), _contiguous(x, shape), weight, mean.numba_array(), rstd.numba_array(),
            int(groups), grad_x.reshape(shape).numba_array(), grad_weight.numba_array(), grad_bias.numba_array())
    return grad_x, (grad_weight if affine_grads else None), (grad_bias if affine_grads else None)
