"""Layer and group normalization on the GPU: the contracts of kernels/cpu/layer_norm.py on device arrays.

Scheme: one thread block per normalized row (LayerNorm: a leading index; GroupNorm: an (image,
group) pair, whose channels lie next to each other, so the row is contiguous too). The block's
threads stride across the row (thread t takes elements t, t + block size, ...), so a warp reads
32 neighbouring elements at once.

- forward: each thread sums (x - x0) and (x - x0)^2 over its elements in float64 (x0 the row's
  first element, as on the CPU; float64 here, where the CPU sums in x's dtype for SIMD width: a
  GPU thread adds a handful of elements, and float64 keeps the trees' sums exact enough); two shared-memory trees (halving the active threads each round,
  a barrier between rounds) give the row's sums; every thread then derives the same mean and
  inverse std from them, thread 0 saves them, and each thread writes its elements' outputs.
- backward, dx: the same block per row sums g * w and g * w * x in two trees and writes
  dx = A * g + B * x + D (kernels/cpu/layer_norm.py derives the coefficients).
- dweight, dbias, without atomics: LayerNorm, one thread per column summing over the rows (a
  warp reads 32 neighbouring columns of a row: coalesced); GroupNorm, a block per (image,
  channel) first sums g * x and g over the positions (its dx kernel reuses those sums), then
  one thread per channel adds them over the images.

A tree always adds the same values in the same order, so results are deterministic; they differ
from the CPU's serial sums only by rounding.

Performance, expected rather than measured (no GPU here): every kernel reads x (and g) once or
twice and writes once, so they are memory-bound: LayerNorm on (100, 1024) float32 is 400 KB per
array, a few µs per kernel on an H100, launch included. The column-per-thread affine reduction
has only row_length threads, each walking all rows: fine for a few hundred rows, latency-bound
for tens of thousands.
"""
import math

from numba import cuda, float32, float64, int64

# The entry points the backend calls: the same names and arguments as kernels/cpu/layer_norm.py.
__all__ = [  # noqa: RUF022 (the CPU module's order: the parity test compares the lists)
    "layer_norm_forward", "layer_norm_backward", "group_norm_forward", "group_norm_backward",
]

WARP_SIZE = 32
MAX_THREADS_PER_ROW = 256  # also the length of the shared arrays: a compile-time constant
THREADS_PER_BLOCK = 256  # the per-column and per-channel reductions


def threads_per_row(length):
    """The smallest power of two covering the row, between a warp and MAX_THREADS_PER_ROW."""
    threads = WARP_SIZE
    while threads < length and threads < MAX_THREADS_PER_ROW:
        threads *= 2
    return threads


@cuda.jit
def layer_norm_rows(x, weight, bias, eps, out, mean, rstd):
    """out[r, j] = (x[r, j] - mean[r]) * rstd[r] * weight[j] + bias[j]: a block per row r."""
    r = cuda.blockIdx.x
    thread, threads = cuda.threadIdx.x, cuda.blockDim.x
    length = x.shape[1]
    shift = x[r, 0]
    total = 0.0
    squares = 0.0
    for j in range(thread, length, threads):
        centred = float64(x[r, j] - shift)
        total += centred
        squares += centred * centred
    partial_total = cuda.shared.array(MAX_THREADS_PER_ROW, float64)
    partial_squares = cuda.shared.array(MAX_THREADS_PER_ROW, float64)
    # The block's sums by a shared-memory tree, a barrier between rounds.
    partial_total[thread] = total
    partial_squares[thread] = squares
    cuda.syncthreads()
    stride = threads // 2
    while stride > 0:
        if thread < stride:
            partial_total[thread] += partial_total[thread + stride]
            partial_squares[thread] += partial_squares[thread + stride]
        cuda.syncthreads()  # every slot is final before the next round reads it
        stride //= 2
    total, squares = partial_total[0], partial_squares[0]
    shifted_mean = total / length
    variance = squares / length - shifted_mean * shifted_mean
    if variance < 0.0:  # rounding of the one-pass formula
        variance = 0.0
    row_mean = x.dtype.type(shift + shifted_mean)  # in x's dtype, as the CPU saves and uses them
    row_rstd = x.dtype.type(1.0 / math.sqrt(variance + eps))
    if thread == 0:
        mean[r] = row_mean
        rstd[r] = row_rstd
    for j in range(thread, length, threads):
        out[r, j] = (x[r, j] - row_mean) * row_rstd * weight[j] + bias[j]


