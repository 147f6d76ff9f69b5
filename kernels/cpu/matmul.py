"""Matrix product ``out = a @ b`` (and its batched form) as cache-blocked, register-tiled kernels.

The main path (``blocked_matmul``) is GotoBLAS/BLIS blocking around an outer-product micro-kernel:
an ``OUTER_TILE_ROWS x OUTER_TILE_VECTORS`` tile of out stays in registers for a whole slab of
the shared dimension k, and each step adds a rank-1 update, ``tile[i, :] += a[i, k] * b[k, :]``:
two vector loads of b and a broadcast of a per row feed two fused multiply-adds per row, with no
reduction at the end. The tile is sized for the target's register file, as BLIS has one
micro-kernel shape per architecture: 8 rows x 2 vectors (16 accumulators) where there are 32
vector registers (AVX-512: 8 x 32 float32; NEON), 6 x 2 (12 accumulators, BLIS's Haswell sgemm
shape) where there are 16 (AVX2: 6 x 16 float32; SSE), so that accumulators, the two b vectors
and a broadcast fit without spills.

Plain Numba code cannot hold a SIMD vector in a variable, and LLVM's SLP vectoriser, which could
build one from scalar accumulators, is off in Numba (the loop vectoriser instead vectorises such
a loop along k, the dot-product form of matmul_narrow.py's paths). So the few intrinsics
of ``simd.py`` emit the LLVM vector operations; the kernels calling them are plain code.

The product is two parallel regions:

1. pack A: each strip of ``OUTER_TILE_ROWS`` rows of ``a``, over the whole depth, in step-major
   order (``[step, row]``), so each step's values are adjacent; the copy reads through a's
   strides, so any layout works, and a is the small operand of the products that matter;
2. one part per thread, of output columns (of rows too when there are fewer column strips than
   threads), so every output element has one writer and the threads get equal shares. For each
   panel of column strips (at most ``PANEL_BYTES``) and each slab of k, the part packs B,
   the panel's strips of ``b[k0:k1]`` in ``[step, column]`` order (512 KiB at most, so it stays in
   L2), then runs the micro-kernel over each of its row strips (the packed A slab stays in L1)
   and each column strip of the panel. The first slab stores the tile, later slabs add to out.

No layout needs a transposing copy of a large operand through memory: b is read along its
contiguous direction, row pieces when its rows are contiguous (``x @ W``, ``grad_y @ W``), by
lanes x lanes blocks transposed in registers when its columns are (``x @ W.T``), one cache-sized panel
at a time. Edge strips are zero-padded; edge tiles are stored with masked stores, so only
in-bounds elements are written, and padded products land in lanes that are never stored.

Outputs narrower than one vector of columns (a softmax regression's 10 classes), and, on
AVX-512, outputs narrower than one tile whose a is packed by plain copies, take the narrow paths
of ``matmul_narrow.py`` instead (``matmul`` below chooses).
"""
import numba
import numpy as np
from numba import prange, types

from .matmul_narrow import narrow_matmul, transposed_narrow_matmul
from .preset import cpu_kernel, inlined_kernel, serial_kernel
from .simd import (
    VECTOR_BYTES,
    contiguous_row,
    thread_count,
    vector_add,
    vector_fma,
    vector_lanes,
    vector_load,
    vector_load_first,
    vector_store,
    vector_store_first,
    vector_zero,
)
from .simd_lanes import transpose_block
from .target import REGISTER_COUNT

# The entry points the backend calls; kernels/cuda/matmul.py has the same names and arguments.
__all__ = ["matmul", "batched_matmul"]

