"""The forward's row tiles of the implicit-GEMM convolution (im2col.py), where there are 32 vector
registers (AVX-512): ``ROW_TILE`` output positions of one output row at a time, one base pointer.

- ``gather_row_planes``: 14 positions of one output row x 2 vectors (28 accumulators) with one
  base pointer, the forward's tile at unit column stride: the positions of a row sit one element
  apart in the padded image, so the 8-row tile's eight base registers (im2col_tiles.py) are not
  needed, and 14 divides the reference CNN's rows of 14;
- ``gather_row_planes_narrow``: the same one vector wide, for a last column strip of at most one
  vector of channels (16 output channels on AVX-512: the wide tile multiplied zeros half the time).

With 16 registers (AVX2, SSE, NEON) there is no row tile (``ROW_TILE`` 0): 7 rows x 2 vectors
need 17 registers, and LLVM kept the accumulators in memory (conv2 forward 21.7 ms against 11.5
on 6-row strips, AVX2), and fewer rows than 7 do not divide 14. Both tiles store straight into
channels-first planes (``simd_lanes.store_columns``).
"""
import numpy as np

from .preset import serial_kernel
from .simd import vector_fma, vector_lanes, vector_load, vector_load_first
from .simd_lanes import store_columns
from .target import REGISTER_COUNT

# Output positions per tile of the forward's row path (gather_row_planes); 0 where the register
# file is too small for a row tile (see the module docstring).
ROW_TILE = 14 if REGISTER_COUNT >= 32 else 0


