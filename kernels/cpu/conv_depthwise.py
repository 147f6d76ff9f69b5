"""Depthwise 2-D convolution (NCHW, groups = in_channels): forward, input gradient, weight gradient.

x (N, C, H, W), weight (C * M, 1, KH, KW) with M output channels per input channel (the channel
multiplier), output (N, C * M, OH, OW): output channel o reads input channel o // M only. Output
(i, j) reads input row ``i * stride_h - pad_top + p * dilation_h`` and column ``j * stride_w -
pad_left + q * dilation_w`` for tap (p, q); positions outside x are skipped (they read zero).

A depthwise layer does KH * KW multiply-adds per output: too little work for the matrix products
of conv2d.py, and one group per call would pay a call per channel. So each task here is one (image,
channel) plane, whose buffers stay in L1 (3-4 KB at 28 x 28 float32); a thread takes a run of them
with buffers of its own. The plane is copied into its zero-bordered *phase planes*
(``copy_into_phases``; see conv_depthwise_phases.py), on which every tap of every output is one
unit-stride run whatever the stride and dilation:

- forward: task (n, o) sums the taps' runs in SIMD registers, output row by output row, two vectors
  of its columns at a time (simd.py's intrinsics), stored straight into output plane (n, o). A 3x3
  kernel at stride 1 with output rows as wide as the input's (padding = dilation, the common case)
  takes the flat planes instead (see conv_depthwise_flat.py): the plane is one long row,
  its outputs whole vectors across rows, no phase copy. Single-threaded, Zen 4, float32, phase planes
  -> flat: (100, 64, 14, 14) 1.24 -> 0.73 ms, (100, 128, 7, 7) 1.81 -> 0.73, (100, 32, 28, 28) 1.52 ->
  1.11; as AVX2 1.27 -> 0.90, 1.50 -> 0.80, 2.0-2.1 -> 1.51. At stride 2, 3x3, padding 1 on even
  planes (``uses_flat_phases``), ``flat_phase_forward`` on x's four stride phases, flat: (100, C, H,
  H) with C = 32, 64, 16 for H = 28, 14, 56, 0.93-0.96 -> 0.55 ms, 1.19-1.26 -> 0.50, 2.0 -> 1.6 (as
  AVX2 1.13-1.18 -> 0.67-0.69, 1.09-1.14 -> 0.42-0.43, 2.6-2.7 -> 1.9-2.0).
- input gradient: task (n, c) owns input-gradient plane (n, c) (one writer per element): it lays
  each of the channel's M output-gradient planes on the wide grid, adds it times each tap into the
  phase planes at the positions that tap read (the forward's transpose), then gathers the plane
  back out of the phases (``scatter_phases``). At stride 1 with one output per channel it is the
  forward with flipped taps (``depthwise_backward_input``); at stride 2, 3x3, padding 1 on even
  planes (MobileNet's downsampling layers), ``flat_phase_input_gradient``: each stride phase of the
  plane from its own one to four taps on the flat output-gradient plane, interleaved. Single-threaded,
  Zen 4, float32, scatter -> flat phases: (100, 32, 28, 28) 3.4-3.8 -> 0.52 ms, (100, 64, 14, 14)
  2.7-2.8 -> 0.47, (100, 16, 56, 56) 6.5-7.1 -> 1.7; as AVX2 4.0-4.1 -> 0.54-0.62, 2.7-3.2 -> 0.40-0.42,
  6.6-7.8 -> 1.6.
- weight gradient: task (n, o) takes one dot product per tap of its output-gradient plane (on the
  wide grid) with the tap's run into ``partials[n, o, tap]``; ``sum_partials`` then adds the images'
  partials per weight element in image order (one writer each, a fixed order: deterministic). On
  the flat planes (3x3, stride 1, rows as wide as the input's), ``flat_weight_partials``: the nine
  dot products in one pass. Single-threaded, Zen 4, float32, ns per plane, phase planes -> flat:
  7x7 224 -> 75, 14x14 344-352 -> 145-155, 28x28 853-958 -> 494-558; as AVX2 204-220 -> 73-76,
  374-411 -> 197-200, 1038-1063 -> 674-697. At stride 2, 3x3, padding 1 on even planes,
  ``flat_phase_weight_partials``: the same on x's four stride phases, flat (ms, (100, C, H, H) with
  C = 32, 64, 16 for H = 28, 14, 56): 1.55 -> 1.1, 1.77 -> 0.98, 3.3 -> 2.6 (as AVX2 1.95 -> 1.27,
  1.87 -> 0.83, 4.24 -> 4.15).

The wide grid multiplies a tap by zeros (padding, or the thrown-away columns): with an inf or NaN
in a weight (forward, input gradient) or in a plane (weight gradient) that would add NaN terms
PyTorch's depthwise kernels do not have, so such a task takes the exact loops instead (one output
row at a time, taps outside the input skipped). Measured single-threaded on a busy 2-core Zen 3, at
(100, 32, 28, 28) 3x3 stride 1 (ms, min of 25): forward 4.1, input gradient 7.1, weight gradient 8.3,
against 50, 89 and 105 for the exact loops used everywhere (their rows of 28 elements ran in LLVM's
scalar remainder loop, never in its vector body); PyTorch 3.1 forward, 11-27 forward+backward.
Tried and slower: flat indices instead of the runs' slices in the gradients (7.8 -> 16 and
9.9 -> 21 ms), three taps per pass with plain loops (not vectorised: 42 ms), the crop by flat indices.
"""
import numpy as np