# Outputs with fewer columns than this (one float32 SIMD vector) and a's columns contiguous take
# the transposed narrow path.
NARROW_COLUMNS = 16
# Outputs narrower than one outer-product tile, a's columns not contiguous, take the narrow
# dot-product path where the tile is 32 float32 columns wide (AVX-512), which measured faster.
# Where it is 16 (AVX2) the blocked path measured as fast (100x1024 @ 1024x10: 57.9 against 57.2
# us; 100x784 @ 784x10: 45.4 against 42.6; 1024x100 @ 100x10: 49.4 against 67.4), and leaving
# the narrow path out there saves its compile (3.9 s of the reference CNN's first step).
NARROW_PATH = VECTOR_BYTES == 64
# Outer-product micro-kernel tile, rows by 2 vectors. With 32 registers (AVX-512), 8 rows: 16
# accumulators measured at the FMA peak in L1; 4 x 2 and 4 x 4 were slower, 6 x 3, 8 x 3 and
# 12 x 2 no faster and a worse fit for 100-row batches and 32-multiple widths. With 16 (AVX2),
# 6 rows: 12 accumulators, 2 b vectors and a broadcast; 8 rows spilled (32 ymm halves of zmm
# accumulators, or 16 ymm ones plus operands, need more than 16 registers).
OUTER_TILE_ROWS = 8 if REGISTER_COUNT >= 32 else 6
OUTER_TILE_VECTORS = 2
# The smaller tile a last strip of few rows takes (the convolutions' tiles).
HALF_TILE_ROWS = 4
# Longest slab of k per packed panel (slabs are evened out). Each micro-kernel call runs a slab
# and then stores (or adds) its tile: 512 steps against 256 took the linear layer's x @ W.T
# (100x3136 @ 3136x1024) and g @ W about 5% faster single-threaded (Zen 4), the square products
# alike (one-slab calls of 64, 128, 242 and 512 steps: 89, 99, 106 and 109 GFLOP/s).
OUTER_DEPTH_BLOCK = 512
# A packed panel holds at most PANEL_BYTES (half of L2), as many column strips as fit at the
# slab's depth and at most MAX_COLUMN_CHUNK: 8 strips of a 512-step slab, 16 of 256. Each packed
# A strip is reused from L1 across a panel's strips, so wider panels read A less often: 16
# measured faster than 8 or 4 at 2048 x 2048 with 256-step slabs. Half of L2 by the target's ISA
# (part of Numba's cache key, as a cached kernel's constants must be): the AVX-512 cores have 1
# MiB or more (Zen 4, Intel's server cores), AMD's AVX2 cores 512 KiB (Zen 2, Zen 3), where
# 512 KiB panels filled L2 (16 strips of 32 KiB at a 512-step slab).
PANEL_BYTES = (512 if VECTOR_BYTES == 64 else 256) * 1024
MAX_COLUMN_CHUNK = 16

# --- outer-product path -------------------------------------------------------------------------

@serial_kernel
def outer_micro_kernel(a_strip, b_strip, depth, out, first_row, first_column, accumulate):
    """Write (or add) the product of a packed A strip and a packed B strip into out.

    ``a_strip[step * OUTER_TILE_ROWS + i]`` holds ``a[first_row + i, step]``; ``b_strip[step *
    width + j]`` holds ``b[step, first_column + j]`` (``width`` = 2 vectors). The rows x 2 vector
    tile ``cij`` (row i, vector j) stays in registers for all ``depth`` steps; only its in-bounds
    part is written. Rows 6 and 7 exist where ``OUTER_TILE_ROWS`` is 8: the condition is a
    compile-time constant, and LLVM drops them (and their registers) elsewhere.
    """
    lanes = vector_lanes(b_strip)  # a compile-time constant (a run-time width costs a register)
    width = 2 * lanes
    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = vector_zero(b_strip)
    c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = vector_zero(b_strip)
    for step in range(depth):
        b0 = vector_load(b_strip, step * width)
        b1 = vector_load(b_strip, step * width + lanes)
        a_step = a_strip[step * OUTER_TILE_ROWS:]
        c00 = vector_fma(c00, a_step[0], b0)
        c01 = vector_fma(c01, a_step[0], b1)
        c10 = vector_fma(c10, a_step[1], b0)
        c11 = vector_fma(c11, a_step[1], b1)
        c20 = vector_fma(c20, a_step[2], b0)
        c21 = vector_fma(c21, a_step[2], b1)
        c30 = vector_fma(c30, a_step[3], b0)
        c31 = vector_fma(c31, a_step[3], b1)
        c40 = vector_fma(c40, a_step[4], b0)
        c41 = vector_fma(c41, a_step[4], b1)
        c50 = vector_fma(c50, a_step[5], b0)
        c51 = vector_fma(c51, a_step[5], b1)
        if OUTER_TILE_ROWS > 6:
            c60 = vector_fma(c60, a_step[6], b0)
            c61 = vector_fma(c61, a_step[6], b1)
            c70 = vector_fma(c70, a_step[7], b0)
            c71 = vector_fma(c71, a_step[7], b1)
    store_vector_tile(out, first_row, first_column, min(OUTER_TILE_ROWS, out.shape[0] - first_row),
                      accumulate, c00, c01, c10, c11, c20, c21, c30, c31,
                      c40, c41, c50, c51, c60, c61, c70, c71)


