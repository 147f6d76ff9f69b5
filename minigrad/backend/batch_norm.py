"""Batch normalization on (N, C, L) arrays: the outputs and per-channel arrays, then the kernels of
kernels/cpu/batch_norm.py that fill them (a CudaArray goes to minigrad/cuda/ops_batch_norm.py)."""
import numpy as np

from ..cuda import ops_batch_norm
from .routing import kernels, routed_to


def _or_constant(array, channels, value, dtype):
    """``array``, or ``value`` for every channel (an absent weight is ones, an absent bias zeros)."""
    return np.full(channels, value, dtype=dtype) if array is None else np.ascontiguousarray(array)


@routed_to(ops_batch_norm)
def batch_norm_training(x, weight, bias, eps, momentum, running_mean, running_var):
    """(out, mean, invstd) of x (N, C, L) with its batch statistics; running_mean and running_var,
    when given, are updated in place (momentum is the new batch's share)."""
    x = np.ascontiguousarray(x)
    channels = x.shape[1]
    out = np.empty_like(x)
    mean, invstd = np.empty(channels, x.dtype), np.empty(channels, x.dtype)
    if x.shape[0] * x.shape[2] == 0:  # no values: NaN statistics, as PyTorch's empty batch gives
        mean.fill(np.nan)
        invstd.fill(np.nan)
        return out, mean, invstd
    update_running = running_mean is not None
    if not update_running:  # typed placeholders the kernel does not touch
        running_mean = running_var = np.empty(0, x.dtype)
    kernels("batch_norm").batch_norm_forward_training(
        x, _or_constant(weight, channels, 1, x.dtype), _or_constant(bias, channels, 0, x.dtype), float(eps),
        float(momentum), update_running, running_mean, running_var, out, mean, invstd)
    return out, mean, invstd


@routed_to(ops_batch_norm)
def batch_norm_affine(x, scale, shift):
    """x * scale[c] + shift[c] over x (N, C, L): the eval forward, and with shift 0 its input gradient."""
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    if x.size:
        kernels("batch_norm").batch_norm_affine(x, np.ascontiguousarray(scale), np.ascontiguousarray(shift), out)
    return out


@routed_to(ops_batch_norm)
def batch_norm_backward(grad_out, x, weight, mean, invstd, training, compute_grad_input):
    """(grad_x or None, grad_weight, grad_bias) from the saved mean and invstd (the batch's in training,
    the running statistics' in eval)."""
    grad_out, x = np.ascontiguousarray(grad_out), np.ascontiguousarray(x)
    channels = x.shape[1]
    grad_x = np.empty_like(x) if compute_grad_input else np.empty((0, 0, 0), x.dtype)
    grad_weight, grad_bias = np.zeros(channels, x.dtype), np.zeros(channels, x.dtype)
    if x.size:
        kernels("batch_norm").batch_norm_backward(
            grad_out, x, _or_constant(weight, channels, 1, x.dtype), mean, invstd, bool(training),
            bool(compute_grad_input), grad_x, grad_weight, grad_bias)
    return (grad_x if compute_grad_input else None), grad_weight, grad_bias
