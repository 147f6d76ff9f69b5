"""The depthwise convolution on phase planes: any stride, padding, dilation and kernel (conv_depthwise.py).

A plane's (virtually) zero-padded copy split by stride into stride_h * stride_w phase planes,
phases[a * stride_w + b, u, v] = padded[u * stride_h + a, v * stride_w + b], each phase_width
columns wide. Tap (p, q) of output (i, j) reads padded[i * sh + p * dh, j * sw + q * dw], which
is phase ((p * dh) % sh, (q * dw) % sw) at (i + (p * dh) // sh, j + (q * dw) // sw): flattened,
position t = i * phase_width + j plus a fixed offset per tap. So each tap is one unit-stride run
of L = (OH - 1) * phase_width + OW elements (the columns past OW are thrown away): a long loop
LLVM vectorises, where a run per output row (28 elements at MobileNet's sizes) ran in its scalar
remainder loop (measured: 46 ms instead of 2 for a forward at (100, 32, 28, 28)).
"""
import numpy as np
from numba import prange

from .conv_depthwise_exact import (
    all_finite,
    column_range,
    exact_forward_plane,
    exact_input_gradient_plane,
    exact_weight_gradient_plane,
)
from .preset import cpu_kernel, serial_kernel
from .simd import (
    thread_count,
    vector_fma,
    vector_keep_first,
    vector_lanes,
    vector_load,
    vector_load_first,
    vector_load_first_whole,
    vector_multiply_add,
    vector_store,
    vector_store_first,
    vector_zero,
)
from .simd_lanes import vector_even_lanes, vector_odd_lanes


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
