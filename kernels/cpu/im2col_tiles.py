"""The register tiles of the implicit-GEMM convolution (im2col.py): the matmul's outer-product tile
with A gathered, never packed: row i of a tile reads ``image[base_i + index[step]]``.

- ``gather_tile``: ``OUTER_TILE_ROWS`` rows x 2 vectors (8 rows, sixteen accumulators, with 32
  vector registers; 6 rows, twelve, with 16), the rank-1 update of each step two vector loads of
  the packed B, a gathered scalar per row and two fused multiply-adds per row;
  ``gather_half_tile`` the same on four rows (``gather_narrow_tile``: one vector wide, for a
  last column strip of at most a vector), and ``gather_strip`` runs a strip of rows across every
  column strip, stored (or added) into a (rows, columns) output (the weight gradient's tile);
- ``gather_strip_planes``: the same strips plus the bias, stored straight into NCHW planes;
- the forward's row tiles, where there are 32 vector registers, are in ``im2col_row_tiles.py``.

Rows past the last output position or tap repeat the last one (their products are not
stored); a last strip of at most four rows takes a 4-row tile (``gather_half_tile``: 196
positions are 24 1/2 eight-row strips). Rows a target's tile does not have sit behind
conditions on the tile constants, which are compile-time constants: LLVM drops those rows and
their registers. Columns past the last channel are zero in B and masked off when
stored. Positions as rows (rather than channels as rows, with the patches packed as B) needs no
im2col copy at all, and 32 or 64 channels fill whole column strips.
"""
import numpy as np

from .matmul import HALF_TILE_ROWS, OUTER_TILE_ROWS, store_vector_tile
from .preset import serial_kernel
from .simd import vector_fma, vector_lanes, vector_load, vector_load_first, vector_zero
from .simd_lanes import store_columns


@serial_kernel
def gather_tile(image, base0, base1, base2, base3, base4, base5, base6, base7, index, depth,
                period, period_first, period_stop, row_period, row_first, row_stop, b_strip, start_low, start_high):
    """The outer-product register tile on a gathered A: the accumulators (row i's pair ``c{i}0,
    c{i}1``) of an ``OUTER_TILE_ROWS`` x 2-vector tile of ``start + a @ b`` (rows 6 and 7 left at
    their start on a 6-row target), each row's pair starting from
    ``(start_low, start_high)``, where ``a[i, step] = image[base_i + index[step]]`` and
    ``b_strip[step * width + j]`` is packed as in the matmul. ``index`` is unsigned (no
    negative-index wraparound in the loop).

    The steps summed are, in each ``period`` of the ``depth``, steps ``period_first`` to
    ``period_stop``, and of those, in each ``row_period``, steps ``row_first`` to ``row_stop``
    (every step: ``depth, depth, 0, depth, depth, 0, depth``): the weight gradient's steps are
    its images' positions (an image a period, an output row a row period), and its taps of a
    kernel position that reads the zero border above, below, left or right of the image skip
    those output rows and columns in every image (``im2col.gather_correlate_gradients``)."""
    lanes = vector_lanes(b_strip)
    width = 2 * lanes
    line0 = image[base0:]
    line1 = image[base1:]
    line2 = image[base2:]
    line3 = image[base3:]
    line4 = image[base4:]
    line5 = image[base5:]
    line6 = image[base6:]
    line7 = image[base7:]
    c00 = c10 = c20 = c30 = c40 = c50 = c60 = c70 = start_low
    c01 = c11 = c21 = c31 = c41 = c51 = c61 = c71 = start_high
    for period_start in range(0, depth, max(period, 1)):
        for row_start in range(period_start + period_first, min(period_start + period_stop, depth),
                               max(row_period, 1)):
            for step in range(row_start + row_first, min(row_start + row_stop, depth)):
                k = index[step]
                b0 = vector_load(b_strip, step * width)
                b1 = vector_load(b_strip, step * width + lanes)
                a = line0[k]
                c00 = vector_fma(c00, a, b0)
                c01 = vector_fma(c01, a, b1)
                a = line1[k]
                c10 = vector_fma(c10, a, b0)
                c11 = vector_fma(c11, a, b1)
                a = line2[k]
                c20 = vector_fma(c20, a, b0)
                c21 = vector_fma(c21, a, b1)
                a = line3[k]
                c30 = vector_fma(c30, a, b0)
                c31 = vector_fma(c31, a, b1)
                a = line4[k]
                c40 = vector_fma(c40, a, b0)
                c41 = vector_fma(c41, a, b1)
                a = line5[k]
                c50 = vector_fma(c50, a, b0)
                c51 = vector_fma(c51, a, b1)
                if OUTER_TILE_ROWS > 6:
                    a = line6[k]
                    c60 = vector_fma(c60, a, b0)
                    c61 = vector_fma(c61, a, b1)
                    a = line7[k]
                    c70 = vector_fma(c70, a, b0)
                    c71 = vector_fma(c71, a, b1)
    return (c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71)