@inlined_kernel
def store_vector_tile(out, first_row, first_column, row_count, accumulate, c00, c01, c10, c11,
                      c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71):
    """Write (or add) the first ``row_count`` rows (at most 8) of a register tile of 2-vector rows
    ``cij`` (row i, vector j) into out at (first_row, first_column); columns past out's width are
    masked off. Shared by every register tile of the outer-product scheme (matmul's, im2col's
    gathered ones); a tile of fewer rows passes any vectors for the rest."""
    column_count = min(2 * vector_lanes(out), out.shape[1] - first_column)
    store_row(out[first_row], first_column, c00, c01, column_count, accumulate)
    if row_count > 1:
        store_row(out[first_row + 1], first_column, c10, c11, column_count, accumulate)
    if row_count > 2:
        store_row(out[first_row + 2], first_column, c20, c21, column_count, accumulate)
    if row_count > 3:
        store_row(out[first_row + 3], first_column, c30, c31, column_count, accumulate)
    if row_count > 4:
        store_row(out[first_row + 4], first_column, c40, c41, column_count, accumulate)
    if row_count > 5:
        store_row(out[first_row + 5], first_column, c50, c51, column_count, accumulate)
    if row_count > 6:
        store_row(out[first_row + 6], first_column, c60, c61, column_count, accumulate)
    if row_count > 7:
        store_row(out[first_row + 7], first_column, c70, c71, column_count, accumulate)


@serial_kernel
def store_row(line, column, low, high, count, accumulate):
    """``line[column:column + count] = (low, high)[:count]``, or ``+=`` when accumulating."""
    lanes = VECTOR_BYTES // line.itemsize
    if count == 2 * lanes:
        if accumulate:
            low = vector_add(low, vector_load(line, column))
            high = vector_add(high, vector_load(line, column + lanes))
        vector_store(line, column, low)
        vector_store(line, column + lanes, high)
    else:
        if accumulate:
            low = vector_add(low, vector_load_first(line, column, count))
            high = vector_add(high, vector_load_first(line, column + lanes, count - lanes))
        vector_store_first(line, column, low, count)
        vector_store_first(line, column + lanes, high, count - lanes)


@serial_kernel
def pack_row_strip(a, packed, first_row):
    """``packed[step * OUTER_TILE_ROWS + i] = a[first_row + i, step]`` for every step; zeros past
    a's rows.

    Where a's rows are contiguous, a vector holds at least the strip's rows and at most twice
    that, and ``lanes`` rows from ``first_row`` lie inside a, the steps go by blocks of ``lanes``
    through ``transpose_block``: it reads ``lanes`` rows (those past the strip's are read and
    dropped) and stores each step's column as a whole vector ``OUTER_TILE_ROWS`` apart, so a
    column's lanes past the strip's rows land on the next step's first places, which that step's
    store then overwrites (stores keep their program order where they overlap). The blocks stop
    before the last step, whose spill would leave the strip, and the rest is copied element by
    element, as is every step of a strip that does not qualify. Element by element, the copy of
    a softmax regression's 100 x 784 batch took as long as its product with the 784 x 10 weight
    (30 us each, single-threaded, Zen 3); by blocks, that product takes 17% less time (26.8
    against 22.4 GFLOP/s), 1024^3 and x @ W.T 1.6% less (minimum of 11, single-threaded, Zen 3,
    float32). Not on AVX-512 (16 lanes, 8 rows), where it is unmeasured, nor where a vector holds
    fewer elements than the strip has rows (float64 on AVX2, SSE, NEON).
    """
    lanes = vector_lanes(packed)
    row_count = min(OUTER_TILE_ROWS, a.shape[0] - first_row)
    depth = a.shape[1]
    vector_steps = 0
    if (VECTOR_BYTES < 64 and OUTER_TILE_ROWS <= lanes <= 2 * OUTER_TILE_ROWS
            and first_row + lanes <= a.shape[0] and a.strides[1] == a.itemsize):
        vector_steps = (depth - 1) // lanes * lanes
        for step in range(0, vector_steps, lanes):
            transpose_block(a, first_row, step, packed, step * OUTER_TILE_ROWS, OUTER_TILE_ROWS)
    for step in range(vector_steps, depth):
        line = packed[step * OUTER_TILE_ROWS:(step + 1) * OUTER_TILE_ROWS]
        for row in range(row_count):
            line[row] = a[first_row + row, step]
        for row in range(row_count, OUTER_TILE_ROWS):
            line[row] = 0


