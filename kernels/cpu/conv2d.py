"""2-D convolution (cross-correlation, NCHW): forward, input gradient and weight gradient.

The three contracts the backend calls (``conv2d_forward``, ``conv2d_backward_input``,
``conv2d_backward_weight``) are Python orchestrators: they pad, pick a kernel by shape and call
parallel kernels one after another (never a parallel kernel from a serial one: a cached serial
Numba function that calls a parallel one crashes when loaded back from the cache).

The "wide grid". Each input plane is copied into a zero-bordered buffer ``padded_width`` columns
wide, so every read is in bounds and padding costs no branch; positions outside the input, on
either side and of any width (``"same"`` with an even kernel pads one more after than before),
read zeros. Flattened, stride-1 output position (i, j) sits at ``t = i * padded_width + j`` and
tap (c, p, q) reads the buffer at ``t`` plus a fixed offset ``c * plane + p * dilation_h *
padded_width + q * dilation_w``. Computing outputs for every t (``padded_width`` columns per
row, the extra ones thrown away) makes each tap one contiguous run of the buffer, so the inner
loops are long unit-stride SIMD loops whatever the kernel, padding or dilation. The direct
kernels and the weight gradient read strided outputs off the stride-1 grid, and the input
gradient of a strided convolution runs over the output gradient spread out with zeros: up to
``stride_h * stride_w`` times the work, which the reference CNN (stride 1) never pays.

The kernels, by shape (the rules and their measurements: conv_choice.py):

- stride 1, unspread, few taps or output channels (the first layer of a CNN, forward and, on
  AVX-512, weight gradient; small input gradients too): ``conv_direct.py``, direct kernels whose
  tiles of output rows (forward) or per-tap sums (weight gradient) stay in SIMD registers,
  reading rows of a zero-bordered input at exact positions (no wide grid): on the reference
  CNN's first layer, single-threaded, 0.9-1.1 vs 2.4-3.0 ms forward and 0.9-1.2 vs 3.5-4 ms
  weight gradient (column dilation 1 only for the weight gradient; Zen 4, AVX-512).
- forward otherwise: few taps or output channels, strided: ``correlate_planes``,
  direct loops that accumulate ``weight[o, k] * run_k`` into an L1-resident wide row, four taps
  per pass as in the matmul's outer-product path. Otherwise ``im2col.gather_correlate``, an
  implicit matrix product on the matmul's outer-product register tile, its A operand gathered
  straight from each image (padded per image into a per-thread buffer, exact positions: none of
  the wide grid's waste), 14 positions of an output row per tile at unit column stride.
- where vectors are narrower than AVX-512's, stride 1 with 3- to 7-wide kernels on rows of 8 or
  more and enough channels (4- to 7-wide and any channels for the weight gradient;
  ``uses_winograd``, ``uses_winograd_weight_gradient``): forward, input gradient and weight gradient by Winograd's
  transforms along rows (winograd.py, winograd_weights.py), 2.2 times fewer multiply-adds on 5x5
  kernels; images (or a weight gradient) with an inf or NaN are summed again by the gathered
  kernels below.
- input gradient: a transposed convolution, run as a forward correlation of the output gradient
  (spread onto the stride-1 grid, padded by ``dilation * (kernel - 1) - pad``, which may be
  negative) with the weight's channel axes swapped and its taps flipped; it picks its kernel by
  the same rule. Strided ones skip the spread grid's zeros: a correlation per stride phase, or
  one sub-pixel correlation for all phases (``conv_phases.py``, ``uses_subpixels``).
- weight gradient: stride 1 and few taps, on AVX-512, or few output channels on narrower vectors
  (``uses_direct_weight_gradient``), ``conv_direct.weight_gradient``; otherwise
  ``im2col.gather_correlate_gradients``, the sums over exact output positions with the
  outer-product tile, one partial sum per thread. Never the wide grid: its zeros between strided
  outputs would meet an inf in x as 0 * inf = NaN, a term PyTorch does not have.
- the input gradient's correlation multiplies the weights by the output gradient's zero border;
  with an inf or NaN in the weight that adds NaN terms PyTorch does not have, so such a weight
  takes ``input_gradient_by_taps`` instead: PyTorch's col2im, one tap at a time, in NumPy.

The choice (``conv_choice.uses_matrix_product``) was measured on the reference CNN: the direct loops win for
its first layer (25 taps; one output row in its input gradient; the gathered tile measured
2.4 vs 2.5 ms forward, single-threaded, and 3.5-3.9 vs 2.7-2.9 ms for the weight gradient);
the gathered matrix products for its second (800 or 1600 taps, 64 or 32 output rows), by 1.2
to 1.6 times over the old 4 x 4 dot-product im2col kernels.
"""
import numpy as np
from numba import prange