@serial_kernel
def gather_half_tile(image, base0, base1, base2, base3, index, depth, period, period_first,
                     period_stop, row_period, row_first, row_stop, b_strip, start_low, start_high):
    """``gather_tile`` on four rows, for a last strip of at most four: eight accumulators still
    cover the FMA latency, and the strip costs half the work of a padded eight-row one (196
    positions are 24 1/2 strips)."""
    lanes = vector_lanes(b_strip)
    width = 2 * lanes
    line0 = image[base0:]
    line1 = image[base1:]
    line2 = image[base2:]
    line3 = image[base3:]
    c00 = c10 = c20 = c30 = start_low
    c01 = c11 = c21 = c31 = start_high
    for period_start in range(0, depth, max(period, 1)):
        for row_start in range(period_start + period_first, min(period_start + period_stop, depth),
                               max(row_period, 1)):
            for step in range(row_start + row_first, min(row_start + row_stop, depth)):
                k = index[step]
                b0 = vector_load(b_strip, step * width)
                b1 = vector_load(b_strip, step * width + lanes)
                a = line0[k]
                c00 = vector_fma(c00, a, b0)
                c01 = vector_fma(c01, a, b1)
                a = line1[k]
                c10 = vector_fma(c10, a, b0)
                c11 = vector_fma(c11, a, b1)
                a = line2[k]
                c20 = vector_fma(c20, a, b0)
                c21 = vector_fma(c21, a, b1)
                a = line3[k]
                c30 = vector_fma(c30, a, b0)
                c31 = vector_fma(c31, a, b1)
    return (c00, c01, c10, c11, c20, c21, c30, c31)


@serial_kernel
def gather_narrow_tile(image, base0, base1, base2, base3, base4, base5, base6, base7, index, depth,
                       period, period_first, period_stop, row_period, row_first, row_stop, b_strip, start):
    """``gather_tile`` one vector wide, for a last column strip of at most one vector of columns (16
    output channels on AVX-512, where the 2-vector tile multiplies zeros half the time):
    ``OUTER_TILE_ROWS`` accumulators from ``start``, one B load per step."""
    lanes = vector_lanes(b_strip)
    width = 2 * lanes
    line0 = image[base0:]
    line1 = image[base1:]
    line2 = image[base2:]
    line3 = image[base3:]
    line4 = image[base4:]
    line5 = image[base5:]
    line6 = image[base6:]
    line7 = image[base7:]
    c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = start
    for period_start in range(0, depth, max(period, 1)):
        for row_start in range(period_start + period_first, min(period_start + period_stop, depth),
                               max(row_period, 1)):
            for step in range(row_start + row_first, min(row_start + row_stop, depth)):
                k = index[step]
                b0 = vector_load(b_strip, step * width)
                c0 = vector_fma(c0, line0[k], b0)
                c1 = vector_fma(c1, line1[k], b0)
                c2 = vector_fma(c2, line2[k], b0)
                c3 = vector_fma(c3, line3[k], b0)
                c4 = vector_fma(c4, line4[k], b0)
                c5 = vector_fma(c5, line5[k], b0)
                if OUTER_TILE_ROWS > 6:
                    c6 = vector_fma(c6, line6[k], b0)
                    c7 = vector_fma(c7, line7[k], b0)
    return (c0, c1, c2, c3, c4, c5, c6, c7)


@serial_kernel
def gather_strip(image, bases, first, count, index, depth, period, period_first, period_stop,
                 row_period, row_first, row_stop, b_packed, out, first_row, accumulate):
    """Every column strip of the strip whose rows gather from ``bases[first:first +
    OUTER_TILE_ROWS]`` (the last base repeated past ``count``), over the steps the period
    arguments name (``gather_tile``), from zero into rows ``first_row`` on of out (``+=`` when
    accumulating): rows past out's end and columns past its width are dropped.

    The tiles are called and stored here rather than through a compiled helper each: every level
    of helpers makes LLVM compile all the code under it once more (a cold start paid about 2 s
    for such a level on Zen 3)."""
    last = first + count - 1
    base0 = bases[first]
    base1 = bases[min(first + 1, last)]
    base2 = bases[min(first + 2, last)]
    base3 = bases[min(first + 3, last)]
    base4 = bases[min(first + 4, last)]
    base5 = bases[min(first + 5, last)]
    base6 = bases[min(first + 6, last)]
    base7 = bases[min(first + 7, last)]
    width = 2 * vector_lanes(b_packed)
    zero = vector_zero(b_packed)
    for column_strip in range(b_packed.shape[0]):
        b_strip = b_packed[column_strip]
        first_column = column_strip * width
        if count > HALF_TILE_ROWS and out.shape[1] - first_column <= width // 2:
            # One vector wide; the second vector of each row is past out's last column (masked off).
            c0, c1, c2, c3, c4, c5, c6, c7 = gather_narrow_tile(
                image, base0, base1, base2, base3, base4, base5, base6, base7, index, depth, period,
                period_first, period_stop, row_period, row_first, row_stop, b_strip, zero)
            store_vector_tile(out, first_row, first_column, min(OUTER_TILE_ROWS, out.shape[0] - first_row),
                              accumulate, c0, zero, c1, zero, c2, zero, c3, zero,
                              c4, zero, c5, zero, c6, zero, c7, zero)
        elif count <= HALF_TILE_ROWS:
            c00, c01, c10, c11, c20, c21, c30, c31 = gather_half_tile(
                image, base0, base1, base2, base3, index, depth, period, period_first, period_stop,
                row_period, row_first, row_stop, b_strip, zero, zero)
            # Rows 4 to 7 do not exist: the row count keeps them from being stored.
            store_vector_tile(out, first_row, first_column, min(HALF_TILE_ROWS, out.shape[0] - first_row),
                              accumulate, c00, c01, c10, c11, c20, c21, c30, c31,
                              zero, zero, zero, zero, zero, zero, zero, zero)
        else:
            (c00, c01, c10, c11, c20, c21, c30, c31,
             c40, c41, c50, c51, c60, c61, c70, c71) = gather_tile(
                image, base0, base1, base2, base3, base4, base5, base6, base7, index, depth, period,
                period_first, period_stop, row_period, row_first, row_stop, b_strip, zero, zero)
            store_vector_tile(out, first_row, first_column, min(OUTER_TILE_ROWS, out.shape[0] - first_row),
                              accumulate, c00, c01, c10, c11, c20, c21, c30, c31,
                              c40, c41, c50, c51, c60, c61, c70, c71)