@serial_kernel
def gather_row_planes(image, base, index, depth, b_strip, bias, first_column, out, offset, pitch,
                      run_taps, column_skips, tile):
    """A ``ROW_TILE`` x 2-vector tile (output positions of one output row, by two vectors of
    output channels from ``first_column`` on) of ``bias + a @ b``, ``a[i, step] = image[base + i +
    index[step]]``: the positions of an output row at unit column stride sit one element apart in
    the padded image, so one base pointer serves all fourteen rows (the 8-row tile spends a
    register on each), and 14 divides the reference CNN's rows of 14 (no ragged strip). Stored
    straight into channels-first planes, as ``gather_strip_planes``: column r of row i to
    ``out[offset + r * pitch + i]``. 28 accumulators, two B vectors and a broadcast fill the 32
    registers of AVX-512. ``index`` is unsigned, and so are the row numbers added to it (no
    negative-index wraparound in the loop).

    The steps come in runs of ``run_taps`` (the taps ordered by kernel position (p, q, c): a
    run is one kernel column q of one kernel row, every channel), and run r's first
    ``column_skips[r % kernel_width, 0]`` or last ``column_skips[r % kernel_width, 1]`` positions
    (0 to 2, one side only) read nothing but the zero border left or right of the image: each
    run takes a loop written for its positions, without those products (oneDNN skips them
    too). A loop with a test per position measured slower than none (88.7 against 117 GFLOP/s,
    one thread); five loops written out run the 5x5 "same" layer's 8.6% fewer products in 8.2%
    less time.
    """
    lanes = vector_lanes(b_strip)
    width = 2 * lanes
    channels = bias.shape[0]
    kernel_width = column_skips.shape[1]
    low = vector_load_first(bias, first_column, channels - first_column)
    high = vector_load_first(bias, first_column + lanes, channels - first_column - lanes)
    line = image[base:]
    c000 = c010 = c020 = c030 = c040 = c050 = c060 = c070 = c080 = c090 = c100 = c110 = c120 = \
        c130 = low
    c001 = c011 = c021 = c031 = c041 = c051 = c061 = c071 = c081 = c091 = c101 = c111 = c121 = \
        c131 = high
    for run in range(depth // run_taps):
        first = run * run_taps
        stop = first + run_taps
        skip_first = column_skips[tile, run % kernel_width, 0]
        skip_last = column_skips[tile, run % kernel_width, 1]
        if skip_first == 0 and skip_last == 0:
            for step in range(first, stop):
                k = index[step]
                b0 = vector_load(b_strip, step * width)
                b1 = vector_load(b_strip, step * width + lanes)
                a = line[k]
                c000 = vector_fma(c000, a, b0)
                c001 = vector_fma(c001, a, b1)
                a = line[k + np.uint64(1)]
                c010 = vector_fma(c010, a, b0)
                c011 = vector_fma(c011, a, b1)
                a = line[k + np.uint64(2)]
                c020 = vector_fma(c020, a, b0)
                c021 = vector_fma(c021, a, b1)
                a = line[k + np.uint64(3)]
                c030 = vector_fma(c030, a, b0)
                c031 = vector_fma(c031, a, b1)
                a = line[k + np.uint64(4)]
                c040 = vector_fma(c040, a, b0)
                c041 = vector_fma(c041, a, b1)
                a = line[k + np.uint64(5)]
                c050 = vector_fma(c050, a, b0)
                c051 = vector_fma(c051, a, b1)
                a = line[k + np.uint64(6)]
                c060 = vector_fma(c060, a, b0)
                c061 = vector_fma(c061, a, b1)
                a = line[k + np.uint64(7)]
                c070 = vector_fma(c070, a, b0)
                c071 = vector_fma(c071, a, b1)
                a = line[k + np.uint64(8)]
                c080 = vector_fma(c080, a, b0)
                c081 = vector_fma(c081, a, b1)
                a = line[k + np.uint64(9)]
                c090 = vector_fma(c090, a, b0)
                c091 = vector_fma(c091, a, b1)
                a = line[k + np.uint64(10)]
                c100 = vector_fma(c100, a, b0)
                c101 = vector_fma(c101, a, b1)
                a = line[k + np.uint64(11)]
                c110 = vector_fma(c110, a, b0)
                c111 = vector_fma(c111, a, b1)
                a = line[k + np.uint64(12)]
                c120 = vector_fma(c120, a, b0)
                c121 = vector_fma(c121, a, b1)
                a = line[k + np.uint64(13)]
                c130 = vector_fma(c130, a, b0)
                c131 = vector_fma(c131, a, b1)
        elif skip_first == 1:
            for step in range(first, stop):
                k = index[step]
                b0 = vector_load(b_strip, step * width)
                b1 = vector_load(b_strip, step * width + lanes)
                a = line[k + np.uint64(1)]
                c010 = vector_fma(c010, a, b0)
                c011 = vector_fma(c011, a, b1)
                a = line[k + np.uint64(2)]
                c020 = vector_fma(c020, a, b0)
                c021 = vector_fma(c021, a, b1)
                a = line[k + np.uint64(3)]
                c030 = vector_fma(c030, a, b0)
                c031 = vector_fma(c031, a, b1)
                a = line[k + np.uint64(4)]
                c040 = vector_fma(c040, a, b0)
                c041 = vector_fma(c041, a, b1)
                a = line[k + np.uint64(5)]
                c050 = vector_fma(c050, a, b0)
                c051 = vector_fma(c051, a, b1)
                a = line[k + np.uint64(6)]
                c060 = vector_fma(c060, a, b0)
                c061 = vector_fma(c061, a, b1)
                a = line[k + np.uint64(7)]
                c070 = vector_fma(c070, a, b0)
                c071 = vector_fma(c071, a, b1)
                a = line[k + np.uint64(8)]
                c080 = vector_fma(c080, a, b0)
                c081 = vector_fma(c081, a, b1)
                a = line[k + np.uint64(9)]
                c090 = vector_fma(c090, a, b0)
                c091 = vector_fma(c091, a, b1)
                a = line[k + np.uint64(10)]
                c100 = vector_fma(c100, a, b0)
                c101 = vector_fma(c101, a, b1)
                a = line[k + np.uint64(11)]
                c110 = vector_fma(c110, a, b0)
                c111 = vector_fma(c111, a, b1)
                a = line[k + np.uint64(12)]
                c120 = vector_fma(c120, a, b0)
                c121 = vector_fma(c121, a, b1)
                a = line[k + np.uint64(13)]
                c130 = vector_fma(c130, a, b0)
                c131 = vector_fma(c131, a, b1)
        elif skip_first == 2:
            for step in range(first, stop):
                k = index[step]
                b0 = vector_load(b_strip, step * width)
                b1 = vector_load(b_strip, step * width + lanes)
                a = line[k + np.uint64(2)]
                c020 = vector_fma(c020, a, b0)
                c021 = vector_fma(c021, a, b1)
                a = line[k + np.uint64(3)]
                c030 = vector_fma(c030, a, b0)
                c031 = vector_fma(c031, a, b1)
                a = line[k + np.uint64(4)]
                c040 = vector_fma(c040, a, b0)
                c041 = vector_fma(c041, a, b1)
                a = line[k + np.uint64(5)]
                c050 = vector_fma(c050, a, b0)
                c051 = vector_fma(c051, a, b1)
                a = line[k + np.uint64(6)]
                c060 = vector_fma(c060, a, b0)
                c061 = vector_fma(c061, a, b1)
                a = line[k + np.uint64(7)]
                c070 = vector_fma(c070, a, b0)
                c071 = vector_fma(c071, a, b1)
                a = line[k + np.uint64(8)]
                c080 = vector_fma(c080, a, b0)
                c081 = vector_fma(c081, a, b1)
                a = line[k + np.uint64(9)]
                c090 = vector_fma(c090, a, b0)
                c091 = vector_fma(c091, a, b1)
                a = line[k + np.uint64(10)]
                c100 = vector_fma(c100, a, b0)
                c101 = vector_fma(c101, a, b1)
                a = line[k + np.uint64(11)]
                c110 = vector_fma(c110, a, b0)
                c111 = vector_fma(c111, a, b1)
                a = line[k + np.uint64(12)]
                c120 = vector_fma(c120, a, b0)
                c121 = vector_fma(c121, a, b1)
                a = line[k + np.uint64(13)]
                c130 = vector_fma(c130, a, b0)
                c131 = vector_fma(c131, a, b1)
        elif skip_last == 1:
            for step in range(first, stop):
                k = index[step]
                b0 = vector_load(b_strip, step * width)
                b1 = vector_load(b_strip, step * width + lanes)
                a = line[k]
                c000 = vector_fma(c000, a, b0)
                c001 = vector_fma(c001, a, b1)
                a = line[k + np.uint64(1)]
                c010 = vector_fma(c010, a, b0)
                c011 = vector_fma(c011, a, b1)
                a = line[k + np.uint64(2)]
                c020 = vector_fma(c020, a, b0)
                c021 = vector_fma(c021, a, b1)
                a = line[k + np.uint64(3)]
                c030 = vector_fma(c030, a, b0)
                c031 = vector_fma(c031, a, b1)
                a = line[k + np.uint64(4)]
                c040 = vector_fma(c040, a, b0)
                c041 = vector_fma(c041, a, b1)
                a = line[k + np.uint64(5)]
                c050 = vector_fma(c050, a, b0)
                c051 = vector_fma(c051, a, b1)
                a = line[k + np.uint64(6)]
                c060 = vector_fma(c060, a, b0)
                c061 = vector_fma(c061, a, b1)
                a = line[k + np.uint64(7)]
                c070 = vector_fma(c070, a, b0)
                c071 = vector_fma(c071, a, b1)
                a = line[k + np.uint64(8)]
                c080 = vector_fma(c080, a, b0)
                c081 = vector_fma(c081, a, b1)
                a = line[k + np.uint64(9)]
                c090 = vector_fma(c090, a, b0)
                c091 = vector_fma(c091, a, b1)
                a = line[k + np.uint64(10)]
                c100 = vector_fma(c100, a, b0)
                c101 = vector_fma(c101, a, b1)
                a = line[k + np.uint64(11)]
                c110 = vector_fma(c110, a, b0)
                c111 = vector_fma(c111, a, b1)
                a = line[k + np.uint64(12)]
                c120 = vector_fma(c120, a, b0)
                c121 = vector_fma(c121, a, b1)
        else:
            for step in range(first, stop):
                k = index[step]
                b0 = vector_load(b_strip, step * width)
                b1 = vector_load(b_strip, step * width + lanes)
                a = line[k]
                c000 = vector_fma(c000, a, b0)
                c001 = vector_fma(c001, a, b1)
                a = line[k + np.uint64(1)]
                c010 = vector_fma(c010, a, b0)
                c011 = vector_fma(c011, a, b1)
                a = line[k + np.uint64(2)]
                c020 = vector_fma(c020, a, b0)
                c021 = vector_fma(c021, a, b1)
                a = line[k + np.uint64(3)]
                c030 = vector_fma(c030, a, b0)
                c031 = vector_fma(c031, a, b1)
                a = line[k + np.uint64(4)]
                c040 = vector_fma(c040, a, b0)
                c041 = vector_fma(c041, a, b1)
                a = line[k + np.uint64(5)]
                c050 = vector_fma(c050, a, b0)
                c051 = vector_fma(c051, a, b1)
                a = line[k + np.uint64(6)]
                c060 = vector_fma(c060, a, b0)
                c061 = vector_fma(c061, a, b1)
                a = line[k + np.uint64(7)]
                c070 = vector_fma(c070, a, b0)
                c071 = vector_fma(c071, a, b1)
                a = line[k + np.uint64(8)]
                c080 = vector_fma(c080, a, b0)
                c081 = vector_fma(c081, a, b1)
                a = line[k + np.uint64(9)]
                c090 = vector_fma(c090, a, b0)
                c091 = vector_fma(c091, a, b1)
                a = line[k + np.uint64(10)]
                c100 = vector_fma(c100, a, b0)
                c101 = vector_fma(c101, a, b1)
                a = line[k + np.uint64(11)]
                c110 = vector_fma(c110, a, b0)
                c111 = vector_fma(c111, a, b1)
    low_offset = offset + first_column * pitch
    high_offset = low_offset + lanes * pitch
    low_count = channels - first_column
    high_count = low_count - lanes
    store_columns(out, low_offset, pitch, 8, low_count,
                  c000, c010, c020, c030, c040, c050, c060, c070)
    store_columns(out, low_offset + 8, pitch, 6, low_count,
                  c080, c090, c100, c110, c120, c130, c130, c130)
    store_columns(out, high_offset, pitch, 8, high_count,
                  c001, c011, c021, c031, c041, c051, c061, c071)
    store_columns(out, high_offset + 8, pitch, 6, high_count,
                  c081, c091, c101, c111, c121, c131, c131, c131)


@serial_kernel
def gather_row_planes_narrow(image, base, index, depth, b_strip, bias, first_column, out, offset,
                             pitch):
    """``gather_row_planes`` one vector wide: for a column strip whose channels fit in its first
    vector (16 output channels on AVX-512), where the 2-vector tile spends half of its multiply-adds
    on the zero columns of B. 14 accumulators and one B load per step."""
    lanes = vector_lanes(b_strip)
    width = 2 * lanes
    channels = bias.shape[0]
    low = vector_load_first(bias, first_column, channels - first_column)
    line = image[base:]
    c00 = c01 = c02 = c03 = c04 = c05 = c06 = c07 = c08 = c09 = c10 = c11 = c12 = c13 = low
    for step in range(depth):
        k = index[step]
        b0 = vector_load(b_strip, step * width)
        c00 = vector_fma(c00, line[k], b0)
        c01 = vector_fma(c01, line[k + np.uint64(1)], b0)
        c02 = vector_fma(c02, line[k + np.uint64(2)], b0)
        c03 = vector_fma(c03, line[k + np.uint64(3)], b0)
        c04 = vector_fma(c04, line[k + np.uint64(4)], b0)
        c05 = vector_fma(c05, line[k + np.uint64(5)], b0)
        c06 = vector_fma(c06, line[k + np.uint64(6)], b0)
        c07 = vector_fma(c07, line[k + np.uint64(7)], b0)
        c08 = vector_fma(c08, line[k + np.uint64(8)], b0)
        c09 = vector_fma(c09, line[k + np.uint64(9)], b0)
        c10 = vector_fma(c10, line[k + np.uint64(10)], b0)
        c11 = vector_fma(c11, line[k + np.uint64(11)], b0)
        c12 = vector_fma(c12, line[k + np.uint64(12)], b0)
        c13 = vector_fma(c13, line[k + np.uint64(13)], b0)
    low_offset = offset + first_column * pitch
    count = channels - first_column
    store_columns(out, low_offset, pitch, 8, count, c00, c01, c02, c03, c04, c05, c06, c07)
    store_columns(out, low_offset + 8, pitch, 6, count, c08, c09, c10, c11, c12, c13, c13, c13)
