"""Convolution sums as implicit matrix products on the matmul's outer-product register tile.

Both drivers run ``outer_micro_kernel``'s scheme (a rows x 2-vector tile of the product in
registers for a whole run of the shared dimension, one rank-1 update per step: two vector loads
of a packed B, a broadcast of A and two fused multiply-adds per row; 8 rows on AVX-512, 6 on
AVX2, matmul.OUTER_TILE_ROWS) with A never packed: its values of a step are read straight from
the zero-bordered image, ``image[base_i + index[step]]`` (``gather_tile``), so the im2col matrix
exists only as two short tables of offsets:

- ``tap_offsets[k]``: where tap k = (c, p, q) sits in a channels-first padded image (the
  forward takes the taps ordered (p, q, c), by kernel position),
  ``c * plane + p * dilation_h * padded_width + q * dilation_w``;
- ``position_offsets[s]``: where output position s = (i, j) reads from,
  ``i * stride_h * padded_width + j * stride_w``.

Patch element (s, k) is ``image[position_offsets[s] + tap_offsets[k]]``, for any stride, dilation
and padding, with no wasted columns (the old wide grid computed ``padded_width / out_width`` times
the outputs it kept, and multiplied its discarded columns: an inf in x gave NaN weight
gradients).

- ``gather_correlate`` (forward, and the transposed convolution of the input gradient):
  ``out^T (positions, R) = patches (positions, K) @ weight^T (K, R)``: rows are output
  positions (their bases the position offsets, stepping through the tap offsets), columns the
  output channels (the packed weight, in L2), the tiles stored straight into NCHW planes
  (``simd_lanes.store_columns``: each tile's columns, a run of positions per channel) with the bias
  as the accumulators' start. Each thread takes a contiguous run of images, spreads each into
  one padded buffer of its own, zeroed once (the border stays zero: ``spread_into`` copies only
  the interior), and prefetches the next image and its output planes while the tiles compute.
  On AVX-512, at unit column stride and rows of at least 14, the tile is ``gather_row_planes``:
  14 positions of one output row x 2 vectors (28 accumulators), one base pointer for all its
  rows (the positions sit one element apart), no ragged strip on rows of 14; otherwise, and
  always with 16 registers (AVX2: no row tile fits, see im2col_row_tiles.py), strips of
  ``OUTER_TILE_ROWS`` positions.
- ``gather_correlate_gradients`` (weight gradient): ``grad_weight^T (K, R) = patches^T (K,
  positions) @ grad_out^T (positions, R)``: rows are taps (their bases the tap offsets, stepping
  through the position offsets of a chunk of images padded end to end), columns the output
  channels (the chunk's output gradient, transposed), the whole batch share of a thread summed
  in registers and its partial sums, one per thread, added in order at the end.

The register tiles themselves are in im2col_tiles.py (8-row strips, 4-row half strips) and
im2col_row_tiles.py (the 14-position row tile); this module holds what runs around them: the
padding, the prefetches, the weight gradient's transposing pack, and the parallel drivers.

Measured on AVX-512 (Zen 4), single-threaded on the reference CNN's second layer (batch 100,
float32; peak is about 250 GFLOP/s, two 16-lane FMAs a cycle): with its image hot, the gathered tile runs at 240-245
GFLOP/s, as fast as the matmul's contiguous-A tile, whether B (102 KiB a column strip) streams
from L2 or not (a one-row B measured the same), so blocking the taps into L1-sized slabs gains
nothing, and costs a tile's set-up and partial-sum store per slab (slabs of 400, 128 and 32
taps: forward 10.3, 11.7 and 17.0 ms against 9.7 unblocked). What the kernels lost was around
the tile:

- the vector width: ``VECTOR_BYTES // itemsize`` is a run-time value in Numba, and the inner
  loop spent a register and indexed addresses on it, and spilled (``vector_lanes`` is a
  constant): 5-14% per kernel;
- the padding copy, a view and an atomic reference count per row: 1.1 ms of the forward's
  10 (now flat indices, a masked vector per row);
- the weight gradient's element-by-element transposing pack of B, 0.6 ms (now blocks
  transposed in registers, ``pack_transposed``);
- the wait for each image (or weight-gradient chunk) from memory before its padding copy:
  each task prefetches its share of the next one while its tiles compute (``prefetch_share``).

That took forward, input gradient and weight gradient from about 10.5-11.5 / 11-12 /
10.3-10.6 ms to 9.2 / 9.5 / 9.1. The forward then spent 0.3 ms transposing a (positions,
channels) buffer into NCHW and 0.3 padding. Second round (same layer, interleaved in one
process, medians; the machine's noise is 2-3% between runs):

- the 14-row tile: on a hot image, 8.40 ms for the tiles against 9.10 for the 8-row strips
  (239 against 221 GFLOP/s): one base pointer instead of eight, a B vector pair loaded per 28
  FMAs instead of 16, no half strip. A 7-row tile with one base measured 8.57; 12 rows do not
  divide 14;
- stores straight into NCHW instead of the buffer and its transpose: slower at first (9.73 ms
  against 8.79 + 0.29 for the transpose, tiles only): its partial lines, 64 streams a plane
  apart, missed to memory on every store. Prefetching the next image's output planes while
  the tiles compute fixed that (forward 9.24 against 9.46 for the buffered one);
- zeroing the padded buffer once per thread instead of per image: the copy of the interior
  alone is 0.07 ms per batch with the source in cache; in the kernel the spreading still costs
  about 0.3 ms (skipping it measured 8.48 against 8.77), the wait for the source from memory;
- negative: a second padded buffer per thread, the next image spread into it a share of
  channels per tile (to overlap its loads with the arithmetic), measured 3-4% slower for both
  kernels (9.51 against 9.28 forward, 9.70 against 9.33 input gradient), most likely the two
  images fighting over L1; prefetching two images ahead instead of one, no change (9.11 against
  9.12; 2 threads 4.68 against 4.61); the tile's results as returned tuples (``gather_tile``)
  compile to the same inner loop as the old in-place tile.

Now forward 8.8, input gradient 8.9, weight gradient 9.2 ms single-threaded (e35bb08's 9.2, 9.2,
9.1; oneDNN 8.5, 8.5, 9.3 in the same run), and with two threads 4.6 and 4.9 for the forward
and input gradient (oneDNN 4.8 and 4.8). The input gradient's image (64 channels, 83 KiB
padded) does not fit L1.
"""
import numba
import numpy as np
from numba import prange

