"""Adaptive 2-D average and max pooling on NCHW device arrays: the twin of kernels/cpu/adaptive_pool.py.

The same bins: output row ``oh`` of ``OH`` pools rows [floor(oh * H / OH), ceil((oh + 1) * H / OH)),
columns likewise. Threads are numbered in NCHW order, column fastest, so a warp's loads and stores
coalesce along rows. No atomics, so every result is the same bits on every run:

- ``adaptive_average_outputs`` and ``adaptive_max_outputs``: one thread per output element,
  scanning its bin in row-major order (the order that decides max-pooling ties, as on the CPU).
- ``adaptive_average_input_gradients``: one thread per input element, gathering the bins that
  hold it. Row y lies in the bins oh with floor(y * OH / H) <= oh <= ceil((y + 1) * OH / H) - 1
  (from start(oh) <= y < stop(oh)), at most two when OH <= H; columns likewise.
- Global average pooling (output 1x1): ``plane_means`` gives each plane one block, whose threads
  stride over the plane's contiguous H*W values (neighbours read neighbours) and add their partial
  sums in a shared-memory tree, as kernels/cuda/reduction.py does; ``spread_plane_means`` writes
  g / (H*W) with one thread per input element.

Max pooling's backward is kernels/cuda/pool.py's scatter to the recorded indices (the backend
calls it), as on the CPU.
"""
# Integer clipping by `if`, not min() and max(): see kernels/cuda/pool.py.
# ruff: noqa: PLR1730
import math

from numba import cuda, float32, float64, int64

# The entry points the backend calls: the same names and arguments as kernels/cpu/adaptive_pool.py.
__all__ = [  # noqa: RUF022 (the CPU module's order: the parity test compares the lists)
    "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward", "adaptive_max_pool2d_forward",
]

THREADS_PER_BLOCK = 256
WARP_SIZE = 32
MAX_PLANE_THREADS = 256  # also the length of the shared array: a compile-time constant


def blocks_for(size):
    """Enough blocks of THREADS_PER_BLOCK for one thread per element."""
    return math.ceil(size / THREADS_PER_BLOCK)


def threads_for(length):
    """The smallest power of two covering ``length``, between a warp and MAX_PLANE_THREADS."""
    threads = WARP_SIZE
    while threads < length and threads < MAX_PLANE_THREADS:
        threads *= 2
    return threads


