"""Matrix product ``out = a @ b`` (and its batched form) as a cache-blocked, register-tiled kernel.

The scheme is GotoBLAS/BLIS blocking with a dot-product micro-kernel, because that is the form LLVM
vectorises from plain Numba code: each of the ``TILE_ROWS x TILE_COLUMNS`` accumulators is a
scalar local (an SSA value, so it lives in a register), and the loop over the shared dimension k
becomes a SIMD loop with one zmm accumulator per output element, reduced once per tile.

For each slab of ``DEPTH_BLOCK_BYTES`` (1024 float32 or 512 float64 steps) of k:

1. pack B: every strip of ``TILE_COLUMNS`` columns of ``b[k0:k1, :]`` is copied into a contiguous
   ``(TILE_COLUMNS, depth)`` block, k fastest, so the micro-kernel streams it with unit stride
   whatever the layout of ``b`` (C, F, strided views: the copy reads through the strides);
2. pack A: the same for strips of ``TILE_ROWS`` rows of ``a``;
3. micro-kernel: the output is cut into ``ROW_BLOCK x COLUMN_BLOCK`` blocks, one per parallel
   iteration, so each output element has one writer. Inside a block, a packed B strip stays in
   L1 (16 KiB) while the block's packed A strips (``ROW_BLOCK`` lines, 512 KiB) stream from L2.

Edge strips are zero-padded to whole tiles and the packed depth to a whole SIMD vector, so the
micro-kernel never branches; padded products land in accumulators that are never stored.

``matmul`` picks one of four paths by shape, so that the skinny products of a training step
(``x @ W``, ``x.T @ grad_y``, ``grad_y @ W.T`` with a few output classes) run as one parallel
region rather than the blocked path's three per slab:

- fewer than ``NARROW_COLUMNS`` output columns, a's columns contiguous (``a = x.T``):
  ``transposed_narrow_matmul`` computes ``out.T = b.T @ a.T`` as outer products along the
  long, contiguous lines of ``a.T``, chunk by chunk, and transposes each chunk into out;
- fewer than ``NARROW_COLUMNS`` output columns otherwise: ``narrow_matmul``, the packed 4 x 4
  dot-product tiles over the whole depth at once, b's few packed columns shared by all rows;
- short shared dimensions (up to ``OUTER_PRODUCT_DEPTH``, no longer than b's rows), where one
  reduction per tile would cost as much as the tile: rank-4 updates accumulated row by row
  (``outer_product_matmul``);
- everything else: the blocked scheme above (``blocked_matmul``).
"""
import numpy as np
from numba import prange

from .preset import cpu_kernel, serial_kernel

TILE_ROWS = 4
TILE_COLUMNS = 4
# Block sizes in bytes of one packed line, so float32 and float64 blocks fill the caches alike.
DEPTH_BLOCK_BYTES = 4096
ROW_BLOCK = 128
COLUMN_BLOCK = 256
# Small problems are cut into at least this many blocks, so both cores (and a few more) get work.
MINIMUM_BLOCKS = 8
# Strips packed per parallel iteration: 8 strips of 4 float32 lines span two 64-byte cache lines.
PACK_GROUP = 8
# Steps per run of the transposing pack (see pack_strips).
TRANSPOSE_RUN = 8
# Shared dimensions up to this length (and no longer than the rows of b) skip packing and use the
# row-by-row outer product: measured faster than 16-wide dot products over so few steps, unless
# the output rows are too short to fill SIMD vectors.
OUTER_PRODUCT_DEPTH = 128
# Outputs with fewer columns than this (one float32 SIMD vector, so blocking along the columns
# fills no vector) take a narrow path: measured faster than the blocked path below it.
NARROW_COLUMNS = 16
# Output rows per parallel iteration of the transposed narrow path: its (columns, ROW_CHUNK)
# buffer stays in L1, and 784 or 1024 rows still split into enough chunks for both cores.
ROW_CHUNK = 128
# Packed depth is padded to a whole SIMD vector (64 bytes: a zmm register).
VECTOR_BYTES = 64


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
def outer_product_matmul(a, b, out):
    """``out = a @ b`` row by row, for a shared dimension too short to amortise packing.

    Each output row accumulates ``a[row, step] * b[step, :]`` in place, vectorised along the
    columns with no per-tile reduction, which is what makes short depths cheap. Steps go four at
    a time so each load and store of the output row carries four multiply-adds.
    """
    rows, depth = a.shape
    columns = b.shape[1]
    # A contiguous copy of b: its rows are then unit-stride vectors whatever b's layout.
    b_rows = np.empty((depth, columns), b.dtype)
    for step in prange(depth):
        for column in range(columns):
            b_rows[step, column] = b[step, column]
    whole_steps = depth - depth % 4
    for row in prange(rows):
        out_row = out[row]
        out_row[:] = 0
        for step in range(0, whole_steps, 4):
            scale0, scale1 = a[row, step], a[row, step + 1]
            scale2, scale3 = a[row, step + 2], a[row, step + 3]
            b_row0, b_row1, b_row2, b_row3 = (b_rows[step], b_rows[step + 1], b_rows[step + 2],
                                              b_rows[step + 3])
            for column in range(columns):
                out_row[column] += (scale0 * b_row0[column] + scale1 * b_row1[column]
                                    + scale2 * b_row2[column] + scale3 * b_row3[column])
        for step in range(whole_steps, depth):
            scale = a[row, step]
            b_row = b_rows[step]
            for column in range(columns):
                out_row[column] += scale * b_row[column]