from . import conv_direct, conv_phases, im2col, winograd, winograd_weights
from .conv_choice import MATRIX_PRODUCT_ROWS, correlation_kernel, uses_subpixels, weight_gradient_kernel
from .conv_geometry import (
    kernel_row_steps,
    padded_planes,
    padded_size,
    position_offsets,
    row_tile_column_skips,
    tap_offsets,
    weight_gradient_runs,
)
from .matmul import VECTOR_BYTES
from .preset import cpu_kernel

# The entry points the backend calls; kernels/cuda/conv2d.py has the same names and arguments.
__all__ = ["conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight", "conv2d_backward_bias"]

# Output rows (channels) per parallel task of the direct kernel: enough work per task to amortise
# the scheduling, few enough tasks to split a batch of one over both cores.
ROW_BLOCK = 8


@cpu_kernel
def correlate_planes(padded, weights, bias, offsets, padded_width, row_step, column_step, out):
    """``out[n, r, i, j] = bias[r] + sum_k weights[r, k] * padded[n, offsets[k] + t]`` at wide
    position ``t = i * row_step * padded_width + j * column_step``, by direct loops.

    ``padded`` is (N, flattened padded planes), ``weights`` (R, K); both C-contiguous.
    """
    batch, rows, out_height, out_width = out.shape
    taps = weights.shape[1]
    length = (out_height - 1) * row_step * padded_width + (out_width - 1) * column_step + 1
    row_blocks = (rows + ROW_BLOCK - 1) // ROW_BLOCK
    whole_taps = taps - taps % 4
    for task in prange(batch * row_blocks):
        n = task // row_blocks
        first_row = (task % row_blocks) * ROW_BLOCK
        image = padded[n]
        wide_row = np.empty(length, out.dtype)
        # One output row at a time, so its wide row stays in L1 over all taps.
        for row in range(first_row, min(first_row + ROW_BLOCK, rows)):
            weight_row = weights[row]
            wide_row[:] = 0
            # Accumulate: four taps per pass, so each load and store of the wide row carries
            # four multiply-adds.
            for tap in range(0, whole_taps, 4):
                run0 = image[offsets[tap]:offsets[tap] + length]
                run1 = image[offsets[tap + 1]:offsets[tap + 1] + length]
                run2 = image[offsets[tap + 2]:offsets[tap + 2] + length]
                run3 = image[offsets[tap + 3]:offsets[tap + 3] + length]
                scale0, scale1 = weight_row[tap], weight_row[tap + 1]
                scale2, scale3 = weight_row[tap + 2], weight_row[tap + 3]
                for position in range(length):
                    wide_row[position] += (scale0 * run0[position] + scale1 * run1[position]
                                           + scale2 * run2[position] + scale3 * run3[position])
            for tap in range(whole_taps, taps):
                run = image[offsets[tap]:offsets[tap] + length]
                scale = weight_row[tap]
                for position in range(length):
                    wide_row[position] += scale * run[position]
            # Crop: keep the wide positions that are real (strided) outputs, add the bias; unit
            # steps get the contiguous read LLVM vectorises.
            row_bias = bias[row]
            for i in range(out_height):
                out_row = out[n, row, i]
                if column_step == 1:
                    wide_run = wide_row[i * row_step * padded_width:]
                    for j in range(out_width):
                        out_row[j] = row_bias + wide_run[j]
                else:
                    start = i * row_step * padded_width
                    for j in range(out_width):
                        out_row[j] = row_bias + wide_row[start + j * column_step]


