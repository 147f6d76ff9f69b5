"""2-D max and average pooling on NCHW arrays, forward and backward.

Every kernel runs one (sample, channel) plane per ``prange`` iteration. Backward passes scatter
into the input plane, and overlapping windows (stride < kernel) add to the same element, so a
plane must belong to a single thread: that is what makes them race-free without atomics.

Padding is symmetric: the window of output (oh, ow) starts at (oh*stride_h - pad_h,
ow*stride_w - pad_w) and is clipped to the plane, so padded cells are never read.

The reference CNN's 2x2 stride-2 unpadded pool has its own loops, written in the kernels rather
than in helpers: with the window size known at compile time they unroll and run several times
faster than the general serial helpers, and a call per plane into a separate function would cost
these memory-bound loops about half their speed again (measured). Its max-pool forward is a
kernel of its own (``max_pool2x2_forward``), chosen in Python: a program using only 2x2 pools
never compiles the general one (0.86 s against 2.1 s for both together, cold, on Zen 3).
"""
import math

from numba import prange

from .preset import cpu_kernel, inlined_kernel, serial_kernel

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
    if is_two_by_two(kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w):
        max_pool2x2_forward(x, out, indices)
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


@cpu_kernel
def max_pool2x2_forward(x, out, indices):
    """``max_pool2d_forward`` for the unpadded 2x2 stride-2 pool, its loops unrolled."""
    batch, channels, width = x.shape[0], x.shape[1], x.shape[3]
    for plane in prange(batch * channels):
        n, c = plane // channels, plane % channels
        for oh in range(out.shape[2]):
            for ow in range(out.shape[3]):
                best = -math.inf
                best_index = 2 * oh * width + 2 * ow
                for row in range(2 * oh, 2 * oh + 2):
                    for column in range(2 * ow, 2 * ow + 2):
                        best, best_index = running_max(x[n, c, row, column],
                                                       row * width + column, best, best_index)
                out[n, c, oh, ow] = best
                indices[n, c, oh, ow] = best_index


@cpu_kernel
def max_pool_general_forward(x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, out,
                             indices):
    """``max_pool2d_forward`` for any geometry, a plane per parallel iteration."""
    batch, channels = x.shape[0], x.shape[1]
    for plane in prange(batch * channels):
        n, c = plane // channels, plane % channels
        max_pool_plane(x, n, c, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, out,
                       indices)


@cpu_kernel
def max_pool2d_backward(grad_out, indices, grad_x):
    """grad_x[n, c].flat[indices[n, c, oh, ow]] += grad_out[n, c, oh, ow];  zero elsewhere."""
    batch, channels, width = grad_x.shape[0], grad_x.shape[1], grad_x.shape[3]
    out_height, out_width = grad_out.shape[2], grad_out.shape[3]
    for plane in prange(batch * channels):
        n, c = plane // channels, plane % channels
        grad_x[n, c, :, :] = 0.0
        for oh in range(out_height):
            for ow in range(out_width):
                index = indices[n, c, oh, ow]
                grad_x[n, c, index // width, index % width] += grad_out[n, c, oh, ow]


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
