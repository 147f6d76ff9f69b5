"""The input gradient of a strided convolution (and so a strided transposed convolution), one stride
phase at a time, with none of the spread grid's zeros.

    grad_x[n, c, y, z] = sum of grad_out[n, o, i, j] * weight[o, c, p, q]
                         over i * sh - pad_top + p * dh = y  and  j * sw - pad_left + q * dw = z

Rows y = a + sh * u (row phase a) are reached only by the taps p with (a + pad_top - p * dh)
divisible by sh, from output row i = u + (a + pad_top - p * dh) / sh. Those taps are every
(sh / gcd(sh, dh))-th one, and their rows of grad_out are dh / gcd(sh, dh) apart: so each phase
(a, b) of grad_x is a stride-1 correlation of grad_out, unspread, with those taps (flipped, the
channel axes swapped), on the kernels Conv2d's forward uses. The sh * sw phases together do the
real products only; the correlation over grad_out spread with zeros (conv2d.py's one call) does
sh * sw times as many, most of them with zeros. Measured on the residual CNN's 3x3 stride-2 layer,
(128, 32, 14, 14) -> (128, 16, 28, 28): 10.5-13 ms spread, see ``bench resnet``.

Each phase is written into a contiguous part of one buffer (the kernels store to contiguous
planes), and ``interleave_phases`` puts them in place in one parallel pass.
"""
import math

import numpy as np
from numba import prange

from .preset import cpu_kernel


def phase_taps(phase, pad, stride, dilation, kernel_size):
    """(taps, top, step) along one axis for the output positions ``phase + stride * u``: the kernel
    positions that reach them, largest first (the flipped order the correlation reads them in), the
    correlation's padding and its dilation. ``taps`` is empty when no kernel position reaches them."""
    taps = [p for p in range(kernel_size - 1, -1, -1) if (phase + pad - p * dilation) % stride == 0]
    if not taps:
        return taps, 0, 1
    top = -((phase + pad - taps[0] * dilation) // stride)
    return taps, top, dilation // math.gcd(dilation, stride)


def positions_in_phase(size, phase, stride):
    """How many of the positions 0 .. size - 1 are congruent to ``phase`` modulo ``stride``."""
    return max(0, (size - phase + stride - 1) // stride)


def input_gradient_by_phases(correlate, grad_out, weight, stride_h, stride_w, pad_top, pad_left,
                             dilation_h, dilation_w, grad_x):
    """grad_x of the convolution (weight, geometry) from grad_out, as sh * sw stride-1 correlations
    (``correlate`` is conv2d.correlate, passed in to keep the imports one way)."""
    batch, channels, height, width = grad_x.shape
    kernel_height, kernel_width = weight.shape[2:]
    largest = positions_in_phase(height, 0, stride_h) * positions_in_phase(width, 0, stride_w)
    phases = np.empty((stride_h * stride_w, batch * channels * largest), grad_x.dtype)
    no_bias = np.zeros(channels, grad_x.dtype)
    for a in range(stride_h):
        row_taps, top, row_dilation = phase_taps(a, pad_top, stride_h, dilation_h, kernel_height)
        for b in range(stride_w):
            column_taps, left, column_dilation = phase_taps(b, pad_left, stride_w, dilation_w, kernel_width)
            phase_shape = (batch, channels, positions_in_phase(height, a, stride_h),
                           positions_in_phase(width, b, stride_w))
            phase = phases[a * stride_w + b, :math.prod(phase_shape)].reshape(phase_shape)
            if phase.size == 0:
                continue
            if not row_taps or not column_taps:  # no tap reaches these positions
                phase[...] = 0
                continue
            taps = weight[:, :, row_taps][:, :, :, column_taps].transpose(1, 0, 2, 3)
            correlate(grad_out, taps, no_bias, top, left, 1, 1, row_dilation, column_dilation, 1, 1, phase)
    if grad_x.flags.c_contiguous:
        interleave_phases(phases, stride_h, stride_w, grad_x)
    else:
        whole = np.empty(grad_x.shape, grad_x.dtype)
        interleave_phases(phases, stride_h, stride_w, whole)
        grad_x[...] = whole


@cpu_kernel
def interleave_phases(phases, row_step, column_step, out):
    """``out[n, c, a + row_step * u, b + column_step * v] = phase (a, b)[n, c, u, v]``, phase (a, b)
    the (N, C, rows of phase a, columns of phase b) array at the start of ``phases[a * column_step
    + b]``. ``out`` is C-contiguous; one plane per parallel iteration (one writer each)."""
    batch, channels, height, width = out.shape
    planes = batch * channels
    flat_out = out.reshape(planes * height * width)
    for plane in prange(planes):
        plane_start = plane * height * width
        for a in range(row_step):
            rows = (height - a + row_step - 1) // row_step
            if column_step == 2:
                # Column pairs from the two phases, stored one after the other: LLVM shuffles them
                # into whole vectors (the strided stores below, one phase at a time, took 1.0-1.6
                # against 0.6 ms for (128, 16, 28, 28); Zen 4).
                even_columns, odd_columns = (width + 1) // 2, width // 2
                even, odd = phases[2 * a], phases[2 * a + 1]
                for u in range(rows):
                    target = plane_start + (a + u * row_step) * width
                    even_start = (plane * rows + u) * even_columns
                    odd_start = (plane * rows + u) * odd_columns
                    for v in range(odd_columns):
                        flat_out[target + 2 * v] = even[even_start + v]
                        flat_out[target + 2 * v + 1] = odd[odd_start + v]
                    if even_columns > odd_columns:
                        flat_out[target + width - 1] = even[even_start + odd_columns]
                continue
            for b in range(column_step):
                columns = (width - b + column_step - 1) // column_step
                phase = phases[a * column_step + b]
                source = plane * rows * columns
                for u in range(rows):
                    target = plane_start + (a + u * row_step) * width + b
                    for v in range(columns):
                        flat_out[target + v * column_step] = phase[source + u * columns + v]
