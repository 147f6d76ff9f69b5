"""Depthwise 2-D convolution (NCHW, groups = in_channels): forward, input gradient, weight gradient.

x (N, C, H, W), weight (C * M, 1, KH, KW) with M output channels per input channel (the channel
multiplier), output (N, C * M, OH, OW): output channel o reads input channel o // M only. Output
(i, j) reads input row ``i * stride_h - pad_top + p * dilation_h`` and column ``j * stride_w -
pad_left + q * dilation_w`` for tap (p, q); positions outside x are skipped (they read zero).

A depthwise layer does KH * KW multiply-adds per output: too little work for the matrix products
of conv2d.py, and one group per call would pay a call per channel. So each parallel task here is one
(image, channel) plane, whose input, output and gradient planes stay in L1 (3 KB at 28 x 28
float32), and the inner loops run along an output row over the columns that land inside the
input (``column_range``): no padded copy, no branch per element, unit stride at stride 1, and no
term with a zero from padding (so an inf in x or the weight makes the NaNs PyTorch makes, no more).

- forward: task (n, o) writes output plane (n, o), tap by tap along each output row.
- input gradient: task (n, c) owns input-gradient plane (n, c) (one writer per element) and adds,
  for each of the channel's M outputs and each tap, the output gradient's row times the tap into
  the input row that tap read.
- weight gradient: task (n, o) sums its plane's products per tap into ``partials[n, o, tap]``;
  ``sum_partials`` then adds the images' partials per weight element in image order (one writer
  each, a fixed order: deterministic).
"""
import numpy as np
from numba import prange

from .preset import cpu_kernel, serial_kernel

# The entry points the backend calls; kernels/cuda/conv_depthwise.py has the same names and arguments.
__all__ = ["depthwise_forward", "depthwise_backward_input", "depthwise_backward_weight"]


@serial_kernel
def column_range(shift, stride, width, out_width):
    """(first, stop): the output columns j with 0 <= j * stride + shift < width."""
    first = max(0, (stride - 1 - shift) // stride)
    stop = min(out_width, (width - shift + stride - 1) // stride)
    return first, max(first, stop)


@cpu_kernel
def depthwise_forward(x, weight, bias, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w,
                      out):
    """out[n, o, i, j] = bias[o] + sum_{p,q} weight[o, 0, p, q] x[n, o // M, i*sh-pt+p*dh, j*sw-pl+q*dw]"""
    batch, outputs, out_height, out_width = out.shape
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    kernel_height, kernel_width = weight.shape[2], weight.shape[3]
    multiplier = outputs // channels
    for task in prange(batch * outputs):
        n = task // outputs
        o = task % outputs
        plane = x[n, o // multiplier]
        taps = weight[o, 0]
        row_bias = bias[o]
        for i in range(out_height):
            row = out[n, o, i]
            for j in range(out_width):
                row[j] = row_bias
            for p in range(kernel_height):
                y = i * stride_h - pad_top + p * dilation_h
                if y < 0 or y >= height:
                    continue
                source = plane[y]
                for q in range(kernel_width):
                    shift = q * dilation_w - pad_left
                    first, stop = column_range(shift, stride_w, width, out_width)
                    scale = taps[p, q]
                    if stride_w == 1:  # the unit-stride loop LLVM vectorises
                        for j in range(first, stop):
                            row[j] += scale * source[j + shift]
                    else:
                        for j in range(first, stop):
                            row[j] += scale * source[j * stride_w + shift]


@cpu_kernel
def depthwise_backward_input(grad_out, weight, stride_h, stride_w, pad_top, pad_left, dilation_h,
                             dilation_w, grad_x):
    """grad_x[n, c, y, z] = sum over the channel's outputs o, taps (p, q) and the positions (i, j)
    that read (y, z) of weight[o, 0, p, q] grad_out[n, o, i, j]"""
    batch, channels, height, width = grad_x.shape
    outputs, out_height, out_width = grad_out.shape[1], grad_out.shape[2], grad_out.shape[3]
    kernel_height, kernel_width = weight.shape[2], weight.shape[3]
    multiplier = outputs // channels
    for task in prange(batch * channels):
        n = task // channels
        c = task % channels
        target = grad_x[n, c]
        for y in range(height):
            for z in range(width):
                target[y, z] = 0
        for o in range(c * multiplier, (c + 1) * multiplier):
            taps = weight[o, 0]
            for i in range(out_height):
                source = grad_out[n, o, i]
                for p in range(kernel_height):
                    y = i * stride_h - pad_top + p * dilation_h
                    if y < 0 or y >= height:
                        continue
                    row = target[y]
                    for q in range(kernel_width):
                        shift = q * dilation_w - pad_left
                        first, stop = column_range(shift, stride_w, width, out_width)
                        scale = taps[p, q]
                        if stride_w == 1:
                            for j in range(first, stop):
                                row[j + shift] += scale * source[j]
                        else:
                            for j in range(first, stop):
                                row[j * stride_w + shift] += scale * source[j]


@cpu_kernel
def depthwise_weight_partials(x, grad_out, stride_h, stride_w, pad_top, pad_left, dilation_h,
                              dilation_w, partials):
    """partials[n, o, p, q] = sum_{i,j} grad_out[n, o, i, j] x[n, o // M, i*sh-pt+p*dh, j*sw-pl+q*dw]"""
    batch, outputs, out_height, out_width = grad_out.shape
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    kernel_height, kernel_width = partials.shape[2], partials.shape[3]
    multiplier = outputs // channels
    for task in prange(batch * outputs):
        n = task // outputs
        o = task % outputs
        plane = x[n, o // multiplier]
        gradient = grad_out[n, o]
        sums = partials[n, o]
        for p in range(kernel_height):
            for q in range(kernel_width):
                sums[p, q] = 0
        for i in range(out_height):
            source = gradient[i]
            for p in range(kernel_height):
                y = i * stride_h - pad_top + p * dilation_h
                if y < 0 or y >= height:
                    continue
                row = plane[y]
                for q in range(kernel_width):
                    shift = q * dilation_w - pad_left
                    first, stop = column_range(shift, stride_w, width, out_width)
                    total = sums.dtype.type(0)
                    if stride_w == 1:
                        for j in range(first, stop):
                            total += source[j] * row[j + shift]
                    else:
                        for j in range(first, stop):
                            total += source[j] * row[j * stride_w + shift]
                    sums[p, q] += total


@cpu_kernel
def sum_partials(partials, out):
    """out[k] = sum over images n of partials[n, k], in image order (one writer per element)."""
    batch, size = partials.shape
    for element in prange(size):
        total = partials.dtype.type(0)
        for n in range(batch):
            total += partials[n, element]
        out[element] = total


def depthwise_backward_weight(x, grad_out, stride_h, stride_w, pad_top, pad_left, dilation_h,
                              dilation_w, grad_weight):
    """grad_weight[o, 0, p, q] = sum_{n,i,j} grad_out[n, o, i, j] x[n, o // M, i*sh-pt+p*dh, j*sw-pl+q*dw]"""
    batch, outputs = grad_out.shape[0], grad_out.shape[1]
    partials = np.empty((batch, outputs) + grad_weight.shape[2:], grad_weight.dtype)
    depthwise_weight_partials(x, grad_out, stride_h, stride_w, pad_top, pad_left, dilation_h,
                              dilation_w, partials)
    sum_partials(partials.reshape(batch, -1), grad_weight.reshape(-1))