@cuda.jit
def adaptive_average_outputs(x, out):
    """out[n, c, oh, ow] = sum of x[n, c] over bin (oh, ow) / its cell count"""
    channels, out_height, out_width = out.shape[1], out.shape[2], out.shape[3]
    height, width = x.shape[2], x.shape[3]
    element = cuda.grid(1)
    if element >= out.size:
        return  # the last block's spare threads
    ow = element % out_width
    oh = (element // out_width) % out_height
    c = (element // (out_width * out_height)) % channels
    n = element // (out_width * out_height * channels)
    row_start = (oh * height) // out_height
    row_stop = ((oh + 1) * height + out_height - 1) // out_height
    column_start = (ow * width) // out_width
    column_stop = ((ow + 1) * width + out_width - 1) // out_width
    total = x.dtype.type(0)
    for row in range(row_start, row_stop):
        for column in range(column_start, column_stop):
            total += x[n, c, row, column]
    # Divide in the array's type: an int64 divisor would promote float32 to float64.
    out[n, c, oh, ow] = total / x.dtype.type((row_stop - row_start) * (column_stop - column_start))


@cuda.jit
def adaptive_average_input_gradients(grad_out, grad_x):
    """grad_x[n, c, y, z] = sum over the bins holding (y, z) of grad_out[n, c, oh, ow] / bin size"""
    channels, height, width = grad_x.shape[1], grad_x.shape[2], grad_x.shape[3]
    out_height, out_width = grad_out.shape[2], grad_out.shape[3]
    element = cuda.grid(1)
    if element >= grad_x.size:
        return
    z = element % width
    y = (element // width) % height
    c = (element // (width * height)) % channels
    n = element // (width * height * channels)
    first_oh = (y * out_height) // height
    last_oh = ((y + 1) * out_height + height - 1) // height - 1
    if last_oh > out_height - 1:
        last_oh = out_height - 1
    first_ow = (z * out_width) // width
    last_ow = ((z + 1) * out_width + width - 1) // width - 1
    if last_ow > out_width - 1:
        last_ow = out_width - 1
    total = grad_x.dtype.type(0)
    for oh in range(first_oh, last_oh + 1):
        rows = ((oh + 1) * height + out_height - 1) // out_height - (oh * height) // out_height
        for ow in range(first_ow, last_ow + 1):
            columns = ((ow + 1) * width + out_width - 1) // out_width - (ow * width) // out_width
            total += grad_out[n, c, oh, ow] / grad_x.dtype.type(rows * columns)
    grad_x[n, c, y, z] = total


@cuda.jit
def adaptive_max_outputs(x, out, indices):
    """out[n, c, oh, ow] = max of x[n, c] over bin (oh, ow), indices = row * W + column of it"""
    channels, out_height, out_width = out.shape[1], out.shape[2], out.shape[3]
    height, width = x.shape[2], x.shape[3]
    element = cuda.grid(1)
    if element >= out.size:
        return
    ow = element % out_width
    oh = (element // out_width) % out_height
    c = (element // (out_width * out_height)) % channels
    n = element // (out_width * out_height * channels)
    row_start = (oh * height) // out_height
    row_stop = ((oh + 1) * height + out_height - 1) // out_height
    column_start = (ow * width) // out_width
    column_stop = ((ow + 1) * width + out_width - 1) // out_width
    best = x[n, c, row_start, column_start]
    best_index = row_start * width + column_start
    for row in range(row_start, row_stop):
        for column in range(column_start, column_stop):
            value = x[n, c, row, column]
            # Strict >: ties keep the first cell in row-major order; a NaN is always taken.
            if value > best or math.isnan(value):
                best = value
                best_index = row * width + column
    out[n, c, oh, ow] = best
    indices[n, c, oh, ow] = best_index


@cuda.jit
def plane_means(planes, out):
    """out[p] = mean of planes[p, :], one block per plane, a shared-memory tree over its threads"""
    partial = cuda.shared.array(MAX_PLANE_THREADS, planes.dtype)
    plane = cuda.blockIdx.x
    thread = cuda.threadIdx.x
    threads = cuda.blockDim.x
    length = planes.shape[1]
    # Each thread's strided run: threads t, t + threads, ...; neighbours read neighbouring values.
    total = planes.dtype.type(0)
    for position in range(thread, length, threads):
        total += planes[plane, position]
    partial[thread] = total
    cuda.syncthreads()
    # The tree: halve the active threads each round, a barrier between rounds.
    active = threads // 2
    while active > 0:
        if thread < active:
            partial[thread] += partial[thread + active]
        cuda.syncthreads()
        active //= 2
    if thread == 0:
        out[plane] = partial[0] / planes.dtype.type(length)


@cuda.jit
def spread_plane_means(grad_out, grad_planes):
    """grad_planes[p, i] = grad_out[p] / length, one thread per element"""
    length = grad_planes.shape[1]
    element = cuda.grid(1)
    if element >= grad_planes.size:
        return
    plane = element // length
    grad_planes[plane, element % length] = grad_out[plane] / grad_planes.dtype.type(length)


def is_global(out_height, out_width, height, width):
    return out_height == 1 and out_width == 1 and height * width > 0


def adaptive_avg_pool2d_forward(x, out):
    """out[n, c, oh, ow] = mean of x[n, c] over bin (oh, ow).  ``x`` contiguous."""
    if out.size == 0:
        return  # a grid of zero blocks is an error, and there is nothing to write
    if is_global(out.shape[2], out.shape[3], x.shape[2], x.shape[3]):
        planes = x.shape[0] * x.shape[1]
        length = x.shape[2] * x.shape[3]
        plane_means[planes, threads_for(length)](x.reshape(planes, length), out.reshape(planes))
    else:
        adaptive_average_outputs[blocks_for(out.size), THREADS_PER_BLOCK](x, out)


def adaptive_avg_pool2d_backward(grad_out, grad_x):
    """grad_x[n, c, cell] = sum over the bins holding the cell of grad_out[n, c, oh, ow] / bin size.
    ``grad_x`` contiguous."""
    if grad_x.size == 0:
        return
    if is_global(grad_out.shape[2], grad_out.shape[3], grad_x.shape[2], grad_x.shape[3]):
        planes = grad_x.shape[0] * grad_x.shape[1]
        spread_plane_means[blocks_for(grad_x.size), THREADS_PER_BLOCK](
            grad_out.reshape(planes), grad_x.reshape(planes, grad_x.shape[2] * grad_x.shape[3]))
    else:
        adaptive_average_input_gradients[blocks_for(grad_x.size), THREADS_PER_BLOCK](grad_out, grad_x)


def adaptive_max_pool2d_forward(x, out, indices):
    """out[n, c, oh, ow] = max of x[n, c] over bin (oh, ow);  indices = row * W + column of it.
    Ties go to the first cell in row-major order; a NaN is always taken, so it propagates."""
    if out.size == 0:
        return
    adaptive_max_outputs[blocks_for(out.size), THREADS_PER_BLOCK](x, out, indices)


# The argument types tests/test_cuda_kernels.py compiles every kernel for (nothing compiles at import).
PTX_SIGNATURES = {
    "adaptive_average_outputs": [(real[:, :, :, :], real[:, :, :, :]) for real in (float32, float64)],
    "adaptive_average_input_gradients": [(real[:, :, :, :], real[:, :, :, :]) for real in (float32, float64)],
    "adaptive_max_outputs": [(real[:, :, :, :], real[:, :, :, :], int64[:, :, :, :])
                             for real in (float32, float64)],
    "plane_means": [(real[:, :], real[:]) for real in (float32, float64)],
    "spread_plane_means": [(real[:], real[:, :]) for real in (float32, float64)],
}
