"""Convolution sums as matrix products over packed strips (implicit im2col), for many channels.

Both kernels are the matmul module's blocked scheme with its packing step replaced by an im2col
gather: the column matrix is never stored whole, each strip of it is gathered straight into the
layout the matmul's 4 x 4 ``micro_kernel`` streams (no separate im2col pass, no second copy).

- ``gemm_correlate`` (forward, and the transposed convolution of the input gradient):
  ``out (R, positions) = weights (R, K) @ columns (K, positions)``. The input is channels-last
  (N, rows, columns, C), so the K = KH * KW * C taps of one output position are KH * KW runs of C
  contiguous channels: a strip of four positions packs with ``KH * KW`` short copies per line,
  then meets every packed weight strip while it sits in L1, a depth slab of whole runs
  (``SLAB_BYTES`` per line) at a time.
- ``gemm_correlate_gradients`` (weight gradient): ``grad_weight (R, K) = grad (R, n t) @ columns
  (n t, K)``, the shared dimension running over images and wide positions t (see conv2d.py). On
  the channels-first wide grid each tap's line of an image is one contiguous run of the padded
  plane, so the im2col is a copy per tap and image, slab by slab of whole images.
"""
import numpy as np
from numba import prange

from .matmul import TILE_COLUMNS, TILE_ROWS, VECTOR_BYTES, micro_kernel, round_up, store_tile
from .preset import cpu_kernel, serial_kernel

# Output positions per parallel task of ``gemm_correlate``, in strips of TILE_COLUMNS: 196
# positions of a 14 x 14 image make 7 tasks, so a batch of one still fills both cores.
STRIPS_PER_TASK = 8
# Wide positions per slab of the weight gradient's shared dimension (whole images, at least one):
# a packed tap strip (4 lines) stays in L1 and the packed gradient strips in L2.
SLAB_POSITIONS = 1024
# Taps per depth slab of ``gemm_correlate`` (4 KiB lines, as the matmul's slabs): one slab of a
# packed strip stays in L1 beside the weight strip streaming past it.
SLAB_BYTES = 4096


@cpu_kernel
def spread_pixels(source, top, left, row_step, column_step, padded):
    """The channels-last twin of ``spread_planes``: ``padded[n, top + i * row_step, left + j *
    column_step, c] = source[n, c, i, j]``, zero elsewhere."""
    batch, channels, height, width = source.shape
    padded_height, padded_width = padded.shape[1], padded.shape[2]
    for task in prange(batch * padded_height):
        n = task // padded_height
        row = task % padded_height
        target = padded[n, row]
        target[:, :] = 0
        # The source row that lands here, if any: row = top + i * row_step.
        i = (row - top) // row_step
        if row - top >= 0 and (row - top) % row_step == 0 and i < height:
            for j in range(width):
                column = left + j * column_step
                if 0 <= column < padded_width:
                    for c in range(channels):
                        target[column, c] = source[n, c, i, j]


@serial_kernel
def pack_line(image, start, run_offsets, run_length, line):
    """Copy the taps of one output position into ``line``: the run of ``run_length`` channels at
    ``image[start + run_offsets[r]]`` for every kernel position r, in order."""
    for run in range(run_offsets.shape[0]):
        source = image[start + run_offsets[run]:start + run_offsets[run] + run_length]
        target = line[run * run_length:(run + 1) * run_length]
        for index in range(run_length):
            target[index] = source[index]