from .im2col_row_tiles import ROW_TILE, gather_row_planes, gather_row_planes_narrow
from .im2col_tiles import gather_strip, gather_strip_planes
from .matmul import OUTER_TILE_ROWS
from .preset import cpu_kernel, serial_kernel
from .simd import (
    VECTOR_BYTES,
    prefetch,
    vector_lanes,
    vector_load_first_whole,
    vector_store,
    vector_store_first,
)
from .simd_lanes import transpose_block

# Positions (of whole images) per micro-kernel call of the weight gradient.
CHUNK_POSITIONS = 1024


@serial_kernel
def spread_into(source, top, left, target):
    """``target[c, top + i, left + j] = source[c, i, j]`` on a ``target`` zero elsewhere, which
    stays zero (each row's last vector writes zeros past the row's end); source positions that land
    outside ``target`` (negative padding) are dropped. ``source`` is C-contiguous.

    Every image of a batch writes the same elements of ``target``, so a buffer zeroed once keeps
    its zero border from one image to the next: each thread zeroes its buffer once and spreads
    only the interior per image. Unit steps only: no kernel spreads an image apart (a strided
    convolution's input gradient runs by stride phases or sub-pixels, conv_phases.py, or on
    ``conv2d.padded_planes``), and an element-by-element path for steps cost each of the three
    kernels calling this about 0.6 s of cold compile.

    Rows go out as whole vectors, the last one's lanes past the row zero and stored whole where
    the target has room: its overhang lands on the zero border or on a later row's elements,
    written after it. AMD's AVX2 cores run masked stores as microcode: 28-wide rows as four masked
    vectors took 55 of the 16 -> 16 forward's 370 ns per strip (Zen 4 held to AVX2, single-
    threaded). Flat indices throughout, no view per row: a view (or a slice assignment, with its
    overlap check) costs Numba an atomic reference count per row, which made the padding copy 1.1
    of the forward's 10 ms, single-threaded.
    """
    channels, height, width = source.shape
    padded_height, padded_width = target.shape[1], target.shape[2]
    plane = padded_height * padded_width
    flat = target.reshape(channels * plane)
    flat_source = source.reshape(channels * height * width)
    lanes = vector_lanes(target)
    # The source columns that land inside a target row: j_first <= j < j_last.
    j_first = min(max(0, -left), width)
    j_last = max(j_first, min(width, padded_width - left))
    for c in range(channels):
        for i in range(max(0, -top), min(height, padded_height - top)):
            start = c * plane + (top + i) * padded_width + left
            source_start = (c * height + i) * width
            for j in range(j_first, j_last, lanes):
                count = j_last - j
                value = vector_load_first_whole(flat_source, source_start + j, count)
                if start + j + lanes <= flat.shape[0]:
                    vector_store(flat, start + j, value)
                else:
                    vector_store_first(flat, start + j, value, count)