@cuda.jit
def layer_norm_input_gradient(grad_out, x, weight, mean, rstd, grad_x):
    """grad_x = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)) per row, gw = g * weight: a block per row."""
    r = cuda.blockIdx.x
    thread, threads = cuda.threadIdx.x, cuda.blockDim.x
    length = x.shape[1]
    gw_total = 0.0
    gwx_total = 0.0
    for j in range(thread, length, threads):
        gw = float64(grad_out[r, j] * weight[j])
        gw_total += gw
        gwx_total += gw * x[r, j]
    partial_gw = cuda.shared.array(MAX_THREADS_PER_ROW, float64)
    partial_gwx = cuda.shared.array(MAX_THREADS_PER_ROW, float64)
    # The block's sums by a shared-memory tree, a barrier between rounds.
    partial_gw[thread] = gw_total
    partial_gwx[thread] = gwx_total
    cuda.syncthreads()
    stride = threads // 2
    while stride > 0:
        if thread < stride:
            partial_gw[thread] += partial_gw[thread + stride]
            partial_gwx[thread] += partial_gwx[thread + stride]
        cuda.syncthreads()  # every slot is final before the next round reads it
        stride //= 2
    gw_total, gwx_total = partial_gw[0], partial_gwx[0]
    row_mean, row_rstd = float64(mean[r]), float64(rstd[r])
    xhat_total = row_rstd * (gwx_total - row_mean * gw_total)
    x_coefficient = -row_rstd * row_rstd * xhat_total / length
    constant = -row_rstd * gw_total / length - x_coefficient * row_mean
    if not (math.isfinite(gw_total) and math.isfinite(gwx_total)):
        constant = math.nan  # an inf or NaN gradient: gw - mean(gw) is NaN all along the row
    constant = x.dtype.type(constant)
    x_coefficient = x.dtype.type(x_coefficient)
    for j in range(thread, length, threads):
        grad_x[r, j] = rstd[r] * weight[j] * grad_out[r, j] + x_coefficient * x[r, j] + constant


@cuda.jit
def layer_norm_affine_gradient(grad_out, x, mean, rstd, grad_weight, grad_bias):
    """grad_weight[j] = sum_r g * xhat, grad_bias[j] = sum_r g: a thread per column j."""
    j = cuda.grid(1)
    if j >= x.shape[1]:
        return  # the last block's spare threads
    weight_sum = grad_out.dtype.type(0)
    bias_sum = grad_out.dtype.type(0)
    for r in range(x.shape[0]):
        g = grad_out[r, j]
        weight_sum += g * (x[r, j] - mean[r]) * rstd[r]
        bias_sum += g
    grad_weight[j] = weight_sum
    grad_bias[j] = bias_sum


