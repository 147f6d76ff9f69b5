"""Depthwise 2-D convolution (NCHW, groups = in_channels) on the GPU: forward, input and weight gradients.

The same contracts as kernels/cpu/conv_depthwise.py: x (N, C, H, W), weight (C * M, 1, KH, KW),
output (N, C * M, OH, OW), output channel o reading input channel o // M; taps that fall outside
x are skipped, as on the CPU and in PyTorch's depthwise kernels (no 0 * inf terms). Direct
kernels, no shared memory, no atomics, every thread numbered in NCHW order (column fastest, so a
warp covers neighbouring columns of one row and its loads coalesce):

- forward (``depthwise_outputs``): one thread per output element, KH * KW taps.
- input gradient (``depthwise_input_gradients``): one thread per input element, gathering over
  the channel's M outputs and the taps whose output position ``i * stride_h = y + pad_top - p *
  dilation_h`` (and likewise for columns) is whole and inside the output: one writer each.
- weight gradient: ``depthwise_weight_partials`` gives each weight element ``lanes`` threads,
  lane s summing the terms s, s + lanes, ... of the flattened (n, i, j) range; then conv2d's
  ``sum_partials`` adds each element's lanes in order (deterministic, as in kernels/cuda/conv2d.py,
  whose docstring says why not a shared-memory tree: the simulator's syncthreads cost).

Performance, expected rather than measured (no GPU here), at (100, 32, 28, 28) 3x3 float32 on an
H100: forward and input gradient read and write each element about once plus 9 cached taps, so
memory-bound at 20 MB: tens of µs; the weight gradient's 288 elements x 256 lanes (74 K threads)
each doing ~1000 dependent loads: latency-bound, perhaps 0.1-0.3 ms.
"""
from numba import cuda, float32, float64

from .conv2d import GEOMETRY_TYPES, THREADS_PER_BLOCK, blocks_for, geometry, lanes_for, sum_partials

# The entry points the backend calls: the same names and arguments as kernels/cpu/conv_depthwise.py.
__all__ = ["depthwise_forward", "depthwise_backward_input", "depthwise_backward_weight"]