def packed_columns(weight):
    """(R, C, KH, KW) weights as the B operand of ``im2col.gather_correlate``: (R strips, taps *
    width), ``packed[s, k * width + j] = weight[s * width + j].flat[k]``, zero past R."""
    rows = weight.shape[0]
    taps = weight[0].size
    width = 2 * (VECTOR_BYTES // weight.itemsize)
    strips = -(-rows // width)
    packed = np.zeros((strips, taps, width), weight.dtype)
    matrix = weight.reshape(rows, taps)
    for strip in range(strips):
        block = matrix[strip * width:(strip + 1) * width]
        packed[strip, :, :block.shape[0]] = block.T
    return packed.reshape(strips, taps * width)


def correlate(source, weight, bias, top, left, spread_h, spread_w, dilation_h, dilation_w,
              stride_h, stride_w, out):
    """``out`` = the strided correlation of ``source`` (spread by ``spread_*`` and padded by
    ``top``/``left`` first) with ``weight``, plus ``bias``."""
    rows, channels, kernel_height, kernel_width = weight.shape
    batch, _, out_height, out_width = out.shape
    padded_height = padded_size(out_height, stride_h, dilation_h, kernel_height)
    padded_width = padded_size(out_width, stride_w, dilation_w, kernel_width)
    bias = np.ascontiguousarray(bias)
    kernel = correlation_kernel(spread_h, spread_w, stride_h, stride_w, dilation_w, weight.shape,
                                out_width, out.itemsize)
    if kernel == "direct":
        width = conv_direct.buffer_width(out_width, dilation_w * (kernel_width - 1),
                                         conv_direct.lanes_of(out.dtype), 2)
        conv_direct.forward(source, top, left, padded_height, width, weight, bias, dilation_h,
                            dilation_w, out)
    elif kernel == "winograd":
        inexact = winograd.correlate(source, weight, bias, top, left, dilation_h, out)
        if inexact.size:
            # An inf or NaN in these images (or their outputs): Winograd's transforms spread it
            # over whole tiles, so they are summed again directly, as PyTorch sums them.
            redone = np.empty((inexact.size,) + out.shape[1:], out.dtype)
            correlate_gathered(source[inexact], weight, bias, top, left, dilation_h, dilation_w,
                               stride_h, stride_w, redone)
            out[inexact] = redone
    elif kernel == "gathered":
        correlate_gathered(source, weight, bias, top, left, dilation_h, dilation_w, stride_h,
                           stride_w, out)
    else:
        padded = padded_planes(source, top, left, spread_h, spread_w, padded_height, padded_width)
        offsets = tap_offsets(channels, kernel_height, kernel_width, padded_height, padded_width,
                              dilation_h, dilation_w)
        correlate_planes(padded.reshape(batch, -1),
                         np.ascontiguousarray(weight).reshape(rows, -1), bias, offsets,
                         padded_width, stride_h, stride_w, out)


def correlate_gathered(source, weight, bias, top, left, dilation_h, dilation_w, stride_h, stride_w,
                       out):
    """``correlate`` of an unspread source on ``im2col.gather_correlate``."""
    rows, channels, kernel_height, kernel_width = weight.shape
    batch, _, out_height, out_width = out.shape
    padded_height = padded_size(out_height, stride_h, dilation_h, kernel_height)
    padded_width = padded_size(out_width, stride_w, dilation_w, kernel_width)
    # Taps ordered by kernel position (p, q, c), so that the rows of a kernel that fall in the
    # padding above or below the image are a run at either end, skipped (kernel_row_steps), and
    # each kernel column is a run of one tap per channel, whose positions left or right of the
    # image the row tiles skip (row_tile_column_skips).
    taps = np.ascontiguousarray(tap_offsets(channels, kernel_height, kernel_width, padded_height,
                                            padded_width, dilation_h, dilation_w)
                                .reshape(channels, kernel_height, kernel_width)
                                .transpose(1, 2, 0)).reshape(-1).astype(np.uint64)
    by_kernel_position = np.ascontiguousarray(weight.transpose(0, 2, 3, 1))
    positions = position_offsets(out_height, out_width, padded_width, stride_h, stride_w, np.int64)
    first_steps, stop_steps = kernel_row_steps(source.shape[2], top, 1, out_height, out_width,
                                               stride_h, dilation_h, kernel_height,
                                               channels * kernel_width)
    # Unit column stride: an output row's positions sit one element apart (the row tiles, where
    # the target has them).
    row_width = (out_width if im2col.ROW_TILE > 0 and stride_w == 1
                 and out_width >= im2col.ROW_TILE else 0)
    column_skips = row_tile_column_skips(source.shape[3], left, 1, row_width, dilation_w,
                                         kernel_width)
    im2col.gather_correlate(np.ascontiguousarray(source), top, left,
                            im2col.padded_scratch(channels, padded_height, padded_width, out.dtype),
                            packed_columns(by_kernel_position),
                            bias, taps, positions, first_steps, stop_steps, row_width, channels,
                            column_skips, out.reshape(batch, rows, -1))


def conv2d_forward(x, weight, bias, stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w,
                   out):
    """out[n,o,i,j] = bias[o] + sum_{c,p,q} weight[o,c,p,q] x[n, c, i*sh-pt+p*dh, j*sw-pl+q*dw]
    (positions outside x read zero)."""
    correlate(x, weight, bias, pad_top, pad_left, 1, 1, dilation_h, dilation_w, stride_h,
              stride_w, out)


def conv2d_backward_input(grad_out, weight, stride_h, stride_w, pad_top, pad_left, dilation_h,
                          dilation_w, grad_x, bias=None):
    """grad_x = bias + the stride-1 correlation of grad_out (spread by the stride, padded by
    dilation * (kernel - 1) - pad) with the flipped, channel-swapped weight. ``bias`` (one value
    per channel of grad_x, zero when None) is a transposed convolution's: the correlations start
    from it, which saves a pass over grad_x."""
    if bias is None:
        bias = np.zeros(grad_x.shape[1], grad_x.dtype)
    if not np.isfinite(weight).all():
        input_gradient_by_taps(grad_out, weight, stride_h, stride_w, pad_top, pad_left, dilation_h,
                               dilation_w, grad_x)
        grad_x += bias.reshape(1, -1, 1, 1)
        return
    if stride_h > 1 or stride_w > 1:
        geometry = (stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w)
        if uses_subpixels(weight.shape, grad_x.shape, geometry):
            conv_phases.input_gradient_by_subpixels(correlate, grad_out, weight, bias, *geometry, grad_x)
            return
        if weight.shape[1] >= MATRIX_PRODUCT_ROWS:
            conv_phases.input_gradient_by_phases(correlate, grad_out, weight, bias, *geometry, grad_x)
            return
    kernel_height, kernel_width = weight.shape[2:]
    flipped = weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    correlate(grad_out, flipped, bias, dilation_h * (kernel_height - 1) - pad_top,
              dilation_w * (kernel_width - 1) - pad_left, stride_h, stride_w, dilation_h, dilation_w, 1, 1,
              grad_x)


def input_gradient_by_taps(grad_out, weight, stride_h, stride_w, pad_top, pad_left, dilation_h,
                           dilation_w, grad_x):
    """grad_x from its real terms only, tap by tap (PyTorch's col2im): each tap's products
    ``sum_o grad_out[n, o] * weight[o, c, p, q]`` are added onto a canvas at the rows and columns
    the tap read in the forward pass; the canvas's border (the padding) is dropped. For weights
    holding inf or NaN, whose products with a zero border the correlation would add as NaN."""
    batch, channels, height, width = grad_x.shape
    out_height, out_width = grad_out.shape[2:]
    kernel_height, kernel_width = weight.shape[2:]
    canvas_height = max(pad_top + height, (out_height - 1) * stride_h + (kernel_height - 1) * dilation_h + 1)
    canvas_width = max(pad_left + width, (out_width - 1) * stride_w + (kernel_width - 1) * dilation_w + 1)
    canvas = np.zeros((batch, channels, canvas_height, canvas_width), grad_x.dtype)
    for p in range(kernel_height):
        for q in range(kernel_width):
            terms = np.einsum("noij,oc->ncij", grad_out, weight[:, :, p, q])
            top, left = p * dilation_h, q * dilation_w
            canvas[:, :, top:top + (out_height - 1) * stride_h + 1:stride_h,
                   left:left + (out_width - 1) * stride_w + 1:stride_w] += terms
    grad_x[...] = canvas[:, :, pad_top:pad_top + height, pad_left:pad_left + width]


def conv2d_backward_weight(x, grad_out, stride_h, stride_w, pad_top, pad_left, dilation_h,
                           dilation_w, grad_weight):
    """grad_weight[o,c,p,q] = sum_{n,i,j} grad_out[n,o,i,j] x[n, c, i*sh-pt+p*dh, j*sw-pl+q*dw]
    (positions outside x read zero)."""
    kernel_height, kernel_width = grad_weight.shape[2:]
    out_height, out_width = grad_out.shape[2:]
    kernel = weight_gradient_kernel(stride_h, stride_w, dilation_w, grad_weight.shape, out_width,
                                    grad_weight.itemsize)
    if kernel == "winograd":
        by_rows = winograd_weights.weight_gradient(x, grad_out, pad_top, pad_left, dilation_h,
                                                   kernel_height, kernel_width)
        if np.isfinite(by_rows).all():
            grad_weight[...] = by_rows
            return
        # An inf or NaN in x or grad_out spreads over whole tiles: summed again exactly.
        kernel = weight_gradient_kernel(stride_h, stride_w, dilation_w, grad_weight.shape,
                                        out_width, grad_weight.itemsize, finite=False)
    if kernel == "direct":
        width = conv_direct.buffer_width(out_width, conv_direct.gradient_reach(kernel_width),
                                         conv_direct.lanes_of(grad_weight.dtype), 1)
        padded_height = padded_size(out_height, stride_h, dilation_h, kernel_height)
        padded = padded_planes(x, pad_top, pad_left, 1, 1, padded_height, width)
        conv_direct.weight_gradient(padded, grad_out, dilation_h, grad_weight)
        return
    weight_gradient_gathered(x, grad_out, stride_h, stride_w, pad_top, pad_left, dilation_h,
                             dilation_w, grad_weight)


def weight_gradient_gathered(x, grad_out, stride_h, stride_w, pad_top, pad_left, dilation_h,
                             dilation_w, grad_weight):
    """``conv2d_backward_weight`` on ``im2col.gather_correlate_gradients``."""
    out_channels, channels, kernel_height, kernel_width = grad_weight.shape
    batch, _, out_height, out_width = grad_out.shape
    padded_height = padded_size(out_height, stride_h, dilation_h, kernel_height)
    padded_width = padded_size(out_width, stride_w, dilation_w, kernel_width)
    offsets = tap_offsets(channels, kernel_height, kernel_width, padded_height, padded_width,
                          dilation_h, dilation_w)
    # Exact positions only (never the wide grid, whose zeros between strided outputs would meet
    # an inf in x as 0 * inf = NaN), for any stride and dilation. The taps ordered by kernel
    # position (p, q, c): a strip of taps then shares its kernel positions, and skips in each
    # image the output rows and columns where they read the zero border (weight_gradient_runs).
    by_position = np.ascontiguousarray(offsets.reshape(channels, kernel_height, kernel_width)
                                       .transpose(1, 2, 0)).reshape(-1)
    runs = weight_gradient_runs(x.shape[2], x.shape[3], pad_top, pad_left, out_height, out_width,
                                stride_h, stride_w, dilation_h, dilation_w, kernel_height,
                                kernel_width, channels, im2col.OUTER_TILE_ROWS)
    sums = np.empty((out_channels, offsets.shape[0]), grad_weight.dtype)
    positions = position_offsets(out_height, out_width, padded_width, stride_h, stride_w, np.uint64)
    chunk_offsets, padded_parts, packed_parts, partial = im2col.gradient_scratch(
        batch, channels, padded_height, padded_width, out_channels, positions, offsets.shape[0],
        grad_weight.dtype)
    im2col.gather_correlate_gradients(np.ascontiguousarray(x), pad_top, pad_left,
                                      np.ascontiguousarray(grad_out).reshape(batch, out_channels, -1),
                                      by_position, chunk_offsets, out_width, *runs, padded_parts,
                                      packed_parts, partial, sums)
    grad_weight[...] = sums.reshape(out_channels, kernel_height, kernel_width, channels).transpose(0, 3, 1, 2)


@cpu_kernel
def conv2d_backward_bias(grad_planes, grad_bias):
    """grad_bias[c] = sum over images n and positions s of grad_planes[n, c, s] ((N, C, H*W) contiguous).

    One channel per parallel iteration (one writer each). Each plane is summed on its own, then the
    planes' sums added: two short sums instead of one of N*H*W terms, so float32 rounding stays at
    the level of NumPy's pairwise sum. NumPy's strided reduction over axes (0, 2, 3) ran single-
    threaded at about 0.4 ms for the first layer's gradient.
    """
    batch, channels, plane = grad_planes.shape
    for channel in prange(channels):
        total = grad_planes.dtype.type(0)
        for image in range(batch):
            line = grad_planes[image, channel]
            plane_total = grad_planes.dtype.type(0)
            for position in range(plane):
                plane_total += line[position]
            total += plane_total
        grad_bias[channel] = total
