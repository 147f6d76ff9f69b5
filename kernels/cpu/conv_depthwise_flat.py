"""The depthwise convolution on flat planes: 3x3 kernels at stride 1 with output rows as wide as the
input's, and at stride 2 on the four stride phases of an even plane (conv_depthwise.py).

Where out_width == width, output position t = i * width + j and the input element tap (p, q) reads,
(i + p * dh - pt) * width + (j + q * dw - pl), are a fixed offset apart: the plane flattened is one
row, and each tap is one run of it, as on the phase planes but with no border columns. So the outputs
go in whole vectors of consecutive positions across output rows (a 14x14 plane: 13 vectors of 16,
where one vector per output row leaves 2 of 16 lanes idle, and no phase copy row by row). A lane whose
input column j + q * dw - pl lies outside the row reads the row before or after instead: each
kernel column's partial sum is blended to zero in those lanes (vector_keep_inside, from a table of
every position's column). Rows outside the plane read the zero margins before and after it. Only
3x3, written out: the same sums with loops over any kernel's taps ran ten instructions per pair of
multiply-adds and measured slower than the phase planes (5x5 at 14x14: 1.03 -> 1.17 ms).
"""
import numpy as np
from numba import prange

from .conv_depthwise_exact import (
    all_finite_run,
    exact_forward_plane,
    exact_input_gradient_plane,
    exact_weight_gradient_plane,
)
from .conv_depthwise_phases import store_run
from .preset import cpu_kernel, serial_kernel
from .simd import (
    thread_count,
    vector_add,
    vector_fma,
    vector_keep_inside,
    vector_lanes,
    vector_load,
    vector_load_first_whole,
    vector_multiply_add,
    vector_store,
    vector_store_first,
    vector_zero,
)
from .simd_lanes import (
    vector_even_lanes,
    vector_interleave_high,
    vector_interleave_low,
    vector_odd_lanes,
)


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
