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

Where the phases' correlations are short (few channels, small phase planes: the autoencoder's
decoder, 32 -> 16 channels on 7x7 phases), one correlation does them all: the sub-pixel
convolution. Every phase reads a window of grad_out rows u + offset, offsets from the union of its
taps' (for a 3x3 kernel at stride 2 with padding 1: offsets 0 and 1, a 2x2 window), so one
stride-1 correlation with sh * sw times the output channels, channel c * sh * sw + a * sw + b
holding phase (a, b) of channel c with zeros where none of its taps lands, computes every phase;
interleaving its channels is a pixel shuffle. It multiplies zeros (for the 3x3 kernel, 9 of the 16
entries over its four phases are taps) but in one call with a full tile; conv_choice.uses_subpixels
says which way a geometry goes, and why.
"""
import math

import numpy as np
from numba import prange

from .preset import cpu_kernel
from .simd import VECTOR_BYTES, vector_lanes, vector_load, vector_store, vector_store_first
from .simd_lanes import vector_interleave_high, vector_interleave_low


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


def input_gradient_by_phases(correlate, grad_out, weight, bias, stride_h, stride_w, pad_top, pad_left,
                             dilation_h, dilation_w, grad_x):
    """grad_x (plus ``bias``) of the convolution (weight, geometry) from grad_out, as sh * sw
    stride-1 correlations (``correlate`` is conv2d.correlate, passed in to keep the imports one way)."""
    batch, channels, height, width = grad_x.shape
    kernel_height, kernel_width = weight.shape[2:]
    # Every phase as large as the largest (phase 0): one layout for interleave_phases; a phase with
    # fewer positions computes a row or column more, from the zero border, and it is dropped.
    phase_rows, phase_columns = positions_in_phase(height, 0, stride_h), positions_in_phase(width, 0, stride_w)
    phase_size = batch * channels * phase_rows * phase_columns
    phases = phase_buffer(stride_h * stride_w * phase_size, grad_x.dtype)
    for a in range(stride_h):
        row_taps, top, row_dilation = phase_taps(a, pad_top, stride_h, dilation_h, kernel_height)
        for b in range(stride_w):
            column_taps, left, column_dilation = phase_taps(b, pad_left, stride_w, dilation_w, kernel_width)
            first = (a * stride_w + b) * phase_size
            phase = phases[first:first + phase_size].reshape(batch, channels, phase_rows, phase_columns)
            if not row_taps or not column_taps:  # no tap reaches these positions
                phase[...] = bias.reshape(1, -1, 1, 1)
                continue
            taps = weight[:, :, row_taps][:, :, :, column_taps].transpose(1, 0, 2, 3)
            correlate(grad_out, taps, bias, top, left, 1, 1, row_dilation, column_dilation, 1, 1, phase)
    interleave_into(phases, phase_rows * phase_columns, phase_size, phase_rows, phase_columns,
                    stride_h, stride_w, grad_x)


def tap_rows(phase, pad, stride, dilation, kernel_size):
    """[(tap, offset)] along one axis: the kernel positions that reach the output positions
    ``phase + stride * u`` and the row of grad_out each reads, ``u + offset``."""
    return [(p, (phase + pad - p * dilation) // stride) for p in range(kernel_size)
            if (phase + pad - p * dilation) % stride == 0]


def subpixel_kernel(weight, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w):
    """(kernel, top, left): the weight of one stride-1 correlation of grad_out whose output channel
    c * sh * sw + a * sw + b is phase (a, b) of grad_x's channel c (the sub-pixel convolution:
    a pixel shuffle of it is grad_x), its padding at the top and left. Every phase reads the same
    window of grad_out, the union of the rows and columns its taps read; kernel entries no tap
    lands on are zero."""
    outputs, channels, kernel_height, kernel_width = weight.shape
    rows = [tap_rows(a, pad_top, stride_h, dilation_h, kernel_height) for a in range(stride_h)]
    columns = [tap_rows(b, pad_left, stride_w, dilation_w, kernel_width) for b in range(stride_w)]
    row_offsets = [offset for phase in rows for _, offset in phase]
    column_offsets = [offset for phase in columns for _, offset in phase]
    first_row, first_column = min(row_offsets), min(column_offsets)
    phases = stride_h * stride_w
    kernel = np.zeros((channels * phases, outputs, max(row_offsets) - first_row + 1,
                       max(column_offsets) - first_column + 1), weight.dtype)
    swapped = weight.transpose(1, 0, 2, 3)  # (channels, outputs, kh, kw)
    for a in range(stride_h):
        for b in range(stride_w):
            for p, row in rows[a]:
                for q, column in columns[b]:
                    kernel[a * stride_w + b::phases, :, row - first_row, column - first_column] = swapped[:, :, p, q]
    return kernel, -first_row, -first_column


def subpixel_efficiency(kernel_height, kernel_width, stride_h, stride_w, pad_top, pad_left, dilation_h,
                        dilation_w):
    """The share of the sub-pixel kernel's entries that are real taps (the rest multiply zeros)."""
    def window(pad, stride, dilation, kernel_size):
        offsets = [offset for phase in range(stride) for _, offset in tap_rows(phase, pad, stride, dilation, kernel_size)]
        return max(offsets) - min(offsets) + 1 if offsets else 0
    entries = (stride_h * stride_w * window(pad_top, stride_h, dilation_h, kernel_height)
               * window(pad_left, stride_w, dilation_w, kernel_width))
    return kernel_height * kernel_width / entries if entries else 0.0


