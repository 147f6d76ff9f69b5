"""Batch normalization on (N, C, L) device arrays: the same contracts as kernels/cpu/batch_norm.py.

- ``channel_forward`` and ``channel_backward``: one block per channel. The block's threads stride over
  the channel's N*L values (thread t takes t, t + block size, ...; neighbouring threads read
  neighbouring positions of a row, so loads coalesce), each keeping float64 sums (shifted by the
  channel's first value in the forward, as on the CPU); a shared-memory tree (halving the active
  threads each round, a barrier between rounds) leaves the block's sums in slot 0; thread 0 turns
  them into the channel's coefficients (and updates the running statistics) in shared memory, and
  after a barrier every thread writes its values of the output (or of the input gradient). No
  atomics: the sums' order depends on the shapes only, so results are the same bits on every run.
- ``affine_outputs``: one thread per element, out = x * scale[c] + shift[c].

The coefficients stay in float64 and each store rounds to the array's dtype (the CPU kernels cast
them first, for 8-wide float32 loops; the difference is within one rounding).

Performance, expected rather than measured (no GPU here): one block per channel gives 32 or 64
blocks at the benchmark's sizes, under half of an H100's multiprocessors, each streaming its
channel twice (313 KB float32 at (100, 32, 28, 28)): a few tens of µs a pass, latency of one block's
loads rather than bandwidth. Splitting each channel over several blocks (partial sums, then a
second launch) would fill the GPU; that is the next step if a profile shows these kernels.
"""
# The kernels clip by `if` rather than by min() and max() (see kernels/cuda/pool.py).
# ruff: noqa: PLR1730
import math

from numba import boolean, cuda, float32, float64

# The entry points the backend calls: the same names and arguments as kernels/cpu/batch_norm.py.
__all__ = ["batch_norm_forward_training", "batch_norm_affine", "batch_norm_backward"]

THREADS_PER_BLOCK = 256  # also the length of the shared arrays: a compile-time constant


