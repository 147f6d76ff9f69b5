"""Products with few output columns: a 4 x 4 dot-product micro-kernel that LLVM vectorises along k.

``matmul.matmul`` sends here the outputs its outer-product tile would mostly waste:

- fewer than ``matmul.NARROW_COLUMNS`` columns, a's columns contiguous (``a = x.T``):
  ``transposed_narrow_matmul`` computes ``out.T = b.T @ a.T`` as outer products along the
  long, contiguous lines of ``a.T``, chunk by chunk, and transposes each chunk into out;
- fewer columns than one outer-product tile, a's columns not contiguous, where that tile is 32
  columns wide (``matmul.NARROW_PATH``, AVX-512): ``narrow_matmul``, packed 4 x 4 dot-product
  tiles over the whole depth at once, b's few packed columns shared by all rows.

The dot-product tile is plain scalar code: LLVM's loop vectoriser turns each of its sixteen sums
into a vector along k, so it needs none of ``simd.py``'s intrinsics.
"""
import numpy as np
from numba import prange

from .preset import cpu_kernel, serial_kernel
from .simd import VECTOR_BYTES

# Dot-product micro-kernel tile.
TILE_ROWS = 4
TILE_COLUMNS = 4
# Steps per run of the transposing pack (see pack_strips).
TRANSPOSE_RUN = 8
# Output rows per parallel iteration of the transposed narrow path: its (columns, ROW_CHUNK)
# buffer stays in L1, and 784 or 1024 rows still split into enough chunks for both cores.
ROW_CHUNK = 128


@serial_kernel
def round_up(value, multiple):
    return (value + multiple - 1) // multiple * multiple


@serial_kernel
def pack_strips(source, packed, first_strip, strip_count, depth_start, depth_count, padded_depth):
    """Copy lines of ``source`` into ``packed[first_strip:first_strip + strip_count]``.

    Line ``l`` of ``source`` (a row, read from column ``depth_start`` on, ``depth_count`` long)
    goes to ``packed[l // lines_per_strip, l % lines_per_strip, :depth_count]``. Missing lines
    and the padded depth are zeroed.
    """
    lines_per_strip = packed.shape[1]
    line_total = source.shape[0]
    last_strip = first_strip + strip_count
    for strip in range(first_strip, last_strip):
        for line in range(lines_per_strip):
            if strip * lines_per_strip + line >= line_total:
                packed[strip, line, :padded_depth] = 0
            else:
                packed[strip, line, depth_count:padded_depth] = 0
    if source.strides[0] < source.strides[1]:
        # Lines adjacent in memory (b C-contiguous, seen as b.T): a transposing copy, done in
        # short runs of steps so the few source rows each run touches stay in L1.
        for run_start in range(0, depth_count, TRANSPOSE_RUN):
            run_length = min(TRANSPOSE_RUN, depth_count - run_start)
            for strip in range(first_strip, last_strip):
                first_line = strip * lines_per_strip
                for line in range(min(lines_per_strip, line_total - first_line)):
                    source_run = source[first_line + line, depth_start + run_start:]
                    packed_run = packed[strip, line, run_start:]
                    for step in range(run_length):
                        packed_run[step] = source_run[step]
    else:
        for strip in range(first_strip, last_strip):
            first_line = strip * lines_per_strip
            for line in range(min(lines_per_strip, line_total - first_line)):
                # Row views keep index arithmetic out of the copy loop, so LLVM vectorises it.
                source_line = source[first_line + line, depth_start:depth_start + depth_count]
                packed_line = packed[strip, line]
                for step in range(depth_count):
                    packed_line[step] = source_line[step]


@serial_kernel
def micro_kernel(a_strip, b_strip, depth):
    """The ``TILE_ROWS x TILE_COLUMNS`` dot products of two packed strips, as a flat tuple."""
    zero = a_strip.dtype.type(0)
    c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = zero
    c20 = c21 = c22 = c23 = c30 = c31 = c32 = c33 = zero
    for step in range(depth):
        a0 = a_strip[0, step]
        a1 = a_strip[1, step]
        a2 = a_strip[2, step]
        a3 = a_strip[3, step]
        b0 = b_strip[0, step]
        b1 = b_strip[1, step]
        b2 = b_strip[2, step]
        b3 = b_strip[3, step]
        c00 += a0 * b0
        c01 += a0 * b1
        c02 += a0 * b2
        c03 += a0 * b3
        c10 += a1 * b0
        c11 += a1 * b1
        c12 += a1 * b2
        c13 += a1 * b3
        c20 += a2 * b0
        c21 += a2 * b1
        c22 += a2 * b2
        c23 += a2 * b3
        c30 += a3 * b0
        c31 += a3 * b1
        c32 += a3 * b2
        c33 += a3 * b3
    return (c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33)


