"""Direct stride-1 convolution kernels for few taps per output (a CNN's first layer), with the
output row held in SIMD registers.

Both kernels read zero-bordered images, (C, padded_height, padded_width), at least
``max(tap_column) + vectors * lanes`` columns wide so every row load is in bounds (the forward
pads each image into a buffer of its thread's, the weight gradient reads a padded batch), and keep
the loops over taps innermost with the accumulators in registers (``simd.py``):

- ``direct_correlate`` (forward): a tile of ``FORWARD_CHANNELS`` output channels by two vectors
  of one output row (8 channels, 16 accumulators, with 32 vector registers; 4 channels, 8
  accumulators, with 16); each tap adds ``weight[o, tap] * padded_row[tap_column + j : ...]``:
  two (unaligned) row loads and a broadcast weight per channel feed two fused multiply-adds per
  channel. The tile is stored straight into the NCHW output (``store_in_plane``: masked only at
  a plane's end): no wide grid, no crop, no transpose.
- ``direct_weight_gradient``: ``grad_weight[o, c, p, q] = sum_{n,i,j} grad_out[n, o, i, j] *
  padded[n, c, i + p * dilation_h, j + q]`` (column dilation 1), lane-wise products of
  output-gradient rows with shifted input rows: a tile of ``GRADIENT_CHANNELS`` consecutive
  channels by 5 consecutive columns q of one kernel row (4 channels with 32 registers: 20 vector
  accumulators, 9 loads per 20 multiply-adds; 2 with 16: 10 accumulators, 7 loads per 10)
  over the rows of one image, then added to per-lane sums, reduced once at the end. The four
  channels' rows sit at constant multiples of the plane and the five taps at constant column
  offsets, so the loop keeps two base pointers (per-tap row pointers measured 1.6x slower:
  LLVM spilled them). Loads past the output width are masked to zero on both sides, so an inf
  in a discarded column never meets a zero. Each task owns a channel group (the last one starts
  early enough to hold a whole group and stores only its own) and a fixed chunk of the batch
  (chunks chosen from the shapes alone); chunks are summed in a fixed order by the caller, so
  results do not depend on the thread count.

Single-threaded on the reference CNN's first layer (5x5, 1 -> 32, 28 x 28, batch 100, float32;
AVX-512, Zen 4):
forward 0.9-1.1 ms (the wide-grid ``correlate_planes``: 2.4-3.0), weight gradient 0.9-1.2 ms
(``correlate_gradients``: 3.5-4).
"""
import numpy as np
from numba import prange

from .im2col import padded_scratch, spread_into
from .preset import cpu_kernel, serial_kernel
from .simd import (
    VECTOR_BYTES,
    vector_add,
    vector_fma,
    vector_load,
    vector_load_part,
    vector_multiply_add,
    vector_store,
    vector_lanes,
    vector_store_first,
    vector_zero,
)
from .target import REGISTER_COUNT

# Forward tile: output channels per task (broadcast weights) by two vectors of columns; the
# accumulators, two row vectors and a broadcast within the register file. Channels past 4 sit
# behind compile-time conditions on this constant: LLVM drops them where it is 4.
FORWARD_CHANNELS = 8 if REGISTER_COUNT >= 32 else 4
# Weight-gradient tile: output channels by taps (20 or 10 accumulators, a row vector per channel
# and the input vector); channels past 2 behind compile-time conditions, as above.
GRADIENT_CHANNELS = 4 if REGISTER_COUNT >= 32 else 2
GRADIENT_TAPS = 5