@cuda.jit
def channel_forward(x, weight, bias, eps, momentum, update_running, running_mean, running_var, out, mean, invstd):
    """Block c: the statistics of channel c, then out = (x - mean) * invstd * weight + bias over it."""
    batch, length = x.shape[0], x.shape[2]
    count = batch * length
    c = cuda.blockIdx.x
    thread = cuda.threadIdx.x
    firsts = cuda.shared.array(THREADS_PER_BLOCK, float64)
    seconds = cuda.shared.array(THREADS_PER_BLOCK, float64)
    shift = float64(x[0, c, 0])
    total = 0.0
    squares = 0.0
    for element in range(thread, count, THREADS_PER_BLOCK):
        deviation = float64(x[element // length, c, element % length]) - shift
        total += deviation
        squares += deviation * deviation
    firsts[thread] = total
    seconds[thread] = squares
    cuda.syncthreads()
    # The tree: each round, the lower half adds the upper half's sums.
    active = THREADS_PER_BLOCK // 2
    while active > 0:
        if thread < active:
            firsts[thread] += firsts[thread + active]
            seconds[thread] += seconds[thread + active]
        cuda.syncthreads()
        active //= 2
    if thread == 0:
        centred_mean = firsts[0] / count
        variance = seconds[0] / count - centred_mean * centred_mean
        if variance < 0.0:
            variance = 0.0
        channel_mean = shift + centred_mean
        inverse = 1.0 / math.sqrt(variance + eps)
        mean[c] = channel_mean
        invstd[c] = inverse
        if update_running:
            running_mean[c] = (1.0 - momentum) * running_mean[c] + momentum * channel_mean
            unbiased = math.inf
            if count > 1:
                unbiased = variance * count / (count - 1)
            running_var[c] = (1.0 - momentum) * running_var[c] + momentum * unbiased
        # the output's coefficients, for every thread of the block (slots the tree has finished with)
        firsts[1] = weight[c] * inverse
        seconds[1] = bias[c] - channel_mean * weight[c] * inverse
    cuda.syncthreads()
    scale, offset = firsts[1], seconds[1]
    for element in range(thread, count, THREADS_PER_BLOCK):
        n, position = element // length, element % length
        out[n, c, position] = x[n, c, position] * scale + offset


@cuda.jit
def affine_outputs(x, scale, shift, out):
    """out[n, c, l] = x[n, c, l] * scale[c] + shift[c], one thread per element"""
    channels, length = x.shape[1], x.shape[2]
    element = cuda.grid(1)
    if element >= x.size:
        return  # the last block's spare threads
    position = element % length
    c = (element // length) % channels
    n = element // (length * channels)
    out[n, c, position] = x[n, c, position] * scale[c] + shift[c]


@cuda.jit
def channel_backward(grad_out, x, weight, mean, invstd, training, compute_grad_input, grad_x, grad_weight,
                     grad_bias):
    """Block c: the sums of g and g * (x - mean) over channel c, then its grad_weight, grad_bias and grad_x."""
    batch, length = x.shape[0], x.shape[2]
    count = batch * length
    c = cuda.blockIdx.x
    thread = cuda.threadIdx.x
    firsts = cuda.shared.array(THREADS_PER_BLOCK, float64)
    seconds = cuda.shared.array(THREADS_PER_BLOCK, float64)
    channel_mean = float64(mean[c])
    inverse = float64(invstd[c])
    sum_g = 0.0
    sum_g_centred = 0.0
    for element in range(thread, count, THREADS_PER_BLOCK):
        n, position = element // length, element % length
        g = float64(grad_out[n, c, position])
        sum_g += g
        sum_g_centred += g * (float64(x[n, c, position]) - channel_mean)
    firsts[thread] = sum_g
    seconds[thread] = sum_g_centred
    cuda.syncthreads()
    active = THREADS_PER_BLOCK // 2
    while active > 0:
        if thread < active:
            firsts[thread] += firsts[thread + active]
            seconds[thread] += seconds[thread + active]
        cuda.syncthreads()
        active //= 2
    sum_g = firsts[0]
    sum_g_centred = seconds[0]
    if thread == 0:
        grad_bias[c] = sum_g
        grad_weight[c] = sum_g_centred * inverse
    if not compute_grad_input:
        return
    # grad_x = g * a + x * b + offset (every thread reads slot 0, which nobody writes again)
    a = float64(weight[c]) * inverse
    b = 0.0
    offset = 0.0
    if training and count > 0:
        b = -a * inverse * inverse * sum_g_centred / count
        offset = -a * sum_g / count - b * channel_mean
    for element in range(thread, count, THREADS_PER_BLOCK):
        n, position = element // length, element % length
        if training:
            grad_x[n, c, position] = grad_out[n, c, position] * a + x[n, c, position] * b + offset
        else:  # x takes no part: an inf or NaN in it must not reach grad_x (as 0 * inf would)
            grad_x[n, c, position] = grad_out[n, c, position] * a


def batch_norm_forward_training(x, weight, bias, eps, momentum, update_running, running_mean, running_var,
                                out, mean, invstd):
    channel_forward[x.shape[1], THREADS_PER_BLOCK](x, weight, bias, float(eps), float(momentum), bool(update_running),
                                                   running_mean, running_var, out, mean, invstd)


def batch_norm_affine(x, scale, shift, out):
    if x.size:
        affine_outputs[math.ceil(x.size / THREADS_PER_BLOCK), THREADS_PER_BLOCK](x, scale, shift, out)


def batch_norm_backward(grad_out, x, weight, mean, invstd, training, compute_grad_input, grad_x, grad_weight,
                        grad_bias):
    channel_backward[x.shape[1], THREADS_PER_BLOCK](grad_out, x, weight, mean, invstd, bool(training),
                                                    bool(compute_grad_input), grad_x, grad_weight, grad_bias)


PTX_SIGNATURES = {
    "channel_forward": [(real[:, :, :], real[:], real[:], float64, float64, boolean, real[:], real[:],
                         real[:, :, :], real[:], real[:]) for real in (float32, float64)],
    "affine_outputs": [(real[:, :, :], real[:], real[:], real[:, :, :]) for real in (float32, float64)],
    "channel_backward": [(real[:, :, :], real[:, :, :], real[:], real[:], real[:], boolean, boolean,
                          real[:, :, :], real[:], real[:]) for real in (float32, float64)],
}