@serial_kernel
def gather_strip_planes(image, bases, first, count, index, depth, b_packed, first_step, bias, out,
                        offset, pitch, room):
    """``gather_strip`` (rows: the ``count`` output positions from ``first`` on; B's steps from
    ``first_step`` on, ``index`` already starting there) plus ``bias``,
    stored straight into channels-first planes: column r of row i goes to ``out[offset + r *
    pitch + first + i]``, a tile's columns by ``store_columns`` (no (positions, channels) buffer
    to transpose afterwards). The accumulators start from the bias. ``room``: positions after the
    strip that the caller writes later; where they hold a whole 8-lane store's overhang, the
    columns are stored whole (a 6-row strip's runs of 6 were masked stores, microcoded on AMD's
    AVX2 cores)."""
    stored = 8 if count + room >= 8 else count
    last = first + count - 1
    base0 = bases[first]
    base1 = bases[min(first + 1, last)]
    base2 = bases[min(first + 2, last)]
    base3 = bases[min(first + 3, last)]
    base4 = bases[min(first + 4, last)]
    base5 = bases[min(first + 5, last)]
    base6 = bases[min(first + 6, last)]
    base7 = bases[min(first + 7, last)]
    lanes = vector_lanes(b_packed)
    width = 2 * lanes
    channels = bias.shape[0]
    # Every step: periods (depth, 0, depth), the zero an int64 like the weight gradient's. A literal
    # 0 is a type of its own to Numba: each tile compiled a second time for it (2 s of a cold start).
    step_zero = np.int64(0)
    for column_strip in range(b_packed.shape[0]):
        b_strip = b_packed[column_strip][first_step * width:]
        low_column = column_strip * width
        high_column = low_column + lanes
        start_low = vector_load_first(bias, low_column, channels - low_column)
        start_high = vector_load_first(bias, high_column, channels - high_column)
        low_offset = offset + low_column * pitch + first
        high_offset = offset + high_column * pitch + first
        if count > HALF_TILE_ROWS and channels - low_column <= lanes:  # the strip's second vector is empty
            c00, c10, c20, c30, c40, c50, c60, c70 = gather_narrow_tile(
                image, base0, base1, base2, base3, base4, base5, base6, base7, index, depth, depth, step_zero,
                depth, depth, step_zero, depth, b_strip, start_low)
            store_columns(out, low_offset, pitch, stored, channels - low_column,
                          c00, c10, c20, c30, c40, c50, c60, c70)
            continue
        if count <= HALF_TILE_ROWS:
            c00, c01, c10, c11, c20, c21, c30, c31 = gather_half_tile(
                image, base0, base1, base2, base3, index, depth, depth, step_zero, depth, depth, step_zero, depth, b_strip,
                start_low, start_high)
            # Rows past count are masked off (or, with room after the strip, stored and written over
            # later): the last four vectors only fill the eight.
            store_columns(out, low_offset, pitch, stored, channels - low_column,
                          c00, c10, c20, c30, c00, c10, c20, c30)
            store_columns(out, high_offset, pitch, stored, channels - high_column,
                          c01, c11, c21, c31, c01, c11, c21, c31)
            continue
        (c00, c01, c10, c11, c20, c21, c30, c31,
         c40, c41, c50, c51, c60, c61, c70, c71) = gather_tile(image, base0, base1, base2, base3,
                                                               base4, base5, base6, base7, index,
                                                               depth, depth, step_zero, depth, depth, step_zero,
                                                               depth, b_strip, start_low,
                                                               start_high)
        store_columns(out, low_offset, pitch, stored, channels - low_column,
                      c00, c10, c20, c30, c40, c50, c60, c70)
        store_columns(out, high_offset, pitch, stored, channels - high_column,
                      c01, c11, c21, c31, c41, c51, c61, c71)


