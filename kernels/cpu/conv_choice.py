"""Which kernel runs a convolution: the rules by shape and ISA, and the measurements behind them.

``kernels/cpu/conv2d.py``'s contracts ask ``correlation_kernel`` (forward and input gradient) and
``weight_gradient_kernel`` which of its kernels to run: the direct ones (conv_direct.py), Winograd's
row transforms (winograd.py, winograd_weights.py), the gathered matrix products (im2col.py) or the
direct loops over the wide grid (``conv2d.correlate_planes``); ``uses_subpixels`` picks how a
strided input gradient runs (conv_phases.py). Each rule's docstring quotes what it was measured
on; ``python -m minigrad.bench winograd`` prints the Winograd rules' evidence on any machine.
"""
from . import conv_phases
from .simd import VECTOR_BYTES
from .winograd import POINTS


# Correlations with at least this many taps per output take the matrix products; fewer taps leave
# their dot products too short to pay for the per-tile reductions and the packing ...
MATRIX_PRODUCT_TAPS = 64
# ... and at least this many output rows: a 4-row tile over fewer rows is mostly waste.
MATRIX_PRODUCT_ROWS = 16
# Phase rows of at least this many columns keep the input gradient's phase correlations (their row
# tiles; uses_subpixels).
PHASE_ROW_COLUMNS = 14
# Winograd's transforms (uses_winograd) need output rows at least this long, and the forward at
# least this many channels x kernel rows (the depth of its products) ...
WINOGRAD_ROW = 8
WINOGRAD_DEPTH = 40
# ... and, in the forward and input gradient, this many output channels x depth, with the
# transformed weight (8 x output channels x depth) in L2 (Zen 3 has 512 KiB a core).
WINOGRAD_WORK = 1024
WINOGRAD_WEIGHT_BYTES = 384 * 1024
# A 3x3 weight gradient saves less (F(6, 3)): it needs this many output channels x depth on rows of
# at least WINOGRAD_LONG_ROW outputs, twice that on shorter rows (uses_winograd_weight_gradient).
WINOGRAD_GRADIENT_WORK_3X3 = 3072
WINOGRAD_LONG_ROW = 16


def uses_matrix_product(rows, taps, kernel_size):
    """Whether a correlation with this many output rows, taps per output and kernel positions per
    channel (kh * kw) takes the matrix products (measured; see conv2d.py's module docstring)."""
    return rows >= MATRIX_PRODUCT_ROWS and (taps >= MATRIX_PRODUCT_TAPS or kernel_size == 1)


def uses_subpixels(weight_shape, input_shape, geometry):
    """Whether a strided input gradient takes one sub-pixel correlation (conv_phases.py) rather
    than a correlation per stride phase (or, below 16 channels, the spread grid's one call).

    Measured single-threaded on Zen 4, natively and under as-avx2, batch 100, 3x3 stride 2: the
    phases win where each phase's correlation is a whole matrix product, 32 or more channels of
    grad_x (32 <- 32 on 7x7 phases: 2.2 against 2.5 ms; 32 <- 64 on 4x4: 1.8 against 2.7) or 16
    on rows of 14 or more (the row tile; the residual CNN's 16 <- 32 on 14x14 phases: 4.6 against
    6.3 ms; even on AVX2). Elsewhere their calls are short (a phase of a 3x3 kernel has 1 to 4
    taps) and the one call with sh * sw times the output rows wins though it multiplies zeros:
    16 <- 32 on 7x7 phases (the autoencoder's decoder) 2.3 -> 1.4 ms (AVX2 1.8 -> 1.5), 16 <- 64
    2.9 -> 2.1; below 16 channels, against the spread grid, 8 <- 16 on 14x14 4.0 -> 1.4 ms and
    1 <- 16 0.92 -> 0.68. It is not taken where fewer than half its kernel's entries are taps: a
    4x4 kernel at stride 2 reads a 3x3 window (16 of 36 entries: 2.4 against 2.3 ms, AVX2 2.1
    against 2.5), a 1x1 kernel at stride 2 one phase in four."""
    channels = weight_shape[1]
    phase_columns = conv_phases.positions_in_phase(input_shape[3], 0, geometry[1])
    whole_phases = channels >= 2 * MATRIX_PRODUCT_ROWS or (channels >= MATRIX_PRODUCT_ROWS
                                                            and phase_columns >= PHASE_ROW_COLUMNS)
    return not whole_phases and conv_phases.subpixel_efficiency(*weight_shape[2:], *geometry) >= 0.5


def uses_direct(spread_h, spread_w, stride_h, stride_w, rows, taps, kernel_size):
    """Whether a correlation takes conv_direct.py's register-tiled direct kernels: stride 1, no
    spreading, and too few taps or rows for the matrix products."""
    return (spread_h == spread_w == stride_h == stride_w == 1
            and not uses_matrix_product(rows, taps, kernel_size))


