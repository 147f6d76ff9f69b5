"""2-D convolution (cross-correlation, NCHW) on the GPU: forward, input, weight and bias gradients.

The same contracts as kernels/cpu/conv2d.py: x (N, C, H, W), weight (O, C, KH, KW), output
(N, O, OH, OW) whose shape the caller gives; output (i, j) reads input row ``i * stride_h -
pad_top + p * dilation_h`` and column ``j * stride_w - pad_left + q * dilation_w`` for tap
(p, q), and positions outside x read zero (so padding on the bottom and right is implicit in the
output size). These are direct kernels, written for correctness and for reading:

- forward (``correlate_outputs``): one thread per output element (n, o, i, j), flattened in
  NCHW order so that a warp's 32 threads are 32 neighbouring columns of one output row: their
  loads of x coalesce, and their load of a weight is one broadcast (every thread of the warp
  reads the same ``weight[o, c, p, q]``). The thread sums over c, p, q in that fixed order.
- input gradient (``gather_input_gradients``): one thread per input element (n, c, y, z),
  gathering over the output positions that read it (``i * stride_h = y + pad_top - p *
  dilation_h`` must have a whole-number solution inside the output, and likewise for columns).
  Each input element has one writer, so overlapping windows need no atomics.
- weight and bias gradients are sums over n, i, j, done in two passes with no atomics and no
  shared memory: ``*_partials`` gives each weight element (or bias channel) ``lanes`` threads;
  lane s sums the terms s, s + lanes, s + 2 * lanes, ... of the flattened (n, i, j) range, so
  neighbouring lanes read neighbouring columns (coalesced); then ``sum_partials`` adds each
  element's lanes in order, one thread per element. Every sum runs in a fixed order that depends
  only on the shapes: the results are deterministic. ``lanes_for`` picks enough lanes to fill
  the GPU (``RESIDENT_THREADS``) but at most ``MAX_LANES``, so that the second pass stays short.
  A block-wide shared-memory tree (one block per weight element) would save the partials' round
  trip through memory, but under Numba's CUDA simulator, where the tests run, every
  ``cuda.syncthreads()`` of every block costs tens of milliseconds (measured: 100 blocks of 128
  threads and one 8-step tree took 29 s), which would put these tests past CI's budget.

Performance, expected rather than measured (there is no GPU here), on an H100 for the reference
CNN at batch 100 (padding 2, stride 1, float32):

- conv1 (5x5, 1 -> 32, 28x28): forward is 2.5 M threads of 25 multiply-adds, bound by writing
  the 10 MB output: about 10-20 µs. Weight gradient: 800 weight elements x 256 lanes, each lane
  ~300 products whose loads mostly hit L2 (0.5 GB of L2 traffic in all): about 0.1 ms. Bias
  gradient: only 32 x 256 = 8 K threads, each waiting on ~300 loads one after another: latency-
  bound at perhaps 0.1-0.2 ms although it reads just 10 MB (a block-wide tree, or a second
  lane-splitting pass, would bring it near the 3 TB/s bandwidth: a few µs).
- conv2 (5x5, 32 -> 64, 14x14): forward, input gradient and weight gradient are about 1 G
  multiply-adds each, with one or two loads from L1/L2 per multiply-add and no reuse of a loaded
  value through registers or shared memory: load-bound, roughly 0.2-1 ms each (the weight
  gradient toward the top: its 51,200 weight elements each re-read a 78 KB plane of x and of the
  output gradient), some 10x off the FP32 units' rate.

The faster scheme is implicit GEMM on the tiled shared-memory matmul: forward is a (N*OH*OW) x
(C*KH*KW) by (C*KH*KW) x O matrix product whose A tiles are gathered from x as they are loaded
into shared memory (never materialised as im2col); the input gradient is the same product with
the flipped, channel-swapped weight on the zero-spread output gradient, and the weight gradient
is the product of the output gradient's (O x N*OH*OW) matrix with the gathered (N*OH*OW x
C*KH*KW) one, split over N*OH*OW into partial tiles summed by a second pass. Each loaded value
is then reused by a whole tile of threads: expect conv2's three products at about 0.1 ms each
(2 GFLOP at 20-30 TFLOP/s in FP32), faster still on TF32 tensor cores.
"""
import math

import numpy as np
from numba import cuda, float32, float64, int64

# The entry points the backend calls: the same names and arguments as kernels/cpu/conv2d.py.
__all__ = [  # noqa: RUF022 (the CPU module's order: the parity test compares the lists)
    "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight", "conv2d_backward_bias",
]

THREADS_PER_BLOCK = 256
# About twice what an H100 keeps resident (132 multiprocessors x 2048 threads): enough lanes of
# partial sums to fill it when there are few weight elements (the first layer has 800).
RESIDENT_THREADS = 1 << 19
# At most this many partial sums per weight element or channel: the second pass adds them
# serially, one thread per element, so more lanes would make it the slow part.
MAX_LANES = 256


def blocks_for(size):
    """Enough blocks of THREADS_PER_BLOCK for one thread per element."""
    return math.ceil(size / THREADS_PER_BLOCK)


