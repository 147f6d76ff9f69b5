"""2-D max and average pooling on NCHW device arrays, forward and backward.

The same contracts as kernels/cpu/pool.py: the window of output (oh, ow) starts at
(oh * stride_h - pad_h, ow * stride_w - pad_w) and is clipped to the plane, so padded cells are
never read. Every thread is numbered in NCHW order, column fastest, so a warp covers neighbouring
columns of one row and its loads and stores coalesce. No shared memory, no atomics:

- ``max_pool_outputs`` and ``average_pool_outputs``: one thread per output element, scanning its
  window in row-major order (the order that decides ties, as on the CPU).
- ``average_pool_input_gradients``: one thread per input element, gathering the windows that
  contain it (rows ``oh`` with ``oh * stride_h - pad_h <= y < oh * stride_h - pad_h + kernel_h``,
  columns likewise) in (oh, ow) order; overlapping windows (stride < kernel) need no atomics,
  because each input element has one writer.
- max pooling's backward takes only ``grad_out``, ``indices`` and ``grad_x`` (the CPU contract):
  without the window geometry a thread per input element cannot tell which windows hold it,
  short of scanning the whole output plane. So ``clear_planes`` zeroes grad_x (one thread per
  element), then ``scatter_max_gradients`` gives each (n, c) plane to one thread, which adds
  every output's gradient at its recorded index in (oh, ow) order, exactly as the CPU kernel
  does: overlapping windows that picked the same cell add up, race-free and in a fixed order.

Performance, expected rather than measured (there is no GPU here), on an H100 for the reference
CNN's 2x2 stride-2 pools at batch 100 (100 x 32 x 28 x 28 and 100 x 64 x 14 x 14, float32):
the forwards and the average backward read and write each element about once, so they are
bound by memory bandwidth: 10-20 MB at about 3 TB/s, under 10 µs each plus launch. The max
backward's scatter has only 3,200 (then 6,400) threads, one per plane, each doing 196 (then 49)
dependent index-load, gradient-load, add, store steps: latency-bound, tens to a couple of
hundred µs, the slow one here. With the geometry passed in (a contract change for the backend),
it would become the average backward's gather: one thread per input element, testing at most
ceil(kernel / stride)^2 windows' indices, memory-bound like the others.
"""
# The kernels clip by `if` rather than by min() and max(): on integers those compile through a
# device function that asks the driver for the GPU's compute capability, so the PTX test fails
# on a machine without a GPU.
# ruff: noqa: PLR1730
import math

from numba import boolean, cuda, float32, float64, int64

# The entry points the backend calls: the same names and arguments as kernels/cpu/pool.py.
__all__ = [  # noqa: RUF022 (the CPU module's order: the parity test compares the lists)
    "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward",
]

THREADS_PER_BLOCK = 256


def blocks_for(size):
    """Enough blocks of THREADS_PER_BLOCK for one thread per element."""
    return math.ceil(size / THREADS_PER_BLOCK)


