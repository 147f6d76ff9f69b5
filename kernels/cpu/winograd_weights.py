"""The weight gradient of winograd.py's stride-1 convolutions, by the same row transforms.

The forward's tile is ``y = A^T [(G g) * (B^T d)]``, so a kernel row's gradient over one tile is
``G^T [(B^T d) * (A dy)]``: the image's rows transformed as in the forward (``transform_rows``),
the output gradient's tiles by A (``transform_gradient``), their products summed over every
position of every image for each of the eight points, then mapped back by G^T:

    S_x[(c, p), o] = sum_{n, i, t} V_x[n, c, i + p * dilation_h, t] * Y_x[n, o, i, t]
    grad_weight[o, c, p, q] = sum_x G[x, q] * S_x[(c, p), o]

Eight matrix products of depth ``batch * out_height * tiles`` (the reference CNN's second layer:
8 x 5600 x 160 x 64 multiply-adds against 64 x 800 x 19600 for direct sums, 2.2 times fewer), on
im2col's gathered register tile (``winograd.product_strip``) as ``gather_correlate_gradients``
runs its sums: the taps (c, p) as the tile's rows, gathered from the transformed images of a chunk of the
batch (``CHUNK_POSITIONS`` positions), the transformed output gradient packed as its B, each
thread's part of the batch into partial sums of its own, added in order at the end.

An inf or NaN in x or the output gradient spreads over whole tiles (and ``inf - inf`` makes NaN),
so a gradient that is not all finite is summed again directly by the caller
(``conv2d.conv2d_backward_weight``).
"""
import numba
import numpy as np
from numba import prange

from .im2col import pack_transposed, spread_into
from .matmul import OUTER_TILE_ROWS
from .preset import cpu_kernel, serial_kernel
from .simd import VECTOR_BYTES, vector_add, vector_fma, vector_lanes, vector_load, vector_store, vector_zero
from .winograd import POINTS, product_strip, tile_width, transform_matrices, transform_rows

# Positions (of whole images) per micro-kernel call: a point's transformed images and output
# gradients of a chunk (83 and 129 KiB on the reference CNN's second layer) stay in L2.
CHUNK_POSITIONS = 512


