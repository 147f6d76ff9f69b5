"""Depthwise 2-D convolution (NCHW, groups = in_channels): forward, input gradient, weight gradient.

x (N, C, H, W), weight (C * M, 1, KH, KW) with M output channels per input channel (the channel
multiplier), output (N, C * M, OH, OW): output channel o reads input channel o // M only. Output
(i, j) reads input row ``i * stride_h - pad_top + p * dilation_h`` and column ``j * stride_w -
pad_left + q * dilation_w`` for tap (p, q); positions outside x are skipped (they read zero).

A depthwise layer does KH * KW multiply-adds per output: too little work for the matrix products
of conv2d.py, and one group per call would pay a call per channel. So each task here is one (image,
channel) plane, whose buffers stay in L1 (3-4 KB at 28 x 28 float32); a thread takes a run of them
with buffers of its own. The plane is copied into its zero-bordered *phase planes*
(``copy_into_phases``; see the comment above it), on which every tap of every output is one
unit-stride run whatever the stride and dilation:

- forward: task (n, o) sums the taps' runs in SIMD registers, output row by output row, two vectors
  of its columns at a time (simd.py's intrinsics), stored straight into output plane (n, o). A 3x3
  kernel at stride 1 with output rows as wide as the input's (padding = dilation, the common case)
  takes the flat planes instead (see the comment above ``flat_forward``): the plane is one long row,
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
from numba import prange

from .preset import cpu_kernel, serial_kernel
from .simd import (thread_count, vector_add, vector_even_lanes, vector_fma, vector_interleave_high,
                   vector_interleave_low, vector_keep_first, vector_keep_inside, vector_lanes, vector_load,
                   vector_load_first, vector_load_first_whole, vector_multiply_add, vector_odd_lanes,
                   vector_store, vector_store_first, vector_zero)

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
    """Whether every element of a C-contiguous 2-D array is finite (all_finite_run on all of it)."""
    return all_finite_run(values.reshape(values.size), 0, values.size)


@serial_kernel
def all_finite_run(values, first, count):
    """Whether values[first:first + count] of a 1-D array are all finite: a count of the elements that
    are not below inf in magnitude (NaN is not), an integer sum LLVM vectorises, no branch per element
    (testing each element and stopping at the first took 2.2 of the weight gradient's 4.9 ms at
    (100, 32, 28, 28), single-threaded; Zen 4). A float sum of x - x would do it without fastmath,
    but with reassociation LLVM is free to cancel the x's (it did: inf passed)."""
    run = values[first:first + count]  # indices from 0: a run-time first index could be negative to
    not_finite = 0                       # LLVM, and its wraparound kept the loop scalar (5x slower)
    for index in range(count):
        not_finite += not (abs(run[index]) < np.inf)
    return not_finite == 0


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
def phase_stride(phase_height, phase_width, lanes):
    """Elements from one phase plane to the next in a thread's buffer: the plane and a vector's room."""
    return phase_height * phase_width + lanes


@serial_kernel
def copy_into_phases(plane, stride_h, stride_w, pad_top, pad_left, phase_height, phase_width, phases):
    """phases[(a * sw + b) * phase_stride(...) + u * PW + v] = plane[u*sh + a - pt, v*sw + b - pl] (PH,
    PW the phase height and width, ``phases`` flat) where that lies inside the plane; the zero border
    and the room after each phase plane end as they were (zero).

    Every plane of a call fills the same elements, so a thread zeroes its buffer once and copies each
    plane's interior into it: rows of 14 or 28 as whole SIMD vectors (at column stride 2 both phases
    of a row at once, copy_into_column_phases). The lanes past the phase row's last element are
    zeroed (vector_load_first_whole), and the stores are whole: their overhang puts zeros into the
    border, or into the next row of the phase, which is copied after (a vector's room after each
    phase plane keeps the last row's overhang in its own plane). Masked stores are microcoded on AMD's AVX2 cores (a stride-1
    forward took 3.3 against 1.2 ms, Zen 4 held to AVX2). Element by element, with the border
    rewritten per plane, this copy took two thirds of the forward at stride 2 (rows of 13 or 14
    never reach the body of LLVM's 16-lane loop; Zen 4).
    """
    height, width = plane.shape
    flat_plane = plane.reshape(height * width)
    lanes = vector_lanes(phases)
    size = phase_stride(phase_height, phase_width, lanes)
    # No division inside the row loop (a row's few vectors cost less than one): the phase and phase
    # row of plane row y are stepped along with y.
    if stride_w == 2:
        copy_into_column_phases(flat_plane, height, width, stride_h, pad_top, pad_left, phase_height, phase_width,
                                size, phases)
        return
    for b in range(stride_w):
        # phase columns v whose plane column v * sw + b - pl lies inside the plane
        first, stop = column_range(b - pad_left, stride_w, width, phase_width)
        count = stop - first
        column = first * stride_w + b - pad_left
        a, u = pad_top % stride_h, pad_top // stride_h
        for y in range(height):
            if 0 <= u < phase_height:  # else no output reads the row (or it lies in negative padding)
                target = (a * stride_w + b) * size + u * phase_width + first
                source = y * width + column
                if stride_w == 1:
                    for v in range(0, count, lanes):
                        vector_store(phases, target + v,
                                     vector_load_first_whole(flat_plane, source + v, count - v))
                else:
                    for v in range(count):
                        phases[target + v] = flat_plane[source + v * stride_w]
            a += 1
            if a == stride_h:
                a = 0
                u += 1


