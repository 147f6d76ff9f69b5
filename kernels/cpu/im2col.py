"""Convolution sums as implicit matrix products on the matmul's outer-product register tile.

Both kernels run ``outer_micro_kernel``'s scheme (an 8 x 2-vector tile of the product in zmm
registers for a whole run of the shared dimension, one rank-1 update per step: two vector loads
of a packed B, eight broadcasts of A, sixteen fused multiply-adds) with A never packed: its eight
values of a step are read straight from the zero-bordered image, ``image[base_i + index[step]]``
(``gather_micro_kernel``), so the im2col matrix exists only as two short tables of offsets:

- ``tap_offsets[k]``: where tap k = (c, p, q) sits in a channels-first padded image,
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
  output channels (the packed weight, in L2), each task one image's block of positions, padded
  into a local buffer (no padded copy of the batch through memory) and transposed into NCHW
  through registers at the end.
- ``gather_correlate_gradients`` (weight gradient): ``grad_weight^T (K, R) = patches^T (K,
  positions) @ grad_out^T (positions, R)``: rows are taps (their bases the tap offsets, stepping
  through the position offsets of a chunk of images padded end to end), columns the output
  channels (the chunk's output gradient, transposed), the whole batch share of a thread summed
  in registers and its partial sums, one per thread, added in order at the end.

Rows past the last output position or tap repeat the last one (their products are not
stored); a last strip of at most four rows takes a 4-row tile (``gather_half_kernel``: 196
positions are 24 1/2 strips). Columns past the last channel are zero in B and masked off when
stored. Positions as rows (rather than channels as rows, with the patches packed as B) needs no
im2col copy at all, and 32 or 64 channels fill whole column strips.

Measured single-threaded on the reference CNN's second layer (batch 100, float32; peak is about
250 GFLOP/s, two 16-lane FMAs a cycle): with its image hot, the gathered tile runs at 240-245
GFLOP/s, as fast as the matmul's contiguous-A tile, whether B (102 KiB a column strip) streams
from L2 or not (a one-row B measured the same), so blocking the taps into L1-sized slabs gains
nothing, and costs a tile's set-up and partial-sum store per slab (slabs of 400, 128 and 32
taps: forward 10.3, 11.7 and 17.0 ms against 9.7 unblocked). What the kernels lost was around
the tile:

- the vector width: ``VECTOR_BYTES // itemsize`` is a run-time value in Numba, and the inner
  loop spent a register and indexed addresses on it, and spilled (``vector_lanes`` is a
  constant): 5-14% per kernel;
- the padding copy, a view and an atomic reference count per row: 1.1 ms of the forward's
  10 (``pad_image`` now 0.1-0.2, flat indices, a masked vector per row);
- the weight gradient's element-by-element transposing pack of B, 0.6 ms (now blocks
  transposed in registers, ``pack_transposed``);
- the wait for each image (or weight-gradient chunk) from memory before its padding copy:
  each task prefetches its share of the next one while its tiles compute (``prefetch_share``).

Forward, input gradient and weight gradient went from about 10.5-11.5 / 11-12 / 10.3-10.6 ms
to 9.2 / 9.5 / 9.1 (oneDNN 8.4-8.7 / 8.9-9.2 / 9.1-9.4 in the same runs). What is left is the
transpose of the output into NCHW (about 0.3 ms, mostly writing the 5 MB output) and the
padding copies.
"""
import numpy as np
from numba import prange

from .matmul import OUTER_TILE_ROWS, store_row
from .preset import cpu_kernel, serial_kernel
from .simd import (
    VECTOR_BYTES,
    prefetch,
    thread_count,
    transpose_block,
    vector_fma,
    vector_lanes,
    vector_load,
    vector_load_first,
    vector_store_first,
    vector_zero,
)

