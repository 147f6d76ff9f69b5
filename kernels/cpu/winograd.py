"""Stride-1 convolutions by Winograd's minimal filtering along rows: F(m, r) on eight points.

A kernel row of ``r`` taps correlated with a row of the image gives ``m = 9 - r`` outputs of a
tile from 8 inputs ``d`` with 8 multiplications instead of ``m * r``:

    y = A^T [(G g) * (B^T d)]      (A^T: m x 8, G: 8 x r, B^T: 8 x 8; ``transform_matrices``)

the polynomial product evaluated at 0, 1, -1, 2, -2, 1/2, -1/2 and infinity and interpolated back
(Toom-Cook), transposed into a correlation. Along a whole convolution the multiplications become
eight matrix products, one per transform point x, over the channels and kernel rows:

    M_x[position, o] = sum_{c, p} U_x[o, c, p] * V_x[c, row + p * dilation_h, tile]

``U = G . weight`` (the weight's rows transformed, once per call, in NumPy), ``V = B^T . d`` (the
image's rows transformed, tile by tile, ``transform_rows``), then ``out = bias + A^T . M``
(``untransform``). For the reference CNN's second layer (5x5, m = 4 on rows of 14: 4 tiles of 4,
two positions wasted) that is 8 * 4 = 32 products per output row and kernel row against 14 * 5 =
70: 2.2 times fewer multiply-adds; a 3x3 kernel (m = 6) has 2.25 times fewer on long rows. Rows
are not transformed (a 2-D F(m x m) would save more, at float32 errors that grow with the tile).

Error: the transforms' coefficients (up to 5.25 in B^T, 2^(m-1) in A^T) round in float32, so
the results carry about three times the rounding error of direct sums (float64 references, the
reference CNN's second layer: 1.8e-6 against 1.1e-6 of the largest output). An inf or NaN in the
image spreads to every output of its tiles (and ``inf - inf`` makes NaN) where direct sums give
inf at the outputs that read it, so ``winograd_correlate`` flags the images whose outputs are not
all finite and the caller recomputes them exactly (``conv2d.correlate``; a non-finite weight
makes every image's outputs non-finite, so all of them).

The matrix products run on im2col's gathered register tile (``product_strip``: the matmul's
outer-product tile, ``OUTER_TILE_ROWS`` positions x 2 vectors of output channels) with the
transformed image as its A, read at ``position + tap_index[c, p]``, and U packed as its B. Each
thread takes a contiguous run of images; per image it spreads the image into a zero-bordered
buffer of its own, transforms it (8 x 9 KiB for the reference layer), runs the products into
``products`` (per point, positions x channels), transforms them back into a positions x channels
buffer and transposes that into the image's NCHW planes (``transpose_block``).

Measured natively on Zen 3 (AVX2), two threads, the reference CNN's second layer (32 -> 64, 5x5
on 14x14, batch 100, float32): forward 7.1 ms and input gradient 7.7 against 10.5 and 10.4 for
im2col.gather_correlate (8.5 and 8.7 with product_strip called per tile rather than inlined).
Single-threaded, per batch, before that: the products 11.8-12.5 ms (76 GFLOP/s counting
Winograd's multiply-adds; the gathered kernel runs its longer products at about 90), the image
transforms 1.5, the output transforms 0.2 (by vectors of channels: 2.3 element by element), the
transposes 0.2, the spreading 0.2. Where the products are small (16 -> 16 3x3) or the
transformed weight does not fit L2 (each image reads all of it) the gathered kernels are as
fast or faster: ``conv_choice.uses_winograd`` lists what was measured.
"""
import functools
from fractions import Fraction

import numba
import numpy as np
from numba import prange

from .im2col import spread_into
from .im2col_tiles import gather_half_tile, gather_tile
from .matmul import HALF_TILE_ROWS, OUTER_TILE_ROWS, store_vector_tile
from .preset import cpu_kernel, inlined_twin, serial_kernel
from .simd import (
    VECTOR_BYTES,
    vector_add,
    vector_fma,
    vector_lanes,
    vector_load,
    vector_store,
    vector_zero,
)
from .simd_lanes import transpose_block

# Inputs per tile: the seven finite points below and infinity.
POINTS = 8
FINITE_POINTS = (Fraction(0), Fraction(1), Fraction(-1), Fraction(2), Fraction(-2), Fraction(1, 2),
                 Fraction(-1, 2))
# Each row of B^T scaled so that its first nonzero entry past the first column is +-1, and the
# same row of G divided by it (the product is unchanged): the exact inverse has entries such as
# 1/180 and 64/45; these are the small, exact ones transform_rows is written with.
ROW_SCALES = (Fraction(1), Fraction(-9, 2), Fraction(-9, 2), Fraction(180), Fraction(180),
              Fraction(45, 64), Fraction(45, 64), Fraction(1))