@cuda.jit
def depthwise_outputs(x, weight, bias, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, out):
    """out[n, o, i, j] = bias[o] + sum_{p,q} weight[o, 0, p, q] x[n, o // M, i*sh-pt+p*dh, j*sw-pl+q*dw]"""
    outputs, out_height, out_width = out.shape[1], out.shape[2], out.shape[3]
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    kernel_height, kernel_width = weight.shape[2], weight.shape[3]
    element = cuda.grid(1)
    if element >= out.size:
        return  # the last block's spare threads
    j = element % out_width
    i = (element // out_width) % out_height
    o = (element // (out_width * out_height)) % outputs
    n = element // (out_width * out_height * outputs)
    c = o // (outputs // channels)
    total = out.dtype.type(0)
    for p in range(kernel_height):
        row = i * stride_h - pad_top + p * dilation_h
        if row < 0 or row >= height:
            continue
        for q in range(kernel_width):
            column = j * stride_w - pad_left + q * dilation_w
            if 0 <= column < width:
                total += weight[o, 0, p, q] * x[n, c, row, column]
    out[n, o, i, j] = bias[o] + total


@cuda.jit
def depthwise_input_gradients(grad_out, weight, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w,
                              grad_x):
    """grad_x[n, c, y, z] = sum over o = c*M .. c*M+M-1 and (p, q) of grad_out[n, o, i, j] weight[o, 0, p, q],
    where i*sh-pt+p*dh = y and j*sw-pl+q*dw = z inside the output"""
    channels, height, width = grad_x.shape[1], grad_x.shape[2], grad_x.shape[3]
    outputs, out_height, out_width = grad_out.shape[1], grad_out.shape[2], grad_out.shape[3]
    kernel_height, kernel_width = weight.shape[2], weight.shape[3]
    element = cuda.grid(1)
    if element >= grad_x.size:
        return
    z = element % width
    y = (element // width) % height
    c = (element // (width * height)) % channels
    n = element // (width * height * channels)
    multiplier = outputs // channels
    total = grad_x.dtype.type(0)
    for o in range(c * multiplier, (c + 1) * multiplier):
        for p in range(kernel_height):
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
                    total += grad_out[n, o, i, j] * weight[o, 0, p, q]
    grad_x[n, c, y, z] = total


@cuda.jit
def depthwise_weight_partials(x, grad_out, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w,
                              partials):
    """partials[o, p, q, s] = sum over t = s, s+S, ... of grad_out[n, o, i, j] x[n, o // M, i*sh-pt+p*dh,
    j*sw-pl+q*dw], where t flattens (n, i, j) and S = the number of lanes"""
    outputs, kernel_height, kernel_width, lanes = partials.shape
    batch, channels, height, width = x.shape
    out_height, out_width = grad_out.shape[2], grad_out.shape[3]
    thread = cuda.grid(1)
    if thread >= partials.size:
        return
    lane = thread % lanes
    q = (thread // lanes) % kernel_width
    p = (thread // (lanes * kernel_width)) % kernel_height
    o = thread // (lanes * kernel_width * kernel_height)
    c = o // (outputs // channels)
    total = partials.dtype.type(0)
    for term in range(lane, batch * out_height * out_width, lanes):
        j = term % out_width
        i = (term // out_width) % out_height
        n = term // (out_width * out_height)
        row = i * stride_h - pad_top + p * dilation_h
        column = j * stride_w - pad_left + q * dilation_w
        if 0 <= row < height and 0 <= column < width:
            total += grad_out[n, o, i, j] * x[n, c, row, column]
    partials[o, p, q, lane] = total


def depthwise_forward(x, weight, bias, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, out):
    """out[n, o, i, j] = bias[o] + sum_{p,q} weight[o, 0, p, q] x[n, o // M, i*sh-pt+p*dh, j*sw-pl+q*dw]"""
    if out.size == 0:
        return  # a grid of zero blocks is an error, and there is nothing to write
    depthwise_outputs[blocks_for(out.size), THREADS_PER_BLOCK](
        x, weight, bias, *geometry(stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w), out)


def depthwise_backward_input(grad_out, weight, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w,
                             grad_x):
    """grad_x[n, c, y, z] = sum of grad_out[n, o, i, j] weight[o, 0, p, q] over the channel's outputs and
    the taps that read x[n, c, y, z] in the forward pass."""
    if grad_x.size == 0:
        return
    depthwise_input_gradients[blocks_for(grad_x.size), THREADS_PER_BLOCK](
        grad_out, weight, *geometry(stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w), grad_x)


def depthwise_backward_weight(x, grad_out, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w,
                              grad_weight):
    """grad_weight[o, 0, p, q] = sum_{n,i,j} grad_out[n, o, i, j] x[n, o // M, i*sh-pt+p*dh, j*sw-pl+q*dw]"""
    if grad_weight.size == 0:
        return
    batch, outputs, out_height, out_width = grad_out.shape
    lanes = lanes_for(grad_weight.size, batch * out_height * out_width)
    partials = cuda.device_array((outputs,) + tuple(grad_weight.shape[2:]) + (lanes,), grad_weight.dtype)
    depthwise_weight_partials[blocks_for(partials.size), THREADS_PER_BLOCK](
        x, grad_out, *geometry(stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w), partials)
    sum_partials[blocks_for(grad_weight.size), THREADS_PER_BLOCK](
        partials.reshape(grad_weight.size, lanes), grad_weight.reshape(grad_weight.size))


# The kernels' argument types, for tests/test_cuda_kernels.py's PTX compilation (sm_90 and sm_75).
PTX_SIGNATURES = {
    "depthwise_outputs": [(real[:, :, :, :], real[:, :, :, :], real[:], *GEOMETRY_TYPES, real[:, :, :, :])
                          for real in (float32, float64)],
    "depthwise_input_gradients": [(real[:, :, :, :], real[:, :, :, :], *GEOMETRY_TYPES, real[:, :, :, :])
                                  for real in (float32, float64)],
    "depthwise_weight_partials": [(real[:, :, :, :], real[:, :, :, :], *GEOMETRY_TYPES, real[:, :, :, :])
                                  for real in (float32, float64)],
}