# Output positions per parallel task of the forward, in strips of OUTER_TILE_ROWS: a 14 x 14
# image (25 strips) is one task, its buffer of (positions, channels) sums 50 KiB.
STRIPS_PER_TASK = 32
# Positions (of whole images) per micro-kernel call of the weight gradient.
CHUNK_POSITIONS = 1024


@serial_kernel
def gather_micro_kernel(image, base0, base1, base2, base3, base4, base5, base6, base7, index,
                        depth, b_strip, out, first_row, first_column, accumulate):
    """An 8 x 2-vector tile of ``a @ b`` into out (as ``outer_micro_kernel``), a's element (i, step) gathered from the image:
    ``a[i, step] = image[base_i + index[step]]``; ``b_strip[step * width + j]`` packed as in the
    matmul. ``index`` is unsigned (no negative-index wraparound in the loop)."""
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
    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = vector_zero(b_strip)
    c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = vector_zero(b_strip)
    for step in range(depth):
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
        a = line6[k]
        c60 = vector_fma(c60, a, b0)
        c61 = vector_fma(c61, a, b1)
        a = line7[k]
        c70 = vector_fma(c70, a, b0)
        c71 = vector_fma(c71, a, b1)
    row_count = min(OUTER_TILE_ROWS, out.shape[0] - first_row)
    column_count = min(width, out.shape[1] - first_column)
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
def gather_half_kernel(image, base0, base1, base2, base3, index, depth, b_strip, out, first_row,
                       first_column, accumulate):
    """``gather_micro_kernel`` on four rows, for a last strip of at most four: eight
    accumulators still cover the FMA latency, and the strip costs half the work of a padded
    eight-row one (196 positions are 24 1/2 strips)."""
    lanes = vector_lanes(b_strip)
    width = 2 * lanes
    line0 = image[base0:]
    line1 = image[base1:]
    line2 = image[base2:]
    line3 = image[base3:]
    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = vector_zero(b_strip)
    for step in range(depth):
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
    row_count = min(OUTER_TILE_ROWS // 2, out.shape[0] - first_row)
    column_count = min(width, out.shape[1] - first_column)
    store_row(out[first_row], first_column, c00, c01, column_count, accumulate)
    if row_count > 1:
        store_row(out[first_row + 1], first_column, c10, c11, column_count, accumulate)
    if row_count > 2:
        store_row(out[first_row + 2], first_column, c20, c21, column_count, accumulate)
    if row_count > 3:
        store_row(out[first_row + 3], first_column, c30, c31, column_count, accumulate)


@serial_kernel
def gather_strip(image, bases, first, count, index, depth, b_packed, out, first_row, accumulate):
    """Every column strip of the 8-row strip whose rows gather from ``bases[first:first + 8]``
    (the last base repeated past ``count``)."""
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
    for column_strip in range(b_packed.shape[0]):
        if count <= OUTER_TILE_ROWS // 2:
            gather_half_kernel(image, base0, base1, base2, base3, index, depth,
                               b_packed[column_strip], out, first_row, column_strip * width,
                               accumulate)
            continue
        gather_micro_kernel(image, base0, base1, base2, base3, base4, base5, base6, base7, index,
                            depth, b_packed[column_strip], out, first_row, column_strip * width,
                            accumulate)


@serial_kernel
def pad_image(source, top, left, row_step, column_step, target):
    """``target[c, top + i * row_step, left + j * column_step] = source[c, i, j]``, zero
    elsewhere; source positions that land outside ``target`` are dropped. ``source`` is
    C-contiguous.

    Flat indices throughout, no view per row: a view (or a slice assignment, with its overlap
    check) costs Numba an atomic reference count per row, which made this copy 1.1 of the
    forward's 10 ms, single-threaded (now 0.1).
    """
    channels, height, width = source.shape
    padded_height, padded_width = target.shape[1], target.shape[2]
    plane = padded_height * padded_width
    flat = target.reshape(channels * plane)
    flat_source = source.reshape(channels * height * width)
    zero = target.dtype.type(0)
    lanes = vector_lanes(target)
    for index in range(channels * plane):
        flat[index] = zero
    # The source columns that land inside a target row: j_first <= j < j_last.
    j_first = 0
    while j_first < width and left + j_first * column_step < 0:
        j_first += 1
    j_last = width
    while j_last > j_first and left + (j_last - 1) * column_step >= padded_width:
        j_last -= 1
    for c in range(channels):
        for i in range(height):
            row = top + i * row_step
            if 0 <= row < padded_height:
                start = c * plane + row * padded_width + left
                source_start = (c * height + i) * width
                if column_step == 1:
                    # Unit steps: whole vectors, the last one masked (a row of 14 is one).
                    for j in range(j_first, j_last, lanes):
                        count = j_last - j
                        vector_store_first(flat, start + j,
                                           vector_load_first(flat_source, source_start + j,
                                                             count), count)
                else:
                    for j in range(j_first, j_last):
                        flat[start + j * column_step] = flat_source[source_start + j]


@serial_kernel
def transpose_into(buffer, bias, out, first_position):
    """``out[r, first_position + s] = buffer[s, r] + bias[r]``: whole blocks through registers,
    the edges element by element. ``out`` is (R, positions), C-contiguous."""
    count, rows = buffer.shape
    positions = out.shape[1]
    lanes = VECTOR_BYTES // buffer.itemsize
    flat = out.reshape(rows * positions)
    whole_rows = rows - rows % lanes
    whole_count = count - count % lanes
    for r in range(0, whole_rows, lanes):
        for s in range(0, whole_count, lanes):
            transpose_block(buffer, s, r, flat, r * positions + first_position + s, positions)
    for r in range(rows):
        out_row = out[r, first_position:first_position + count]
        first_scalar = whole_count if r < whole_rows else 0
        for s in range(first_scalar, count):
            out_row[s] = buffer[s, r]
        row_bias = bias[r]
        for s in range(count):
            out_row[s] += row_bias


@serial_kernel
def prefetch_share(flat, start, stop, part, parts):
    """Prefetch share ``part`` of ``parts`` of ``flat[start:stop]``, a line at a time."""
    first = start + (stop - start) * part // parts
    last = start + (stop - start) * (part + 1) // parts
    for index in range(first, last, vector_lanes(flat)):
        prefetch(flat, index)


@cpu_kernel
def gather_correlate(source, top, left, row_step, column_step, padded_height, padded_width,
                     packed_weights, bias, tap_offsets, position_offsets, out):
    """``out[n, r, s] = bias[r] + sum_k weight[r, k] * padded[n, position_offsets[s] +
    tap_offsets[k]]``, ``padded`` the source spread and zero-bordered (``pad_image``).

    ``packed_weights`` is (R strips, taps * width): the weight's transpose in the matmul's B
    layout. Each task pads its image into a local buffer, computes a block of output positions
    as (positions, R) tiles into another, then transposes that into out.
    """
    batch, channels = source.shape[0], source.shape[1]
    rows, positions = out.shape[1], out.shape[2]
    depth = tap_offsets.shape[0]
    strips = (positions + OUTER_TILE_ROWS - 1) // OUTER_TILE_ROWS
    # Blocks of at most STRIPS_PER_TASK strips, and enough tasks for every thread.
    blocks = max((strips + STRIPS_PER_TASK - 1) // STRIPS_PER_TASK,
                 min(strips, (thread_count() + batch - 1) // max(batch, 1)))
    image_size = channels * source.shape[2] * source.shape[3]
    flat_source = source.reshape(batch * image_size)
    for task in prange(batch * blocks):
        n = task // blocks
        block = task % blocks
        first_strip = block * strips // blocks
        last_strip = (block + 1) * strips // blocks
        first_position = first_strip * OUTER_TILE_ROWS
        last_position = min(last_strip * OUTER_TILE_ROWS, positions)
        padded = np.empty((channels, padded_height, padded_width), out.dtype)
        pad_image(source[n], top, left, row_step, column_step, padded)
        image = padded.reshape(channels * padded_height * padded_width)
        buffer = np.empty((last_position - first_position, rows), out.dtype)
        # This block's share of the next image (most likely this thread's next task), fetched
        # while the tiles compute, so that its padding copy does not wait on memory.
        next_first = min(n + 1, batch) * image_size + block * image_size // blocks
        next_last = min(n + 1, batch) * image_size + (block + 1) * image_size // blocks
        next_last = min(next_last, batch * image_size)
        for strip in range(first_strip, last_strip):
            prefetch_share(flat_source, next_first, max(next_first, next_last),
                           strip - first_strip, last_strip - first_strip)
            first = strip * OUTER_TILE_ROWS
            gather_strip(image, position_offsets, first, min(OUTER_TILE_ROWS, positions - first),
                         tap_offsets, depth, packed_weights, buffer, first - first_position,
                         False)
        transpose_into(buffer, bias, out[n], first_position)


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
def gather_correlate_gradients(source, top, left, padded_height, padded_width, grad_out,
                               tap_offsets, position_offsets, grad_weight):
    """``grad_weight[r, k] = sum_n sum_s grad_out[n, r, s] * padded[n, tap_offsets[k] +
    position_offsets[s]]``, ``padded`` the source zero-bordered: (taps, R) tiles, the taps' lines
    gathered from the images, the shared dimension the positions of every image.

    One part of the batch per thread, each into its own partial sums, added in part order at the
    end. A part takes its images a chunk at a time (about ``CHUNK_POSITIONS`` positions), padded
    end to end into one buffer, so that each micro-kernel call runs over a whole chunk.
    """
    batch, channels = source.shape[0], source.shape[1]
    rows, positions = grad_out.shape[1], grad_out.shape[2]
    taps = tap_offsets.shape[0]
    lanes = VECTOR_BYTES // grad_out.itemsize
    width = 2 * lanes
    column_strips = (rows + width - 1) // width
    tap_strips = (taps + OUTER_TILE_ROWS - 1) // OUTER_TILE_ROWS
    plane_size = channels * padded_height * padded_width
    chunk = max(1, min(batch, CHUNK_POSITIONS // max(positions, 1)))
    # The chunk's position offsets: image m of the chunk sits m * plane_size further on.
    chunk_offsets = np.empty(chunk * positions, position_offsets.dtype)
    for m in range(chunk):
        for s in range(positions):
            chunk_offsets[m * positions + s] = position_offsets[s] + m * plane_size
    parts = max(1, min(thread_count(), batch))
    partial = np.zeros((parts, taps, rows), grad_out.dtype)
    image_size = channels * source.shape[2] * source.shape[3]
    flat_source = source.reshape(batch * image_size)
    gradient_size = rows * positions
    flat_gradient = grad_out.reshape(batch * gradient_size)
    for part in prange(parts):
        first_image = part * batch // parts
        last_image = (part + 1) * batch // parts
        packed = np.zeros((column_strips, chunk * positions * width), grad_out.dtype)
        padded = np.empty((chunk, channels, padded_height, padded_width), grad_out.dtype)
        images = padded.reshape(chunk * plane_size)
        sums = partial[part]
        for chunk_start in range(first_image, last_image, chunk):
            count = min(chunk, last_image - chunk_start)
            for m in range(count):
                n = chunk_start + m
                pad_image(source[n], top, left, 1, 1, padded[m])
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
                             chunk_offsets, depth, packed, sums, first,
                             chunk_start > first_image)
    for tap in prange(taps):
        for r in range(rows):
            total = partial[0, tap, r]
            for part in range(1, parts):
                total += partial[part, tap, r]
            grad_weight[r, tap] = total