@serial_kernel
def store_tile(tile, out, first_row, first_column, accumulate):
    """Write (or add) the in-bounds part of a flat tile into ``out``."""
    row_count = min(TILE_ROWS, out.shape[0] - first_row)
    column_count = min(TILE_COLUMNS, out.shape[1] - first_column)
    for row in range(row_count):
        for column in range(column_count):
            value = tile[row * TILE_COLUMNS + column]
            if accumulate:
                out[first_row + row, first_column + column] += value
            else:
                out[first_row + row, first_column + column] = value


@cpu_kernel
def narrow_matmul(a, b, out):
    """``out = a @ b`` for few columns: 4 x 4 dot-product tiles over the whole shared dimension.

    The same packing and micro-kernel as the blocked path, without its depth slabs and output
    blocks: b's few columns (a few KB a thousand steps) are packed once, serially, and each
    parallel iteration packs one row strip of a and computes its tiles, so the whole product
    is one parallel region.
    """
    rows, depth = a.shape
    columns = b.shape[1]
    row_strips = (rows + TILE_ROWS - 1) // TILE_ROWS
    column_strips = (columns + TILE_COLUMNS - 1) // TILE_COLUMNS
    padded_depth = round_up(depth, VECTOR_BYTES // a.itemsize)
    b_packed = np.empty((column_strips, TILE_COLUMNS, padded_depth), a.dtype)
    # Every integer argument of pack_strips an int64 variable: Numba compiles a function anew for
    # each literal it is called with (0, 1) and for the prange index's type (uint64 once the loop
    # is outlined), which made three compiles of it here instead of one.
    zero, one = np.int64(0), np.int64(1)
    pack_strips(b.T, b_packed, zero, column_strips, zero, depth, padded_depth)
    a_packed = np.empty((row_strips, TILE_ROWS, padded_depth), a.dtype)
    for row_strip in prange(row_strips):
        pack_strips(a, a_packed, np.int64(row_strip), one, zero, depth, padded_depth)
        for column_strip in range(column_strips):
            tile = micro_kernel(a_packed[row_strip], b_packed[column_strip], padded_depth)
            store_tile(tile, out, row_strip * TILE_ROWS, column_strip * TILE_COLUMNS, False)


@cpu_kernel
def transposed_narrow_matmul(a, b, out):
    """``out = a @ b`` for few columns when a's columns are contiguous (a = x.T, say).

    Computes ``out.T = b.T @ a.T`` as outer products along out's long columns, which are
    contiguous lines of a.T: no reduction per output element and no packing. Each parallel
    iteration accumulates a chunk of out.T in a small buffer that stays in L1, then transposes it
    into out.
    """
    rows, depth = a.shape
    columns = b.shape[1]
    a_lines = a.T
    chunks = (rows + ROW_CHUNK - 1) // ROW_CHUNK
    chunk_buffers = np.empty((chunks, columns, ROW_CHUNK), out.dtype)
    whole_steps = depth - depth % 4
    for chunk in prange(chunks):
        first_row = chunk * ROW_CHUNK
        last_row = min(first_row + ROW_CHUNK, rows)
        chunk_rows = last_row - first_row
        transposed = chunk_buffers[chunk]
        transposed[:, :chunk_rows] = 0
        # Four steps per pass, so each load and store of the buffer carries four multiply-adds.
        for step in range(0, whole_steps, 4):
            line0 = a_lines[step, first_row:last_row]
            line1 = a_lines[step + 1, first_row:last_row]
            line2 = a_lines[step + 2, first_row:last_row]
            line3 = a_lines[step + 3, first_row:last_row]
            for column in range(columns):
                scale0, scale1 = b[step, column], b[step + 1, column]
                scale2, scale3 = b[step + 2, column], b[step + 3, column]
                transposed_row = transposed[column]
                for row in range(chunk_rows):
                    transposed_row[row] += (scale0 * line0[row] + scale1 * line1[row]
                                            + scale2 * line2[row] + scale3 * line3[row])
        for step in range(whole_steps, depth):
            line = a_lines[step, first_row:last_row]
            for column in range(columns):
                scale = b[step, column]
                transposed_row = transposed[column]
                for row in range(chunk_rows):
                    transposed_row[row] += scale * line[row]
        for row in range(chunk_rows):
            for column in range(columns):
                out[first_row + row, column] = transposed[column, row]