@serial_kernel
def pack_row_pieces(source, panel, offset, first_column, strip_count):
    """``panel[s, offset + j] = source[first_column + s * width + j]``, zeros past its end: one
    step of B's row-contiguous pack, by vectors."""
    lanes = vector_lanes(panel)
    width = OUTER_TILE_VECTORS * lanes
    for strip in range(strip_count):
        column = first_column + strip * width
        count = source.shape[0] - column
        strip_line = panel[strip]
        if count >= width:
            vector_store(strip_line, offset, vector_load(source, column))
            vector_store(strip_line, offset + lanes, vector_load(source, column + lanes))
        else:
            vector_store(strip_line, offset, vector_load_first(source, column, count))
            vector_store(strip_line, offset + lanes,
                         vector_load_first(source, column + lanes, count - lanes))


@serial_kernel
def pack_column_panel(b, panel, depth_start, depth_count, first_strip, strip_count):
    """``panel[s, step * width + j] = b[depth_start + step, (first_strip + s) * width + j]``.

    Columns past b's last are zeroed. Reads follow b's contiguous direction: along its rows
    when they are contiguous (a plain copy, by vectors), else along the rows of b.T (a
    transposing copy whose writes, one strip at a time, stay in L1). ``matmul`` hands over a b
    with one of the two contiguous.
    """
    lanes = VECTOR_BYTES // b.itemsize
    width = OUTER_TILE_VECTORS * lanes
    first_column = first_strip * width
    if b.strides[1] == b.itemsize:
        # b is typed "any layout" (any_layout): its rows typed contiguous, so that their loads
        # skip the per-load stride test (5% of a square product's time).
        for step in range(depth_count):
            pack_row_pieces(contiguous_row(b, depth_start + step), panel, step * width,
                            first_column, strip_count)
    else:
        # b's columns are its contiguous lines: transposed by blocks of lanes x lanes through
        # registers, the steps past the last whole block and an edge strip element by element.
        lines = b.T
        block_steps = depth_count - depth_count % lanes
        for strip in range(strip_count):
            column = first_column + strip * width
            count = min(width, b.shape[1] - column)
            strip_line = panel[strip]
            first_scalar_step = 0
            if count == width:
                for step in range(0, block_steps, lanes):
                    transpose_block(lines, column, depth_start + step, strip_line, step * width,
                                    width)
                    transpose_block(lines, column + lanes, depth_start + step, strip_line,
                                    step * width + lanes, width)
                first_scalar_step = block_steps
            for index in range(count):
                source = lines[column + index, depth_start:]
                for step in range(first_scalar_step, depth_count):
                    strip_line[step * width + index] = source[step]
            for index in range(count, width):
                for step in range(depth_count):
                    strip_line[step * width + index] = 0