def tile_width(kernel_width):
    """Outputs per tile of eight inputs: m = 9 - r."""
    return POINTS + 1 - kernel_width


@functools.lru_cache(maxsize=8)  # exact arithmetic: about 3 ms; callers only read the arrays
def transform_matrices(kernel_width):
    """(A^T (m x 8), G (8 x r), B^T (8 x 8)), float64, for a kernel row of ``kernel_width`` taps:
    ``A^T [(G g) * (B^T d)][i] = sum_q g[q] d[i + q]`` for i < m."""
    outputs = tile_width(kernel_width)

    def powers(count):  # rows of a Vandermonde matrix, the last one infinity's
        return [[point ** k for k in range(count)] for point in FINITE_POINTS] + [
            [Fraction(0)] * (count - 1) + [Fraction(1)]]

    evaluation = powers(POINTS)
    interpolation = _inverse(evaluation)
    input_transform = [[interpolation[j][i] * ROW_SCALES[i] for j in range(POINTS)]
                       for i in range(POINTS)]
    weight_transform = [[value / ROW_SCALES[i] for value in row]
                        for i, row in enumerate(powers(kernel_width))]
    output_transform = [list(column) for column in zip(*powers(outputs))]
    return tuple(np.array(matrix, dtype=np.float64)
                 for matrix in (output_transform, weight_transform, input_transform))


def _inverse(matrix):
    """The inverse of a square matrix of Fractions (Gauss-Jordan, exact)."""
    size = len(matrix)
    rows = [list(row) + [Fraction(int(i == j)) for j in range(size)] for i, row in enumerate(matrix)]
    for column in range(size):
        pivot = next(r for r in range(column, size) if rows[r][column] != 0)
        rows[column], rows[pivot] = rows[pivot], rows[column]
        rows[column] = [value / rows[column][column] for value in rows[column]]
        for r in range(size):
            if r != column and rows[r][column] != 0:
                factor = rows[r][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[column])]
    return [row[size:] for row in rows]


@serial_kernel
def transform_rows(padded, outputs, tiles, transformed, first):
    """``transformed[x, first + (c * rows + y) * tiles + t] = sum_i B^T[x, i] padded[c, y, t *
    outputs + i]``: every tile of every row of a zero-bordered image, B^T's eight rows written
    out (sums and differences of pairs; ``test_winograd`` checks them against
    ``transform_matrices``)."""
    channels, rows = padded.shape[0], padded.shape[1]
    one = padded.dtype.type(1)
    for c in range(channels):
        for y in range(rows):
            line = padded[c, y]
            base = first + (c * rows + y) * tiles
            for t in range(tiles):
                s = t * outputs
                d0, d1, d2, d3 = line[s], line[s + 1], line[s + 2], line[s + 3]
                d4, d5, d6, d7 = line[s + 4], line[s + 5], line[s + 6], line[s + 7]
                transformed[0, base + t] = d0 - d6 + (one * 5.25) * (d4 - d2)
                even = d2 + d6 - (one * 4.25) * d4
                odd = d1 + d5 - (one * 4.25) * d3
                transformed[1, base + t] = even + odd
                transformed[2, base + t] = even - odd
                even = (one * 0.5) * d2 - (one * 2.5) * d4 + (one * 2) * d6
                odd = d1 - (one * 5) * d3 + (one * 4) * d5
                transformed[3, base + t] = even + odd
                transformed[4, base + t] = even - odd
                even = (one * 2) * d2 - (one * 2.5) * d4 + (one * 0.5) * d6
                odd = d1 - (one * 1.25) * d3 + (one * 0.25) * d5
                transformed[5, base + t] = even + odd
                transformed[6, base + t] = even - odd
                transformed[7, base + t] = d7 - d1 + (one * 5.25) * (d3 - d5)


