"""Layer and group normalization: the outputs and saved statistics, then the kernels that fill them.

Both take x as rows of contiguous elements (kernels/cpu/layer_norm.py): LayerNorm as (rows, row
length), GroupNorm as (N, C, S). A missing weight or bias goes to the kernels as ones or zeros.
"""
import math

import numpy as np

from ..cuda import ops_layer_norm
from .routing import kernels, routed_to

on_either_device = routed_to(ops_layer_norm)


def _affine(weight, bias, length, dtype):
    """The weight and bias arrays the kernels read: ones and zeros in place of absent ones."""
    weight = np.ones(length, dtype) if weight is None else np.ascontiguousarray(weight).reshape(length)
    bias = np.zeros(length, dtype) if bias is None else np.ascontiguousarray(bias).reshape(length)
    return weight, bias


@on_either_device
def layer_norm_forward(x, weight, bias, row_length, eps):
    """(out, mean, rstd): x normalized over its trailing ``row_length`` elements; mean and rstd (rows,)."""
    rows = x.size // row_length if row_length else math.prod(x.shape[:x.ndim - 1])
    out = np.empty(x.shape, x.dtype)
    mean, rstd = np.empty(rows, x.dtype), np.empty(rows, x.dtype)
    if x.size == 0:
        mean[:], rstd[:] = np.nan, np.nan  # rows of no elements have no statistics
        return out, mean, rstd
    weight, bias = _affine(weight, bias, row_length, x.dtype)
    kernels("layer_norm").layer_norm_forward(np.ascontiguousarray(x).reshape(rows, row_length), weight, bias,
                                             float(eps), out.reshape(rows, row_length), mean, rstd)
    return out, mean, rstd


@on_either_device
def layer_norm_backward(grad_out, x, weight, mean, rstd, row_length, affine_grads):
    """(grad_x, grad_weight, grad_bias); the last two are None unless ``affine_grads``."""
    rows = mean.shape[0]
    grad_x = np.empty(x.shape, grad_out.dtype)
    grad_weight = np.zeros(row_length if affine_grads else 0, grad_out.dtype)
    grad_bias = np.zeros(row_length if affine_grads else 0, grad_out.dtype)
    if x.size:
        weight, _ = _affine(weight, None, row_length, x.dtype)
        kernels("layer_norm").layer_norm_backward(
            np.ascontiguousarray(grad_out).reshape(rows, row_length), np.ascontiguousarray(x).reshape(rows, row_length),
            weight, mean, rstd, grad_x.reshape(rows, row_length), grad_weight, grad_bias)
    return grad_x, (grad_weight if affine_grads else None), (grad_bias if affine_grads else None)


def _planes(array):
    """(N, C, S) view of an (N, C, *spatial) array, S = 1 without spatial axes."""
    return np.ascontiguousarray(array).reshape(array.shape[0], array.shape[1], -1 if array.size else 0)


@on_either_device
def group_norm_forward(x, weight, bias, groups, eps):
    """(out, mean, rstd): x (N, C, *) normalized over each group of C / groups channels; mean, rstd (N, groups)."""
    out = np.empty(x.shape, x.dtype)
    mean, rstd = np.empty((x.shape[0], groups), x.dtype), np.empty((x.shape[0], groups), x.dtype)
    if x.size == 0:
        mean[:], rstd[:] = np.nan, np.nan
        return out, mean, rstd
    weight, bias = _affine(weight, bias, x.shape[1], x.dtype)
    kernels("layer_norm").group_norm_forward(_planes(x), weight, bias, int(groups), float(eps),
                                             out.reshape(_planes(x).shape), mean, rstd)
    return out, mean, rstd


@on_either_device
def group_norm_backward(grad_out, x, weight, mean, rstd, groups, affine_grads):
    """(grad_x, grad_weight, grad_bias); the last two are None unless ``affine_grads``."""
    channels = x.shape[1]
    grad_x = np.empty(x.shape, grad_out.dtype)
    grad_weight = np.zeros(channels if affine_grads else 0, grad_out.dtype)
    grad_bias = np.zeros(channels if affine_grads else 0, grad_out.dtype)
    if x.size:
        weight, _ = _affine(weight, None, channels, x.dtype)
        planes = _planes(x)
        kernels("layer_norm").group_norm_backward(_planes(grad_out), planes, weight, mean, rstd, int(groups),
                                                  grad_x.reshape(planes.shape), grad_weight, grad_bias)
    return grad_x, (grad_weight if affine_grads else None), (grad_bias if affine_grads else None)