def lanes_for(rows, length):
    """Partial sums per row for ``rows`` sums of ``length`` terms each: enough threads to fill the
    GPU, at most MAX_LANES, at most one per term, at least one (an empty sum is one zero lane)."""
    wanted = math.ceil(RESIDENT_THREADS / max(rows, 1))
    return max(1, min(wanted, MAX_LANES, length))


@cuda.jit
def correlate_outputs(x, weight, bias, stride_h, stride_w, pad_top, pad_left, dilation_h,
                      dilation_w, out):
    """out[n,o,i,j] = bias[o] + sum_{c,p,q} weight[o,c,p,q] x[n, c, i*sh-pt+p*dh, j*sw-pl+q*dw]"""
    out_channels, out_height, out_width = out.shape[1], out.shape[2], out.shape[3]
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    kernel_height, kernel_width = weight.shape[2], weight.shape[3]
    element = cuda.grid(1)
    if element >= out.size:
        return  # the last block's spare threads
    # NCHW order, column fastest: a warp covers neighbouring columns of one output row.
    j = element % out_width
    i = (element // out_width) % out_height
    o = (element // (out_width * out_height)) % out_channels
    n = element // (out_width * out_height * out_channels)
    zero = out.dtype.type(0)
    total = zero
    for c in range(channels):
        for p in range(kernel_height):
            row = i * stride_h - pad_top + p * dilation_h
            for q in range(kernel_width):
                column = j * stride_w - pad_left + q * dilation_w
                if 0 <= row < height and 0 <= column < width:
                    total += weight[o, c, p, q] * x[n, c, row, column]
                else:  # padding is a zero term, as on the CPU and in PyTorch: 0 * inf is NaN
                    total += weight[o, c, p, q] * zero
    out[n, o, i, j] = bias[o] + total


@cuda.jit
def gather_input_gradients(grad_out, weight, bias, stride_h, stride_w, pad_top, pad_left, dilation_h,
                           dilation_w, grad_x):
    """grad_x[n,c,y,z] = bias[c] + sum_{o,p,q} grad_out[n,o,i,j] weight[o,c,p,q] over the (i, j) with
    i*sh-pt+p*dh = y and j*sw-pl+q*dw = z inside the output"""
    channels, height, width = grad_x.shape[1], grad_x.shape[2], grad_x.shape[3]
    out_channels, out_height, out_width = grad_out.shape[1], grad_out.shape[2], grad_out.shape[3]
    kernel_height, kernel_width = weight.shape[2], weight.shape[3]
    element = cuda.grid(1)
    if element >= grad_x.size:
        return
    z = element % width
    y = (element // width) % height
    c = (element // (width * height)) % channels
    n = element // (width * height * channels)
    total = grad_x.dtype.type(0)
    for o in range(out_channels):
        for p in range(kernel_height):
            # Output row i reads y through tap p when i * stride_h == y + pad_top - p * dilation_h.
            shifted_row = y + pad_top - p * dilation_h
            if shifted_row < 0 or shifted_row % stride_h != 0:
                continue
            i = shifted_row // stride_h
            if i >= out_height:
                continue
            for q in range(kernel_width):
                shifted_column = z + pad_left - q * dilation_w
                if shifted_column < 0 or shifted_column % stride_w != 0:
                    continue
                j = shifted_column // stride_w
                if j < out_width:
                    total += grad_out[n, o, i, j] * weight[o, c, p, q]
    grad_x[n, c, y, z] = bias[c] + total


@cuda.jit
def weight_gradient_partials(x, grad_out, stride_h, stride_w, pad_top, pad_left, dilation_h,
                             dilation_w, partials):
    """partials[o,c,p,q,s] = sum over t = s, s+S, s+2S, ... of grad_out[n,o,i,j] x[n, c,
    i*sh-pt+p*dh, j*sw-pl+q*dw], where t flattens (n, i, j) and S = the number of lanes"""
    channels, kernel_height, kernel_width, lanes = partials.shape[1:]
    batch, height, width = x.shape[0], x.shape[2], x.shape[3]
    out_height, out_width = grad_out.shape[2], grad_out.shape[3]
    thread = cuda.grid(1)
    if thread >= partials.size:
        return
    # Lanes fastest: the lanes of one weight element read neighbouring output columns.
    lane = thread % lanes
    q = (thread // lanes) % kernel_width
    p = (thread // (lanes * kernel_width)) % kernel_height
    c = (thread // (lanes * kernel_width * kernel_height)) % channels
    o = thread // (lanes * kernel_width * kernel_height * channels)
    total = partials.dtype.type(0)
    for term in range(lane, batch * out_height * out_width, lanes):
        j = term % out_width
        i = (term // out_width) % out_height
        n = term // (out_width * out_height)
        row = i * stride_h - pad_top + p * dilation_h
        column = j * stride_w - pad_left + q * dilation_w
        if 0 <= row < height and 0 <= column < width:
            total += grad_out[n, o, i, j] * x[n, c, row, column]
        else:  # padding is a zero term, as on the CPU and in PyTorch: 0 * inf is NaN
            total += grad_out[n, o, i, j] * partials.dtype.type(0)
    partials[o, c, p, q, lane] = total


@cuda.jit
def bias_gradient_partials(grad_planes, partials):
    """partials[c, s] = sum over t = s, s+S, s+2S, ... of grad_planes[n, c, position], where t
    flattens (n, position) and S = the number of lanes"""
    batch, plane = grad_planes.shape[0], grad_planes.shape[2]
    lanes = partials.shape[1]
    thread = cuda.grid(1)
    if thread >= partials.size:
        return
    lane = thread % lanes
    channel = thread // lanes
    total = partials.dtype.type(0)
    for term in range(lane, batch * plane, lanes):
        total += grad_planes[term // plane, channel, term % plane]
    partials[channel, lane] = total


@cuda.jit
def sum_partials(partials, out):
    """out[r] = sum_s partials[r, s], in lane order"""
    row = cuda.grid(1)
    if row >= out.size:
        return
    total = out.dtype.type(0)
    for lane in range(partials.shape[1]):
        total += partials[row, lane]
    out[row] = total


def geometry(stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w):
    """The six geometry scalars as Python ints: the kernels then compile once, for int64."""
    return (int(stride_h), int(stride_w), int(pad_top), int(pad_left), int(dilation_h),
            int(dilation_w))


def conv2d_forward(x, weight, bias, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w,
                   out):
    """out[n,o,i,j] = bias[o] + sum_{c,p,q} weight[o,c,p,q] x[n, c, i*sh-pt+p*dh, j*sw-pl+q*dw]
    (positions outside x read zero)."""
    if out.size == 0:
        return  # a grid of zero blocks is an error, and there is nothing to write
    correlate_outputs[blocks_for(out.size), THREADS_PER_BLOCK](
        x, weight, bias, *geometry(stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w),
        out)


def conv2d_backward_input(grad_out, weight, stride_h, stride_w, pad_top, pad_left, dilation_h,
                          dilation_w, grad_x, bias=None):
    """grad_x[n,c,y,z] = bias[c] + the sum of grad_out[n,o,i,j] weight[o,c,p,q] over the output
    positions and taps that read x[n,c,y,z] in the forward pass (``bias``: a transposed
    convolution's, C values on the device; zero when None)."""
    if grad_x.size == 0:
        return
    if bias is None:
        bias = cuda.to_device(np.zeros(grad_x.shape[1], grad_x.dtype))
    gather_input_gradients[blocks_for(grad_x.size), THREADS_PER_BLOCK](
        grad_out, weight, bias,
        *geometry(stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w), grad_x)


def conv2d_backward_weight(x, grad_out, stride_h, stride_w, pad_top, pad_left, dilation_h,
                           dilation_w, grad_weight):
    """grad_weight[o,c,p,q] = sum_{n,i,j} grad_out[n,o,i,j] x[n, c, i*sh-pt+p*dh, j*sw-pl+q*dw]
    (positions outside x read zero)."""
    if grad_weight.size == 0:
        return
    batch, _, out_height, out_width = grad_out.shape
    lanes = lanes_for(grad_weight.size, batch * out_height * out_width)
    partials = cuda.device_array(tuple(grad_weight.shape) + (lanes,), grad_weight.dtype)
    weight_gradient_partials[blocks_for(partials.size), THREADS_PER_BLOCK](
        x, grad_out, *geometry(stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w),
        partials)
    sum_partials[blocks_for(grad_weight.size), THREADS_PER_BLOCK](
        partials.reshape(grad_weight.size, lanes), grad_weight.reshape(grad_weight.size))


def conv2d_backward_bias(grad_planes, grad_bias):
    """grad_bias[c] = sum over images n and positions s of grad_planes[n, c, s] ((N, C, H*W))."""
    if grad_bias.size == 0:
        return
    batch, channels, plane = grad_planes.shape
    lanes = lanes_for(channels, batch * plane)
    partials = cuda.device_array((channels, lanes), grad_bias.dtype)
    bias_gradient_partials[blocks_for(partials.size), THREADS_PER_BLOCK](grad_planes, partials)
    sum_partials[blocks_for(channels), THREADS_PER_BLOCK](partials, grad_bias)


# The argument types tests/test_cuda_kernels.py compiles every kernel for (nothing compiles at
# import): the six geometry scalars are int64, as Python ints are typed.
GEOMETRY_TYPES = (int64,) * 6
PTX_SIGNATURES = {
    "correlate_outputs": [(real[:, :, :, :], real[:, :, :, :], real[:], *GEOMETRY_TYPES,
                           real[:, :, :, :]) for real in (float32, float64)],
    "gather_input_gradients": [(real[:, :, :, :], real[:, :, :, :], real[:], *GEOMETRY_TYPES,
                                real[:, :, :, :]) for real in (float32, float64)],
    "weight_gradient_partials": [(real[:, :, :, :], real[:, :, :, :], *GEOMETRY_TYPES,
                                  real[:, :, :, :, :]) for real in (float32, float64)],
    "bias_gradient_partials": [(real[:, :, :], real[:, :]) for real in (float32, float64)],
    "sum_partials": [(real[:, :], real[:]) for real in (float32, float64)],
}