@serial_kernel
def prefetch_share(flat, start, stop, part, parts):
    """Prefetch share ``part`` of ``parts`` of ``flat[start:stop]``, a line at a time."""
    first = start + (stop - start) * part // parts
    last = start + (stop - start) * (part + 1) // parts
    for index in range(first, last, vector_lanes(flat)):
        prefetch(flat, index)



@serial_kernel
def row_tile_strips(image, base, index, steps, packed_weights, first_step, bias, out, offset, pitch,
                    run_taps, column_skips, tile):
    """One row tile (``gather_row_planes``, ``column_skips[tile]`` its runs' skips) for every
    column strip of the packed weights, from step ``first_step`` on: the one-vector tile for a
    strip whose second vector is empty. The skips go whole with the tile's number: a view of them
    per tile would cost two atomic reference counts."""
    width = 2 * vector_lanes(packed_weights)
    channels = bias.shape[0]
    for column_strip in range(packed_weights.shape[0]):
        weights = packed_weights[column_strip][first_step * width:]
        if channels - column_strip * width <= width // 2:
            gather_row_planes_narrow(image, base, index, steps, weights, bias, column_strip * width,
                                     out, offset, pitch)
        else:
            gather_row_planes(image, base, index, steps, weights, bias, column_strip * width, out,
                              offset, pitch, run_taps, column_skips, tile)


