"""Depthwise 2-D convolution (NCHW, groups = in_channels): forward, input gradient, weight gradient.

x (N, C, H, W), weight (C * M, 1, KH, KW) with M output channels per input channel (the channel
multiplier), output (N, C * M, OH, OW): output channel o reads input channel o // M only. Output
(i, j) reads input row ``i * stride_h - pad_top + p * dilation_h`` and column ``j * stride_w -
pad_left + q * dilation_w`` for tap (p, q); positions outside x are skipped (they read zero).

A depthwise layer does KH * KW multiply-adds per output: too little work for the matrix products
of conv2d.py, and one group per call would pay a call per channel. So each parallel task here is one
(image, channel) plane, whose buffers stay in L1 (3-4 KB at 28 x 28 float32). The plane is copied
into its zero-bordered *phase planes* (``gather_phases``; see the comment above it), on which every
tap of every output is one long unit-stride run whatever the stride and dilation:

- forward: task (n, o) sums the taps' runs in SIMD registers, two vectors of positions at a time
  (simd.py's intrinsics), then crops the real positions into output plane (n, o).
- input gradient: task (n, c) owns input-gradient plane (n, c) (one writer per element): it lays
  each of the channel's M output-gradient planes on the wide grid, adds it times each tap into the
  phase planes at the positions that tap read (the forward's transpose), then gathers the plane
  back out of the phases (``scatter_phases``).
- weight gradient: task (n, o) takes one dot product per tap of its output-gradient plane (on the
  wide grid) with the tap's run into ``partials[n, o, tap]``; ``sum_partials`` then adds the images'
  partials per weight element in image order (one writer each, a fixed order: deterministic).

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
from numba import prange

from .preset import cpu_kernel, serial_kernel
from .simd import (vector_fma, vector_lanes, vector_load, vector_load_first, vector_store, vector_store_first,
                   vector_zero)

# The entry points the backend calls; kernels/cuda/conv_depthwise.py has the same names and arguments.
__all__ = ["depthwise_forward", "depthwise_backward_input", "depthwise_backward_weight"]


@serial_kernel
def column_range(shift, stride, width, out_width):
    """(first, stop): the output columns j with 0 <= j * stride + shift < width."""
    first = max(0, (stride - 1 - shift) // stride)
    stop = min(out_width, (width - shift + stride - 1) // stride)
    return first, max(first, stop)


@serial_kernel
def all_finite(values):
    """Whether every element of a 2-D array is finite (x - x is 0 only for finite x)."""
    for row in range(values.shape[0]):
        for column in range(values.shape[1]):
            if values[row, column] - values[row, column] != 0:
                return False
    return True


# --- the phase planes ----------------------------------------------------------------------------
# A plane's (virtually) zero-padded copy split by stride into stride_h * stride_w phase planes,
# phases[a * stride_w + b, u, v] = padded[u * stride_h + a, v * stride_w + b], each phase_width
# columns wide. Tap (p, q) of output (i, j) reads padded[i * sh + p * dh, j * sw + q * dw], which
# is phase ((p * dh) % sh, (q * dw) % sw) at (i + (p * dh) // sh, j + (q * dw) // sw): flattened,
# position t = i * phase_width + j plus a fixed offset per tap. So each tap is one unit-stride run
# of L = (OH - 1) * phase_width + OW elements (the columns past OW are thrown away): a long loop
# LLVM vectorises, where a run per output row (28 elements at MobileNet's sizes) ran in its scalar
# remainder loop (measured: 46 ms instead of 2 for a forward at (100, 32, 28, 28)).


@serial_kernel
def phase_size(out_size, stride, dilation, kernel_size):
    """Rows (or columns) of each phase plane: the padded extent some output reads, divided by the stride."""
    padded = (out_size - 1) * stride + dilation * (kernel_size - 1) + 1
    return (padded + stride - 1) // stride


@serial_kernel
def gather_phases(plane, stride_h, stride_w, pad_top, pad_left, phase_height, phase_width, phases):
    """phases[a * sw + b, u * phase_width + v] = plane[u*sh + a - pt, v*sw + b - pl], zero outside the plane.

    Each line's zero border and copied middle are separate loops (no test per element; the middle
    a plain copy at stride 1)."""
    height, width = plane.shape
    flat_plane = plane.reshape(-1)
    for a in range(stride_h):
        for b in range(stride_w):
            phase = phases[a * stride_w + b]
            # phase columns v whose plane column v * sw + b - pl lies inside the plane
            first, stop = column_range(b - pad_left, stride_w, width, phase_width)
            shift = b - pad_left
            # Flat indices and plane[y, z], no row views: with a view per line this loop took 12 of
            # the forward's 13 ms at (100, 32, 28, 28), against 3 ms this way.
            for u in range(phase_height):
                y = u * stride_h + a - pad_top
                base = u * phase_width
                if y < 0 or y >= height:
                    for v in range(phase_width):
                        phase[base + v] = 0
                    continue
                for v in range(first):
                    phase[base + v] = 0
                if stride_w == 1:  # a row copy in SIMD vectors (indexing checks for negative indices per element)
                    source = y * width + first + shift
                    count = stop - first
                    lanes = vector_lanes(phase)
                    whole = count - count % lanes
                    for v in range(0, whole, lanes):
                        vector_store(phase, base + first + v, vector_load(flat_plane, source + v))
                    if whole < count:
                        vector_store_first(phase, base + first + whole,
                                           vector_load_first(flat_plane, source + whole, count - whole),
                                           count - whole)
                else:
                    for v in range(first, stop):
                        phase[base + v] = plane[y, v * stride_w + shift]
                for v in range(stop, phase_width):
                    phase[base + v] = 0


@serial_kernel
def scatter_phases(phases, stride_h, stride_w, pad_top, pad_left, phase_height, phase_width, plane):
    """plane[y, z] = phases[a * sw + b, u * phase_width + v] where y + pt = u*sh + a and z + pl = v*sw + b;
    zero where that lies past the phase planes (no output read it): gather_phases' transpose."""
    height, width = plane.shape
    for y in range(height):
        row = plane[y]
        u, a = (y + pad_top) // stride_h, (y + pad_top) % stride_h
        if u >= phase_height:
            row[:] = 0
            continue
        for b in range(stride_w):
            # plane columns z = v * sw + b - pl for phase columns v in [0, phase_width)
            first = (b - pad_left + stride_w * ((pad_left - b + stride_w - 1) // stride_w))
            line = phases[a * stride_w + b, u * phase_width:(u + 1) * phase_width]
            v = (first + pad_left - b) // stride_w
            for z in range(first, width, stride_w):
                row[z] = line[v] if v < phase_width else 0
                v += 1


@serial_kernel
def tap_offsets(kernel_height, kernel_width, stride_h, stride_w, dilation_h, dilation_w, phase_width):
    """(phase, offset) of every tap (p, q) in C order: where its run starts in the phase planes."""
    phase = np.empty(kernel_height * kernel_width, np.int64)
    offset = np.empty(kernel_height * kernel_width, np.int64)
    for p in range(kernel_height):
        for q in range(kernel_width):
            tap = p * kernel_width + q
            phase[tap] = ((p * dilation_h) % stride_h) * stride_w + (q * dilation_w) % stride_w
            offset[tap] = ((p * dilation_h) // stride_h) * phase_width + (q * dilation_w) // stride_w
    return phase, offset


# --- the exact loops: one output row at a time, padding skipped --------------------------------------
# For a non-finite weight (forward, input gradient) or plane (weight gradient), whose products with the
# wide runs' zeros would add NaN terms that PyTorch does not have.


@serial_kernel
def exact_forward_plane(plane, taps, row_bias, stride_h, stride_w, pad_top, pad_left, dilation_h,
                        dilation_w, target):
    height, width = plane.shape
    out_height, out_width = target.shape
    for i in range(out_height):
        row = target[i]
        for j in range(out_width):
            row[j] = row_bias
        for p in range(taps.shape[0]):
            y = i * stride_h - pad_top + p * dilation_h
            if y < 0 or y >= height:
                continue
            source = plane[y]
            for q in range(taps.shape[1]):
                shift = q * dilation_w - pad_left
                first, stop = column_range(shift, stride_w, width, out_width)
                for j in range(first, stop):
                    row[j] += taps[p, q] * source[j * stride_w + shift]


@serial_kernel
def exact_input_gradient_plane(gradient, taps, stride_h, stride_w, pad_top, pad_left, dilation_h,
                               dilation_w, target):
    """Adds one output channel's share into ``target`` (an input-gradient plane)."""
    height, width = target.shape
    out_height, out_width = gradient.shape
    for i in range(out_height):
        source = gradient[i]
        for p in range(taps.shape[0]):
            y = i * stride_h - pad_top + p * dilation_h
            if y < 0 or y >= height:
                continue
            row = target[y]
            for q in range(taps.shape[1]):
                shift = q * dilation_w - pad_left
                first, stop = column_range(shift, stride_w, width, out_width)
                for j in range(first, stop):
                    row[j * stride_w + shift] += taps[p, q] * source[j]


@serial_kernel
def exact_weight_gradient_plane(plane, gradient, stride_h, stride_w, pad_top, pad_left, dilation_h,
                                dilation_w, sums):
    height, width = plane.shape
    out_height, out_width = gradient.shape
    for p in range(sums.shape[0]):
        for q in range(sums.shape[1]):
            sums[p, q] = 0
    for i in range(out_height):
        source = gradient[i]
        for p in range(sums.shape[0]):
            y = i * stride_h - pad_top + p * dilation_h
            if y < 0 or y >= height:
                continue
            row = plane[y]
            for q in range(sums.shape[1]):
                shift = q * dilation_w - pad_left
                first, stop = column_range(shift, stride_w, width, out_width)
                total = sums.dtype.type(0)
                for j in range(first, stop):
                    total += source[j] * row[j * stride_w + shift]
                sums[p, q] += total


# --- the entry points ----------------------------------------------------------------------------------


@cpu_kernel
def depthwise_forward(x, weight, bias, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w,
                      out):
    """out[n, o, i, j] = bias[o] + sum_{p,q} weight[o, 0, p, q] x[n, o // M, i*sh-pt+p*dh, j*sw-pl+q*dw]"""
    batch, outputs, out_height, out_width = out.shape
    channels = x.shape[1]
    kernel_height, kernel_width = weight.shape[2], weight.shape[3]
    multiplier = outputs // channels
    phase_height = phase_size(out_height, stride_h, dilation_h, kernel_height)
    phase_width = phase_size(out_width, stride_w, dilation_w, kernel_width)
    length = (out_height - 1) * phase_width + out_width
    phase_of, offset_of = tap_offsets(kernel_height, kernel_width, stride_h, stride_w, dilation_h,
                                      dilation_w, phase_width)
    starts = phase_of * (phase_height * phase_width) + offset_of
    taps_count = kernel_height * kernel_width
    lanes = vector_lanes(out)
    step = 2 * lanes
    steps = (length + step - 1) // step
    for task in prange(batch * outputs):
        n = task // outputs
        o = task % outputs
        taps = weight[o, 0]
        if not all_finite(taps):
            exact_forward_plane(x[n, o // multiplier], taps, bias[o], stride_h, stride_w, pad_top,
                                pad_left, dilation_h, dilation_w, out[n, o])
            continue
        phases = np.empty((stride_h * stride_w, phase_height * phase_width), x.dtype)
        gather_phases(x[n, o // multiplier], stride_h, stride_w, pad_top, pad_left, phase_height,
                      phase_width, phases)
        flat = phases.reshape(-1)
        scales = taps.reshape(-1)
        wide = np.empty(steps * step, x.dtype)
        # Two vectors of wide positions at a time, summed over every tap in registers, then stored.
        for first in range(0, steps * step, step):
            low, high = vector_zero(wide), vector_zero(wide)
            for tap in range(taps_count):
                start = starts[tap] + first
                if start + step <= flat.shape[0]:
                    low = vector_fma(low, scales[tap], vector_load(flat, start))
                    high = vector_fma(high, scales[tap], vector_load(flat, start + lanes))
                else:  # the last step of the last taps: past the planes lie only thrown-away positions
                    available = flat.shape[0] - start
                    low = vector_fma(low, scales[tap], vector_load_first(flat, start, available))
                    high = vector_fma(high, scales[tap], vector_load_first(flat, start + lanes, available - lanes))
            vector_store(wide, first, low)
            vector_store(wide, first + lanes, high)
        row_bias = bias[o]
        for i in range(out_height):
            row = out[n, o, i]
            line = wide[i * phase_width:i * phase_width + out_width]
            for j in range(out_width):
                row[j] = row_bias + line[j]


@cpu_kernel
def depthwise_backward_input(grad_out, weight, stride_h, stride_w, pad_top, pad_left, dilation_h,
                             dilation_w, grad_x):
    """grad_x[n, c, y, z] = sum over the channel's outputs o, taps (p, q) and the positions (i, j)
    that read (y, z) of weight[o, 0, p, q] grad_out[n, o, i, j]"""
    batch, channels, height, width = grad_x.shape
    outputs, out_height, out_width = grad_out.shape[1], grad_out.shape[2], grad_out.shape[3]
    kernel_height, kernel_width = weight.shape[2], weight.shape[3]
    multiplier = outputs // channels
    phase_height = phase_size(out_height, stride_h, dilation_h, kernel_height)
    phase_width = phase_size(out_width, stride_w, dilation_w, kernel_width)
    length = (out_height - 1) * phase_width + out_width
    phase_of, offset_of = tap_offsets(kernel_height, kernel_width, stride_h, stride_w, dilation_h,
                                      dilation_w, phase_width)
    for task in prange(batch * channels):
        n = task // channels
        c = task % channels
        target = grad_x[n, c]
        finite = True
        for o in range(c * multiplier, (c + 1) * multiplier):
            finite = finite and all_finite(weight[o, 0])
        if not finite:
            for y in range(height):
                for z in range(width):
                    target[y, z] = 0
            for o in range(c * multiplier, (c + 1) * multiplier):
                exact_input_gradient_plane(grad_out[n, o], weight[o, 0], stride_h, stride_w, pad_top,
                                           pad_left, dilation_h, dilation_w, target)
            continue
        # Scatter: the output gradient laid on the wide grid (zeros past each row's OW columns),
        # added tap by tap into the phase planes at the positions the forward pass read.
        phases = np.zeros((stride_h * stride_w, phase_height * phase_width), grad_x.dtype)
        wide = np.zeros(length, grad_x.dtype)
        for o in range(c * multiplier, (c + 1) * multiplier):
            for i in range(out_height):
                source = grad_out[n, o, i]
                for j in range(out_width):
                    wide[i * phase_width + j] = source[j]
            for tap in range(kernel_height * kernel_width):
                run = phases[phase_of[tap], offset_of[tap]:offset_of[tap] + length]
                scale = weight[o, 0, tap // kernel_width, tap % kernel_width]
                for t in range(length):
                    run[t] += scale * wide[t]
        # Gather back: input (y, z) sits at padded (y + pt, z + pl).
        scatter_phases(phases, stride_h, stride_w, pad_top, pad_left, phase_height, phase_width, target)


@cpu_kernel
def depthwise_weight_partials(x, grad_out, stride_h, stride_w, pad_top, pad_left, dilation_h,
                              dilation_w, partials):
    """partials[n, o, p, q] = sum_{i,j} grad_out[n, o, i, j] x[n, o // M, i*sh-pt+p*dh, j*sw-pl+q*dw]"""
    batch, outputs, out_height, out_width = grad_out.shape
    channels = x.shape[1]
    kernel_height, kernel_width = partials.shape[2], partials.shape[3]
    multiplier = outputs // channels
    phase_height = phase_size(out_height, stride_h, dilation_h, kernel_height)
    phase_width = phase_size(out_width, stride_w, dilation_w, kernel_width)
    length = (out_height - 1) * phase_width + out_width
    phase_of, offset_of = tap_offsets(kernel_height, kernel_width, stride_h, stride_w, dilation_h,
                                      dilation_w, phase_width)
    for task in prange(batch * outputs):
        n = task // outputs
        o = task % outputs
        plane = x[n, o // multiplier]
        sums = partials[n, o]
        if not (all_finite(plane) and all_finite(grad_out[n, o])):
            exact_weight_gradient_plane(plane, grad_out[n, o], stride_h, stride_w, pad_top, pad_left,
                                        dilation_h, dilation_w, sums)
            continue
        phases = np.empty((stride_h * stride_w, phase_height * phase_width), x.dtype)
        gather_phases(plane, stride_h, stride_w, pad_top, pad_left, phase_height, phase_width, phases)
        wide = np.zeros(length, x.dtype)
        for i in range(out_height):
            source = grad_out[n, o, i]
            for j in range(out_width):
                wide[i * phase_width + j] = source[j]
        for tap in range(kernel_height * kernel_width):
            run = phases[phase_of[tap], offset_of[tap]:offset_of[tap] + length]
            total = sums.dtype.type(0)
            for t in range(length):
                total += wide[t] * run[t]
            sums[tap // kernel_width, tap % kernel_width] = total


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
