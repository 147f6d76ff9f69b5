"""2-D max and average pooling on NCHW arrays, forward and backward.

Every kernel runs one (sample, channel) plane per ``prange`` iteration. Backward passes scatter
into the input plane, and overlapping windows (stride < kernel) add to the same element, so a
plane must belong to a single thread: that is what makes them race-free without atomics.

Padding is symmetric: the window of output (oh, ow) starts at (oh*stride_h - pad_h,
ow*stride_w - pad_w) and is clipped to the plane, so padded cells are never read.

The reference CNN's 2x2 stride-2 unpadded pool is written by vectors on flat planes: the forward
splits two vectors of a row into the windows' left and right cells (``max_pool2x2_plane``), the
backward writes each 2x2 block whole, the gradient in the cell its index names and zero in the
others (``max_pool2x2_plane_backward``), where the scalar loops took 3 of the reference CNN's
48 ms step (pool1 and pool2 forward 0.65 + 0.66 ms, backward 1.07 + 0.61, Zen 4, two threads).
The forward is a kernel of its own, chosen in Python: a program using only 2x2 pools never
compiles the general one. The other geometries and the average pools keep plain loops, unrolled
for 2x2 where the window size is known at compile time.
"""
import math

import numpy as np
from numba import prange

from .preset import cpu_kernel, inlined_kernel, serial_kernel
from .simd import (
    vector_add,
    vector_full,
    vector_lanes,
    vector_load_first_whole,
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
from .simd_maximum import (
    vector_equal,
    vector_keep_equal,
    vector_select_greater,
    vector_store_positions,
)

# The entry points the backend calls; kernels/cuda/pool.py has the same names and arguments.
__all__ = ["max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward"]


@serial_kernel
def window_bounds(output_position, stride, padding, kernel_size, input_size):
    """[start, stop) of one window along one axis, clipped to the input."""
    start = output_position * stride - padding
    return max(start, 0), min(start + kernel_size, input_size)


@serial_kernel
def is_two_by_two(kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w):
    """Whether the geometry is the unpadded 2x2 stride-2 pool that has its own unrolled loops."""
    return (kernel_h == 2 and kernel_w == 2 and stride_h == 2 and stride_w == 2
            and pad_h == 0 and pad_w == 0)


def max_pool2d_forward(x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, out, indices):
    """out[n, c, oh, ow] = max over the window of x[n, c];  indices = row * W + column of that max.

    Ties go to the first element in row-major window order; a NaN is always taken, so it
    propagates (PyTorch's ``val > max or isnan(val)``). Padding is -inf and never chosen.
    """
    if is_two_by_two(kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w) and x.shape[3] < 2 ** 22:
        # (The window offsets pass through float codes: exact below 2**23 for float32.)
        max_pool2x2_forward(np.ascontiguousarray(x), out, indices)
    else:
        max_pool_general_forward(x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, out,
                                 indices)


@inlined_kernel
def running_max(value, position, best, best_index):
    """(best, best_index) after the window's cell ``value`` at ``position``: strict >, so ties
    keep the first cell in row-major order, and a NaN is always taken. Without a branch, because
    which cell of a random window wins is unpredictable; inlined in Numba's IR, so the 2x2 loops
    still unroll around it."""
    take = (value > best) | (value != value)
    return (value if take else best), (position if take else best_index)


@serial_kernel
def max_pool_plane(x, n, c, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, out, indices):
    """out[n, c, oh, ow] = max of x[n, c] over the window, indices = row * W + column of it."""
    height, width = x.shape[2], x.shape[3]
    for oh in range(out.shape[2]):
        row_start, row_stop = window_bounds(oh, stride_h, pad_h, kernel_h, height)
        for ow in range(out.shape[3]):
            column_start, column_stop = window_bounds(ow, stride_w, pad_w, kernel_w, width)
            best = -math.inf
            # An all -inf window still reports an in-bounds element, as PyTorch does.
            best_index = row_start * width + column_start
            for row in range(row_start, row_stop):
                for column in range(column_start, column_stop):
                    best, best_index = running_max(x[n, c, row, column], row * width + column,
                                                   best, best_index)
            out[n, c, oh, ow] = best
            indices[n, c, oh, ow] = best_index


@serial_kernel
def max_pool2x2_plane(plane, width, out_plane, out_height, out_width, index_plane):
    """``max_pool2d_forward`` of one flat plane (rows of ``width``) for the 2x2 stride-2 pool.

    Each output row's windows are two input rows: a vector of outputs reads two vectors of each
    row, split into their even and odd elements (a window's left and right cells), and the running
    maximum takes the four cells in row-major order (``vector_select_greater``). The winner's
    offset from its window's first cell (0, 1, width or width + 1, a float vector) becomes its
    int64 index as it is stored (``vector_store_positions``). Loads are whole wherever the vector lies in the plane (lanes past the row are
    never chosen into a stored lane), stores whole where they land on later outputs of the plane.
    """
    lanes = vector_lanes(plane)
    right = vector_full(plane, 1)
    below = vector_full(plane, width)
    below_right = vector_full(plane, width + 1)
    for out_row in range(out_height):
        upper = 2 * out_row * width
        lower = upper + width
        for first in range(0, out_width, lanes):
            count = min(lanes, out_width - first)
            column = 2 * first
            upper_even_odd = (vector_load_first_whole(plane, upper + column, 2 * count),
                              vector_load_first_whole(plane, upper + column + lanes, 2 * count - lanes))
            lower_even_odd = (vector_load_first_whole(plane, lower + column, 2 * count),
                              vector_load_first_whole(plane, lower + column + lanes, 2 * count - lanes))
            best = vector_even_lanes(upper_even_odd[0], upper_even_odd[1])
            code = vector_zero(plane)
            value = vector_odd_lanes(upper_even_odd[0], upper_even_odd[1])
            code = vector_select_greater(value, best, right, code)
            best = vector_select_greater(value, best, value, best)
            value = vector_even_lanes(lower_even_odd[0], lower_even_odd[1])
            code = vector_select_greater(value, best, below, code)
            best = vector_select_greater(value, best, value, best)
            value = vector_odd_lanes(lower_even_odd[0], lower_even_odd[1])
            code = vector_select_greater(value, best, below_right, code)
            best = vector_select_greater(value, best, value, best)
            position = out_row * out_width + first
            if position + lanes <= out_plane.shape[0]:
                vector_store(out_plane, position, best)
                # All lanes: a constant mask, which LLVM makes a plain store.
                vector_store_positions(index_plane, position, lanes, code, upper + column, 2)
            else:
                vector_store_first(out_plane, position, best, count)
                vector_store_positions(index_plane, position, count, code, upper + column, 2)


@cpu_kernel
def max_pool2x2_forward(x, out, indices):
    """``max_pool2d_forward`` for the unpadded 2x2 stride-2 pool, by vectors (``max_pool2x2_plane``);
    x, out and indices C-contiguous."""
    batch, channels, height, width = x.shape
    planes = batch * channels
    x_planes = x.reshape(planes, height * width)
    out_planes = out.reshape(planes, out.shape[2] * out.shape[3])
    index_planes = indices.reshape(planes, out.shape[2] * out.shape[3])
    for plane in prange(planes):
        max_pool2x2_plane(x_planes[plane], width, out_planes[plane], out.shape[2], out.shape[3],
                          index_planes[plane])


@cpu_kernel
def max_pool_general_forward(x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, out,
                             indices):
    """``max_pool2d_forward`` for any geometry, a plane per parallel iteration."""
    batch, channels = x.shape[0], x.shape[1]
    for plane in prange(batch * channels):
        n, c = plane // channels, plane % channels
        max_pool_plane(x, n, c, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, out,
                       indices)


def max_pool2d_backward(grad_out, indices, grad_x):
    """grad_x[n, c].flat[indices[n, c, oh, ow]] += grad_out[n, c, oh, ow];  zero elsewhere.

    grad_out and indices are made C-contiguous (the kernel works on flat planes).
    """
    max_pool_backward_planes(np.ascontiguousarray(grad_out), np.ascontiguousarray(indices), grad_x)


@cpu_kernel
def max_pool_backward_planes(grad_out, indices, grad_x):
    """``max_pool2d_backward`` (C-contiguous arrays), a run of planes per thread.

    Where the output is half the input's height and width, a plane whose every index lies in its
    own window's 2x2 block (the 2x2 stride-2 pool's, and an adaptive pool's that halves the plane)
    is written by whole rows (``max_pool2x2_plane_backward``); any other plane is zeroed and
    scattered into (``scatter_plane``), which also sums the gradients of a cell that several
    windows chose. The indices alone do not tell the geometry, hence the test.
    """
    batch, channels, height, width = grad_x.shape
    out_height, out_width = grad_out.shape[2], grad_out.shape[3]
    planes = batch * channels
    grad_planes = grad_out.reshape(planes, out_height * out_width)
    index_planes = indices.reshape(planes, out_height * out_width)
    grad_x_planes = grad_x.reshape(planes, height * width)
    blocks = out_height == height // 2 and out_width == width // 2
    for plane in prange(planes):
        if not (blocks and max_pool2x2_plane_backward(grad_planes[plane], index_planes[plane],
                                                      out_height, out_width, grad_x_planes[plane],
                                                      width)):
            scatter_plane(grad_planes[plane], index_planes[plane], grad_x_planes[plane])


@serial_kernel
def scatter_plane(grad_plane, index_plane, grad_x_plane):
    """grad_x_plane = 0, then grad_x_plane[index_plane[k]] += grad_plane[k] for every output k."""
    grad_x_plane[:] = 0.0
    for position in range(grad_plane.shape[0]):
        grad_x_plane[index_plane[position]] += grad_plane[position]


@inlined_kernel
def store_interleaved(line, start, left, right, count):
    """line[start:start + 2 * count] = left[0], right[0], left[1], right[1], ...: whole vectors
    where they lie inside the line, masked at its end."""
    lanes = vector_lanes(line)
    low = vector_interleave_low(left, right)
    high = vector_interleave_high(left, right)
    if start + 2 * lanes <= line.shape[0]:
        vector_store(line, start, low)
        vector_store(line, start + lanes, high)
    else:
        vector_store_first(line, start, low, 2 * count)
        vector_store_first(line, start + lanes, high, 2 * count - lanes)


@serial_kernel
def max_pool2x2_plane_backward(grad_plane, index_plane, out_height, out_width, grad_x_plane, width):
    """The scatter of one flat plane whose windows are 2x2 blocks, by whole rows; False (and the
    plane unfinished) as soon as an index lies outside its window's block.

    Each window's gradient goes to the cell its index names (offset 0, 1, width or width + 1 from
    the block's first cell) and zero to the other three, so every cell is written once, with no
    zeroing pass: a vector of gradients becomes, by four blends on the index (``vector_keep_equal``),
    the left and right cells of the upper and lower row, interleaved into two vectors of each row.
    Stores are whole except at the plane's end: what a row's last vectors write past its end lands
    on cells written after them (the lower row's start, the next rows, an odd last column or row,
    zeroed last).
    """
    lanes = vector_lanes(grad_plane)
    chunks = (out_width + lanes - 1) // lanes
    for out_row in range(out_height):
        upper = 2 * out_row * width
        lower = upper + width
        # Right to left: only the last, partial chunk overruns its rows, and then onto the lower
        # row's start and the next rows, all written after it.
        for chunk in range(chunks - 1, -1, -1):
            first = chunk * lanes
            count = min(lanes, out_width - first)
            position = out_row * out_width + first
            column = 2 * first
            grad = vector_load_first_whole(grad_plane, position, count)
            upper_left = vector_keep_equal(grad, index_plane, position, count, upper + column, 2)
            upper_right = vector_keep_equal(grad, index_plane, position, count, upper + column + 1, 2)
            lower_left = vector_keep_equal(grad, index_plane, position, count, lower + column, 2)
            lower_right = vector_keep_equal(grad, index_plane, position, count, lower + column + 1, 2)
            # A gradient whose index lies outside its block is kept in none of the four: their
            # sum is then 0, not the gradient (a zero one would change nothing; a NaN fails too).
            kept = vector_add(vector_add(upper_left, upper_right), vector_add(lower_left, lower_right))
            if not vector_equal(kept, grad):
                return False
            store_interleaved(grad_x_plane, upper + column, upper_left, upper_right, count)
            store_interleaved(grad_x_plane, lower + column, lower_left, lower_right, count)
        if width % 2 == 1:  # the odd last column lies in no window
            grad_x_plane[lower - 1] = 0.0
            grad_x_plane[lower + width - 1] = 0.0
    grad_x_plane[2 * out_height * width:] = 0.0  # an odd last row lies in no window
    return True


@serial_kernel
def window_divisor(row_start, row_stop, column_start, column_stop, kernel_h, kernel_w,
                   count_include_pad):
    """kernel_h*kernel_w, or the in-bounds count of the window when padding is not counted.

    With floor-mode output sizes and padding <= kernel/2 no window reaches past the padding, so
    the padded window always holds kernel_h*kernel_w cells: PyTorch's divisor.
    """
    if count_include_pad:
        return kernel_h * kernel_w
    return (row_stop - row_start) * (column_stop - column_start)


@serial_kernel
def avg_pool_plane(x, n, c, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
                   count_include_pad, out):
    """out[n, c, oh, ow] = sum of x[n, c] over the window / window_divisor."""
    height, width = x.shape[2], x.shape[3]
    for oh in range(out.shape[2]):
        row_start, row_stop = window_bounds(oh, stride_h, pad_h, kernel_h, height)
        for ow in range(out.shape[3]):
            column_start, column_stop = window_bounds(ow, stride_w, pad_w, kernel_w, width)
            total = 0.0
            for row in range(row_start, row_stop):
                for column in range(column_start, column_stop):
                    total += x[n, c, row, column]
            out[n, c, oh, ow] = total / window_divisor(row_start, row_stop, column_start,
                                                       column_stop, kernel_h, kernel_w,
                                                       count_include_pad)


@cpu_kernel
def avg_pool2d_forward(x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
                       count_include_pad, out):
    """out[n, c, oh, ow] = sum over the window of x[n, c] / window_divisor."""
    batch, channels = x.shape[0], x.shape[1]
    two_by_two = is_two_by_two(kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w)
    for plane in prange(batch * channels):
        n, c = plane // channels, plane % channels
        if two_by_two:
            for oh in range(out.shape[2]):
                for ow in range(out.shape[3]):
                    out[n, c, oh, ow] = 0.25 * (
                        x[n, c, 2 * oh, 2 * ow] + x[n, c, 2 * oh, 2 * ow + 1]
                        + x[n, c, 2 * oh + 1, 2 * ow] + x[n, c, 2 * oh + 1, 2 * ow + 1])
        else:
            avg_pool_plane(x, n, c, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
                           count_include_pad, out)


@serial_kernel
def avg_pool_plane_backward(grad_out, n, c, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
                            count_include_pad, grad_x):
    """grad_x[n, c] = 0, then += grad_out[n, c, oh, ow] / window_divisor over every window."""
    height, width = grad_x.shape[2], grad_x.shape[3]
    grad_x[n, c, :, :] = 0.0
    for oh in range(grad_out.shape[2]):
        row_start, row_stop = window_bounds(oh, stride_h, pad_h, kernel_h, height)
        for ow in range(grad_out.shape[3]):
            column_start, column_stop = window_bounds(ow, stride_w, pad_w, kernel_w, width)
            share = grad_out[n, c, oh, ow] / window_divisor(row_start, row_stop, column_start,
                                                            column_stop, kernel_h, kernel_w,
                                                            count_include_pad)
            for row in range(row_start, row_stop):
                for column in range(column_start, column_stop):
                    grad_x[n, c, row, column] += share


@cpu_kernel
def avg_pool2d_backward(grad_out, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
                        count_include_pad, grad_x):
    """grad_x[n, c, cell] = sum over the windows holding it of grad_out[n, c, oh, ow] / divisor."""
    batch, channels = grad_x.shape[0], grad_x.shape[1]
    out_height, out_width = grad_out.shape[2], grad_out.shape[3]
    two_by_two = is_two_by_two(kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w)
    for plane in prange(batch * channels):
        n, c = plane // channels, plane % channels
        if two_by_two:
            # Every cell lies in at most one window, so it is written once, never accumulated.
            for oh in range(out_height):
                for ow in range(out_width):
                    share = 0.25 * grad_out[n, c, oh, ow]
                    grad_x[n, c, 2 * oh, 2 * ow] = share
                    grad_x[n, c, 2 * oh, 2 * ow + 1] = share
                    grad_x[n, c, 2 * oh + 1, 2 * ow] = share
                    grad_x[n, c, 2 * oh + 1, 2 * ow + 1] = share
            # An odd last row or column lies in no window.
            grad_x[n, c, 2 * out_height:, :] = 0.0
            grad_x[n, c, :, 2 * out_width:] = 0.0
        else:
            avg_pool_plane_backward(grad_out, n, c, kernel_h, kernel_w, stride_h, stride_w,
                                    pad_h, pad_w, count_include_pad, grad_x)
