"""Batch normalization on (N, C, L) arrays (L = H*W for images, 1 for (N, C) input), forward and backward.

Each parallel iteration owns whole channels: it reads a channel's N*L values for their sums and then
reads them again to write the channel's output, so the second read finds them in the core's cache (a
28x28 channel at batch 100 is 313 KB in float32) instead of going back to memory, and per-channel
results have one writer without atomics. With L > 1 an iteration is one channel, its inner loops run
along the L contiguous values of a row. With L = 1 ((N, C) input) a channel's values are a strided
column, so an iteration takes a block of COLUMN_BLOCK neighbouring channels and its inner loops run
along them, contiguous in each row (measured at (100, 1024): several times faster than a column each).

Statistics: one pass of shifted sums in float64, s1 = sum(x - K), s2 = sum((x - K)^2) with K the
channel's first value, mean = K + s1/M, var = s2/M - (s1/M)^2. Shifting by a value of the data keeps
the cancellation in var small (the textbook one-pass formula without it loses every digit when
|mean| >> std), and float64 sums of float32 values are exact far past any batch here; both sums
vectorize (fastmath's reassoc) where Welford's division per element would not.

The normalization and the input gradient are each one affine map per channel, y = x*a + b and
dx = g*a + x*b + c, with the coefficients cast to the data's dtype, so float32 loops run 8 wide.

Each kernel's work for one channel (or block of channels, or row) is an inlined helper shared by two
kernels: the parallel one and a serial sibling (``*_serial``) that the entry point picks below
SERIAL_BELOW elements. Inlined as Numba IR, so the bounds-checked twin of a kernel checks the
helpers' indexing too; two kernels rather than two loops in one, so that a twin compiles one copy.
"""
import math

import numpy as np
from numba import prange

from .preset import cpu_kernel, inlined_kernel, serial_kernel

# The entry points the backend calls; kernels/cuda/batch_norm.py has the same names and arguments.
__all__ = ["batch_norm_forward_training", "batch_norm_affine", "batch_norm_backward"]

COLUMN_BLOCK = 64  # channels an iteration takes when L = 1: 256 contiguous bytes of a float32 row
# Below this many elements the loops run serially: waking the threads would cost more than the work,
# and on a busy machine a parallel launch waits for a descheduled thread (measured: 6 ms at (4, 8)).
SERIAL_BELOW = 1 << 15


@inlined_kernel
def finish_statistics(c, shift, total, squares, count, eps, momentum, update_running, running_mean, running_var,
                      weight, bias, mean, invstd):
    """Channel c's mean and invstd from its shifted sums (and its running statistics updated);
    returns (scale, offset) of out = x * scale + offset, in float64."""
    centred_mean = total / count
    variance = squares / count - centred_mean * centred_mean
    if variance < 0.0:  # rounding; a NaN (from an inf in the channel) stays NaN, as PyTorch's
        variance = 0.0
    channel_mean = shift + centred_mean
    inverse = 1.0 / math.sqrt(variance + eps)
    mean[c] = channel_mean
    invstd[c] = inverse
    if update_running:
        running_mean[c] = (1.0 - momentum) * running_mean[c] + momentum * channel_mean
        unbiased = variance * count / (count - 1) if count > 1 else math.inf
        running_var[c] = (1.0 - momentum) * running_var[c] + momentum * unbiased
    scale = np.float64(weight[c]) * inverse
    return scale, np.float64(bias[c]) - channel_mean * scale


@inlined_kernel
def gradient_coefficients(c, sum_g, sum_g_centred, count, weight, mean, invstd, training, grad_weight, grad_bias):
    """Channel c's grad_weight and grad_bias from its sums; returns (a, b, offset) of
    grad_x = g * a + x * b + offset, in float64 (b = offset = 0 in eval)."""
    inverse = np.float64(invstd[c])
    grad_bias[c] = sum_g
    grad_weight[c] = sum_g_centred * inverse
    a = np.float64(weight[c]) * inverse
    if not training or count == 0:
        return a, 0.0, 0.0
    b = -a * inverse * inverse * sum_g_centred / count
    return a, b, -a * sum_g / count - b * np.float64(mean[c])