@cuda.jit
def group_norm_rows(x, weight, bias, groups, eps, out, mean, rstd):
    """out[n, c, s] = (x[n, c, s] - mean[n, g]) * rstd[n, g] * weight[c] + bias[c]: a block per (n, g)."""
    row = cuda.blockIdx.x
    thread, threads = cuda.threadIdx.x, cuda.blockDim.x
    positions = x.shape[2]
    group_channels = x.shape[1] // groups
    length = group_channels * positions
    n, g = row // groups, row % groups
    first = g * group_channels
    shift = x[n, first, 0]
    total = 0.0
    squares = 0.0
    for k in range(thread, length, threads):
        centred = float64(x[n, first + k // positions, k % positions] - shift)
        total += centred
        squares += centred * centred
    partial_total = cuda.shared.array(MAX_THREADS_PER_ROW, float64)
    partial_squares = cuda.shared.array(MAX_THREADS_PER_ROW, float64)
    # The block's sums by a shared-memory tree, a barrier between rounds.
    partial_total[thread] = total
    partial_squares[thread] = squares
    cuda.syncthreads()
    stride = threads // 2
    while stride > 0:
        if thread < stride:
            partial_total[thread] += partial_total[thread + stride]
            partial_squares[thread] += partial_squares[thread + stride]
        cuda.syncthreads()  # every slot is final before the next round reads it
        stride //= 2
    total, squares = partial_total[0], partial_squares[0]
    shifted_mean = total / length
    variance = squares / length - shifted_mean * shifted_mean
    if variance < 0.0:  # rounding of the one-pass formula
        variance = 0.0
    row_mean = x.dtype.type(shift + shifted_mean)  # in x's dtype, as the CPU saves and uses them
    row_rstd = x.dtype.type(1.0 / math.sqrt(variance + eps))
    if thread == 0:
        mean[n, g] = row_mean
        rstd[n, g] = row_rstd
    for k in range(thread, length, threads):
        c, s = first + k // positions, k % positions
        scale = row_rstd * weight[c]
        out[n, c, s] = x[n, c, s] * scale + (bias[c] - row_mean * scale)


@cuda.jit
def group_norm_channel_sums(grad_out, x, channel_gx, channel_g):
    """channel_gx[n, c] = sum_s g * x, channel_g[n, c] = sum_s g: a block per (n, c)."""
    plane = cuda.blockIdx.x
    thread, threads = cuda.threadIdx.x, cuda.blockDim.x
    n, c = plane // x.shape[1], plane % x.shape[1]
    gx_sum = 0.0
    g_sum = 0.0
    for s in range(thread, x.shape[2], threads):
        gradient = float64(grad_out[n, c, s])
        g_sum += gradient
        gx_sum += gradient * x[n, c, s]
    partial_gx = cuda.shared.array(MAX_THREADS_PER_ROW, float64)
    partial_g = cuda.shared.array(MAX_THREADS_PER_ROW, float64)
    # The block's sums by a shared-memory tree, a barrier between rounds.
    partial_gx[thread] = gx_sum
    partial_g[thread] = g_sum
    cuda.syncthreads()
    stride = threads // 2
    while stride > 0:
        if thread < stride:
            partial_gx[thread] += partial_gx[thread + stride]
            partial_g[thread] += partial_g[thread + stride]
        cuda.syncthreads()  # every slot is final before the next round reads it
        stride //= 2
    gx_sum, g_sum = partial_gx[0], partial_g[0]
    if thread == 0:
        channel_gx[n, c] = gx_sum
        channel_g[n, c] = g_sum


@cuda.jit
def group_norm_input_gradient(grad_out, x, weight, mean, rstd, groups, channel_gx, channel_g, grad_x):
    """grad_x = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)) per (n, g) row: a block per row."""
    row = cuda.blockIdx.x
    thread, threads = cuda.threadIdx.x, cuda.blockDim.x
    positions = x.shape[2]
    group_channels = x.shape[1] // groups
    length = group_channels * positions
    n, g = row // groups, row % groups
    first = g * group_channels
    # A group's channels are few: every thread adds their sums itself, in the same order.
    gw_total = 0.0
    gwx_total = 0.0
    for c in range(first, first + group_channels):
        gw_total += weight[c] * channel_g[n, c]
        gwx_total += weight[c] * channel_gx[n, c]
    row_mean, row_rstd = float64(mean[n, g]), float64(rstd[n, g])
    xhat_total = row_rstd * (gwx_total - row_mean * gw_total)
    x_coefficient = -row_rstd * row_rstd * xhat_total / length
    constant = -row_rstd * gw_total / length - x_coefficient * row_mean
    if not (math.isfinite(gw_total) and math.isfinite(gwx_total)):
        constant = math.nan  # an inf or NaN gradient: gw - mean(gw) is NaN all along the row
    constant = x.dtype.type(constant)
    x_coefficient = x.dtype.type(x_coefficient)
    for k in range(thread, length, threads):
        c, s = first + k // positions, k % positions
        grad_x[n, c, s] = rstd[n, g] * weight[c] * grad_out[n, c, s] + x_coefficient * x[n, c, s] + constant


@cuda.jit
def group_norm_affine_gradient(mean, rstd, channel_gx, channel_g, grad_weight, grad_bias):
    """grad_weight[c] = sum_n rstd * (sum_s g * x - mean * sum_s g), grad_bias[c] = sum_n sum_s g: a thread per c."""
    c = cuda.grid(1)
    channels = channel_g.shape[1]
    if c >= channels:
        return
    g = c // (channels // mean.shape[1])
    weight_sum = 0.0
    bias_sum = 0.0
    for n in range(channel_g.shape[0]):
        weight_sum += (channel_gx[n, c] - mean[n, g] * channel_g[n, c]) * rstd[n, g]
        bias_sum += channel_g[n, c]
    grad_weight[c] = weight_sum
    grad_bias[c] = bias_sum


def layer_norm_forward(x, weight, bias, eps, out, mean, rstd):
    """out, mean (rows,), rstd (rows,) for x (rows, row_length) on device arrays; weight and bias (row_length,)."""
    rows, length = x.shape
    if rows == 0 or length == 0:
        return  # a grid of zero blocks is an error, and there is nothing to do
    layer_norm_rows[rows, threads_per_row(length)](x, weight, bias, float(eps), out, mean, rstd)


def layer_norm_backward(grad_out, x, weight, mean, rstd, grad_x, grad_weight, grad_bias):
    """grad_x, and grad_weight, grad_bias unless grad_weight has length 0, on device arrays."""
    rows, length = x.shape
    if rows == 0 or length == 0:
        return
    layer_norm_input_gradient[rows, threads_per_row(length)](grad_out, x, weight, mean, rstd, grad_x)
    if grad_weight.shape[0] != 0:
        layer_norm_affine_gradient[math.ceil(length / THREADS_PER_BLOCK), THREADS_PER_BLOCK](
            grad_out, x, mean, rstd, grad_weight, grad_bias)


def group_norm_forward(x, weight, bias, groups, eps, out, mean, rstd):
    """out, mean (N, groups), rstd (N, groups) for x (N, C, S) on device arrays; weight and bias (C,)."""
    batch, channels, positions = x.shape
    if batch == 0 or channels == 0 or positions == 0:
        return
    row_length = channels // groups * positions
    group_norm_rows[batch * groups, threads_per_row(row_length)](x, weight, bias, int(groups), float(eps), out,
                                                                  mean, rstd)


def group_norm_backward(grad_out, x, weight, mean, rstd, groups, grad_x, grad_weight, grad_bias):
    """grad_x, and grad_weight, grad_bias unless grad_weight has length 0, on device arrays."""
    batch, channels, positions = x.shape
    if batch == 0 or channels == 0 or positions == 0:
        return
    channel_gx = cuda.device_array((batch, channels), dtype="float64")
    channel_g = cuda.device_array((batch, channels), dtype="float64")
    group_norm_channel_sums[batch * channels, threads_per_row(positions)](grad_out, x, channel_gx, channel_g)
    row_length = channels // groups * positions
    group_norm_input_gradient[batch * groups, threads_per_row(row_length)](
        grad_out, x, weight, mean, rstd, int(groups), channel_gx, channel_g, grad_x)
    if grad_weight.shape[0] != 0:
        group_norm_affine_gradient[math.ceil(channels / THREADS_PER_BLOCK), THREADS_PER_BLOCK](
            mean, rstd, channel_gx, channel_g, grad_weight, grad_bias)


# The argument types tests/test_cuda_kernels.py compiles every kernel for (nothing compiles at import).
PTX_SIGNATURES = {
    "layer_norm_rows": [
        (dtype[:, :], dtype[:], dtype[:], float64, dtype[:, :], dtype[:], dtype[:]) for dtype in (float32, float64)
    ],
    "layer_norm_input_gradient": [
        (dtype[:, :], dtype[:, :], dtype[:], dtype[:], dtype[:], dtype[:, :]) for dtype in (float32, float64)
    ],
    "layer_norm_affine_gradient": [
        (dtype[:, :], dtype[:, :], dtype[:], dtype[:], dtype[:], dtype[:]) for dtype in (float32, float64)
    ],
    "group_norm_rows": [
        (dtype[:, :, :], dtype[:], dtype[:], int64, float64, dtype[:, :, :], dtype[:, :], dtype[:, :])
        for dtype in (float32, float64)
    ],
    "group_norm_channel_sums": [
        (dtype[:, :, :], dtype[:, :, :], float64[:, :], float64[:, :]) for dtype in (float32, float64)
    ],
    "group_norm_input_gradient": [
        (dtype[:, :, :], dtype[:, :, :], dtype[:], dtype[:, :], dtype[:, :], int64, float64[:, :], float64[:, :],
         dtype[:, :, :]) for dtype in (float32, float64)
    ],
    "group_norm_affine_gradient": [
        (dtype[:, :], dtype[:, :], float64[:, :], float64[:, :], dtype[:], dtype[:]) for dtype in (float32, float64)
    ],
}