from .conv_depthwise_flat import (
    flat_forward,
    flat_phase_forward,
    flat_phase_input_gradient,
    flat_phase_weight_partials,
    flat_weight_partials,
)
from .conv_depthwise_phases import depthwise_weight_partials, phase_forward, scatter_input_gradient, sum_partials

# The entry points the backend calls; kernels/cuda/conv_depthwise.py has the same names and arguments.
__all__ = ["depthwise_forward", "depthwise_backward_input", "depthwise_backward_weight"]


def depthwise_forward(x, weight, bias, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, out):
    """out[n, o, i, j] = bias[o] + sum_{p,q} weight[o, 0, p, q] x[n, o // M, i*sh-pt+p*dh, j*sw-pl+q*dw]"""
    if uses_flat_planes(weight.shape[2:], stride_h, stride_w, x.shape[3], out.shape[3]):
        flat_forward(x, weight, bias, pad_top, pad_left, dilation_h, dilation_w, out)
    elif uses_flat_phases(weight.shape, (stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w), x.shape,
                          out.shape):
        flat_phase_forward(x, weight, bias, out)
    else:
        phase_forward(x, weight, bias, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, out)


def uses_flat_planes(kernel_shape, stride_h, stride_w, width, out_width):
    """Whether the forward takes the flat planes: a 3x3 kernel at stride 1, output rows as wide as the
    input's."""
    return kernel_shape == (3, 3) and stride_h == 1 and stride_w == 1 and out_width == width


def depthwise_backward_input(grad_out, weight, stride_h, stride_w, pad_top, pad_left, dilation_h,
                             dilation_w, grad_x):
    """grad_x[n, c, y, z] = sum over the channel's outputs o, taps (p, q) and the positions (i, j)
    that read (y, z) of weight[o, 0, p, q] grad_out[n, o, i, j]

    At stride 1 with one output per channel this is a depthwise correlation of grad_out, padded by
    dilation * (kernel - 1) - pad, with the taps flipped: the forward kernel, at the forward's speed
    (1.2 against 3.8 ms for scatter_input_gradient at (100, 32, 28, 28), 2 threads, Zen 4). The forward
    skips the taps that fall outside grad_out, so a non-finite weight meets no padding there either.
    """
    kernel_height, kernel_width = weight.shape[2], weight.shape[3]
    if stride_h == stride_w == 1 and weight.shape[0] == grad_x.shape[1]:
        flipped = np.ascontiguousarray(weight[:, :, ::-1, ::-1])
        depthwise_forward(grad_out, flipped, np.zeros(weight.shape[0], grad_x.dtype), 1, 1,
                          dilation_h * (kernel_height - 1) - pad_top, dilation_w * (kernel_width - 1) - pad_left,
                          dilation_h, dilation_w, grad_x)
        return
    if uses_flat_phases(weight.shape, (stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w),
                        grad_x.shape, grad_out.shape):
        flat_phase_input_gradient(grad_out, weight, grad_x)
        return
    scatter_input_gradient(grad_out, weight, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w,
                           grad_x)


def uses_flat_phases(weight_shape, geometry, input_shape, output_shape):
    """Whether the input gradient takes ``flat_phase_input_gradient``: a 3x3 kernel, one output per
    channel, stride 2, padding 1, no dilation, an even plane of exactly twice the output's rows and
    columns (MobileNet's downsampling depthwise layers)."""
    return (tuple(weight_shape[2:]) == (3, 3) and weight_shape[0] == input_shape[1]
            and tuple(geometry) == (2, 2, 1, 1, 1, 1)
            and input_shape[2] == 2 * output_shape[2] and input_shape[3] == 2 * output_shape[3])


def depthwise_backward_weight(x, grad_out, stride_h, stride_w, pad_top, pad_left, dilation_h,
                              dilation_w, grad_weight):
    """grad_weight[o, 0, p, q] = sum_{n,i,j} grad_out[n, o, i, j] x[n, o // M, i*sh-pt+p*dh, j*sw-pl+q*dw]"""
    batch, outputs = grad_out.shape[0], grad_out.shape[1]
    partials = np.empty((batch, outputs) + grad_weight.shape[2:], grad_weight.dtype)
    if uses_flat_planes(grad_weight.shape[2:], stride_h, stride_w, x.shape[3], grad_out.shape[3]):
        flat_weight_partials(x, grad_out, pad_top, pad_left, dilation_h, dilation_w, partials)
    elif uses_flat_phases(grad_weight.shape, (stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w),
                          x.shape, grad_out.shape):
        flat_phase_weight_partials(x, grad_out, partials)
    else:
        depthwise_weight_partials(x, grad_out, stride_h, stride_w, pad_top, pad_left, dilation_h,
                                  dilation_w, partials)
    sum_partials(partials.reshape(batch, -1), grad_weight.reshape(-1))