def batch_norm_forward_training(x, weight, bias, eps, momentum, update_running, running_mean, running_var,
                                out, mean, invstd):
    """mean, var = per-channel batch statistics (var biased);  invstd = 1/sqrt(var + eps);
    out = (x - mean) * invstd * weight + bias;  with update_running:
    running_mean = (1 - momentum) * running_mean + momentum * mean,
    running_var = (1 - momentum) * running_var + momentum * var * M/(M - 1)   (M = N*L values a channel)
    """
    kernels = (column_forward_training, column_forward_training_serial) if x.shape[2] == 1 else (
        channel_forward_training, channel_forward_training_serial)
    kernel = kernels[x.size < SERIAL_BELOW]
    kernel(x, weight, bias, eps, momentum, update_running, running_mean, running_var, out, mean, invstd)


@inlined_kernel
def forward_channel(c, x, weight, bias, eps, momentum, update_running, running_mean, running_var, out, mean, invstd):
    """Channel c of ``batch_norm_forward_training``: its sums, statistics, then its output."""
    batch, length = x.shape[0], x.shape[2]
    shift = np.float64(x[0, c, 0])
    total = 0.0
    squares = 0.0
    for n in range(batch):
        for position in range(length):
            deviation = np.float64(x[n, c, position]) - shift
            total += deviation
            squares += deviation * deviation
    scale, offset = finish_statistics(c, shift, total, squares, batch * length, eps, momentum, update_running,
                                      running_mean, running_var, weight, bias, mean, invstd)
    coefficients = np.empty(2, out.dtype)  # in x's dtype, for the vector loop
    coefficients[0], coefficients[1] = scale, offset
    scale_typed, offset_typed = coefficients[0], coefficients[1]
    for n in range(batch):
        for position in range(length):
            out[n, c, position] = x[n, c, position] * scale_typed + offset_typed


@cpu_kernel
def channel_forward_training(x, weight, bias, eps, momentum, update_running, running_mean, running_var, out, mean,
                             invstd):
    """``batch_norm_forward_training`` a channel per parallel iteration (L > 1)."""
    for c in prange(x.shape[1]):
        forward_channel(c, x, weight, bias, eps, momentum, update_running, running_mean, running_var, out, mean,
                        invstd)


@serial_kernel
def channel_forward_training_serial(x, weight, bias, eps, momentum, update_running, running_mean, running_var, out,
                                    mean, invstd):
    """``channel_forward_training`` in one thread, for small arrays."""
    for c in range(x.shape[1]):
        forward_channel(c, x, weight, bias, eps, momentum, update_running, running_mean, running_var, out, mean,
                        invstd)


@inlined_kernel
def forward_columns(block, x, weight, bias, eps, momentum, update_running, running_mean, running_var, out, mean,
                    invstd):
    """Channels block * COLUMN_BLOCK onwards (COLUMN_BLOCK of them, or what is left) of
    ``batch_norm_forward_training`` with L = 1."""
    batch, channels = x.shape[0], x.shape[1]
    start = block * COLUMN_BLOCK
    width = min(COLUMN_BLOCK, channels - start)
    shift, total, squares = np.empty(width), np.zeros(width), np.zeros(width)
    for j in range(width):
        shift[j] = x[0, start + j, 0]
    for n in range(batch):
        for j in range(width):
            deviation = np.float64(x[n, start + j, 0]) - shift[j]
            total[j] += deviation
            squares[j] += deviation * deviation
    scale, offset = np.empty(width, out.dtype), np.empty(width, out.dtype)
    for j in range(width):
        scale[j], offset[j] = finish_statistics(start + j, shift[j], total[j], squares[j], batch, eps, momentum,
                                                update_running, running_mean, running_var, weight, bias, mean, invstd)
    for n in range(batch):
        for j in range(width):
            out[n, start + j, 0] = x[n, start + j, 0] * scale[j] + offset[j]


