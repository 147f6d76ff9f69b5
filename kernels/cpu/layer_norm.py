"""Layer and group normalization: one row normalization, forward and backward.

Both normalize rows of contiguous elements to zero mean and unit variance (biased), then apply a
per-element (LayerNorm) or per-channel (GroupNorm) affine map:

- LayerNorm: ``x`` is (rows, row_length); a row is the trailing ``normalized_shape`` elements of
  one leading index; weight and bias have one value per element of the row.
- GroupNorm: ``x`` is (N, C, S) (S the spatial positions, 1 for none); a row is group g of image n,
  the channels [g * C/G, (g + 1) * C/G) of x[n], which lie next to each other in memory; weight
  and bias have one value per channel.

Forward, a row per ``prange`` iteration while it sits in cache: one pass sums (x - x0) and
(x - x0)^2 (x0 the row's first element: the shift keeps the one-pass variance from cancelling
when the mean is large against the spread), one pass writes the output; mean and inverse std are
saved, in x's dtype, for backward. Row sums are accumulated in x's dtype, as PyTorch's CPU
kernels do: float32 vectorizes at twice float64's width (the (100, 1024) forward took 78 µs with
float64 sums, 24 µs with float32 ones, on one Zen 3 core), and fastmath's reassociation gives each
vector lane its own partial sum, so a row's rounding error grows with length / lanes, not length.

Backward from the saved statistics, xhat = (x - mean) * rstd, gw = g * weight:
    dx = rstd * (gw - mean_row(gw) - xhat * mean_row(gw * xhat))
one pass for the two row sums, one writing dx, which is A * g + B * x + D per element.
dweight = sum over rows of g * xhat and dbias = sum over rows of g, reduced without two threads
writing one element: LayerNorm's rows are split into one contiguous share per thread, each
adding into its own partial row, then the partials are summed column by column; GroupNorm's
rows write per-(image, channel) partial sums (one writer each), reduced over images per channel.

Absent weight and bias are passed as ones and zeros (the backend makes them): the multiply-add is
free next to the memory traffic. ``grad_weight`` of length 0 means no affine gradient is wanted.
"""
import math

import numpy as np
from numba import prange

from .preset import cpu_kernel
from .simd import thread_count

# The entry points the backend calls; kernels/cuda/layer_norm.py has the same names and arguments.
__all__ = ["layer_norm_forward", "layer_norm_backward", "group_norm_forward", "group_norm_backward"]


@cpu_kernel
def layer_norm_forward(x, weight, bias, eps, out, mean, rstd):
    """out[r, j] = (x[r, j] - mean[r]) * rstd[r] * weight[j] + bias[j],  rstd = 1 / sqrt(var + eps)."""
    rows, length = x.shape
    for r in prange(rows):
        shift = x[r, 0]
        total = shift - shift  # zero in x's dtype: float32 sums vectorize at twice float64's width
        squares = total
        for j in range(length):
            centred = x[r, j] - shift
            total += centred
            squares += centred * centred
        shifted_mean = float(total) / length
        variance = max(float(squares) / length - shifted_mean * shifted_mean, 0.0)
        mean[r] = shift + shifted_mean
        rstd[r] = 1.0 / math.sqrt(variance + eps)
        row_mean, row_rstd = mean[r], rstd[r]  # in x's dtype: the loop below runs in it
        for j in range(length):
            out[r, j] = (x[r, j] - row_mean) * row_rstd * weight[j] + bias[j]