@serial_kernel
def copy_into_column_phases(flat_plane, height, width, stride_h, pad_top, pad_left, phase_height, phase_width,
                            size, phases):
    """copy_into_phases at column stride 2: both column phases of a row from one pass over it, the
    even elements by one shuffle, the odd by another; each phase's lanes past its last column are
    zeroed in registers (a blend), so the stores stay whole. One pass instead of one per phase: the
    copy took 320 of the stride-2 forward's 470 ns per 28x28 plane, now 195-210 (Zen 4,
    single-threaded; the forward as AVX2 560-640 -> 415 ns)."""
    lanes = vector_lanes(phases)
    first_even, stop_even = column_range(-pad_left, 2, width, phase_width)
    first_odd, stop_odd = column_range(1 - pad_left, 2, width, phase_width)
    even_count, odd_count = stop_even - first_even, stop_odd - first_odd
    # Plane columns of each phase's first element: 0 and 1 in some order (the first inside the plane).
    even_column, odd_column = 2 * first_even - pad_left, 2 * first_odd + 1 - pad_left
    base = min(even_column, odd_column)
    even_in_odd_lanes = even_column > base
    # Elements of the row from ``base`` through the last one either phase copies.
    needed = 0
    if even_count > 0:
        needed = even_column - base + 2 * even_count - 1
    if odd_count > 0:
        needed = max(needed, odd_column - base + 2 * odd_count - 1)
    a, u = pad_top % stride_h, pad_top // stride_h
    for y in range(height):
        if 0 <= u < phase_height:  # else no output reads the row (or it lies in negative padding)
            even_target = 2 * a * size + u * phase_width + first_even
            odd_target = (2 * a + 1) * size + u * phase_width + first_odd
            source = y * width + base
            for v in range(0, max(even_count, odd_count), lanes):
                low = vector_load_first_whole(flat_plane, source + 2 * v, needed - 2 * v)
                high = vector_load_first_whole(flat_plane, source + 2 * v + lanes, needed - 2 * v - lanes)
                first_lanes, second_lanes = vector_even_lanes(low, high), vector_odd_lanes(low, high)
                if even_in_odd_lanes:
                    first_lanes, second_lanes = second_lanes, first_lanes
                vector_store(phases, even_target + v, vector_keep_first(first_lanes, even_count - v))
                vector_store(phases, odd_target + v, vector_keep_first(second_lanes, odd_count - v))
        a += 1
        if a == stride_h:
            a = 0
            u += 1


@serial_kernel
def scatter_phases(phases, stride_h, stride_w, pad_top, pad_left, phase_height, phase_width, plane):
    """plane[y, z] = phases[a * sw + b, u * phase_width + v] where y + pt = u*sh + a and z + pl = v*sw + b;
    zero where that lies past the phase planes (no output read it): copy_into_phases' transpose, by flat
    indices (a view per row and a test per element took most of the strided input gradient)."""
    height, width = plane.shape
    flat_plane = plane.reshape(height * width)
    flat_phases = phases.reshape(phases.size)
    size = phase_height * phase_width
    for index in range(height * width):
        flat_plane[index] = 0
    for b in range(stride_w):
        first, stop = column_range(b - pad_left, stride_w, width, phase_width)
        count = stop - first
        column = first * stride_w + b - pad_left
        a, u = pad_top % stride_h, pad_top // stride_h
        for y in range(height):
            if 0 <= u < phase_height:
                source = (a * stride_w + b) * size + u * phase_width + first
                target = y * width + column
                if stride_w == 1:
                    for v in range(count):
                        flat_plane[target + v] = flat_phases[source + v]
                else:
                    for v in range(count):
                        flat_plane[target + v * stride_w] = flat_phases[source + v]
            a += 1
            if a == stride_h:
                a = 0
                u += 1


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


def depthwise_forward(x, weight, bias, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, out):
    """out[n, o, i, j] = bias[o] + sum_{p,q} weight[o, 0, p, q] x[n, o // M, i*sh-pt+p*dh, j*sw-pl+q*dw]"""
    if uses_flat_planes(weight.shape[2:], stride_h, stride_w, x.shape[3], out.shape[3]):
        flat_forward(x, weight, bias, pad_top, pad_left, dilation_h, dilation_w, out)
    elif uses_flat_phases(weight.shape, (stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w), x.shape,
                          out.shape):
        flat_phase_forward(x, weight, bias, out)
    else:
        phase_forward(x, weight, bias, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, out)


