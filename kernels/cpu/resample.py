"""Separable 2-D resampling of planes: interpolation (nearest, bilinear), reflect and replicate padding,
and their backward passes, all as one kind of map.

Each of these ops moves values along the rows and the columns independently, so it is described by
one sparse map per axis, in compressed rows: output position ``i`` of an axis reads input positions
``source[pointer[i]:pointer[i + 1]]`` with ``weight[...]`` (built on the host by minigrad/ops/resample.py,
where PyTorch's source-index formulas live). Nearest interpolation and the pads read one position
with weight 1 (``gather2d``); bilinear interpolation reads two (``resample2d``). A backward pass is
the same kernel on the transposed maps: input position ``k`` of an axis gathers every output
position that read it. So every kernel is a gather: each output element has one writer, the planes
split over ``prange``, and there is no scatter to race on.

Arrays are (planes, height, width); the backend folds N and C (and any leading axes) into planes.
"""
import numpy as np
from numba import prange

from .preset import cpu_kernel

# The entry points the backend calls; kernels/cuda/resample.py has the same names and arguments.
__all__ = ["gather2d", "resample2d"]


@cpu_kernel
def gather2d(x, row_source, column_source, out):
    """out[p, i, j] = x[p, row_source[i], column_source[j]]"""
    out_height, out_width = out.shape[1], out.shape[2]
    for plane in prange(out.shape[0]):
        for i in range(out_height):
            source_row = row_source[i]
            for j in range(out_width):
                out[plane, i, j] = x[plane, source_row, column_source[j]]


@cpu_kernel
def resample2d(x, row_pointer, row_source, row_weight, column_pointer, column_source, column_weight, out):
    """out[p, i, j] = sum_a row_weight[a] * sum_b column_weight[b] * x[p, row_source[a], column_source[b]]

    (a over row_pointer[i]:row_pointer[i + 1], b over column_pointer[j]:column_pointer[j + 1]). In two
    passes per plane: the sums along the columns for every input row, then the weighted rows of those
    (contiguous, so they vectorize). The row weight multiplies the sum along the columns, which is
    PyTorch's order for bilinear: h0 * (w0 * x00 + w1 * x01) + h1 * (w0 * x10 + w1 * x11).
    """
    height, out_height, out_width = x.shape[1], out.shape[1], out.shape[2]
    for plane in prange(out.shape[0]):
        along_columns = np.empty((height, out_width), dtype=out.dtype)
        for row in range(height):
            for j in range(out_width):
                total = out.dtype.type(0)
                for b in range(column_pointer[j], column_pointer[j + 1]):
                    total += column_weight[b] * x[plane, row, column_source[b]]
                along_columns[row, j] = total
        for i in range(out_height):
            out[plane, i, :] = 0
            for a in range(row_pointer[i], row_pointer[i + 1]):
                weight, source_row = row_weight[a], row_source[a]
                for j in range(out_width):
                    out[plane, i, j] += weight * along_columns[source_row, j]