def uses_direct_weight_gradient(stride_h, stride_w, dilation_w, rows, taps, kernel_size):
    """Whether a weight gradient takes conv_direct.weight_gradient rather than the gathered sums.

    Where vectors are 64 bytes (AVX-512) the direct kernel for every direct-eligible correlation, as
    measured on Zen 4 (the reference CNN's first layer 0.9-1.2 against 3.5-4 ms). Narrower, only
    below ``MATRIX_PRODUCT_ROWS`` output channels: natively on Zen 3 (AVX2), single-threaded,
    batch 100, gathered against direct, 1 -> 32 5x5 2.8 against 2.9 ms (two threads 1.9 both),
    1 -> 16 3x3 0.69 against 0.84, 3 -> 32 3x3 at 32x32 3.7 against 5.6, 4 -> 32 3.5 against
    6.3, 1 -> 64 5x5 5.5 against 5.9, but 1 -> 8 5x5 0.93 against 0.65 (conv2d_backward_weight
    timed alone, minimum of 7).
    Leaving the direct kernel out there also leaves its compile out of a CNN's first run (about
    5 s of CPU on Zen 3)."""
    if dilation_w != 1 or not uses_direct(1, 1, stride_h, stride_w, rows, taps, kernel_size):
        return False
    return VECTOR_BYTES == 64 or rows < MATRIX_PRODUCT_ROWS


def uses_winograd(spread_h, spread_w, stride_h, stride_w, dilation_w, rows, channels, kernel_height,
                  kernel_width, out_width, itemsize=4):
    """Whether a correlation takes winograd.py's row transforms rather than the gathered matrix
    products: stride 1, unspread, column dilation 1, kernel widths 3 to 7 on rows of at least
    ``WINOGRAD_ROW``, ``MATRIX_PRODUCT_ROWS`` output channels and the depth and work above, where
    vectors are narrower than AVX-512's (measured on Zen 3 only).

    Natively on Zen 3 (AVX2), two threads, minimum of 7, forward / input gradient, Winograd
    against gathered: the reference CNN's second layer (32 -> 64, 5x5 on 14x14, batch 100) 7.1 /
    7.7 against 10.5 / 10.4 ms; batch 64: 16 -> 32 5x5 on 28x28 4.8 / 5.3 against 10.3 / 9.1;
    32 -> 32 3x3 on 32x32 7.1 / 7.2 against 8.0 / 8.1, 4x4 on 16x16 2.6 / 2.6 against 3.1 /
    3.1, 6x6 on 14x14 3.4 / 3.4 against 4.6 / 4.7, 7x7 on 16x16 7.5 / 7.4 against 8.3 / 8.4,
    5x5 on 8x8 0.86 / 0.88 against 1.18 / 1.20; 16 -> 32 3x3 on 28x28 3.0 / 3.1 against 3.3 /
    3.2; 64 -> 64 3x3 on 28x28 15.5 / 15.5 against 22.5 / 22.5. Not taken where it was no faster:
    16 -> 16 3x3 on 28x28 (batch 100) 2.9 / 2.9 against 2.8 / 2.9 (a work of 768), and 64 -> 64
    5x5 on 14x14 21-23 against 13.5 (its transformed weight, 640 KiB, does not fit L2 beside the
    scratch).
    The weight bound is a two-core effect: single-threaded, Winograd wins on every shape past it
    (``NUMBA_NUM_THREADS=1 python -m minigrad.bench winograd``, batch 32: 64 -> 64 5x5 on 14x14
    0.65, 48 -> 64 0.65, 32 -> 96 0.76, 64 -> 128 3x3 0.78, 128 -> 128 3x3 on 8x8 0.90), and its
    64 -> 64 5x5 forward took 9.5 ms a call in one single-threaded process but 24 in each of two
    such processes run at once (32 -> 64: 5.3 and 5.0), so two cores each working on more than
    their L2 holds slow each other down on this host. Looping over groups of images so that each
    strip of the transformed weight serves several (1, 2, 4 or 8 images) left it at 21-24 ms with
    two threads."""
    depth = channels * kernel_height
    return (VECTOR_BYTES < 64 and spread_h == spread_w == stride_h == stride_w == dilation_w == 1
            and 3 <= kernel_width <= 7 and out_width >= WINOGRAD_ROW and rows >= MATRIX_PRODUCT_ROWS
            and depth >= WINOGRAD_DEPTH and rows * depth >= WINOGRAD_WORK
            and POINTS * rows * depth * itemsize <= WINOGRAD_WEIGHT_BYTES)


