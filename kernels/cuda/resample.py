"""Separable 2-D resampling of device planes: the same contracts as kernels/cpu/resample.py.

One thread per output element, numbered in (plane, row, column) order, column fastest, so a warp
reads and writes neighbouring columns of one row and its loads and stores coalesce. Every kernel is
a gather through the per-axis maps (a backward pass runs on the transposed maps), so each output
element has one writer: no atomics, and the sums run in the same order as on the CPU.
"""
import math

from numba import cuda, float32, float64, int64

# The entry points the backend calls: the same names and arguments as kernels/cpu/resample.py.
__all__ = ["gather2d", "resample2d"]

THREADS_PER_BLOCK = 256


def blocks_for(size):
    """Enough blocks of THREADS_PER_BLOCK for one thread per element."""
    return math.ceil(size / THREADS_PER_BLOCK)


@cuda.jit
def gather_elements(x, row_source, column_source, out):
    """out[p, i, j] = x[p, row_source[i], column_source[j]]"""
    out_height, out_width = out.shape[1], out.shape[2]
    element = cuda.grid(1)
    if element >= out.size:
        return  # the last block's spare threads
    j = element % out_width
    i = (element // out_width) % out_height
    plane = element // (out_width * out_height)
    out[plane, i, j] = x[plane, row_source[i], column_source[j]]


@cuda.jit
def resample_elements(x, row_pointer, row_source, row_weight, column_pointer, column_source, column_weight,
                      out):
    """out[p, i, j] = sum_a row_weight[a] * sum_b column_weight[b] * x[p, row_source[a], column_source[b]]"""
    out_height, out_width = out.shape[1], out.shape[2]
    element = cuda.grid(1)
    if element >= out.size:
        return
    j = element % out_width
    i = (element // out_width) % out_height
    plane = element // (out_width * out_height)
    total = out.dtype.type(0)
    for a in range(row_pointer[i], row_pointer[i + 1]):
        source_row = row_source[a]
        along_row = out.dtype.type(0)
        for b in range(column_pointer[j], column_pointer[j + 1]):
            along_row += column_weight[b] * x[plane, source_row, column_source[b]]
        total += row_weight[a] * along_row
    out[plane, i, j] = total


def gather2d(x, row_source, column_source, out):
    """out[p, i, j] = x[p, row_source[i], column_source[j]]"""
    if out.size == 0:
        return  # a grid of zero blocks is an error, and there is nothing to write
    gather_elements[blocks_for(out.size), THREADS_PER_BLOCK](x, row_source, column_source, out)


def resample2d(x, row_pointer, row_source, row_weight, column_pointer, column_source, column_weight, out):
    """out[p, i, j] = sum over the row map's and column map's entries of weight * weight * x."""
    if out.size == 0:
        return
    resample_elements[blocks_for(out.size), THREADS_PER_BLOCK](
        x, row_pointer, row_source, row_weight, column_pointer, column_source, column_weight, out)


# The argument types tests/test_cuda_kernels.py compiles every kernel for (nothing compiles at import).
PTX_SIGNATURES = {
    "gather_elements": [(real[:, :, :], int64[:], int64[:], real[:, :, :]) for real in (float32, float64)],
    "resample_elements": [(real[:, :, :], int64[:], int64[:], real[:], int64[:], int64[:], real[:], real[:, :, :])
                          for real in (float32, float64)],
}