@cpu_kernel
def gather_correlate(source, top, left, padded_parts, packed_weights, bias, tap_offsets,
                     position_offsets, first_steps, stop_steps, row_width, run_taps, column_skips,
                     out):
    """``out[n, r, s] = bias[r] + sum_k weight[r, k] * padded[n, position_offsets[s] +
    tap_offsets[k]]``, ``padded`` the source zero-bordered (``spread_into``).

    ``packed_weights`` is (R strips, taps * width): the weight's transpose in the matmul's B
    layout. ``row_width``: the output width where the positions of an output row sit one
    element apart (unit column stride) and there are at least ``ROW_TILE`` of them, else 0.

    Output position s reads nothing but zero border outside taps ``first_steps[s]`` to
    ``stop_steps[s]`` (the taps ordered by kernel row: the rows of the padding above and below
    the image, ``conv_geometry.kernel_row_steps``), and ``first_steps`` and ``stop_steps`` do not
    increase with s: a tile of positions s0 to s1 runs taps ``first_steps[s1]`` to
    ``stop_steps[s0]``, which hold every nonzero product of its positions.

    Its items: with a row width, tiles of ``ROW_TILE`` positions of one output row
    (``gather_row_planes``; the last tile of a row ends at the row's end and may overlap the one
    before, storing the same sums again), the taps ordered (p, q, c) in runs of ``run_taps``,
    ``column_skips[t]`` the positions each kernel column's run skips in the row's tile t
    (``conv_geometry.row_tile_column_skips``); otherwise strips of ``OUTER_TILE_ROWS`` positions
    (``gather_strip_planes``). One part of the work per thread, a contiguous run of units (an
    image's block of items: the whole image unless the batch is smaller than the thread count);
    each part spreads each of its images into its padded buffer, ``padded_parts[part]`` (threads,
    channels, padded height, padded width: zero, made by the caller, see ``padded_scratch``), and
    stores its (positions, R) tiles straight into out's planes.
    """
    batch, channels = source.shape[0], source.shape[1]
    rows, positions = out.shape[1], out.shape[2]
    if ROW_TILE > 0 and row_width > 0:
        row_tiles = (row_width + ROW_TILE - 1) // ROW_TILE
        items = positions // row_width * row_tiles
    else:
        row_tiles = 0
        items = (positions + OUTER_TILE_ROWS - 1) // OUTER_TILE_ROWS
    threads = padded_parts.shape[0]
    blocks = max(1, min(items, (threads + batch - 1) // max(batch, 1)))
    units = batch * blocks
    parts = max(1, min(threads, units))
    image_size = channels * source.shape[2] * source.shape[3]
    flat_source = source.reshape(batch * image_size)
    flat_out = out.reshape(batch * rows * positions)
    for part in prange(parts):
        first_unit = part * units // parts
        last_unit = (part + 1) * units // parts
        padded = padded_parts[part]
        image = padded.reshape(padded.size)
        spread_image = -1
        for unit in range(first_unit, last_unit):
            n = unit // blocks
            block = unit % blocks
            first_item = block * items // blocks
            last_item = (block + 1) * items // blocks
            if n != spread_image:
                spread_into(source[n], top, left, padded)
                spread_image = n
            # The next image (most likely this part's next) and the lines of its output planes,
            # fetched while the tiles compute: its spreading then does not wait on memory, nor
            # do the tiles' stores (partial lines, one stream per channel, a plane apart, which
            # the hardware prefetchers do not follow: 0.5 ms of the forward's 9.5 without).
            next_first = min(n + 1, batch) * image_size
            next_last = min(n + 2, batch) * image_size
            output_first = min(n + 1, batch) * rows * positions
            output_last = min(n + 2, batch) * rows * positions
            for item in range(first_item, last_item):
                prefetch_share(flat_source, next_first, next_last, item - first_item,
                               last_item - first_item)
                prefetch_share(flat_out, output_first, output_last, item - first_item,
                               last_item - first_item)
                if row_tiles > 0:
                    position = (item // row_tiles * row_width
                                + min((item % row_tiles) * ROW_TILE, row_width - ROW_TILE))
                    # One output row: the kernel rows that read only zero border are skipped.
                    first_step = first_steps[position]
                    steps = max(0, stop_steps[position] - first_step)
                    row_tile_strips(image, position_offsets[position], tap_offsets[first_step:], steps,
                                    packed_weights, first_step, bias, flat_out,
                                    n * rows * positions + position, positions, run_taps,
                                    column_skips, item % row_tiles)
                    continue
                first = item * OUTER_TILE_ROWS
                count = min(OUTER_TILE_ROWS, positions - first)
                # Positions after this strip that this part writes later (the rest of its block).
                room = min(last_item * OUTER_TILE_ROWS, positions) - first - count
                first_step = first_steps[first + count - 1]
                steps = max(0, stop_steps[first] - first_step)
                gather_strip_planes(image, position_offsets, first, count, tap_offsets[first_step:],
                                    steps, packed_weights, first_step, bias, flat_out,
                                    n * rows * positions, positions, room)


@serial_kernel
def pack_transposed(lines, packed, first_step):
    """``packed[r // width, (first_step + s) * width + r % width] = lines[r, s]``: (R, steps)
    lines as the B operand of the tile, by blocks transposed in registers (one element at a time,
    strided, it took 0.6 of the weight gradient's 10 ms), the edges element by element."""
    rows, steps = lines.shape
    lanes = vector_lanes(packed)
    width = 2 * lanes
    whole_rows = rows - rows % lanes
    whole_steps = steps - steps % lanes
    for r in range(0, whole_rows, lanes):
        strip = packed[r // width]
        for s in range(0, whole_steps, lanes):
            transpose_block(lines, r, s, strip, (first_step + s) * width + r % width, width)
    for r in range(rows):
        strip = packed[r // width]
        first_scalar = whole_steps if r < whole_rows else 0
        for s in range(first_scalar, steps):
            strip[(first_step + s) * width + r % width] = lines[r, s]


@cpu_kernel
def gather_correlate_gradients(source, top, left, grad_out, tap_offsets, chunk_offsets, out_width,
                               strip_first_rows, strip_stop_rows, strip_first_columns,
                               strip_stop_columns, padded_parts, packed_parts, partial, grad_weight):
    """``grad_weight[r, k] = sum_n sum_s grad_out[n, r, s] * padded[n, tap_offsets[k] +
    position_offsets[s]]``, ``padded`` the source zero-bordered: (taps, R) tiles, the taps' lines
    gathered from the images, the shared dimension the positions of every image.

    The taps of strip t (``OUTER_TILE_ROWS`` of them) read nothing but zero border at an image's
    output rows outside ``strip_first_rows[t]`` to ``strip_stop_rows[t]`` and columns outside
    ``strip_first_columns[t]`` to ``strip_stop_columns[t]`` (``conv_geometry.weight_gradient_runs``):
    each image's positions are summed over those only (``gather_tile``'s periods: an image, and
    in it an output row of ``out_width`` positions).

    One part of the batch per thread, each into its own partial sums, added in part order at the
    end. A part takes its images a chunk at a time (about ``CHUNK_POSITIONS`` positions), padded
    end to end into one buffer, so that each micro-kernel call runs over a whole chunk.

    The scratch arrays come from ``gradient_scratch`` (allocated outside: see there), one of each
    per part: ``padded_parts`` (parts, chunk, channels, padded height, padded width) and
    ``packed_parts`` (parts, R strips, chunk * positions * width) and ``partial`` (parts, taps, R)
    zero; ``chunk_offsets`` the position offsets of a chunk's images, ``position_offsets[s] + m *
    padded image size`` for image m.
    """
    batch = source.shape[0]
    rows, positions = grad_out.shape[1], grad_out.shape[2]
    taps = tap_offsets.shape[0]
    tap_strips = (taps + OUTER_TILE_ROWS - 1) // OUTER_TILE_ROWS
    parts, chunk = padded_parts.shape[0], padded_parts.shape[1]
    chunk_size = padded_parts[0].size
    image_size = source.shape[1] * source.shape[2] * source.shape[3]
    flat_source = source.reshape(batch * image_size)
    gradient_size = rows * positions
    flat_gradient = grad_out.reshape(batch * gradient_size)
    for part in prange(parts):
        first_image = part * batch // parts
        last_image = (part + 1) * batch // parts
        packed = packed_parts[part]
        # Zero at the start: image m of every chunk is spread into the same slot, whose border
        # stays zero.
        padded = padded_parts[part]
        images = padded.reshape(chunk_size)
        sums = partial[part]
        for chunk_start in range(first_image, last_image, chunk):
            count = min(chunk, last_image - chunk_start)
            for m in range(count):
                n = chunk_start + m
                spread_into(source[n], top, left, padded[m])
                # B: the image's output gradient transposed, (positions, R) by strips of R.
                pack_transposed(grad_out[n], packed, m * positions)
            depth = count * positions
            # The next chunk's images and output gradients, fetched while the tiles compute.
            next_start = chunk_start + count
            next_stop = min(next_start + chunk, last_image)
            for tap_strip in range(tap_strips):
                prefetch_share(flat_source, next_start * image_size, next_stop * image_size,
                               tap_strip, tap_strips)
                prefetch_share(flat_gradient, next_start * gradient_size,
                               next_stop * gradient_size, tap_strip, tap_strips)
                first = tap_strip * OUTER_TILE_ROWS
                gather_strip(images, tap_offsets, first, min(OUTER_TILE_ROWS, taps - first),
                             chunk_offsets, depth, positions,
                             strip_first_rows[tap_strip] * out_width,
                             strip_stop_rows[tap_strip] * out_width, out_width,
                             strip_first_columns[tap_strip], strip_stop_columns[tap_strip], packed,
                             sums, first, chunk_start > first_image)
    # The parts' sums added in a plain loop: a second parfor cost the cold compile about 0.6 s.
    for tap in range(taps):
        for r in range(rows):
            total = partial[0, tap, r]
            for part in range(1, parts):
                total += partial[part, tap, r]
            grad_weight[r, tap] = total


def padded_scratch(channels, padded_height, padded_width, dtype):
    """One zero padded image per thread, (threads, channels, padded height, padded width): the
    buffers the forward kernels spread their images into (``gather_correlate``,
    ``conv_direct.direct_correlate``), made here rather than in the kernels, whose cold compile
    an allocation lengthens (see ``gradient_scratch``)."""
    return np.zeros((numba.get_num_threads(), channels, padded_height, padded_width), dtype)


def gradient_scratch(batch, channels, padded_height, padded_width, rows, position_offsets, taps,
                     dtype):
    """The scratch arrays of ``gather_correlate_gradients`` (its arguments after the strip runs),
    one of each per thread, made here rather than in the kernel: NumPy's allocations compiled into
    the kernel made its cold compile longer (the kernel without its tiles, helpers and sums, Zen
    3: 4.2 s with its four allocations, 1.8 s without)."""
    positions = position_offsets.shape[0]
    parts = max(1, min(numba.get_num_threads(), batch))
    chunk = max(1, min(batch, CHUNK_POSITIONS // max(positions, 1)))
    width = 2 * (VECTOR_BYTES // np.dtype(dtype).itemsize)
    column_strips = (rows + width - 1) // width
    image_size = channels * padded_height * padded_width
    chunk_offsets = (position_offsets[None, :]
                     + (np.arange(chunk) * image_size).astype(position_offsets.dtype)[:, None])
    return (chunk_offsets.reshape(-1),
            np.zeros((parts, chunk, channels, padded_height, padded_width), dtype),
            np.zeros((parts, column_strips, chunk * positions * width), dtype),
            np.zeros((parts, taps, rows), dtype))  # zero: the sums of an empty batch