@cpu_kernel
def blocked_matmul(a, b, out):
    """``out = a @ b`` through packed strips and the register-tiled micro-kernel."""
    rows, depth = a.shape
    columns = b.shape[1]
    row_strips = (rows + TILE_ROWS - 1) // TILE_ROWS
    column_strips = (columns + TILE_COLUMNS - 1) // TILE_COLUMNS
    depth_block = DEPTH_BLOCK_BYTES // a.itemsize
    depth_align = VECTOR_BYTES // a.itemsize
    # One spare vector per packed line: lines a power of two bytes apart (4 KiB for a full
    # float32 slab) would all fall into the same cache sets and evict each other.
    largest_pitch = round_up(min(depth_block, depth), depth_align) + depth_align
    a_buffer = np.empty(row_strips * TILE_ROWS * largest_pitch, a.dtype)
    b_buffer = np.empty(column_strips * TILE_COLUMNS * largest_pitch, a.dtype)
    b_lines = b.T
    # Cache-sized blocks, split further while there are too few to keep every thread busy.
    strips_per_row_block = ROW_BLOCK // TILE_ROWS
    strips_per_column_block = COLUMN_BLOCK // TILE_COLUMNS
    while True:
        row_blocks = (row_strips + strips_per_row_block - 1) // strips_per_row_block
        column_blocks = (column_strips + strips_per_column_block - 1) // strips_per_column_block
        if row_blocks * column_blocks >= MINIMUM_BLOCKS:
            break
        if strips_per_column_block > 1 and column_blocks <= row_blocks:
            strips_per_column_block //= 2
        elif strips_per_row_block > 1:
            strips_per_row_block //= 2
        elif strips_per_column_block > 1:
            strips_per_column_block //= 2
        else:
            break
    b_groups = (column_strips + PACK_GROUP - 1) // PACK_GROUP
    a_groups = (row_strips + PACK_GROUP - 1) // PACK_GROUP
    for depth_start in range(0, depth, depth_block):
        depth_count = min(depth_block, depth - depth_start)
        slab_depth = round_up(depth_count, depth_align)
        pitch = slab_depth + depth_align
        # Reshaped contiguous prefixes: C-contiguous strips are what lets LLVM vectorise.
        a_packed = a_buffer[:row_strips * TILE_ROWS * pitch].reshape((row_strips, TILE_ROWS, pitch))
        b_packed = b_buffer[:column_strips * TILE_COLUMNS * pitch].reshape(
            (column_strips, TILE_COLUMNS, pitch))
        # Pack B: column strips of this depth slab, k contiguous.
        for group in prange(b_groups):
            first_strip = group * PACK_GROUP
            pack_strips(b_lines, b_packed, first_strip, min(PACK_GROUP, column_strips - first_strip),
                        depth_start, depth_count, slab_depth)
        # Pack A: row strips of this depth slab, k contiguous.
        for group in prange(a_groups):
            first_strip = group * PACK_GROUP
            pack_strips(a, a_packed, first_strip, min(PACK_GROUP, row_strips - first_strip),
                        depth_start, depth_count, slab_depth)
        # Micro-kernel over each output block; the first slab assigns, later slabs accumulate.
        accumulate = depth_start > 0
        for block in prange(row_blocks * column_blocks):
            row_block = block // column_blocks
            column_block = block % column_blocks
            first_row_strip = row_block * strips_per_row_block
            last_row_strip = min(first_row_strip + strips_per_row_block, row_strips)
            first_column_strip = column_block * strips_per_column_block
            last_column_strip = min(first_column_strip + strips_per_column_block, column_strips)
            for column_strip in range(first_column_strip, last_column_strip):
                b_strip = b_packed[column_strip]
                for row_strip in range(first_row_strip, last_row_strip):
                    tile = micro_kernel(a_packed[row_strip], b_strip, slab_depth)
                    store_tile(tile, out, row_strip * TILE_ROWS, column_strip * TILE_COLUMNS,
                               accumulate)


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
    pack_strips(b.T, b_packed, 0, column_strips, 0, depth, padded_depth)
    a_packed = np.empty((row_strips, TILE_ROWS, padded_depth), a.dtype)
    for row_strip in prange(row_strips):
        pack_strips(a, a_packed, row_strip, 1, 0, depth, padded_depth)
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


@cpu_kernel
def matmul(a, b, out):
    """``out = a @ b`` for a (M, K), b (K, N) of any layout; out (M, N) C-contiguous.

    Picks a narrow path for few columns, the outer-product path for short shared dimensions,
    the blocked path otherwise (see the module docstring).
    """
    depth = a.shape[1]
    if depth == 0:
        out[:, :] = 0
    elif b.shape[1] < NARROW_COLUMNS:
        if a.strides[0] == a.itemsize:
            transposed_narrow_matmul(a, b, out)
        else:
            narrow_matmul(a, b, out)
    elif depth <= OUTER_PRODUCT_DEPTH and b.shape[1] >= depth:
        outer_product_matmul(a, b, out)
    else:
        blocked_matmul(a, b, out)


def batched_matmul(a, b, out):
    """``out[i] = a[i] @ b[i]`` for a (B, M, K), b (B, K, N) of any layout (batch stride 0 too).

    A Python loop: each batch is already a parallel kernel call (prange does not nest), and a
    cached serial Numba function that calls a parallel one crashes when loaded from the cache.
    """
    for index in range(out.shape[0]):
        matmul(a[index], b[index], out[index])