@serial_kernel
def transform_gradient(packed_gradient, outputs, tiles, out_width, transformed, first):
    """``transformed[x, s, (first + i * tiles + t) * width + l] = sum_k A^T[k, x] g[i * out_width
    + t * outputs + k]``, k over the tile's outputs inside the row, ``g`` the output gradient of
    channel ``s * width + l`` (``packed_gradient[s, position * width + l]``, pack_transposed's
    layout), by vectors of channels.

    A^T[k, x] is ``a^k`` at the finite points and infinity's 1 on the last output; with the points
    in +- pairs, x = 1, 3, 5 add the even and odd outputs' sums (scaled by 1, 2^k, 2^-k) and x =
    2, 4, 6 subtract them."""
    lanes = vector_lanes(transformed)
    width = 2 * lanes
    positions = packed_gradient.shape[1] // width
    zero = vector_zero(transformed)
    for strip in range(packed_gradient.shape[0]):
        line = packed_gradient[strip]
        for row_start in range(0, positions, out_width):
            for t in range(tiles):
                start = t * outputs
                count = min(outputs, out_width - start)
                for half in range(0, width, lanes):
                    at = (row_start + start) * width + half
                    gradient = vector_load(line, at)
                    tile_first = gradient
                    even1 = even2 = even3 = gradient
                    odd1 = odd2 = odd3 = zero
                    for k in range(1, count):
                        gradient = vector_load(line, at + k * width)
                        if k % 2 == 1:
                            odd1 = vector_add(odd1, gradient)
                            odd2 = vector_fma(odd2, 2.0 ** k, gradient)
                            odd3 = vector_fma(odd3, 0.5 ** k, gradient)
                        else:
                            even1 = vector_add(even1, gradient)
                            even2 = vector_fma(even2, 2.0 ** k, gradient)
                            even3 = vector_fma(even3, 0.5 ** k, gradient)
                    tile_last = gradient if count == outputs else zero
                    target = (first + row_start // out_width * tiles + t) * width + half
                    vector_store(transformed[0, strip], target, tile_first)
                    vector_store(transformed[1, strip], target, vector_add(even1, odd1))
                    vector_store(transformed[2, strip], target, vector_fma(even1, -1.0, odd1))
                    vector_store(transformed[3, strip], target, vector_add(even2, odd2))
                    vector_store(transformed[4, strip], target, vector_fma(even2, -1.0, odd2))
                    vector_store(transformed[5, strip], target, vector_add(even3, odd3))
                    vector_store(transformed[6, strip], target, vector_fma(even3, -1.0, odd3))
                    vector_store(transformed[7, strip], target, tile_last)


@cpu_kernel
def winograd_weight_gradient(source, top, left, grad_out, tap_bases, chunk_index, outputs,
                             padded_parts, transformed_parts, gradient_parts, packed_parts, partial):
    """``partial[part, x, (c, p), o]``: S_x above over the images of each part of the batch.

    ``tap_bases[c * kernel_height + p] = (c * rows + p * dilation_h) * tiles`` and
    ``chunk_index[m * positions + j] = m * image + j``: where tap (c, p) and position j of a
    chunk's image m sit in its transformed images (``image`` elements each). Scratch, one of each
    per part, made by ``weight_gradient``; ``partial`` zero."""
    batch = source.shape[0]
    rows, out_height, out_width = grad_out.shape[1], grad_out.shape[2], grad_out.shape[3]
    parts = padded_parts.shape[0]
    tiles = (out_width + outputs - 1) // outputs
    positions = out_height * tiles
    chunk = chunk_index.shape[0] // positions
    image = padded_parts.shape[1] * padded_parts.shape[2] * tiles
    taps = tap_bases.shape[0]
    width = 2 * vector_lanes(partial)
    for part in prange(parts):
        padded = padded_parts[part]
        transformed = transformed_parts[part]
        gradient = gradient_parts[part]
        packed = packed_parts[part]
        first_image = part * batch // parts
        last_image = (part + 1) * batch // parts
        for chunk_start in range(first_image, last_image, chunk):
            count = min(chunk, last_image - chunk_start)
            for m in range(count):
                n = chunk_start + m
                spread_into(source[n], top, left, padded)
                transform_rows(padded, outputs, tiles, transformed, m * image)
                pack_transposed(grad_out[n].reshape(rows, out_height * out_width), gradient, 0)
                transform_gradient(gradient, outputs, tiles, out_width, packed, m * positions)
            depth = count * positions
            index = chunk_index[:depth]
            for x in range(POINTS):
                for strip in range(packed.shape[1]):
                    for first in range(0, taps, OUTER_TILE_ROWS):
                        product_strip(transformed[x], tap_bases, first,
                                      min(OUTER_TILE_ROWS, taps - first), index, packed[x, strip],
                                      partial[part, x], first, strip * width,
                                      chunk_start > first_image)


def weight_gradient(x, grad_out, top, left, dilation_h, kernel_height, kernel_width):
    """grad_weight (O, C, kernel_height, kernel_width) of the stride-1 correlation of x (padded by
    ``top`` and ``left``) that gave ``grad_out``'s outputs; column dilation 1."""
    batch, channels = x.shape[:2]
    rows, out_height, out_width = grad_out.shape[1:]
    outputs = tile_width(kernel_width)
    tiles = -(-out_width // outputs)
    image_rows = out_height + dilation_h * (kernel_height - 1)
    positions = out_height * tiles
    image = channels * image_rows * tiles
    dtype = grad_out.dtype
    width = 2 * (VECTOR_BYTES // dtype.itemsize)
    strips = -(-rows // width)
    parts = max(1, min(numba.get_num_threads(), batch))
    chunk = max(1, min(batch, CHUNK_POSITIONS // positions))
    taps = channels * kernel_height
    tap_bases = ((np.arange(channels).reshape(-1, 1) * image_rows
                  + np.arange(kernel_height).reshape(1, -1) * dilation_h) * tiles).reshape(-1)
    chunk_index = (np.arange(chunk).reshape(-1, 1) * image + np.arange(positions)).reshape(-1)
    # Zero: the sums of an empty part. Whole column strips (the tile's columns all stored).
    partial = np.zeros((parts, POINTS, taps, strips * width), dtype)
    winograd_weight_gradient(
        np.ascontiguousarray(x), top, left, np.ascontiguousarray(grad_out), tap_bases.astype(np.int64),
        chunk_index.astype(np.uint64), outputs,
        np.zeros((parts, channels, image_rows, tiles * outputs + kernel_width - 1), dtype),
        np.empty((parts, POINTS, chunk * image), dtype),
        np.empty((parts, strips, out_height * out_width * width), dtype),
        np.empty((parts, POINTS, strips, chunk * positions * width), dtype), partial)
    sums = partial[0, :, :, :rows]
    for part in range(1, parts):  # in part order: the result does not depend on the timing
        sums = sums + partial[part, :, :, :rows]
    weight_transform = transform_matrices(kernel_width)[1].astype(dtype)  # G, (8, r)
    with np.errstate(invalid="ignore", over="ignore"):  # inf or NaN: the caller sums again
        by_kernel_column = np.tensordot(weight_transform, sums, axes=(0, 0))  # (r, taps, O)
    return np.ascontiguousarray(by_kernel_column.reshape(kernel_width, channels, kernel_height, rows)
                                .transpose(3, 1, 2, 0))
