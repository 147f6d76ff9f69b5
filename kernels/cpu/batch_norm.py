"""Batch normalization on (N, C, L) arrays (L = H*W for images, 1 for (N, C) input), forward and backward.

Each parallel iteration owns one channel: it reads the channel's N*L values to get their statistics
and then reads them again to write the channel's output, so the second read finds them in the
core's cache (a 28x28 channel at batch 100 is 313 KB in float32) instead of going back to memory,
and per-channel results have one writer without atomics.

Statistics: one pass of shifted sums in float64, s1 = sum(x - K), s2 = sum((x - K)^2) with K the
channel's first value, mean = K + s1/M, var = s2/M - (s1/M)^2. Shifting by a value of the data keeps
the cancellation in var small (the textbook one-pass formula without it loses every digit when
|mean| >> std), and float64 sums of float32 values are exact far past any batch here; both sums
vectorize (fastmath's reassoc) where Welford's division per element would not.

The normalization and the input gradient are each one affine map per channel, y = x*a + b and
dx = g*a + x*b + c, with the coefficients cast to the data's dtype, so float32 loops run 8 wide.
"""
import math

from numba import prange
import numpy as np

from .preset import cpu_kernel

# The entry points the backend calls; kernels/cuda/batch_norm.py has the same names and arguments.
__all__ = ["batch_norm_forward_training", "batch_norm_affine", "batch_norm_backward"]


@cpu_kernel
def batch_norm_forward_training(x, weight, bias, eps, momentum, update_running, running_mean, running_var,
                                out, mean, invstd):
    """mean, var = per-channel batch statistics (var biased);  invstd = 1/sqrt(var + eps);
    out = (x - mean) * invstd * weight + bias;  with update_running:
    running_mean = (1 - momentum) * running_mean + momentum * mean,
    running_var = (1 - momentum) * running_var + momentum * var * M/(M - 1)   (M = N*L values a channel)
    """
    batch, channels, length = x.shape
    count = batch * length
    for c in prange(channels):
        shift = np.float64(x[0, c, 0])
        total = 0.0
        squares = 0.0
        for n in range(batch):
            for position in range(length):
                deviation = np.float64(x[n, c, position]) - shift
                total += deviation
                squares += deviation * deviation
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
        # y = x * scale + offset, the coefficients in x's dtype
        coefficients = np.empty(2, out.dtype)
        coefficients[0] = weight[c] * inverse
        coefficients[1] = bias[c] - channel_mean * weight[c] * inverse
        scale, offset = coefficients[0], coefficients[1]
        for n in range(batch):
            for position in range(length):
                out[n, c, position] = x[n, c, position] * scale + offset


@cpu_kernel
def batch_norm_affine(x, scale, shift, out):
    """out[n, c, l] = x[n, c, l] * scale[c] + shift[c]  (the eval forward, and its input gradient with shift 0)"""
    batch, channels, length = x.shape
    for row in prange(batch * channels):
        n, c = row // channels, row % channels
        channel_scale, channel_shift = scale[c], shift[c]
        for position in range(length):
            out[n, c, position] = x[n, c, position] * channel_scale + channel_shift


@cpu_kernel
def batch_norm_backward(grad_out, x, weight, mean, invstd, training, compute_grad_input, grad_x, grad_weight,
                        grad_bias):
    """xhat = (x - mean) * invstd;  grad_bias = sum of g;  grad_weight = sum of g * xhat;
    grad_x = weight * invstd * (g - mean(g) - xhat * mean(g * xhat)) in training (mean and invstd
    the batch's), weight * invstd * g in eval (mean and invstd from the running statistics)
    """
    batch, channels, length = x.shape
    count = batch * length
    for c in prange(channels):
        channel_mean = np.float64(mean[c])
        inverse = np.float64(invstd[c])
        sum_g = 0.0
        sum_g_centred = 0.0
        for n in range(batch):
            for position in range(length):
                g = np.float64(grad_out[n, c, position])
                sum_g += g
                sum_g_centred += g * (np.float64(x[n, c, position]) - channel_mean)
        grad_bias[c] = sum_g
        grad_weight[c] = sum_g_centred * inverse
        if not compute_grad_input:
            continue
        # grad_x = g * a + x * b + offset, the coefficients in the data's dtype
        a = np.float64(weight[c]) * inverse
        b = 0.0
        offset = 0.0
        if training and count > 0:
            b = -a * inverse * inverse * sum_g_centred / count
            offset = -a * sum_g / count - b * channel_mean
        coefficients = np.empty(3, grad_x.dtype)
        coefficients[0], coefficients[1], coefficients[2] = a, b, offset
        a_typed, b_typed, offset_typed = coefficients[0], coefficients[1], coefficients[2]
        if not training:  # x takes no part: an inf or NaN in it must not reach grad_x (as 0 * inf would)
            for n in range(batch):
                for position in range(length):
                    grad_x[n, c, position] = grad_out[n, c, position] * a_typed
            continue
        for n in range(batch):
            for position in range(length):
                grad_x[n, c, position] = grad_out[n, c, position] * a_typed + x[n, c, position] * b_typed + offset_typed