def input_gradient_by_subpixels(correlate, grad_out, weight, bias, stride_h, stride_w, pad_top, pad_left,
                                dilation_h, dilation_w, grad_x):
    """grad_x (plus ``bias``) of the convolution (weight, geometry) from grad_out, as one stride-1
    correlation with sh * sw times the channels (``subpixel_kernel``), then its pixel shuffle."""
    batch, channels, height, width = grad_x.shape
    kernel, top, left = subpixel_kernel(weight, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w)
    phases = stride_h * stride_w
    phase_rows, phase_columns = positions_in_phase(height, 0, stride_h), positions_in_phase(width, 0, stride_w)
    plane = phase_rows * phase_columns
    flat = phase_buffer(batch * channels * phases * plane, grad_x.dtype)
    subpixels = flat[:batch * channels * phases * plane].reshape(batch, channels * phases, phase_rows, phase_columns)
    correlate(grad_out, kernel, np.repeat(bias, phases), top, left, 1, 1, 1, 1, 1, 1, subpixels)
    interleave_into(flat, phases * plane, plane, phase_rows, phase_columns, stride_h,
                    stride_w, grad_x)


def phase_buffer(size, dtype):
    """A flat buffer for ``size`` elements of phases and a vector's more, which interleave_phases
    may read (and ignore) past the last phase row."""
    return np.empty(size + VECTOR_BYTES // np.dtype(dtype).itemsize, dtype)


def interleave_into(source, plane_stride, phase_stride, phase_rows, phase_columns, row_step, column_step,
                    grad_x):
    """interleave_phases into grad_x, through a C-contiguous buffer when grad_x is not one."""
    if grad_x.flags.c_contiguous:
        interleave_phases(source, plane_stride, phase_stride, phase_rows, phase_columns, row_step,
                          column_step, grad_x)
        return
    whole = np.empty(grad_x.shape, grad_x.dtype)
    interleave_phases(source, plane_stride, phase_stride, phase_rows, phase_columns, row_step, column_step,
                      whole)
    grad_x[...] = whole


@cpu_kernel
def interleave_phases(source, plane_stride, phase_stride, phase_rows, phase_columns, row_step,
                      column_step, out):
    """``out[n, c, a + row_step * u, b + column_step * v] = source[plane * plane_stride + (a *
    column_step + b) * phase_stride + u * phase_columns + v]``, plane = n * C + c: phase (a, b) of
    each plane a (phase_rows, phase_columns) block of the flat ``source``, the rows and columns
    that fall outside ``out`` dropped. ``source`` holds a vector's lanes more than it uses
    (``phase_buffer``). ``out`` is C-contiguous; one plane per parallel iteration (one writer each)."""
    batch, channels, height, width = out.shape
    planes = batch * channels
    plane_size = height * width
    flat_out = out.reshape(planes * plane_size)
    lanes = vector_lanes(source)
    for plane in prange(planes):
        plane_start = plane * plane_size
        plane_end = plane_start + plane_size
        if column_step == 2:
            # A vector of each column phase, interleaved by two shuffles into two vectors of the
            # output row, rows in order: a store that runs past its row lands on this plane's
            # next rows, written after it, so only the plane's last vectors need a mask (the rows
            # of 7 to 14 columns of the autoencoder's and the residual CNN's layers never reached
            # LLVM's vector loop: 0.14-0.20 ms, now 0.06, for (100, 16, 14, 14) from 7x7 phases on
            # Zen 4; 0.08 as AVX2).
            pairs = (width + 1) // 2
            for y in range(height):
                even = plane * plane_stride + 2 * (y % row_step) * phase_stride + (y // row_step) * phase_columns
                odd = even + phase_stride
                row_start = plane_start + y * width
                for v in range(0, pairs, lanes):
                    evens = vector_load(source, even + v)
                    odds = vector_load(source, odd + v)
                    low = vector_interleave_low(evens, odds)
                    high = vector_interleave_high(evens, odds)
                    first = row_start + 2 * v
                    if first + 2 * lanes <= plane_end:
                        vector_store(flat_out, first, low)
                        vector_store(flat_out, first + lanes, high)
                    else:
                        vector_store_first(flat_out, first, low, plane_end - first)
                        vector_store_first(flat_out, first + lanes, high, plane_end - first - lanes)
            continue
        for a in range(row_step):
            rows = (height - a + row_step - 1) // row_step
            for b in range(column_step):
                columns = (width - b + column_step - 1) // column_step
                start = plane * plane_stride + (a * column_step + b) * phase_stride
                for u in range(rows):
                    target = plane_start + (a + u * row_step) * width + b
                    line = start + u * phase_columns
                    for v in range(columns):
                        flat_out[target + v * column_step] = source[line + v]