@serial_kernel
def position_start(position, out_width, padded_width, row_step, column_step, run_length):
    """Where the window of a (flattened) output position starts in a channels-last image."""
    return ((position // out_width) * row_step * padded_width
            + (position % out_width) * column_step) * run_length


@cpu_kernel
def gemm_correlate(padded, packed_weights, bias, run_offsets, run_length, out_width, padded_width,
                   row_step, column_step, out):
    """The same sums as ``correlate_planes`` as an implicit matrix product ``weights (R, K) @
    columns (K, positions)`` over a channels-last ``padded`` (N, flattened rows, columns and
    channels), the columns packed strip by strip and never stored whole.

    ``packed_weights`` is (depth slabs, R strips, TILE_ROWS, slab depth): taps in (p, q, c)
    order, each slab a whole number of runs, zero past R and past each slab's taps; ``out`` is
    (N, R, positions).
    """
    batch, rows, positions = out.shape
    slabs, row_strips, slab_depth = (packed_weights.shape[0], packed_weights.shape[1],
                                     packed_weights.shape[3])
    runs_per_slab = (run_offsets.shape[0] + slabs - 1) // slabs
    position_strips = (positions + TILE_COLUMNS - 1) // TILE_COLUMNS
    blocks = (position_strips + STRIPS_PER_TASK - 1) // STRIPS_PER_TASK
    for task in prange(batch * blocks):
        n = task // blocks
        first_strip = (task % blocks) * STRIPS_PER_TASK
        image = padded[n]
        # Zeroed once: the padded taps past each slab's runs stay zero and add nothing.
        strip = np.zeros((slabs, TILE_COLUMNS, slab_depth), out.dtype)
        sums = np.empty((row_strips, TILE_ROWS * TILE_COLUMNS), out.dtype)
        for position_strip in range(first_strip, min(first_strip + STRIPS_PER_TASK,
                                                     position_strips)):
            first_position = position_strip * TILE_COLUMNS
            # Pack: the taps of four output positions as contiguous lines, slab by slab (past
            # the last position, the last one again; its products are not stored).
            for line in range(TILE_COLUMNS):
                position = min(first_position + line, positions - 1)
                start = position_start(position, out_width, padded_width, row_step, column_step,
                                       run_length)
                for slab in range(slabs):
                    pack_line(image, start,
                              run_offsets[slab * runs_per_slab:(slab + 1) * runs_per_slab],
                              run_length, strip[slab, line])
            # Multiply: every weight strip against this strip, a slab at a time so that the
            # slab of the strip stays in L1 while the packed weights stream from L2.
            for slab in range(slabs):
                for row_strip in range(row_strips):
                    tile = micro_kernel(packed_weights[slab, row_strip], strip[slab], slab_depth)
                    for element in range(TILE_ROWS * TILE_COLUMNS):
                        if slab == 0:
                            sums[row_strip, element] = tile[element]
                        else:
                            sums[row_strip, element] += tile[element]
            # Store the in-bounds part of the tiles, plus the bias.
            column_count = min(TILE_COLUMNS, positions - first_position)
            for row in range(rows):
                row_bias = bias[row]
                row_sums = sums[row // TILE_ROWS]
                out_row = out[n, row, first_position:]
                for column in range(column_count):
                    out_row[column] = row_bias + row_sums[(row % TILE_ROWS) * TILE_COLUMNS
                                                          + column]


@cpu_kernel
def gemm_correlate_gradients(padded, grad_wide, offsets, length, grad_weight):
    """``grad_weight[r, k] = sum_n sum_t grad_wide[n, r, t] * padded[n, offsets[k] + t]`` for
    ``t < length``, as a blocked matrix product over the shared dimension (n, t).

    That dimension goes in slabs of whole images (about ``SLAB_POSITIONS`` wide positions): each
    slab packs the gradient rows and the tap runs (the im2col, one contiguous copy per tap and
    image thanks to the wide grid) into strips, then accumulates every 4 x 4 tile of
    ``grad_weight`` with the matmul's micro-kernel. ``padded`` is (N, flattened planes),
    ``grad_wide`` (N, R, wide length), ``grad_weight`` (R, K); all C-contiguous.
    """
    batch, rows = grad_wide.shape[0], grad_wide.shape[1]
    taps = grad_weight.shape[1]
    chunk = max(1, SLAB_POSITIONS // length)
    vector = VECTOR_BYTES // grad_wide.itemsize
    row_strips = (rows + TILE_ROWS - 1) // TILE_ROWS
    tap_strips = (taps + TILE_COLUMNS - 1) // TILE_COLUMNS
    largest_depth = round_up(min(chunk, batch) * length, vector)
    grad_packed = np.zeros((row_strips, TILE_ROWS, largest_depth), grad_wide.dtype)
    columns_packed = np.zeros((tap_strips, TILE_COLUMNS, largest_depth), grad_wide.dtype)
    grad_weight[:, :] = 0
    for first_image in range(0, batch, chunk):
        images = min(chunk, batch - first_image)
        depth = images * length
        slab_depth = round_up(depth, vector)
        # Pack A: each gradient row, the slab's images end to end; lines past the last row
        # stay zero.
        for row_strip in prange(row_strips):
            for line in range(min(TILE_ROWS, rows - row_strip * TILE_ROWS)):
                target = grad_packed[row_strip, line]
                for image in range(images):
                    target[image * length:(image + 1) * length] = grad_wide[
                        first_image + image, row_strip * TILE_ROWS + line, :length]
                target[depth:slab_depth] = 0
        # Pack B (the im2col): each tap's run of every image of the slab, end to end.
        for tap_strip in prange(tap_strips):
            for line in range(min(TILE_COLUMNS, taps - tap_strip * TILE_COLUMNS)):
                target = columns_packed[tap_strip, line]
                offset = offsets[tap_strip * TILE_COLUMNS + line]
                for image in range(images):
                    target[image * length:(image + 1) * length] = padded[
                        first_image + image, offset:offset + length]
                target[depth:slab_depth] = 0
        # Multiply: each task owns a strip of taps (one writer per sum); its packed lines stay in
        # L1 while the gradient strips stream from L2.
        for tap_strip in prange(tap_strips):
            columns_strip = columns_packed[tap_strip]
            for row_strip in range(row_strips):
                tile = micro_kernel(grad_packed[row_strip], columns_strip, slab_depth)
                store_tile(tile, grad_weight, row_strip * TILE_ROWS, tap_strip * TILE_COLUMNS,
                           True)