@cpu_kernel
def layer_norm_backward(grad_out, x, weight, mean, rstd, grad_x, grad_weight, grad_bias):
    """grad_x = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)) per row;  grad_weight = sum_r g * xhat,
    grad_bias = sum_r g (skipped when grad_weight has length 0)."""
    rows, length = x.shape
    affine = grad_weight.shape[0] != 0
    parts = max(1, min(thread_count(), rows))
    partial_weight = np.zeros((parts, length if affine else 0), grad_out.dtype)
    partial_bias = np.zeros((parts, length if affine else 0), grad_out.dtype)
    for part in prange(parts):
        for r in range(part * rows // parts, (part + 1) * rows // parts):
            row_mean, row_rstd = mean[r], rstd[r]
            gw_total = row_mean - row_mean  # zero in x's dtype
            gwx_total = gw_total
            for j in range(length):
                gw = grad_out[r, j] * weight[j]
                gw_total += gw
                gwx_total += gw * x[r, j]
            if affine:
                for j in range(length):
                    g = grad_out[r, j]
                    partial_weight[part, j] += g * (x[r, j] - row_mean) * row_rstd
                    partial_bias[part, j] += g
            # sum(gw * xhat) = rstd * (sum(gw * x) - mean * sum(gw))
            xhat_total = row_rstd * (gwx_total - row_mean * gw_total)
            x_coefficient = -row_rstd * row_rstd * xhat_total / length
            constant = -row_rstd * gw_total / length - x_coefficient * row_mean
            if not (math.isfinite(gw_total) and math.isfinite(gwx_total)):
                constant = math.nan  # an inf or NaN gradient: gw - mean(gw) is NaN all along the row
            x_coefficient = grad_x.dtype.type(x_coefficient)
            constant = grad_x.dtype.type(constant)
            for j in range(length):
                grad_x[r, j] = row_rstd * weight[j] * grad_out[r, j] + x_coefficient * x[r, j] + constant
    if affine:
        # A few thousand adds: serial, since a second parallel region costs more to start than it saves.
        for j in range(length):
            weight_sum = partial_weight[0, j]
            bias_sum = partial_bias[0, j]
            for part in range(1, parts):
                weight_sum += partial_weight[part, j]
                bias_sum += partial_bias[part, j]
            grad_weight[j] = weight_sum
            grad_bias[j] = bias_sum


@cpu_kernel
def group_norm_forward(x, weight, bias, groups, eps, out, mean, rstd):
    """out[n, c, s] = (x[n, c, s] - mean[n, g]) * rstd[n, g] * weight[c] + bias[c],  g = c // (C / G)."""
    batch, channels, positions = x.shape
    group_channels = channels // groups
    row_length = group_channels * positions
    for row in prange(batch * groups):
        n, g = row // groups, row % groups
        first = g * group_channels
        shift = x[n, first, 0]
        total = shift - shift  # zero in x's dtype, as in layer_norm_forward
        squares = total
        for c in range(first, first + group_channels):
            for s in range(positions):
                centred = x[n, c, s] - shift
                total += centred
                squares += centred * centred
        shifted_mean = float(total) / row_length
        variance = max(float(squares) / row_length - shifted_mean * shifted_mean, 0.0)
        mean[n, g] = shift + shifted_mean
        rstd[n, g] = 1.0 / math.sqrt(variance + eps)
        row_mean, row_rstd = mean[n, g], rstd[n, g]
        for c in range(first, first + group_channels):
            # (x - mean) * rstd * w + b = x * scale + offset, per channel
            scale = row_rstd * weight[c]
            offset = bias[c] - row_mean * scale
            for s in range(positions):
                out[n, c, s] = x[n, c, s] * scale + offset


@cpu_kernel
def group_norm_backward(grad_out, x, weight, mean, rstd, groups, grad_x, grad_weight, grad_bias):
    """grad_x = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)) per (image, group) row, gw = g * weight[c];
    grad_weight[c] = sum_(n, s) g * xhat, grad_bias[c] = sum_(n, s) g (skipped when grad_weight has length 0)."""
    batch, channels, positions = x.shape
    group_channels = channels // groups
    row_length = group_channels * positions
    # Per (image, channel): sum_s g * x and sum_s g; each written by the one row that owns the channel.
    channel_gx = np.empty((batch, channels), np.float64)
    channel_g = np.empty((batch, channels), np.float64)
    for row in prange(batch * groups):
        n, g = row // groups, row % groups
        first = g * group_channels
        row_mean, row_rstd = mean[n, g], rstd[n, g]
        gw_total = 0.0
        gwx_total = 0.0
        for c in range(first, first + group_channels):
            gx_sum = row_mean - row_mean  # zero in x's dtype
            g_sum = gx_sum
            for s in range(positions):
                gradient = grad_out[n, c, s]
                g_sum += gradient
                gx_sum += gradient * x[n, c, s]
            channel_gx[n, c] = gx_sum
            channel_g[n, c] = g_sum
            gw_total += weight[c] * g_sum
            gwx_total += weight[c] * gx_sum
        xhat_total = row_rstd * (gwx_total - row_mean * gw_total)
        x_coefficient = -row_rstd * row_rstd * xhat_total / row_length
        constant = -row_rstd * gw_total / row_length - x_coefficient * row_mean
        if not (math.isfinite(gw_total) and math.isfinite(gwx_total)):
            constant = math.nan  # an inf or NaN gradient: gw - mean(gw) is NaN all along the row
        x_coefficient = grad_x.dtype.type(x_coefficient)
        constant = grad_x.dtype.type(constant)
        for c in range(first, first + group_channels):
            g_coefficient = row_rstd * weight[c]
            for s in range(positions):
                grad_x[n, c, s] = g_coefficient * grad_out[n, c, s] + x_coefficient * x[n, c, s] + constant
    if grad_weight.shape[0] != 0:
        # batch x channels adds: serial, as in layer_norm_backward.
        for c in range(channels):
            g = c // group_channels
            weight_sum = 0.0
            bias_sum = 0.0
            for n in range(batch):
                # sum_s g * xhat = rstd * (sum_s g * x - mean * sum_s g)
                weight_sum += (channel_gx[n, c] - mean[n, g] * channel_g[n, c]) * rstd[n, g]
                bias_sum += channel_g[n, c]
            grad_weight[c] = weight_sum
            grad_bias[c] = bias_sum