@cpu_kernel
def column_forward_training(x, weight, bias, eps, momentum, update_running, running_mean, running_var, out, mean,
                            invstd):
    """``batch_norm_forward_training`` a block of COLUMN_BLOCK channels per parallel iteration (L = 1)."""
    for block in prange((x.shape[1] + COLUMN_BLOCK - 1) // COLUMN_BLOCK):
        forward_columns(block, x, weight, bias, eps, momentum, update_running, running_mean, running_var, out, mean,
                        invstd)


@serial_kernel
def column_forward_training_serial(x, weight, bias, eps, momentum, update_running, running_mean, running_var, out,
                                   mean, invstd):
    """``column_forward_training`` in one thread, for small arrays."""
    for block in range((x.shape[1] + COLUMN_BLOCK - 1) // COLUMN_BLOCK):
        forward_columns(block, x, weight, bias, eps, momentum, update_running, running_mean, running_var, out, mean,
                        invstd)


def batch_norm_affine(x, scale, shift, out):
    """out[n, c, l] = x[n, c, l] * scale[c] + shift[c]  (the eval forward, and its input gradient with shift 0)"""
    (affine_serial if x.size < SERIAL_BELOW else affine_rows)(x, scale, shift, out)


@cpu_kernel
def affine_rows(x, scale, shift, out):
    """``batch_norm_affine`` a row (n, c) per parallel iteration."""
    for row in prange(x.shape[0] * x.shape[1]):
        affine_row(row, x, scale, shift, out)


@serial_kernel
def affine_serial(x, scale, shift, out):
    """``batch_norm_affine`` in one thread, for small arrays."""
    for row in range(x.shape[0] * x.shape[1]):
        affine_row(row, x, scale, shift, out)


@inlined_kernel
def affine_row(row, x, scale, shift, out):
    """Row (n, c) = divmod(row, C) of ``batch_norm_affine``."""
    n, c = row // x.shape[1], row % x.shape[1]
    channel_scale, channel_shift = scale[c], shift[c]
    for position in range(x.shape[2]):
        out[n, c, position] = x[n, c, position] * channel_scale + channel_shift


def batch_norm_backward(grad_out, x, weight, mean, invstd, training, compute_grad_input, grad_x, grad_weight,
                        grad_bias):
    """xhat = (x - mean) * invstd;  grad_bias = sum of g;  grad_weight = sum of g * xhat;
    grad_x = weight * invstd * (g - mean(g) - xhat * mean(g * xhat)) in training (mean and invstd
    the batch's), weight * invstd * g in eval (mean and invstd from the running statistics)
    """
    kernels = (column_backward, column_backward_serial) if x.shape[2] == 1 else (channel_backward,
                                                                                 channel_backward_serial)
    kernel = kernels[x.size < SERIAL_BELOW]
    kernel(grad_out, x, weight, mean, invstd, training, compute_grad_input, grad_x, grad_weight, grad_bias)


@inlined_kernel
def backward_channel(c, grad_out, x, weight, mean, invstd, training, compute_grad_input, grad_x, grad_weight,
                     grad_bias):
    """Channel c of ``batch_norm_backward``: its two sums, then its input gradient."""
    batch, length = x.shape[0], x.shape[2]
    channel_mean = np.float64(mean[c])
    sum_g = 0.0
    sum_g_centred = 0.0
    for n in range(batch):
        for position in range(length):
            g = np.float64(grad_out[n, c, position])
            sum_g += g
            sum_g_centred += g * (np.float64(x[n, c, position]) - channel_mean)
    a, b, offset = gradient_coefficients(c, sum_g, sum_g_centred, batch * length, weight, mean, invstd, training,
                                         grad_weight, grad_bias)
    if not compute_grad_input:
        return
    coefficients = np.empty(3, grad_x.dtype)  # in the data's dtype, for the vector loops
    coefficients[0], coefficients[1], coefficients[2] = a, b, offset
    a_typed, b_typed, offset_typed = coefficients[0], coefficients[1], coefficients[2]
    if not training:  # x takes no part: an inf or NaN in it must not reach grad_x (as 0 * inf would)
        for n in range(batch):
            for position in range(length):
                grad_x[n, c, position] = grad_out[n, c, position] * a_typed
        return
    for n in range(batch):
        for position in range(length):
            grad_x[n, c, position] = grad_out[n, c, position] * a_typed + x[n, c, position] * b_typed + offset_typed


@cpu_kernel
def channel_backward(grad_out, x, weight, mean, invstd, training, compute_grad_input, grad_x, grad_weight,
                     grad_bias):
    """``batch_norm_backward`` a channel per parallel iteration (L > 1)."""
    for c in prange(x.shape[1]):
        backward_channel(c, grad_out, x, weight, mean, invstd, training, compute_grad_input, grad_x, grad_weight,
                         grad_bias)


@serial_kernel
def channel_backward_serial(grad_out, x, weight, mean, invstd, training, compute_grad_input, grad_x, grad_weight,
                            grad_bias):
    """``channel_backward`` in one thread, for small arrays."""
    for c in range(x.shape[1]):
        backward_channel(c, grad_out, x, weight, mean, invstd, training, compute_grad_input, grad_x, grad_weight,
                         grad_bias)


@inlined_kernel
def backward_columns(block, grad_out, x, weight, mean, invstd, training, compute_grad_input, grad_x, grad_weight,
                     grad_bias):
    """Channels block * COLUMN_BLOCK onwards of ``batch_norm_backward`` with L = 1."""
    batch, channels = x.shape[0], x.shape[1]
    start = block * COLUMN_BLOCK
    width = min(COLUMN_BLOCK, channels - start)
    centre, sum_g, sum_g_centred = np.empty(width), np.zeros(width), np.zeros(width)
    for j in range(width):
        centre[j] = mean[start + j]
    for n in range(batch):
        for j in range(width):
            g = np.float64(grad_out[n, start + j, 0])
            sum_g[j] += g
            sum_g_centred[j] += g * (np.float64(x[n, start + j, 0]) - centre[j])
    a, b, offset = np.empty(width, grad_x.dtype), np.empty(width, grad_x.dtype), np.empty(width, grad_x.dtype)
    for j in range(width):
        a[j], b[j], offset[j] = gradient_coefficients(start + j, sum_g[j], sum_g_centred[j], batch, weight, mean,
                                                      invstd, training, grad_weight, grad_bias)
    if not compute_grad_input:
        return
    for n in range(batch):
        if training:
            for j in range(width):
                grad_x[n, start + j, 0] = grad_out[n, start + j, 0] * a[j] + x[n, start + j, 0] * b[j] + offset[j]
        else:  # as in backward_channel: x takes no part
            for j in range(width):
                grad_x[n, start + j, 0] = grad_out[n, start + j, 0] * a[j]


@cpu_kernel
def column_backward(grad_out, x, weight, mean, invstd, training, compute_grad_input, grad_x, grad_weight, grad_bias):
    """``batch_norm_backward`` a block of COLUMN_BLOCK channels per parallel iteration (L = 1)."""
    for block in prange((x.shape[1] + COLUMN_BLOCK - 1) // COLUMN_BLOCK):
        backward_columns(block, grad_out, x, weight, mean, invstd, training, compute_grad_input, grad_x, grad_weight,
                         grad_bias)


@serial_kernel
def column_backward_serial(grad_out, x, weight, mean, invstd, training, compute_grad_input, grad_x, grad_weight,
                           grad_bias):
    """``column_backward`` in one thread, for small arrays."""
    for block in range((x.shape[1] + COLUMN_BLOCK - 1) // COLUMN_BLOCK):
        backward_columns(block, grad_out, x, weight, mean, invstd, training, compute_grad_input, grad_x, grad_weight,
                         grad_bias)