@serial_kernel
def untransform(products, bias, outputs, tiles, out_width, buffer, check):
    """``buffer[y * out_width + t * outputs + i, o] = bias[o] + sum_x A^T[i, x] products[x, o //
    width, y * tiles + t, o % width]`` for the positions inside the row; ``check`` (one vector)
    gets lanes that are NaN unless every value written is finite.

    By vectors of channels. A^T[i] is ``a^i`` at the finite points plus infinity's 1 on the last
    output: with the points in +- pairs, output i adds the pairs' sums (even i) or differences
    (odd i), scaled by 2^i and 2^-i."""
    positions, width = products.shape[2], products.shape[3]
    channels = products.shape[1] * width
    last = outputs - 1
    lanes = vector_lanes(buffer)
    flat = buffer.reshape(buffer.size)
    finite = vector_zero(buffer)
    for j in range(positions):
        y = j // tiles
        start = (j - y * tiles) * outputs
        count = min(outputs, out_width - start)
        row = (y * out_width + start) * channels
        for o in range(0, channels, lanes):
            strip = o // width
            lane = o - strip * width
            m1 = vector_load(products[1, strip, j], lane)
            m2 = vector_load(products[2, strip, j], lane)
            m3 = vector_load(products[3, strip, j], lane)
            m4 = vector_load(products[4, strip, j], lane)
            m5 = vector_load(products[5, strip, j], lane)
            m6 = vector_load(products[6, strip, j], lane)
            infinity = vector_load(products[7, strip, j], lane)
            sum1, difference1 = vector_add(m1, m2), vector_fma(m1, -1.0, m2)
            sum2, difference2 = vector_add(m3, m4), vector_fma(m3, -1.0, m4)
            sum3, difference3 = vector_add(m5, m6), vector_fma(m5, -1.0, m6)
            start_value = vector_load(bias, o)
            even = vector_add(start_value, sum1)
            odd = vector_add(start_value, difference1)
            for i in range(count):
                if i == 0:
                    value = vector_add(vector_add(even, vector_load(products[0, strip, j], lane)),
                                       vector_add(sum2, sum3))
                elif i % 2 == 1:
                    value = vector_fma(vector_fma(odd, 2.0 ** i, difference2), 0.5 ** i, difference3)
                else:
                    value = vector_fma(vector_fma(even, 2.0 ** i, sum2), 0.5 ** i, sum3)
                if i == last:
                    value = vector_add(value, infinity)
                vector_store(flat, row + i * channels + o, value)
                # 0 * value is NaN exactly where value is inf or NaN (no nnan/ninf in fastmath).
                finite = vector_fma(finite, 0.0, value)
    vector_store(check, 0, finite)


@serial_kernel
def transpose_into(buffer, out):
    """``out[o, s] = buffer[s, o]``: a (positions, channels >= O) buffer into (O, positions)
    planes, by blocks transposed in registers, the edges element by element."""
    channels, positions = out.shape
    flat = out.reshape(channels * positions)
    lanes = vector_lanes(buffer)
    whole_positions = positions - positions % lanes
    whole_channels = channels - channels % lanes
    for s in range(0, whole_positions, lanes):
        for o in range(0, whole_channels, lanes):
            transpose_block(buffer, s, o, flat, o * positions + s, positions)
    for o in range(channels):
        for s in range(whole_positions if o < whole_channels else 0, positions):
            flat[o * positions + s] = buffer[s, o]


@serial_kernel
def product_strip(image, bases, first, count, index, b_strip, out, first_row, first_column,
                  accumulate):
    """``im2col_tiles.gather_strip`` over every step, for one column strip of B whose columns all
    lie in ``out``: rows ``first`` to ``first + count`` of ``a[i, step] = image[bases[i] +
    index[step]]`` times ``b_strip`` into (or added to) out's rows from ``first_row``, columns from
    ``first_column``. Without gather_strip's one-vector tile (its last column strips here are
    whole), which saves each kernel calling this about 0.5 s of cold compile."""
    depth = index.shape[0]
    last = first + count - 1
    zero = vector_zero(b_strip)
    stored = min(count, out.shape[0] - first_row)
    if count <= HALF_TILE_ROWS:
        c00, c01, c10, c11, c20, c21, c30, c31 = gather_half_tile(
            image, bases[first], bases[min(first + 1, last)], bases[min(first + 2, last)],
            bases[last], index, depth, depth, 0, depth, depth, 0, depth, b_strip, zero, zero)
        store_vector_tile(out, first_row, first_column, stored, accumulate, c00, c01, c10, c11, c20,
                          c21, c30, c31, zero, zero, zero, zero, zero, zero, zero, zero)
    else:
        (c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71) = gather_tile(
            image, bases[first], bases[first + 1], bases[first + 2], bases[first + 3],
            bases[first + 4], bases[min(first + 5, last)], bases[min(first + 6, last)],
            bases[min(first + 7, last)], index, depth, depth, 0, depth, depth, 0, depth, b_strip,
            zero, zero)
        store_vector_tile(out, first_row, first_column, stored, accumulate, c00, c01, c10, c11, c20,
                          c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71)


# The forward's products are short (160 steps a tile on the reference CNN's second layer), and a
# call per tile cost it 1.5 ms of 8.5 (Zen 3, two threads): there product_strip is inlined. The
# weight gradient's long ones call it (7.2 ms either way; inlined, its cold compile took 1 s more).
inlined_product_strip = inlined_twin(product_strip)