@cpu_kernel
def direct_correlate(source, top, left, padded_parts, packed, bias, tap_offsets, ones, out):
    """``out[n, o, i, j] = bias[o] + sum_k packed[o // F, k, o % F] * flat[i * W + j +
    tap_offsets[k]]``, F = ``FORWARD_CHANNELS``, ``flat`` image n of ``source`` placed at (``top``,
    ``left``) in a zero (C, padded_height, padded_width = W) buffer read as one line (``W`` at least
    ``buffer_width(..., 2)``: every row load inside), ``tap_offsets[k]`` where tap (c, p, q) sits
    in it: ``(c * H + p) * W + q``.

    ``packed`` is (channel groups, taps, F), zero past the last channel; ``bias`` has a value per
    packed channel; ``ones`` is a vector's worth of ones (it makes the bias vectors). The offsets
    are unsigned, and so are the positions added to them: no negative-index wraparound and one
    table read per tap in the inner loop (a table each for channel, row and column, indexed in 2-D,
    spent more instructions on addresses than on the sixteen or eight multiply-adds).

    One part of the (image, channel group) tasks per thread, a contiguous run; each part spreads
    each of its images (``im2col.spread_into``) into its own zero padded buffer,
    ``padded_parts[part]`` (threads, C, padded_height, padded_width, made by the caller:
    ``im2col.padded_scratch``), where a padded copy of the whole batch made before (several MiB
    for a transposed convolution's sub-pixel correlation) cost as much as the kernel, and twice
    that where the copy came from memory.
    """
    batch, rows, out_height, out_width = out.shape
    groups, taps = packed.shape[0], packed.shape[1]
    padded_width = padded_parts.shape[3]
    image_size = padded_parts[0].size
    lanes = ones.shape[0]
    second = np.uint64(lanes)  # the tile's second vector, lanes further on (unsigned, as offsets)
    chunks = (out_width + 2 * lanes - 1) // (2 * lanes)
    tasks = batch * groups
    plane_size = out_height * out_width
    flat_out = out.reshape(batch * rows * plane_size)
    parts = max(1, min(padded_parts.shape[0], tasks))
    for part in prange(parts):
        padded = padded_parts[part]
        image = padded.reshape(image_size)
        spread_image = -1
        for task in range((part * tasks) // parts, ((part + 1) * tasks) // parts):
            n = task // groups
            if n != spread_image:
                spread_into(source[n], top, left, padded)
                spread_image = n
            group = task % groups
            first = group * FORWARD_CHANNELS
            weights = packed[group]
            one = vector_load(ones, 0)
            zero = vector_zero(ones)
            b0 = vector_fma(zero, bias[first], one)
            b1 = vector_fma(zero, bias[first + 1], one)
            b2 = vector_fma(zero, bias[first + 2], one)
            b3 = vector_fma(zero, bias[first + 3], one)
            b4 = b5 = b6 = b7 = zero
            if FORWARD_CHANNELS > 4:
                b4 = vector_fma(zero, bias[first + 4], one)
                b5 = vector_fma(zero, bias[first + 5], one)
                b6 = vector_fma(zero, bias[first + 6], one)
                b7 = vector_fma(zero, bias[first + 7], one)
            for i in range(out_height):
                for chunk in range(chunks):
                    j = chunk * 2 * lanes
                    c00, c01, c10, c11, c20, c21, c30, c31 = b0, b0, b1, b1, b2, b2, b3, b3
                    c40, c41, c50, c51, c60, c61, c70, c71 = b4, b4, b5, b5, b6, b6, b7, b7
                    position = np.uint64(i * padded_width + j)
                    for k in range(taps):
                        start = position + tap_offsets[k]
                        x0 = vector_load(image, start)
                        x1 = vector_load(image, start + second)
                        w = weights[k]
                        c00 = vector_fma(c00, w[0], x0)
                        c01 = vector_fma(c01, w[0], x1)
                        c10 = vector_fma(c10, w[1], x0)
                        c11 = vector_fma(c11, w[1], x1)
                        c20 = vector_fma(c20, w[2], x0)
                        c21 = vector_fma(c21, w[2], x1)
                        c30 = vector_fma(c30, w[3], x0)
                        c31 = vector_fma(c31, w[3], x1)
                        if FORWARD_CHANNELS <= 4:
                            continue
                        c40 = vector_fma(c40, w[4], x0)
                        c41 = vector_fma(c41, w[4], x1)
                        c50 = vector_fma(c50, w[5], x0)
                        c51 = vector_fma(c51, w[5], x1)
                        c60 = vector_fma(c60, w[6], x0)
                        c61 = vector_fma(c61, w[6], x1)
                        c70 = vector_fma(c70, w[7], x0)
                        c71 = vector_fma(c71, w[7], x1)
                    count = out_width - j
                    rest = count - lanes
                    live = min(FORWARD_CHANNELS, rows - first)
                    # Row i of channel o's plane from column j on: plane (n, o) starts at
                    # (n * rows + o) * plane_size.
                    at = (n * rows + first) * plane_size + i * out_width + j
                    end = (n * rows + first + 1) * plane_size
                    store_in_plane(flat_out, at, end, c00, c01, count, rest)
                    if live > 1:
                        store_in_plane(flat_out, at + plane_size, end + plane_size, c10, c11, count, rest)
                    if live > 2:
                        store_in_plane(flat_out, at + 2 * plane_size, end + 2 * plane_size, c20, c21, count,
                                       rest)
                    if live > 3:
                        store_in_plane(flat_out, at + 3 * plane_size, end + 3 * plane_size, c30, c31, count,
                                       rest)
                    if live > 4:
                        store_in_plane(flat_out, at + 4 * plane_size, end + 4 * plane_size, c40, c41, count,
                                       rest)
                    if live > 5:
                        store_in_plane(flat_out, at + 5 * plane_size, end + 5 * plane_size, c50, c51, count,
                                       rest)
                    if live > 6:
                        store_in_plane(flat_out, at + 6 * plane_size, end + 6 * plane_size, c60, c61, count,
                                       rest)
                    if live > 7:
                        store_in_plane(flat_out, at + 7 * plane_size, end + 7 * plane_size, c70, c71, count,
                                       rest)


@serial_kernel
def store_in_plane(flat, at, end, low, high, count, rest):
    """A row tile's two vectors into ``flat[at:]``: the first ``count`` lanes of ``low`` and the
    first ``rest`` of ``high`` (none if below 1). A vector with fewer lanes than that is stored
    whole where it ends inside the plane (before ``end``): its extra lanes land on later rows of
    the plane, which the same task writes after. AMD's AVX2 cores run masked stores as microcode
    (every row of 28 ended in one: the reference CNN's conv1 forward as AVX2 1.5 ms against
    PyTorch's 0.9)."""
    lanes = vector_lanes(flat)
    if count >= lanes or at + lanes <= end:
        vector_store(flat, at, low)
    else:
        vector_store_first(flat, at, low, count)
    if rest >= lanes or (rest > 0 and at + 2 * lanes <= end):
        vector_store(flat, at + lanes, high)
    elif rest > 0:
        vector_store_first(flat, at + lanes, high, rest)

@serial_kernel
def add_tap_sums(sums, at, live, t0, t1, t2, t3, t4):
    """``sums[at + k * lanes:][:lanes] += t_k`` for the first ``live`` of five per-lane sums (a
    channel's block of taps), once per block of a whole image's rows. Written in the kernel as a
    loop over the channels that selected each one's five sums, it cost the weight gradient's
    cold compile 0.9 s more (5.1 against 4.2 s on Zen 3)."""
    lanes = vector_lanes(sums)
    vector_store(sums, at, vector_add(vector_load(sums, at), t0))
    if live > 1:
        vector_store(sums, at + lanes, vector_add(vector_load(sums, at + lanes), t1))
    if live > 2:
        vector_store(sums, at + 2 * lanes, vector_add(vector_load(sums, at + 2 * lanes), t2))
    if live > 3:
        vector_store(sums, at + 3 * lanes, vector_add(vector_load(sums, at + 3 * lanes), t3))
    if live > 4:
        vector_store(sums, at + 4 * lanes, vector_add(vector_load(sums, at + 4 * lanes), t4))


@cpu_kernel
def direct_weight_gradient(padded, grad_out, kernel_height, kernel_width, dilation_h, lanes_like,
                           task_sums, partial):
    """``partial[chunk, o, (c, p, q)] = sum over the chunk's images n, i, j of grad_out[n, o, i, j]
    * padded[n, c, i + p * dilation_h, j + q]`` (column dilation 1).

    ``grad_out`` is C-contiguous with at least ``GRADIENT_CHANNELS`` channels; ``padded`` is at least
    ``reach + vectors * lanes`` columns wide, ``reach`` the last column any 5-tap block reads
    (``gradient_reach``); ``lanes_like`` is any 1-D array one vector long (it gives the lane
    count); chunk c covers images ``c * N // chunks`` up to ``(c + 1) * N // chunks``.
    ``task_sums`` (tasks, ``GRADIENT_CHANNELS`` * taps * lanes), zero, holds each task's per-lane
    sums (made by the caller: an allocation in the kernel lengthens its cold compile).
    """
    batch, rows, out_height, out_width = grad_out.shape
    channels, padded_height, padded_width = padded.shape[1], padded.shape[2], padded.shape[3]
    chunks = partial.shape[0]
    taps = partial.shape[2]
    lanes = lanes_like.shape[0]
    plane = out_height * out_width
    groups = (rows + GRADIENT_CHANNELS - 1) // GRADIENT_CHANNELS
    vectors = (out_width + lanes - 1) // lanes
    pitch = taps * lanes
    for task in prange(chunks * groups):
        chunk = task // groups
        # The group's channels; the last group starts early enough to hold a group, and stores
        # only the channels no other group owns.
        own = (task % groups) * GRADIENT_CHANNELS
        first = min(own, rows - GRADIENT_CHANNELS)
        # Per-lane sums: (channel in group, tap), one vector each.
        sums = task_sums[task]
        for n in range(chunk * batch // chunks, (chunk + 1) * batch // chunks):
            # Flat views, rows reached by offsets: the group's channels' rows sit at constant
            # multiples of the plane, a block's five taps at constant column offsets, so the
            # loop needs two base pointers, not nine.
            gradient = grad_out[n].reshape(-1)
            image = padded[n].reshape(-1)
            for c in range(channels):
                for p in range(kernel_height):
                    for q0 in range(0, kernel_width, GRADIENT_TAPS):
                        row0 = (c * padded_height + p * dilation_h) * padded_width + q0
                        zero = vector_zero(lanes_like)
                        s00 = s01 = s02 = s03 = s04 = zero
                        s10 = s11 = s12 = s13 = s14 = zero
                        s20 = s21 = s22 = s23 = s24 = zero
                        s30 = s31 = s32 = s33 = s34 = zero
                        # Columns outermost: the mask is fixed over the rows.
                        for vector in range(vectors):
                            j = vector * lanes
                            count = out_width - j
                            for i in range(out_height):
                                at = first * plane + i * out_width + j
                                a0 = vector_load_part(gradient, at, count)
                                a1 = vector_load_part(gradient, at + plane, count)
                                a2 = a3 = a0
                                if GRADIENT_CHANNELS > 2:
                                    a2 = vector_load_part(gradient, at + 2 * plane, count)
                                    a3 = vector_load_part(gradient, at + 3 * plane, count)
                                line = image
                                at = row0 + i * padded_width + j
                                v = vector_load_part(line, at, count)
                                s00 = vector_multiply_add(s00, a0, v)
                                s10 = vector_multiply_add(s10, a1, v)
                                if GRADIENT_CHANNELS > 2:
                                    s20 = vector_multiply_add(s20, a2, v)
                                    s30 = vector_multiply_add(s30, a3, v)
                                v = vector_load_part(line, at + 1, count)
                                s01 = vector_multiply_add(s01, a0, v)
                                s11 = vector_multiply_add(s11, a1, v)
                                if GRADIENT_CHANNELS > 2:
                                    s21 = vector_multiply_add(s21, a2, v)
                                    s31 = vector_multiply_add(s31, a3, v)
                                v = vector_load_part(line, at + 2, count)
                                s02 = vector_multiply_add(s02, a0, v)
                                s12 = vector_multiply_add(s12, a1, v)
                                if GRADIENT_CHANNELS > 2:
                                    s22 = vector_multiply_add(s22, a2, v)
                                    s32 = vector_multiply_add(s32, a3, v)
                                v = vector_load_part(line, at + 3, count)
                                s03 = vector_multiply_add(s03, a0, v)
                                s13 = vector_multiply_add(s13, a1, v)
                                if GRADIENT_CHANNELS > 2:
                                    s23 = vector_multiply_add(s23, a2, v)
                                    s33 = vector_multiply_add(s33, a3, v)
                                v = vector_load_part(line, at + 4, count)
                                s04 = vector_multiply_add(s04, a0, v)
                                s14 = vector_multiply_add(s14, a1, v)
                                if GRADIENT_CHANNELS > 2:
                                    s24 = vector_multiply_add(s24, a2, v)
                                    s34 = vector_multiply_add(s34, a3, v)
                        # Add the block's sums; slots past the kernel's width are dropped.
                        live = min(GRADIENT_TAPS, kernel_width - q0)
                        at = ((c * kernel_height + p) * kernel_width + q0) * lanes
                        add_tap_sums(sums, at, live, s00, s01, s02, s03, s04)
                        add_tap_sums(sums, pitch + at, live, s10, s11, s12, s13, s14)
                        if GRADIENT_CHANNELS > 2:
                            add_tap_sums(sums, 2 * pitch + at, live, s20, s21, s22, s23, s24)
                            add_tap_sums(sums, 3 * pitch + at, live, s30, s31, s32, s33, s34)
        for r in range(own - first, GRADIENT_CHANNELS):
            for k in range(taps):
                at = r * pitch + k * lanes
                total = partial.dtype.type(0)
                for lane in range(lanes):
                    total += sums[at + lane]
                partial[chunk, first + r, k] = total


# --- orchestration (Python) -----------------------------------------------------------------------

# Weight-gradient tasks to aim for (channel groups times batch chunks): enough for both cores to
# get equal shares of a 32-channel layer.
GRADIENT_TASKS = 16


def lanes_of(dtype):
    return VECTOR_BYTES // np.dtype(dtype).itemsize


def tap_tables(channels, kernel_height, kernel_width, dilation_h, dilation_w):
    """Channel, row and column of every tap (c, p, q), in the weight's C order."""
    tap = np.arange(channels * kernel_height * kernel_width)
    return (tap // (kernel_height * kernel_width),
            (tap // kernel_width % kernel_height) * dilation_h,
            (tap % kernel_width) * dilation_w)


def buffer_width(out_width, reach, lanes, vectors_per_step):
    """Padded columns for row loads of ``vectors_per_step`` vectors at every tap column."""
    step = vectors_per_step * lanes
    return max(out_width + reach, reach + -(-out_width // step) * step)


def forward(source, top, left, padded_height, padded_width, weight, bias, dilation_h, dilation_w, out):
    """``direct_correlate`` of ``source`` placed at (top, left) in zero (padded_height,
    padded_width) planes, ``padded_width`` at least ``buffer_width(..., 2)``."""
    rows, channels, kernel_height, kernel_width = weight.shape
    taps = channels * kernel_height * kernel_width
    groups = -(-rows // FORWARD_CHANNELS)
    packed = np.zeros((groups * FORWARD_CHANNELS, taps), out.dtype)
    packed[:rows] = weight.reshape(rows, taps)
    packed = np.ascontiguousarray(
        packed.reshape(groups, FORWARD_CHANNELS, taps).transpose(0, 2, 1))
    bias_packed = np.zeros(groups * FORWARD_CHANNELS, out.dtype)
    bias_packed[:rows] = bias
    tap_channel, tap_row, tap_column = tap_tables(channels, kernel_height, kernel_width,
                                                  dilation_h, dilation_w)
    tap_offsets = ((tap_channel * padded_height + tap_row) * padded_width
                   + tap_column).astype(np.uint64)
    result = out if out.flags.c_contiguous else np.empty(out.shape, out.dtype)
    direct_correlate(np.ascontiguousarray(source), top, left,
                     padded_scratch(channels, padded_height, padded_width, out.dtype), packed,
                     bias_packed, tap_offsets, np.ones(lanes_of(out.dtype), out.dtype), result)
    if result is not out:
        out[...] = result


def gradient_reach(kernel_width):
    """Last column offset a weight-gradient block reads: whole blocks of five taps."""
    return max(kernel_width - 1, (kernel_width - 1) // GRADIENT_TAPS * GRADIENT_TAPS
               + GRADIENT_TAPS - 1)


def weight_gradient(padded, grad_out, dilation_h, grad_weight):
    """``direct_weight_gradient`` (column dilation 1) on a padded input of at least
    ``buffer_width(out_width, gradient_reach(kernel_width), lanes, 1)`` columns."""
    rows, channels, kernel_height, kernel_width = grad_weight.shape
    batch = grad_out.shape[0]
    grad_out = np.ascontiguousarray(grad_out)
    if rows < GRADIENT_CHANNELS:
        # The tile reads a whole group of channels: zero ones past the last.
        widened = np.zeros((batch, GRADIENT_CHANNELS) + grad_out.shape[2:], grad_out.dtype)
        widened[:, :rows] = grad_out
        grad_out = widened
    groups = -(-grad_out.shape[1] // GRADIENT_CHANNELS)
    chunks = max(1, min(batch, -(-GRADIENT_TASKS // groups)))
    partial = np.empty((chunks, grad_out.shape[1], channels * kernel_height * kernel_width),
                       grad_weight.dtype)
    lanes = lanes_of(grad_weight.dtype)
    task_sums = np.zeros((chunks * groups, GRADIENT_CHANNELS * partial.shape[2] * lanes),
                         grad_weight.dtype)
    direct_weight_gradient(padded, grad_out, kernel_height, kernel_width, dilation_h,
                           np.zeros(lanes, grad_weight.dtype), task_sums, partial)
    total = partial[0]
    for chunk in range(1, chunks):
        total = total + partial[chunk]
    grad_weight[...] = total[:rows].reshape(grad_weight.shape)