@cpu_kernel
def blocked_matmul(a, b, out):
    """``out = a @ b`` through packed panels and the outer-product micro-kernel (module doc)."""
    rows, depth = a.shape
    columns = b.shape[1]
    width = OUTER_TILE_VECTORS * (VECTOR_BYTES // a.itemsize)
    row_strips = (rows + OUTER_TILE_ROWS - 1) // OUTER_TILE_ROWS
    column_strips = (columns + width - 1) // width
    a_packed = np.empty((row_strips, depth * OUTER_TILE_ROWS), a.dtype)
    for strip in prange(row_strips):
        pack_row_strip(a, a_packed[strip], strip * OUTER_TILE_ROWS)
    # One part per thread (prange hands each thread an equal run of iterations): column ranges,
    # which repeat no work; row ranges too when there are fewer column strips than threads (each
    # such part then packs the same few B strips).
    threads = thread_count()
    column_parts = min(threads, column_strips)
    row_parts = min(row_strips, (threads + column_parts - 1) // column_parts)
    parts = row_parts * column_parts
    largest_part = (column_strips + column_parts - 1) // column_parts
    # Even slabs: no short last slab.
    slabs = (depth + OUTER_DEPTH_BLOCK - 1) // OUTER_DEPTH_BLOCK
    slab = (depth + slabs - 1) // slabs
    # As many column strips per panel as fit PANEL_BYTES (L2's half) at this slab's depth.
    column_chunk = max(1, min(MAX_COLUMN_CHUNK, PANEL_BYTES // (slab * width * a.itemsize)))
    largest_chunk = min(column_chunk, largest_part)
    panels = np.empty((parts, largest_chunk, slab * width), a.dtype)
    for part in prange(parts):
        row_part = part // column_parts
        column_part = part % column_parts
        first_row_strip = row_part * row_strips // row_parts
        last_row_strip = (row_part + 1) * row_strips // row_parts
        part_first = column_part * column_strips // column_parts
        part_strips = (column_part + 1) * column_strips // column_parts - part_first
        chunks = (part_strips + column_chunk - 1) // column_chunk
        panel = panels[part]
        for chunk in range(chunks):
            first_column_strip = part_first + chunk * part_strips // chunks
            last_column_strip = part_first + (chunk + 1) * part_strips // chunks
            for depth_start in range(0, depth, slab):
                depth_count = min(slab, depth - depth_start)
                pack_column_panel(b, panel, depth_start, depth_count, first_column_strip,
                                  last_column_strip - first_column_strip)
                for row_strip in range(first_row_strip, last_row_strip):
                    a_slab = a_packed[row_strip, depth_start * OUTER_TILE_ROWS:
                                      (depth_start + depth_count) * OUTER_TILE_ROWS]
                    for strip in range(first_column_strip, last_column_strip):
                        outer_micro_kernel(a_slab, panel[strip - first_column_strip], depth_count,
                                           out, row_strip * OUTER_TILE_ROWS, strip * width,
                                           depth_start > 0)


# (kernel, dtype) -> its entry point for arrays of any layout (any_layout).
_ANY_LAYOUT_ENTRY_POINTS = {}


def any_layout(kernel, dtype):
    """``kernel(a, b, out)`` compiled once per dtype for a and b of any layout (out C-contiguous).

    Numba compiles a function anew for each combination of array layouts (C, F, strided) it is
    called with, together with everything it calls: a linear layer's three products (``x @ W.T``,
    ``g @ W``, ``g.T @ x``) cost three compiles of the blocked path, about 4 s each on a 2-core
    Zen 3. The blocked and narrow paths read a and b only in their packing, through the strides
    whatever the layout, and compute on their own packed copies, so one compile for Numba's "any
    layout" ('A') serves every call; Numba's entry point for it takes arrays of any layout of that
    dtype. (The transposed narrow path computes on a directly and keeps its per-layout compiles:
    its inner loops need a's lines typed contiguous to vectorise.)
    """
    key = (kernel, dtype)
    entry_point = _ANY_LAYOUT_ENTRY_POINTS.get(key)
    if entry_point is None:
        element = numba.from_dtype(dtype)
        # a and b of any layout; out always C-contiguous (its stores then skip a stride test).
        entry_point = kernel.compile((types.Array(element, 2, "A"), types.Array(element, 2, "A"),
                                      types.Array(element, 2, "C")))
        _ANY_LAYOUT_ENTRY_POINTS[key] = entry_point
    return entry_point


def matmul(a, b, out):
    """``out = a @ b`` for a (M, K), b (K, N) of any layout, out (M, N) C-contiguous, one dtype.

    A narrow path for few columns, the blocked outer-product path otherwise (see the module
    docstring). The choice is made here in Python, not in a Numba function: Numba compiles a
    function once per combination of array layouts, with everything it calls, so a compiled
    chooser compiled all three paths for each of the three layouts a linear layer uses (about
    9 s each, cold); chosen here, each path compiles only when it is reached, once per dtype
    (``any_layout``).
    """
    depth = a.shape[1]
    columns = b.shape[1]
    columns_contiguous = a.strides[0] == a.itemsize
    if b.itemsize not in (b.strides[0], b.strides[1]):
        # Neither rows nor columns contiguous (b[:, ::2], say): one copy here, so that the blocked
        # path packs b by one of its two contiguous directions and compiles no third way.
        b = np.ascontiguousarray(b)
    if out.size == 0:
        return  # no rows or no columns: nothing to write (the blocked path would split 0 strips)
    if depth == 0:
        out[:, :] = 0
    elif columns < NARROW_COLUMNS and columns_contiguous:
        transposed_narrow_matmul(a, b, out)
    elif (NARROW_PATH and columns < OUTER_TILE_VECTORS * VECTOR_BYTES // a.itemsize
          and not columns_contiguous):
        # Less than one strip of the outer-product tile (fewer than 32 float32 columns on
        # AVX-512): measured faster than the blocked path when a's pack is not a transposing one.
        any_layout(narrow_matmul, a.dtype)(a, b, out)
    else:
        any_layout(blocked_matmul, a.dtype)(a, b, out)


def batched_matmul(a, b, out):
    """``out[i] = a[i] @ b[i]`` for a (B, M, K), b (B, K, N) of any layout (batch stride 0 too).

    A Python loop: each batch is already a parallel kernel call (prange does not nest), and a
    cached serial Numba function that calls a parallel one crashes when loaded from the cache.
    """
    for index in range(out.shape[0]):
        matmul(a[index], b[index], out[index])