@cpu_kernel
def winograd_correlate(source, top, left, packed_weights, bias, position_index, tap_index, outputs,
                       padded_parts, transformed_parts, product_parts, buffer_parts, flags, out):
    """``out[n, o, i, j] = bias[o] + sum_{c,p,q} weight[o, c, p, q] * padded[n, c, i + p *
    dilation_h, j + q]``, ``padded`` the source zero-bordered by ``top`` and ``left``
    (``spread_into``), by the transforms above; ``flags[n]`` NaN somewhere where image n's outputs
    are not all finite.

    ``packed_weights`` (8, strips, taps * width): U_x in the matmul's B layout, taps (c, p);
    ``position_index[i * tiles + t] = i * tiles + t`` and ``tap_index[c * kernel_height + p] = (c
    * rows + p * dilation_h) * tiles``: the transformed image's element of position (i, t) and tap
    (c, p); ``bias`` padded to whole strips. Scratch, one of each per part, made by ``correlate``.
    """
    batch, rows, out_height, out_width = out.shape
    parts = padded_parts.shape[0]
    positions = position_index.shape[0]
    tiles = positions // out_height
    for part in prange(parts):
        padded = padded_parts[part]
        transformed = transformed_parts[part]
        products = product_parts[part]
        buffer = buffer_parts[part]
        for n in range(part * batch // parts, (part + 1) * batch // parts):
            spread_into(source[n], top, left, padded)
            transform_rows(padded, outputs, tiles, transformed, 0)
            for x in range(POINTS):
                for strip in range(packed_weights.shape[1]):
                    # Every position against one strip of channels: its U stays in L1.
                    for first in range(0, positions, OUTER_TILE_ROWS):
                        inlined_product_strip(transformed[x], position_index, first,
                                              min(OUTER_TILE_ROWS, positions - first), tap_index,
                                              packed_weights[x, strip], products[x, strip], first,
                                              0, False)
            untransform(products, bias, outputs, tiles, out_width, buffer, flags[n])
            transpose_into(buffer, out[n].reshape(rows, out_height * out_width))


def correlate(source, weight, bias, top, left, dilation_h, out):
    """``out`` = bias + the stride-1 correlation of ``source`` (padded by ``top`` and ``left``)
    with ``weight`` (column dilation 1); returns the indices of the images whose outputs are not
    all finite, for the caller to recompute exactly."""
    rows, channels, kernel_height, kernel_width = weight.shape
    batch, _, out_height, out_width = out.shape
    outputs = tile_width(kernel_width)
    tiles = -(-out_width // outputs)
    image_rows = out_height + dilation_h * (kernel_height - 1)
    width = 2 * (VECTOR_BYTES // out.itemsize)
    strips = -(-rows // width)
    parts = max(1, min(numba.get_num_threads(), batch))
    flags = np.zeros((batch, width // 2), out.dtype)
    winograd_correlate(
        np.ascontiguousarray(source), top, left, packed_weights(weight, width),
        np.concatenate([bias, np.zeros(strips * width - rows, out.dtype)]),
        *_indices(channels, kernel_height, image_rows, tiles, out_height, dilation_h), outputs,
        np.zeros((parts, channels, image_rows, tiles * outputs + kernel_width - 1), out.dtype),
        np.empty((parts, POINTS, channels * image_rows * tiles), out.dtype),
        np.empty((parts, POINTS, strips, out_height * tiles, width), out.dtype),
        np.empty((parts, out_height * out_width, strips * width), out.dtype), flags, out)
    return np.flatnonzero(np.isnan(flags).any(axis=1))


def packed_weights(weight, width):
    """U_x = G . weight's rows, (8, strips, taps * width): per point, strips of ``width``
    output channels, taps (c, p) in order, ``width`` channels a tap (zero past the last)."""
    rows, channels, kernel_height, kernel_width = weight.shape
    strips = -(-rows // width)
    if rows % width:
        weight = np.concatenate([weight, np.zeros((strips * width - rows,) + weight.shape[1:],
                                                  weight.dtype)])
    with np.errstate(invalid="ignore", over="ignore"):  # an inf weight: its images go again
        transformed = weight.reshape(-1, kernel_width) @ transform_matrices(kernel_width)[1].T.astype(
            weight.dtype)
    taps = channels * kernel_height
    return np.ascontiguousarray(transformed.reshape(strips, width, taps, POINTS).transpose(3, 0, 2, 1)
                                ).reshape(POINTS, strips, taps * width)


@functools.lru_cache(maxsize=64)  # a function of the geometry alone; callers only read them
def _indices(channels, kernel_height, image_rows, tiles, out_height, dilation_h):
    """(position_index, tap_index) of ``winograd_correlate``."""
    tap_index = ((np.arange(channels).reshape(-1, 1) * image_rows
                  + np.arange(kernel_height).reshape(1, -1) * dilation_h) * tiles)
    return np.arange(out_height * tiles, dtype=np.int64), tap_index.reshape(-1).astype(np.uint64)