@cuda.jit
def max_pool_outputs(x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, out, indices):
    """out[n, c, oh, ow] = max of x[n, c] over the window, indices = row * W + column of it"""
    channels, out_height, out_width = out.shape[1], out.shape[2], out.shape[3]
    height, width = x.shape[2], x.shape[3]
    element = cuda.grid(1)
    if element >= out.size:
        return  # the last block's spare threads
    ow = element % out_width
    oh = (element // out_width) % out_height
    c = (element // (out_width * out_height)) % channels
    n = element // (out_width * out_height * channels)
    # The window.
    row_start = oh * stride_h - pad_h
    row_stop = row_start + kernel_h
    column_start = ow * stride_w - pad_w
    column_stop = column_start + kernel_w
    # Clipped to the plane (by `if`, not min and max: see the comment above the imports).
    if row_start < 0:
        row_start = 0
    if row_stop > height:
        row_stop = height
    if column_start < 0:
        column_start = 0
    if column_stop > width:
        column_stop = width
    best = x.dtype.type(-math.inf)
    # An all -inf window still reports an in-bounds element, as the CPU kernel (and PyTorch) do.
    best_index = row_start * width + column_start
    for row in range(row_start, row_stop):
        for column in range(column_start, column_stop):
            value = x[n, c, row, column]
            # Strict >: ties keep the first cell in row-major order. A NaN is always taken, so
            # it propagates (and the last NaN of the window is the one reported, as on the CPU).
            if value > best or math.isnan(value):
                best = value
                best_index = row * width + column
    out[n, c, oh, ow] = best
    indices[n, c, oh, ow] = best_index


@cuda.jit
def clear_planes(grad_x):
    """grad_x = 0"""
    channels, height, width = grad_x.shape[1], grad_x.shape[2], grad_x.shape[3]
    element = cuda.grid(1)
    if element >= grad_x.size:
        return
    column = element % width
    row = (element // width) % height
    c = (element // (width * height)) % channels
    n = element // (width * height * channels)
    grad_x[n, c, row, column] = 0


@cuda.jit
def scatter_max_gradients(grad_out, indices, grad_x):
    """grad_x[n, c].flat[indices[n, c, oh, ow]] += grad_out[n, c, oh, ow], one thread per plane"""
    batch, channels, out_height, out_width = grad_out.shape
    width = grad_x.shape[3]
    plane = cuda.grid(1)
    if plane >= batch * channels:
        return
    n = plane // channels
    c = plane % channels
    # This thread is the plane's only writer: overlapping windows that picked the same cell add
    # up one after the other, in (oh, ow) order.
    for oh in range(out_height):
        for ow in range(out_width):
            index = indices[n, c, oh, ow]
            grad_x[n, c, index // width, index % width] += grad_out[n, c, oh, ow]


@cuda.jit
def average_pool_outputs(x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
                         count_include_pad, out):
    """out[n, c, oh, ow] = sum of x[n, c] over the window / (kernel_h * kernel_w, or the in-bounds
    count when count_include_pad is false)"""
    channels, out_height, out_width = out.shape[1], out.shape[2], out.shape[3]
    height, width = x.shape[2], x.shape[3]
    element = cuda.grid(1)
    if element >= out.size:
        return
    ow = element % out_width
    oh = (element // out_width) % out_height
    c = (element // (out_width * out_height)) % channels
    n = element // (out_width * out_height * channels)
    row_start = oh * stride_h - pad_h
    row_stop = row_start + kernel_h
    column_start = ow * stride_w - pad_w
    column_stop = column_start + kernel_w
    # Clipped to the plane (by `if`: see the comment above the imports).
    if row_start < 0:
        row_start = 0
    if row_stop > height:
        row_stop = height
    if column_start < 0:
        column_start = 0
    if column_stop > width:
        column_stop = width
    total = x.dtype.type(0)
    for row in range(row_start, row_stop):
        for column in range(column_start, column_stop):
            total += x[n, c, row, column]
    if count_include_pad:
        divisor = kernel_h * kernel_w
    else:
        divisor = (row_stop - row_start) * (column_stop - column_start)
    # Divide in the array's type: an int64 divisor would promote float32 to float64.
    out[n, c, oh, ow] = total / x.dtype.type(divisor)


@cuda.jit
def average_pool_input_gradients(grad_out, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
                                 count_include_pad, grad_x):
    """grad_x[n, c, y, z] = sum over the windows holding (y, z) of grad_out[n, c, oh, ow] / divisor"""
    channels, height, width = grad_x.shape[1], grad_x.shape[2], grad_x.shape[3]
    out_height, out_width = grad_out.shape[2], grad_out.shape[3]
    element = cuda.grid(1)
    if element >= grad_x.size:
        return
    z = element % width
    y = (element // width) % height
    c = (element // (width * height)) % channels
    n = element // (width * height * channels)
    # Windows holding row y: oh * stride_h - pad_h <= y < oh * stride_h - pad_h + kernel_h.
    # The first one is found without dividing a negative number, whose rounding would need care.
    first_oh = 0 if y + pad_h < kernel_h else (y + pad_h - kernel_h) // stride_h + 1
    last_oh = (y + pad_h) // stride_h
    if last_oh > out_height - 1:
        last_oh = out_height - 1
    first_ow = 0 if z + pad_w < kernel_w else (z + pad_w - kernel_w) // stride_w + 1
    last_ow = (z + pad_w) // stride_w
    if last_ow > out_width - 1:
        last_ow = out_width - 1
    total = grad_x.dtype.type(0)
    for oh in range(first_oh, last_oh + 1):
        # The window's rows clipped to the plane (by `if`: see the comment above the imports).
        row_start = oh * stride_h - pad_h
        row_stop = row_start + kernel_h
        if row_start < 0:
            row_start = 0
        if row_stop > height:
            row_stop = height
        for ow in range(first_ow, last_ow + 1):
            column_start = ow * stride_w - pad_w
            column_stop = column_start + kernel_w
            if column_start < 0:
                column_start = 0
            if column_stop > width:
                column_stop = width
            if count_include_pad:
                divisor = kernel_h * kernel_w
            else:
                divisor = (row_stop - row_start) * (column_stop - column_start)
            total += grad_out[n, c, oh, ow] / grad_x.dtype.type(divisor)
    grad_x[n, c, y, z] = total


def window_geometry(kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w):
    """The six geometry scalars as Python ints: the kernels then compile once, for int64."""
    return (int(kernel_h), int(kernel_w), int(stride_h), int(stride_w), int(pad_h), int(pad_w))


def max_pool2d_forward(x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, out, indices):
    """out[n, c, oh, ow] = max over the window of x[n, c];  indices = row * W + column of that max.

    Ties go to the first element in row-major window order; a NaN is always taken, so it
    propagates. Padding is -inf and never chosen.
    """
    if out.size == 0:
        return  # a grid of zero blocks is an error, and there is nothing to write
    max_pool_outputs[blocks_for(out.size), THREADS_PER_BLOCK](
        x, *window_geometry(kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w), out, indices)


def max_pool2d_backward(grad_out, indices, grad_x):
    """grad_x[n, c].flat[indices[n, c, oh, ow]] += grad_out[n, c, oh, ow];  zero elsewhere."""
    if grad_x.size == 0:
        return
    clear_planes[blocks_for(grad_x.size), THREADS_PER_BLOCK](grad_x)
    planes = grad_out.shape[0] * grad_out.shape[1]
    if grad_out.size == 0:
        return  # no window: the gradient is all zeros
    # Launched after clear_planes on the same stream, so it adds onto zeros.
    scatter_max_gradients[blocks_for(planes), THREADS_PER_BLOCK](grad_out, indices, grad_x)


def avg_pool2d_forward(x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
                       count_include_pad, out):
    """out[n, c, oh, ow] = sum over the window of x[n, c] / divisor (kernel_h * kernel_w, or the
    window's in-bounds count when count_include_pad is false)."""
    if out.size == 0:
        return
    average_pool_outputs[blocks_for(out.size), THREADS_PER_BLOCK](
        x, *window_geometry(kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w),
        bool(count_include_pad), out)


def avg_pool2d_backward(grad_out, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
                        count_include_pad, grad_x):
    """grad_x[n, c, cell] = sum over the windows holding it of grad_out[n, c, oh, ow] / divisor."""
    if grad_x.size == 0:
        return
    average_pool_input_gradients[blocks_for(grad_x.size), THREADS_PER_BLOCK](
        grad_out, *window_geometry(kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w),
        bool(count_include_pad), grad_x)


# The argument types tests/test_cuda_kernels.py compiles every kernel for (nothing compiles at
# import): the window geometry is int64, as Python ints are typed, and count_include_pad a bool.
WINDOW_TYPES = (int64,) * 6
PTX_SIGNATURES = {
    "max_pool_outputs": [(real[:, :, :, :], *WINDOW_TYPES, real[:, :, :, :], int64[:, :, :, :])
                         for real in (float32, float64)],
    "clear_planes": [(real[:, :, :, :],) for real in (float32, float64)],
    "scatter_max_gradients": [(real[:, :, :, :], int64[:, :, :, :], real[:, :, :, :])
                              for real in (float32, float64)],
    "average_pool_outputs": [(real[:, :, :, :], *WINDOW_TYPES, boolean, real[:, :, :, :])
                             for real in (float32, float64)],
    "average_pool_input_gradients": [(real[:, :, :, :], *WINDOW_TYPES, boolean, real[:, :, :, :])
                                     for real in (float32, float64)],
}