def uses_winograd_weight_gradient(stride_h, stride_w, dilation_w, rows, channels, kernel_height,
                                  kernel_width, out_width, itemsize=4):
    """Whether a weight gradient takes winograd_weights.py's row transforms rather than the
    gathered sums: stride 1, column dilation 1, kernel widths 3 to 7 on rows of at least
    ``WINOGRAD_ROW`` and ``MATRIX_PRODUCT_ROWS`` output channels, the products' sums (8 x output
    channels x depth, as the forward's transformed weight) within ``WINOGRAD_WEIGHT_BYTES``, any
    number of input channels for widths 4 to 7 and, for 3x3 kernels (F(6, 3): fewer multiply-adds
    saved, 22% of them wasted on rows of 14), output channels x depth of at least
    ``WINOGRAD_GRADIENT_WORK_3X3`` on rows of ``WINOGRAD_LONG_ROW`` or more, twice that on shorter
    ones, where vectors are narrower than AVX-512's (measured on Zen 3 only).

    Natively on Zen 3 (AVX2), two threads, minimum of 7, Winograd against gathered: the reference
    CNN's second layer (32 -> 64, 5x5 on 14x14, batch 100) 6.8-7.4 against 10.9-11.5 ms; batch
    64: 16 -> 32 5x5 on 28x28 4.8 against 7.1; 32 -> 32 4x4 on 16x16 2.6 against 3.0, 6x6 on
    14x14 3.6 against 4.7, 7x7 on 16x16 7.6 against 8.2, 5x5 on 8x8 1.0 against 1.35; batch 32:
    8 -> 16 5x5 on 32x32 1.06 against 1.22. Slower on few input channels, taken anyway: the
    reference CNN's first layer (1 -> 32 on 28x28) 1.52 against 1.09, 3 -> 32 5x5 on 32x32 2.05
    against 1.93 (the transforms of a large output gradient for few products). A CNN's deeper
    layers run this kernel anyway, and the gathered sums would add their own cold compile to its
    first run (6.8 s of CPU, about 3 s of the main job's two-process precompile, which measured
    17.7-20.3 s in CI with it) for 0.4 ms a step.
    Then, by ``python -m minigrad.bench winograd`` (median of 7 interleaved rounds, batch 64,
    Winograd's time over the gathered sums', two or more runs; the host's speed moved by up to
    two times between runs, the ratios far less): 3x3 kernels 64 -> 64 on 28x28 0.63-0.86, on
    16x16 0.56-0.63, on 14x14 0.72-0.80; 32 -> 64 on 28x28 0.57-0.79, on 14x14 0.90-0.93; 64 ->
    32 on 28x28 0.79-0.81; 24 -> 48 on 28x28 0.82-0.83; 32 -> 32 on 28x28 0.84-0.91, on 32x32
    0.92 (6.8 against 7.3 ms before); not taken: 32 -> 48 on 14x14 0.96-1.04, 32 -> 32 on 14x14
    1.04 (2.24 against 2.16 before), 16 -> 32 on 28x28 1.00-1.21, 16 -> 16 on 28x28 1.19 (2.63
    against 2.30 before). Past the sums' bound: 64 -> 128 3x3 on 14x14 1.08-1.49, 128 -> 128 on
    8x8 1.40-1.73; 5x5 48 -> 64 on 14x14 1.16-1.37, 32 -> 96 1.00-1.17, 64 -> 64 0.87-1.36
    (median 1.03 of seven runs; 16-20 against 26-29 ms in an earlier session)."""
    depth = channels * kernel_height
    work = rows * depth
    enough_work = kernel_width > 3 or work >= WINOGRAD_GRADIENT_WORK_3X3 * (
        1 if out_width >= WINOGRAD_LONG_ROW else 2)
    return (VECTOR_BYTES < 64 and stride_h == stride_w == dilation_w == 1
            and 3 <= kernel_width <= 7 and out_width >= WINOGRAD_ROW and rows >= MATRIX_PRODUCT_ROWS
            and enough_work and POINTS * work * itemsize <= WINOGRAD_WEIGHT_BYTES)


def correlation_kernel(spread_h, spread_w, stride_h, stride_w, dilation_w, weight_shape, out_width,
                       itemsize):
    """Which kernel ``correlate`` runs: "direct", "winograd", "gathered" or "planes"."""
    rows, channels, kernel_height, kernel_width = weight_shape
    taps = channels * kernel_height * kernel_width
    if uses_direct(spread_h, spread_w, stride_h, stride_w, rows, taps, kernel_height * kernel_width):
        return "direct"
    if uses_winograd(spread_h, spread_w, stride_h, stride_w, dilation_w, rows, channels,
                     kernel_height, kernel_width, out_width, itemsize):
        return "winograd"
    # (Spread sources never take the gathered kernels, which copy at unit steps: a strided input
    # gradient of 16 or more channels runs by stride phases or sub-pixels, conv_phases.py.)
    if spread_h == spread_w == 1 and uses_matrix_product(rows, taps, kernel_height * kernel_width):
        return "gathered"
    return "planes"


def weight_gradient_kernel(stride_h, stride_w, dilation_w, weight_shape, out_width, itemsize,
                           finite=True):
    """Which kernel ``conv2d_backward_weight`` runs: "winograd", "direct" or "gathered";
    ``finite=False``: the one that sums again a Winograd result holding an inf or NaN."""
    out_channels, channels, kernel_height, kernel_width = weight_shape
    if finite and uses_winograd_weight_gradient(stride_h, stride_w, dilation_w, out_channels,
                                                channels, kernel_height, kernel_width, out_width,
                                                itemsize):
        return "winograd"
    if uses_direct_weight_gradient(stride_h, stride_w, dilation_w, out_channels,
                                   channels * kernel_height * kernel_width,
                                   kernel_height * kernel_width):
        return "direct"
    return "gathered"