@cpu_kernel
def phase_forward(x, weight, bias, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w, out):
    """depthwise_forward on the phase planes (any stride and padding)."""
    batch, outputs, out_height, out_width = out.shape
    channels = x.shape[1]
    kernel_height, kernel_width = weight.shape[2], weight.shape[3]
    multiplier = outputs // channels
    phase_height = phase_size(out_height, stride_h, dilation_h, kernel_height)
    phase_width = phase_size(out_width, stride_w, dilation_w, kernel_width)
    phase_of, offset_of = tap_offsets(kernel_height, kernel_width, stride_h, stride_w, dilation_h,
                                      dilation_w, phase_width)
    taps_count = kernel_height * kernel_width
    lanes = vector_lanes(out)
    starts = phase_of * phase_stride(phase_height, phase_width, lanes) + offset_of
    step = 2 * lanes
    tasks = batch * outputs
    parts = max(1, min(thread_count(), tasks))
    flat_out = out.reshape(tasks * out_height * out_width)
    for part in prange(parts):
        # One thread's buffers for all its planes. The phase planes have a vector's room after them:
        # a row's last vectors load whole, past its last column (those lanes are never stored).
        phases = np.zeros(stride_h * stride_w * phase_stride(phase_height, phase_width, lanes) + step, x.dtype)
        ones = np.ones(lanes, x.dtype)
        for task in range(part * tasks // parts, (part + 1) * tasks // parts):
            n = task // outputs
            o = task % outputs
            taps = weight[o, 0]
            if not all_finite(taps):
                exact_forward_plane(x[n, o // multiplier], taps, bias[o], stride_h, stride_w, pad_top,
                                    pad_left, dilation_h, dilation_w, out[n, o])
                continue
            copy_into_phases(x[n, o // multiplier], stride_h, stride_w, pad_top, pad_left, phase_height,
                             phase_width, phases)
            scales = taps.reshape(-1)
            bias_vector = vector_fma(vector_zero(ones), bias[o], vector_load(ones, 0))
            # Each output row straight into out: two vectors of its columns at a time, summed over
            # every tap in registers (no crop pass afterwards); store_run says how they are stored.
            plane_end = (task + 1) * out_height * out_width
            plane_start = task * out_height * out_width
            i = 0
            # Rows of one or two vectors in groups of four or two rows: one row's sum over the taps is a
            # chain of dependent multiply-adds, waiting on each one's latency; a group's rows are
            # independent chains (single-threaded on Zen 4, the sums of a 14x14 plane 143 -> 126 ns, the
            # 28x28 stride-1 forward 2.0 -> 1.5-1.6 ms; as AVX2 2.7-3.0 -> 2.0-2.1 ms). The two group
            # loops are written out: one helper for both, its offsets as arguments, compiled to the
            # same inner loop yet measured slower (28x28 1.5 -> 1.95 ms, 14x14 1.23 -> 1.42).
            if out_width <= lanes:
                while i + 4 <= out_height:
                    row = i * phase_width
                    sum0, sum1, sum2, sum3 = bias_vector, bias_vector, bias_vector, bias_vector
                    for tap in range(taps_count):
                        start = starts[tap] + row
                        sum0 = vector_fma(sum0, scales[tap], vector_load(phases, start))
                        sum1 = vector_fma(sum1, scales[tap], vector_load(phases, start + phase_width))
                        sum2 = vector_fma(sum2, scales[tap], vector_load(phases, start + 2 * phase_width))
                        sum3 = vector_fma(sum3, scales[tap], vector_load(phases, start + 3 * phase_width))
                    target = plane_start + i * out_width
                    store_run(flat_out, target, sum0, sum0, out_width, plane_end)
                    store_run(flat_out, target + out_width, sum1, sum1, out_width, plane_end)
                    store_run(flat_out, target + 2 * out_width, sum2, sum2, out_width, plane_end)
                    store_run(flat_out, target + 3 * out_width, sum3, sum3, out_width, plane_end)
                    i += 4
            elif out_width <= step:
                while i + 2 <= out_height:
                    row = i * phase_width
                    low0, high0, low1, high1 = bias_vector, bias_vector, bias_vector, bias_vector
                    for tap in range(taps_count):
                        start = starts[tap] + row
                        low0 = vector_fma(low0, scales[tap], vector_load(phases, start))
                        high0 = vector_fma(high0, scales[tap], vector_load(phases, start + lanes))
                        low1 = vector_fma(low1, scales[tap], vector_load(phases, start + phase_width))
                        high1 = vector_fma(high1, scales[tap], vector_load(phases, start + phase_width + lanes))
                    target = plane_start + i * out_width
                    store_run(flat_out, target, low0, high0, out_width, plane_end)
                    store_run(flat_out, target + out_width, low1, high1, out_width, plane_end)
                    i += 2
            for i in range(i, out_height):
                row = i * phase_width
                target = plane_start + i * out_width
                for first in range(0, out_width, step):
                    low, high = bias_vector, bias_vector
                    if out_width - first > lanes:
                        for tap in range(taps_count):
                            start = starts[tap] + row + first
                            low = vector_fma(low, scales[tap], vector_load(phases, start))
                            high = vector_fma(high, scales[tap], vector_load(phases, start + lanes))
                    else:  # one vector holds the rest of the row
                        for tap in range(taps_count):
                            low = vector_fma(low, scales[tap], vector_load(phases, starts[tap] + row + first))
                    store_run(flat_out, target + first, low, high, min(step, out_width - first), plane_end)


# --- flat planes: stride 1, output rows as wide as the input's ----------------------------------------
# Where out_width == width, output position t = i * width + j and the input element tap (p, q) reads,
# (i + p * dh - pt) * width + (j + q * dw - pl), are a fixed offset apart: the plane flattened is one
# row, and each tap is one run of it, as on the phase planes but with no border columns. So the outputs
# go in whole vectors of consecutive positions across output rows (a 14x14 plane: 13 vectors of 16,
# where one vector per output row leaves 2 of 16 lanes idle, and no phase copy row by row). A lane whose
# input column j + q * dw - pl lies outside the row reads the row before or after instead: each
# kernel column's partial sum is blended to zero in those lanes (vector_keep_inside, from a table of
# every position's column). Rows outside the plane read the zero margins before and after it. Only
# 3x3, written out: the same sums with loops over any kernel's taps ran ten instructions per pair of
# multiply-adds and measured slower than the phase planes (5x5 at 14x14: 1.03 -> 1.17 ms).


def uses_flat_planes(kernel_shape, stride_h, stride_w, width, out_width):
    """Whether the forward takes the flat planes: a 3x3 kernel at stride 1, output rows as wide as the
    input's."""
    return kernel_shape == (3, 3) and stride_h == 1 and stride_w == 1 and out_width == width


@serial_kernel
def flat_margins(kernel_height, kernel_width, pad_top, pad_left, dilation_h, dilation_w, height, width,
                 count, lanes):
    """(front, back): zero elements before and after a flat plane so that every tap's run of every
    output vector (``count`` outputs) lies inside the buffer."""
    lowest = pad_top * width + pad_left
    highest = ((kernel_height - 1) * dilation_h - pad_top) * width + (kernel_width - 1) * dilation_w - pad_left
    rounded = (count + lanes - 1) // lanes * lanes
    return max(0, lowest) + lanes, max(0, rounded + highest - height * width) + lanes


@cpu_kernel
def flat_forward(x, weight, bias, pad_top, pad_left, dilation_h, dilation_w, out):
    """depthwise_forward for a 3x3 kernel at stride 1 where out_width == width, on flat planes. Flat
    indices into x, the weight and out rather than a view per plane (each view costs reference counts),
    but on the exact path."""
    batch, outputs, out_height, out_width = out.shape
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    kernel_height, kernel_width = weight.shape[2], weight.shape[3]
    multiplier = outputs // channels
    taps_count = kernel_height * kernel_width
    size, count = height * width, out_height * out_width
    lanes = vector_lanes(out)
    front, back = flat_margins(kernel_height, kernel_width, pad_top, pad_left, dilation_h, dilation_w, height,
                               width, count, lanes)
    columns = column_table(count, width, x)
    flat_x = x.reshape(x.size)
    flat_weight = weight.reshape(weight.size)
    flat_out = out.reshape(out.size)
    tasks = batch * outputs
    parts = max(1, min(thread_count(), tasks))
    for part in prange(parts):
        buffer = np.zeros(front + size + back, x.dtype)
        ones = np.ones(lanes, x.dtype)
        for task in range(part * tasks // parts, (part + 1) * tasks // parts):
            n = task // outputs
            o = task % outputs
            first_tap = o * taps_count
            if not all_finite_run(flat_weight, first_tap, taps_count):
                exact_forward_plane(x[n, o // multiplier], weight[o, 0], bias[o], 1, 1, pad_top, pad_left,
                                    dilation_h, dilation_w, out[n, o])
                continue
            source = (n * channels + o // multiplier) * size
            for index in range(0, size, lanes):
                vector_store(buffer, front + index, vector_load_first_whole(flat_x, source + index, size - index))
            bias_vector = vector_fma(vector_zero(ones), bias[o], vector_load(ones, 0))
            forward_flat_plane(buffer, front, flat_weight, first_tap, bias_vector, pad_top, pad_left, dilation_h,
                               dilation_w, width, columns, flat_out, task * count, count)


@serial_kernel
def forward_flat_plane(buffer, front, scales, first_tap, bias_vector, pad_top, pad_left, dilation_h, dilation_w,
                       width, columns, flat_out, plane_start, count):
    """flat_out[plane_start + t] = bias + sum_{p,q} scales[first_tap + 3p + q] * plane[t + (p*dh - pt) * width
    + q*dw - pl] for t < count (a 3x3 kernel), the plane flat in ``buffer`` from ``front``; a lane whose
    column leaves the row has that kernel column's terms dropped.

    Written out for 3x3: the nine weights stay in registers and each output vector is nine
    multiply-adds from memory, three chains of three (one per kernel column, blended before they are
    added). The loops over taps took ten instructions per pair of multiply-adds, three times round."""
    lanes = vector_lanes(buffer)
    row = dilation_h * width
    w00, w01, w02 = scales[first_tap], scales[first_tap + 1], scales[first_tap + 2]
    w10, w11, w12 = scales[first_tap + 3], scales[first_tap + 4], scales[first_tap + 5]
    w20, w21, w22 = scales[first_tap + 6], scales[first_tap + 7], scales[first_tap + 8]
    shift1, shift2 = dilation_w - pad_left, 2 * dilation_w - pad_left
    for t in range(0, count, lanes):
        position_columns = vector_load(columns, t)
        start = front + t - pad_top * width - pad_left
        zero = vector_zero(buffer)
        left = vector_fma(vector_fma(vector_fma(zero, w00, vector_load(buffer, start)),
                                     w10, vector_load(buffer, start + row)), w20, vector_load(buffer, start + 2 * row))
        start += dilation_w
        middle = vector_fma(vector_fma(vector_fma(zero, w01, vector_load(buffer, start)),
                                       w11, vector_load(buffer, start + row)), w21, vector_load(buffer, start + 2 * row))
        start += dilation_w
        right = vector_fma(vector_fma(vector_fma(zero, w02, vector_load(buffer, start)),
                                      w12, vector_load(buffer, start + row)), w22, vector_load(buffer, start + 2 * row))
        total = vector_add(vector_add(bias_vector, vector_keep_inside(left, position_columns, pad_left, width + pad_left)),
                           vector_add(vector_keep_inside(middle, position_columns, -shift1, width - shift1),
                                      vector_keep_inside(right, position_columns, -shift2, width - shift2)))
        if t + lanes <= count:
            vector_store(flat_out, plane_start + t, total)
        else:
            vector_store_first(flat_out, plane_start + t, total, count - t)


@cpu_kernel
def flat_weight_partials(x, grad_out, pad_top, pad_left, dilation_h, dilation_w, partials):
    """depthwise_weight_partials for a 3x3 kernel at stride 1 where out_width == width, on flat planes:
    the nine taps' dot products in one pass over the output-gradient plane, nine vector accumulators,
    each kernel column's lanes that leave the row blended out of the gradient vector it multiplies
    (the phase planes' kernel takes a pass per four taps over a wide grid laid out per row). A
    non-finite plane of x or of the output gradient takes the exact loops, as there: its products
    with the zero margins would be NaN terms PyTorch does not have."""
    batch, outputs, out_height, out_width = grad_out.shape
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    multiplier = outputs // channels
    size, count = height * width, out_height * out_width
    lanes = vector_lanes(partials)
    front, back = flat_margins(3, 3, pad_top, pad_left, dilation_h, dilation_w, height, width, count, lanes)
    columns = column_table(count, width, x)
    flat_x = x.reshape(x.size)
    flat_gradient = grad_out.reshape(grad_out.size)
    flat_partials = partials.reshape(partials.size)
    row = dilation_h * width
    shift1, shift2 = dilation_w - pad_left, 2 * dilation_w - pad_left
    tasks = batch * outputs
    parts = max(1, min(thread_count(), tasks))
    for part in prange(parts):
        buffer = np.zeros(front + size + back, x.dtype)
        lane_sums = np.empty(lanes, x.dtype)
        for task in range(part * tasks // parts, (part + 1) * tasks // parts):
            n = task // outputs
            o = task % outputs
            source = (n * channels + o // multiplier) * size
            if not (all_finite_run(flat_x, source, size) and all_finite_run(flat_gradient, task * count, count)):
                exact_weight_gradient_plane(x[n, o // multiplier], grad_out[n, o], 1, 1, pad_top, pad_left,
                                            dilation_h, dilation_w, partials[n, o])
                continue
            for index in range(0, size, lanes):
                vector_store(buffer, front + index, vector_load_first_whole(flat_x, source + index, size - index))
            s00 = s01 = s02 = s10 = s11 = s12 = s20 = s21 = s22 = vector_zero(buffer)
            for t in range(0, count, lanes):
                position_columns = vector_load(columns, t)
                middle = vector_load_first_whole(flat_gradient, task * count + t, count - t)
                left = vector_keep_inside(middle, position_columns, pad_left, width + pad_left)
                right = vector_keep_inside(middle, position_columns, -shift2, width - shift2)
                middle = vector_keep_inside(middle, position_columns, -shift1, width - shift1)
                start = front + t - pad_top * width - pad_left
                s00 = vector_multiply_add(s00, left, vector_load(buffer, start))
                s10 = vector_multiply_add(s10, left, vector_load(buffer, start + row))
                s20 = vector_multiply_add(s20, left, vector_load(buffer, start + 2 * row))
                start += dilation_w
                s01 = vector_multiply_add(s01, middle, vector_load(buffer, start))
                s11 = vector_multiply_add(s11, middle, vector_load(buffer, start + row))
                s21 = vector_multiply_add(s21, middle, vector_load(buffer, start + 2 * row))
                start += dilation_w
                s02 = vector_multiply_add(s02, right, vector_load(buffer, start))
                s12 = vector_multiply_add(s12, right, vector_load(buffer, start + row))
                s22 = vector_multiply_add(s22, right, vector_load(buffer, start + 2 * row))
            store_tap_totals(flat_partials, task * 9, lane_sums, s00, s01, s02, s10, s11, s12, s20, s21, s22)


@serial_kernel
def store_tap_totals(flat_partials, first_tap, lane_sums, s00, s01, s02, s10, s11, s12, s20, s21, s22):
    """flat_partials[first_tap + 3p + q] = the sum of the lanes of s{p}{q}: a 3x3 kernel's taps."""
    flat_partials[first_tap] = lane_total(lane_sums, s00)
    flat_partials[first_tap + 1] = lane_total(lane_sums, s01)
    flat_partials[first_tap + 2] = lane_total(lane_sums, s02)
    flat_partials[first_tap + 3] = lane_total(lane_sums, s10)
    flat_partials[first_tap + 4] = lane_total(lane_sums, s11)
    flat_partials[first_tap + 5] = lane_total(lane_sums, s12)
    flat_partials[first_tap + 6] = lane_total(lane_sums, s20)
    flat_partials[first_tap + 7] = lane_total(lane_sums, s21)
    flat_partials[first_tap + 8] = lane_total(lane_sums, s22)


@serial_kernel
def lane_total(lane_sums, vector):
    """The sum of a vector's lanes (stored into ``lane_sums``, a vector's worth of scratch, and added)."""
    vector_store(lane_sums, 0, vector)
    total = lane_sums.dtype.type(0)
    for lane in range(lane_sums.shape[0]):
        total += lane_sums[lane]
    return total


@serial_kernel
def store_run(flat_out, target, low, high, count, plane_end):
    """``flat_out[target:target + count]`` = the first ``count`` (at most two vectors') lanes of low
    then high. Whole stores where they stay inside the plane (ending at ``plane_end``): their
    overhang lands on the plane's next row, written after (rows go in order); masked ones at the
    plane's end (masked stores are slow on AMD's AVX2 cores)."""
    lanes = vector_lanes(flat_out)
    if count > lanes:
        vector_store(flat_out, target, low)
        if target + 2 * lanes <= plane_end:
            vector_store(flat_out, target + lanes, high)
        else:
            vector_store_first(flat_out, target + lanes, high, count - lanes)
    elif target + lanes <= plane_end:
        vector_store(flat_out, target, low)
    else:
        vector_store_first(flat_out, target, low, count)


def depthwise_backward_input(grad_out, weight, stride_h, stride_w, pad_top, pad_left, dilation_h,
                             dilation_w, grad_x):
    """grad_x[n, c, y, z] = sum over the channel's outputs o, taps (p, q) and the positions (i, j)
    that read (y, z) of weight[o, 0, p, q] grad_out[n, o, i, j]

    At stride 1 with one output per channel this is a depthwise correlation of grad_out, padded by
    dilation * (kernel - 1) - pad, with the taps flipped: the forward kernel, at the forward's speed
    (1.2 against 3.8 ms for the scatter below at (100, 32, 28, 28), 2 threads, Zen 4). The forward
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


@cpu_kernel
def flat_phase_input_gradient(grad_out, weight, grad_x):
    """depthwise_backward_input at stride 2, padding 1, 3x3 (uses_flat_phases), by the four stride
    phases of each grad_x plane on flat planes, then interleaved.

    Phase (a, b) of grad_x (rows 2u + a, columns 2v + b) is read by taps p = 1 (a = 0) or p = 2 at
    output row u and p = 0 at row u + 1 (a = 1), the same for columns, so with g the output-gradient
    plane flat (t = u * OW + v) and w the plane's taps:
    phase 00 = w11 g[t], 01 = w12 g[t] + w10 g[t + 1], 10 = w21 g[t] + w01 g[t + OW],
    11 = w22 g[t] + w02 g[t + OW] + w20 g[t + 1] + w00 g[t + OW + 1]:
    only the real products (the scatter kernel adds all nine taps into phase planes on a wide grid).
    Terms at t + 1 are blended out where v + 1 leaves the row; rows past the plane read a zero margin.
    A non-finite weight takes the exact loops (its products with that margin would be NaN terms)."""
    batch, channels, height, width = grad_x.shape
    out_height, out_width = grad_out.shape[2], grad_out.shape[3]
    count = out_height * out_width
    lanes = vector_lanes(grad_x)
    columns = column_table(count, out_width, grad_x)
    flat_gradient = grad_out.reshape(grad_out.size)
    flat_weight = weight.reshape(weight.size)
    flat_x = grad_x.reshape(grad_x.size)
    tasks = batch * channels
    parts = max(1, min(thread_count(), tasks))
    for part in prange(parts):
        # The output-gradient plane and a zero margin of a row and a vector after it; four phase
        # planes, a vector's room after each (their rows are read whole when interleaved).
        buffer = np.zeros(count + out_width + 2 * lanes, grad_x.dtype)
        phases = np.zeros(4 * (count + 2 * lanes), grad_x.dtype)
        size = count + 2 * lanes
        for task in range(part * tasks // parts, (part + 1) * tasks // parts):
            n = task // channels
            c = task % channels
            if not all_finite_run(flat_weight, c * 9, 9):
                target = grad_x[n, c]
                for y in range(height):
                    for z in range(width):
                        target[y, z] = 0
                exact_input_gradient_plane(grad_out[n, c], weight[c, 0], 2, 2, 1, 1, 1, 1, target)
                continue
            for index in range(0, count, lanes):
                vector_store(buffer, index, vector_load_first_whole(flat_gradient, task * count + index, count - index))
            w = c * 9
            w00, w01, w02 = flat_weight[w], flat_weight[w + 1], flat_weight[w + 2]
            w10, w11, w12 = flat_weight[w + 3], flat_weight[w + 4], flat_weight[w + 5]
            w20, w21, w22 = flat_weight[w + 6], flat_weight[w + 7], flat_weight[w + 8]
            zero = vector_zero(buffer)
            for t in range(0, count, lanes):
                position_columns = vector_load(columns, t)
                here = vector_load(buffer, t)
                right = vector_load(buffer, t + 1)
                below = vector_load(buffer, t + out_width)
                below_right = vector_load(buffer, t + out_width + 1)
                vector_store(phases, t, vector_fma(zero, w11, here))
                vector_store(phases, size + t, vector_add(
                    vector_fma(zero, w12, here),
                    vector_keep_inside(vector_fma(zero, w10, right), position_columns, 0, out_width - 1)))
                vector_store(phases, 2 * size + t, vector_fma(vector_fma(zero, w21, here), w01, below))
                vector_store(phases, 3 * size + t, vector_add(
                    vector_fma(vector_fma(zero, w22, here), w02, below),
                    vector_keep_inside(vector_fma(vector_fma(zero, w20, right), w00, below_right),
                                       position_columns, 0, out_width - 1)))
            # Row 2u + a of the plane: phase (a, 0) and (a, 1)'s row u, element by element interleaved.
            plane_start = task * height * width
            plane_end = plane_start + height * width
            for u in range(out_height):
                for a in range(2):
                    source = 2 * a * size + u * out_width
                    target = plane_start + (2 * u + a) * width
                    for v in range(0, out_width, lanes):
                        even = vector_load(phases, source + v)
                        odd = vector_load(phases, source + size + v)
                        store_run(flat_x, target + 2 * v, vector_interleave_low(even, odd),
                                  vector_interleave_high(even, odd), min(2 * lanes, width - 2 * v), plane_end)


@serial_kernel
def column_table(count, width, like):
    """Each flat position's column, t % width for t < count and a vector past it, as whole numbers in
    ``like``'s dtype: the positions vector_keep_inside compares (one table for all planes of a call)."""
    lanes = vector_lanes(like)
    columns = np.empty(count + lanes, like.dtype)
    for index in range(columns.shape[0]):
        columns[index] = index % width
    return columns


@serial_kernel
def phase_plane_layout(out_width, count, lanes):
    """(front, size) of the flat phase planes: each phase's first element ``front`` into its part of
    the buffer (a zero margin of a row, an element and a vector before it), ``size`` elements apart."""
    front = out_width + 1 + lanes
    return front, front + count + 2 * lanes


@serial_kernel
def copy_into_flat_phases(flat_x, source, height, width, front, size, phases):
    """phases[(2a + b) * size + front + u * (width // 2) + v] = plane[2u + a, 2v + b], the plane (even
    height and width) at flat_x[source:]: its four stride phases, flat. Rows in order, each row's even
    and odd elements by two shuffles, stored whole: lanes past the row are zeros (vector_load_first_whole) and land
    on the phase's next row (written later) or on the margin after the plane, which stays zero."""
    lanes = vector_lanes(phases)
    half = width // 2
    for y in range(height):
        row = source + y * width
        even_target = (2 * (y % 2)) * size + front + (y // 2) * half
        for v in range(0, half, lanes):
            low = vector_load_first_whole(flat_x, row + 2 * v, width - 2 * v)
            high = vector_load_first_whole(flat_x, row + 2 * v + lanes, width - 2 * v - lanes)
            vector_store(phases, even_target + v, vector_even_lanes(low, high))
            vector_store(phases, even_target + size + v, vector_odd_lanes(low, high))


@cpu_kernel
def flat_phase_forward(x, weight, bias, out):
    """depthwise_forward at stride 2, padding 1, 3x3 (uses_flat_phases) on x's four stride phases,
    flat (see flat_phase_weight_partials): out[t] = bias + sum_{p,q} w[p, q] X_{a(p) b(q)}[t + d(p) *
    OW + d(q)], the q = 0 column's terms blended out in output column 0 (they would read the row
    before's last element). A non-finite weight takes the exact loops."""
    batch, channels, height, width = x.shape
    out_height, out_width = out.shape[2], out.shape[3]
    count = out_height * out_width
    lanes = vector_lanes(out)
    columns = column_table(count, out_width, x)
    flat_x = x.reshape(x.size)
    flat_weight = weight.reshape(weight.size)
    flat_out = out.reshape(out.size)
    front, size = phase_plane_layout(out_width, count, lanes)
    tasks = batch * channels
    parts = max(1, min(thread_count(), tasks))
    for part in prange(parts):
        phases = np.zeros(4 * size, x.dtype)
        ones = np.ones(lanes, x.dtype)
        for task in range(part * tasks // parts, (part + 1) * tasks // parts):
            c = task % channels
            w = c * 9
            if not all_finite_run(flat_weight, w, 9):
                exact_forward_plane(x[task // channels, c], weight[c, 0], bias[c], 2, 2, 1, 1, 1, 1,
                                    out[task // channels, c])
                continue
            copy_into_flat_phases(flat_x, task * height * width, height, width, front, size, phases)
            w00, w01, w02 = flat_weight[w], flat_weight[w + 1], flat_weight[w + 2]
            w10, w11, w12 = flat_weight[w + 3], flat_weight[w + 4], flat_weight[w + 5]
            w20, w21, w22 = flat_weight[w + 6], flat_weight[w + 7], flat_weight[w + 8]
            bias_vector = vector_fma(vector_zero(ones), bias[c], vector_load(ones, 0))
            zero = vector_zero(ones)
            plane_start = task * count
            for t in range(0, count, lanes):
                at = front + t  # phase 00 at t; phase (2a + b) a multiple of size further on
                first_column = vector_fma(vector_fma(vector_fma(zero, w00, vector_load(phases, 3 * size + at - out_width - 1)),
                                                     w10, vector_load(phases, size + at - 1)),
                                          w20, vector_load(phases, 3 * size + at - 1))
                middle = vector_fma(vector_fma(vector_fma(bias_vector, w01, vector_load(phases, 2 * size + at - out_width)),
                                               w11, vector_load(phases, at)),
                                    w21, vector_load(phases, 2 * size + at))
                last_column = vector_fma(vector_fma(vector_fma(zero, w02, vector_load(phases, 3 * size + at - out_width)),
                                                    w12, vector_load(phases, size + at)),
                                         w22, vector_load(phases, 3 * size + at))
                total = vector_add(vector_add(middle, last_column),
                                   vector_keep_inside(first_column, vector_load(columns, t), 1, out_width))
                if t + lanes <= count:
                    vector_store(flat_out, plane_start + t, total)
                else:
                    vector_store_first(flat_out, plane_start + t, total, count - t)


@cpu_kernel
def flat_phase_weight_partials(x, grad_out, partials):
    """depthwise_weight_partials at stride 2, padding 1, 3x3 (uses_flat_phases) on flat phase planes.

    x's plane is split into its four stride phases, X_ab[u, v] = x[2u + a, 2v + b], each as large as
    the output and flat (t = u * OW + v), with a zero margin of a row and an element before it. Tap p
    reads row 2i - 1 + p: phase 1 at row i - 1 (p = 0), phase 0 at row i (p = 1), phase 1 at row i
    (p = 2); the same for columns. So partials[p, q] = sum_t g[t] * X_{a(p) b(q)}[t + d(p) * OW + d(q)]
    with d(0) = -1, d(1) = d(2) = 0: nine dot products in one pass over the gradient plane, its lanes
    in column 0 blended out for q = 0 (their column -1 is the row before's last). A non-finite plane
    of x or of the gradient takes the exact loops."""
    batch, channels, height, width = x.shape
    out_height, out_width = grad_out.shape[2], grad_out.shape[3]
    count = out_height * out_width
    lanes = vector_lanes(partials)
    columns = column_table(count, out_width, x)
    flat_x = x.reshape(x.size)
    flat_gradient = grad_out.reshape(grad_out.size)
    flat_partials = partials.reshape(partials.size)
    front, size = phase_plane_layout(out_width, count, lanes)
    tasks = batch * channels
    parts = max(1, min(thread_count(), tasks))
    for part in prange(parts):
        # Phase plane (a, b) from (2a + b) * size + front on; the margins stay zero (see the copy).
        phases = np.zeros(4 * size, x.dtype)
        lane_sums = np.empty(lanes, x.dtype)
        for task in range(part * tasks // parts, (part + 1) * tasks // parts):
            source = task * height * width
            if not (all_finite_run(flat_x, source, height * width)
                    and all_finite_run(flat_gradient, task * count, count)):
                exact_weight_gradient_plane(x[task // channels, task % channels],
                                            grad_out[task // channels, task % channels], 2, 2, 1, 1, 1, 1,
                                            partials[task // channels, task % channels])
                continue
            copy_into_flat_phases(flat_x, source, height, width, front, size, phases)
            s00 = s01 = s02 = s10 = s11 = s12 = s20 = s21 = s22 = vector_zero(phases)
            for t in range(0, count, lanes):
                gradient = vector_load_first_whole(flat_gradient, task * count + t, count - t)
                past_first_column = vector_keep_inside(gradient, vector_load(columns, t), 1, out_width)
                at = front + t  # phase 00 (a = b = 0) at t; see the docstring for the others
                s00 = vector_multiply_add(s00, past_first_column, vector_load(phases, 3 * size + at - out_width - 1))
                s01 = vector_multiply_add(s01, gradient, vector_load(phases, 2 * size + at - out_width))
                s02 = vector_multiply_add(s02, gradient, vector_load(phases, 3 * size + at - out_width))
                s10 = vector_multiply_add(s10, past_first_column, vector_load(phases, size + at - 1))
                s11 = vector_multiply_add(s11, gradient, vector_load(phases, at))
                s12 = vector_multiply_add(s12, gradient, vector_load(phases, size + at))
                s20 = vector_multiply_add(s20, past_first_column, vector_load(phases, 3 * size + at - 1))
                s21 = vector_multiply_add(s21, gradient, vector_load(phases, 2 * size + at))
                s22 = vector_multiply_add(s22, gradient, vector_load(phases, 3 * size + at))
            store_tap_totals(flat_partials, task * 9, lane_sums, s00, s01, s02, s10, s11, s12, s20, s21, s22)


@cpu_kernel
def scatter_input_gradient(grad_out, weight, stride_h, stride_w, pad_top, pad_left, dilation_h,
                           dilation_w, grad_x):
    """depthwise_backward_input by scattering: each output-gradient plane times each tap added into
    the phase planes, for strides and channel multipliers."""
    batch, channels, height, width = grad_x.shape
    outputs, out_height, out_width = grad_out.shape[1], grad_out.shape[2], grad_out.shape[3]
    kernel_height, kernel_width = weight.shape[2], weight.shape[3]
    multiplier = outputs // channels
    phase_height = phase_size(out_height, stride_h, dilation_h, kernel_height)
    phase_width = phase_size(out_width, stride_w, dilation_w, kernel_width)
    length = (out_height - 1) * phase_width + out_width
    phase_of, offset_of = tap_offsets(kernel_height, kernel_width, stride_h, stride_w, dilation_h,
                                      dilation_w, phase_width)
    lanes = vector_lanes(grad_x)
    tasks = batch * channels
    parts = max(1, min(thread_count(), tasks))
    for part in prange(parts):
        # One thread's buffers. The wide grid is zeroed once: every plane writes the same elements
        # of it (rows of OW in whole vectors, zeros past each row from the masked loads, a vector's
        # room after it); the phase planes accumulate, so they are zeroed per plane.
        phases = np.zeros((stride_h * stride_w, phase_height * phase_width), grad_x.dtype)
        flat_phases = phases.reshape(phases.size)
        wide = np.zeros(length + lanes, grad_x.dtype)
        for task in range(part * tasks // parts, (part + 1) * tasks // parts):
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
            for index in range(flat_phases.size):
                flat_phases[index] = 0
            # Scatter: the output gradient laid on the wide grid (zeros past each row's OW columns),
            # added tap by tap into the phase planes at the positions the forward pass read.
            for o in range(c * multiplier, (c + 1) * multiplier):
                gradient = grad_out[n, o].reshape(out_height * out_width)
                for i in range(out_height):
                    for j in range(0, out_width, lanes):
                        vector_store(wide, i * phase_width + j,
                                     vector_load_first(gradient, i * out_width + j, out_width - j))
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
    taps_count = kernel_height * kernel_width
    lanes = vector_lanes(partials)
    starts = phase_of * phase_stride(phase_height, phase_width, lanes) + offset_of
    tasks = batch * outputs
    parts = max(1, min(thread_count(), tasks))
    for part in prange(parts):
        # One thread's buffers, zeroed once: every plane writes the same elements of them (see
        # copy_into_phases), and the wide grid's columns past OW stay zero.
        # The phase planes have a vector's room after them: the last vector of a tap's run loads
        # whole, past the planes (it meets the masked zeros of the output gradient there).
        phases = np.zeros(stride_h * stride_w * phase_stride(phase_height, phase_width, lanes) + lanes, x.dtype)
        wide = np.zeros(length + lanes, x.dtype)
        lane_sums = np.empty(lanes, x.dtype)
        for task in range(part * tasks // parts, (part + 1) * tasks // parts):
            n = task // outputs
            o = task % outputs
            plane = x[n, o // multiplier]
            sums = partials[n, o]
            if not (all_finite(plane) and all_finite(grad_out[n, o])):
                exact_weight_gradient_plane(plane, grad_out[n, o], stride_h, stride_w, pad_top, pad_left,
                                            dilation_h, dilation_w, sums)
                continue
            copy_into_phases(plane, stride_h, stride_w, pad_top, pad_left, phase_height, phase_width, phases)
            gradient = grad_out[n, o].reshape(out_height * out_width)
            for i in range(out_height):  # rows of OW in whole vectors: the loads masked, zeros past
                for j in range(0, out_width, lanes):  # the row, which the whole stores put on the border
                    vector_store(wide, i * phase_width + j,
                                 vector_load_first(gradient, i * out_width + j, out_width - j))
            # Four taps' dot products per pass over the wide grid, in vector accumulators: each
            # vector of the output gradient loaded once for four taps, no scalar remainder loop
            # (one dot product per tap took 4.5 of the 5 ms, single-threaded, at 28 x 28; Zen 4).
            for group in range(0, taps_count, 4):
                start0 = starts[group]
                start1 = starts[min(group + 1, taps_count - 1)]  # a group short of four repeats its last tap
                start2 = starts[min(group + 2, taps_count - 1)]
                start3 = starts[min(group + 3, taps_count - 1)]
                sum0, sum1 = vector_zero(wide), vector_zero(wide)
                sum2, sum3 = vector_zero(wide), vector_zero(wide)
                for t in range(0, length, lanes):
                    gradient_vector = vector_load_first(wide, t, length - t)
                    sum0 = vector_multiply_add(sum0, gradient_vector, vector_load(phases, start0 + t))
                    sum1 = vector_multiply_add(sum1, gradient_vector, vector_load(phases, start1 + t))
                    sum2 = vector_multiply_add(sum2, gradient_vector, vector_load(phases, start2 + t))
                    sum3 = vector_multiply_add(sum3, gradient_vector, vector_load(phases, start3 + t))
                for k in range(min(4, taps_count - group)):
                    vector_store(lane_sums, 0, sum0 if k == 0 else sum1 if k == 1 else sum2 if k == 2 else sum3)
                    total = sums.dtype.type(0)
                    for lane in range(lanes):
                        total += lane_sums[lane]
                    sums[(group + k) // kernel_width, (group + k) % kernel_width] = total


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
    if uses_flat_planes(grad_weight.shape[2:], stride_h, stride_w, x.shape[3], grad_out.shape[3]):
        flat_weight_partials(x, grad_out, pad_top, pad_left, dilation_h, dilation_w, partials)
    elif uses_flat_phases(grad_weight.shape, (stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w),
                          x.shape, grad_out.shape):
        flat_phase_weight_partials(x, grad_out, partials)
    else:
        depthwise_weight_partials(x, grad_out, stride_h, stride_w, pad_top, pad_left, dilation_h,
                                  dilation_w, partials)
    sum_partials(partials.reshape(batch, -1), grad_weight.reshape(-1))
