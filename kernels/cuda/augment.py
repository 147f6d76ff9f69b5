"""Batched image augmentation on NCHW device arrays: crop, flip and affine resample, as kernels/cpu/augment.py.

The same contracts and the same math as the CPU module: each image has its own parameters (crop
offsets, a flip flag, a 2x3 matrix), a position outside the image reads by the padding mode (the
CPU's ``source_index``, written out for each axis; the mode numbers are the CPU module's own),
nearest rounds half to even, bilinear reads zero outside the image and blends the fill in by the
weight that fell outside. One thread per output element, numbered in NCHW order, column fastest,
so a warp's stores to ``out`` coalesce; its reads coalesce too, except where a mirror or a
rotation sends neighbouring columns elsewhere. No shared memory, no atomics.

The CPU kernels test "is the rounded (or floored) position in the image" on the float; here the
same test is made on the unrounded position first (nearest: -1 < x < W; bilinear: -1 <= x < W,
exactly where floor(x) lies in [-1, W - 1]), so NaN, inf and far positions never reach round(),
whose integer conversion the GPU leaves undefined there (and the simulator refuses).

Performance, expected rather than measured (there was no GPU here): the reference batch of
100 x 1 x 28 x 28 float32 is 78,400 threads, 314 KB in and out: a launch's few µs on an H100.
Bilinear's four taps per thread recompute the matrix product once per channel, a few dozen
flops against one 4-byte store, still bound by memory.
"""
import math

from numba import boolean, cuda, float32, float64, int64, uint8

from ..cpu.augment import CONSTANT, EDGE, PADDING_MODES, REFLECT

# The entry points: the same names and arguments as kernels/cpu/augment.py.
__all__ = ["crop", "flip", "affine"]

THREADS_PER_BLOCK = 256

# No device functions, and no int() or math.floor() of a float: Numba compiles each of those as a
# device function, which asks the driver for the GPU's compute capability, so the PTX test would
# fail on a machine without a GPU. The CPU's source_index is written out in crop_elements, floor is
# made from round() (which compiles to llrint, inline), and tests/cuda/test_cuda_augment.py
# compares every padding mode and both interpolations with the CPU kernels.


def blocks_for(size):
    """Enough blocks of THREADS_PER_BLOCK for one thread per element."""
    return math.ceil(size / THREADS_PER_BLOCK)


@cuda.jit
def crop_elements(images, tops, lefts, mode, fill, out):
    """out[n, c, i, j] = images[n, c, tops[n] + i, lefts[n] + j], outside the image by ``mode`` (fill[c])"""
    channels, out_height, out_width = out.shape[1], out.shape[2], out.shape[3]
    height, width = images.shape[2], images.shape[3]
    element = cuda.grid(1)
    if element >= out.size:
        return  # the last block's spare threads
    j = element % out_width
    i = (element // out_width) % out_height
    channel = (element // (out_width * out_height)) % channels
    image = element // (out_width * out_height * channels)
    # kernels/cpu/augment.py's source_index, written out for each axis (see the comment above).
    y = tops[image] + i
    if y < 0 or y >= height:
        if mode == CONSTANT:
            y = -1
        elif mode == EDGE:
            y = 0 if y < 0 else height - 1
        elif mode == REFLECT:  # 3 2 1 | 0 1 2 3 | 2 1 0: the edge is not repeated
            y = -y if y < 0 else 2 * (height - 1) - y
        else:  # symmetric: 2 1 0 | 0 1 2 | 2 1
            y = -y - 1 if y < 0 else 2 * height - 1 - y
    x = lefts[image] + j
    if x < 0 or x >= width:
        if mode == CONSTANT:
            x = -1
        elif mode == EDGE:
            x = 0 if x < 0 else width - 1
        elif mode == REFLECT:
            x = -x if x < 0 else 2 * (width - 1) - x
        else:
            x = -x - 1 if x < 0 else 2 * width - 1 - x
    if y < 0 or x < 0:
        out[image, channel, i, j] = fill[channel]
    else:
        out[image, channel, i, j] = images[image, channel, y, x]


@cuda.jit
def flip_elements(images, flags, vertical, out):
    """out[n] = images[n] mirrored left-right (up-down when ``vertical``) where flags[n], else images[n]"""
    channels, height, width = out.shape[1], out.shape[2], out.shape[3]
    element = cuda.grid(1)
    if element >= out.size:
        return
    j = element % width
    i = (element // width) % height
    channel = (element // (width * height)) % channels
    image = element // (width * height * channels)
    source_row, source_column = i, j
    if flags[image]:
        if vertical:
            source_row = height - 1 - i
        else:
            source_column = width - 1 - j
    out[image, channel, i, j] = images[image, channel, source_row, source_column]


@cuda.jit
def affine_elements(images, matrices, fill, nearest, out):
    """out[n, c, i, j] = images[n, c] sampled at (x, y) = matrices[n] @ (j, i, 1), nearest or bilinear"""
    channels, out_height, out_width = out.shape[1], out.shape[2], out.shape[3]
    height, width = images.shape[2], images.shape[3]
    element = cuda.grid(1)
    if element >= out.size:
        return
    j = element % out_width
    i = (element // out_width) % out_height
    channel = (element // (out_width * out_height)) % channels
    image = element // (out_width * out_height * channels)
    x = matrices[image, 0, 0] * j + matrices[image, 0, 1] * i + matrices[image, 0, 2]
    y = matrices[image, 1, 0] * j + matrices[image, 1, 1] * i + matrices[image, 1, 2]
    if nearest:
        # Inside (-1, W) x (-1, H) before rounding (see the module's docstring), then the CPU's test.
        if -1 < x < width and -1 < y < height:
            column, line = round(x), round(y)  # half to even, as np.rint (llrint on the GPU)
            if 0 <= column <= width - 1 and 0 <= line <= height - 1:
                out[image, channel, i, j] = images[image, channel, line, column]
                return
        out[image, channel, i, j] = fill[channel]
        return
    if not (-1 <= x < width and -1 <= y < height):  # every tap outside: the fill alone
        out[image, channel, i, j] = fill[channel]
        return
    # floor(x): the nearest integer, one less where that lies above x.
    column, line = round(x), round(y)
    if column > x:
        column -= 1
    if line > y:
        line -= 1
    right_weight, bottom_weight = x - column, y - line
    # The CPU kernel's weights, sums and order of additions, so the results round alike.
    top_left = (1 - right_weight) * (1 - bottom_weight)
    top_right = right_weight * (1 - bottom_weight)
    bottom_left = (1 - right_weight) * bottom_weight
    bottom_right = right_weight * bottom_weight
    has_left, has_right = column >= 0, column + 1 <= width - 1
    has_top, has_bottom = line >= 0, line + 1 <= height - 1
    inside = ((top_left if has_left and has_top else 0.0) + (top_right if has_right and has_top else 0.0)
              + (bottom_left if has_left and has_bottom else 0.0)
              + (bottom_right if has_right and has_bottom else 0.0))
    value = 0.0
    if has_top:
        if has_left:
            value += top_left * images[image, channel, line, column]
        if has_right:
            value += top_right * images[image, channel, line, column + 1]
    if has_bottom:
        if has_left:
            value += bottom_left * images[image, channel, line + 1, column]
        if has_right:
            value += bottom_right * images[image, channel, line + 1, column + 1]
    if not (has_left and has_right and has_top and has_bottom):
        value = value * inside + (1.0 - inside) * fill[channel]
    out[image, channel, i, j] = value


def crop(images, tops, lefts, padding_mode, fill, out):
    """Fill ``out`` (N, C, h, w) with each image's window at (tops[n], lefts[n]) of the padded image.

    ``tops``/``lefts`` are int64 (N,) device arrays of offsets in the unpadded image's coordinates
    (negative inside the padding); ``fill`` a (C,) device array of the images' dtype;
    ``padding_mode`` a name of kernels/cpu/augment.py's PADDING_MODES."""
    if out.size == 0:
        return  # a grid of zero blocks is an error, and there is nothing to write
    crop_elements[blocks_for(out.size), THREADS_PER_BLOCK](images, tops, lefts, PADDING_MODES[padding_mode], fill,
                                                           out)


def flip(images, flags, vertical, out):
    """Fill ``out`` with the images mirrored where ``flags`` (bool (N,) device array) is set, copied elsewhere."""
    if out.size == 0:
        return
    flip_elements[blocks_for(out.size), THREADS_PER_BLOCK](images, flags, bool(vertical), out)


def affine(images, matrices, fill, nearest, out):
    """Fill ``out`` (N, C, h, w) by resampling float images at ``matrices`` (float64 (N, 2, 3)) @ (j, i, 1).

    ``fill``: float64 (C,), the value outside the image; ``nearest``: nearest (True) or bilinear."""
    if out.size == 0:
        return
    affine_elements[blocks_for(out.size), THREADS_PER_BLOCK](images, matrices, fill, bool(nearest), out)


# The argument types tests/test_cuda_kernels.py compiles every kernel for (nothing compiles at import):
# offsets and the padding mode are int64 (as Python ints are typed), flags bool; crop and flip also
# take the uint8 images a dataset holds, the resample takes float images only.
IMAGE_TYPES = (float32, float64, uint8)
PTX_SIGNATURES = {
    "crop_elements": [(pixel[:, :, :, :], int64[:], int64[:], int64, pixel[:], pixel[:, :, :, :])
                      for pixel in IMAGE_TYPES],
    "flip_elements": [(pixel[:, :, :, :], boolean[:], boolean, pixel[:, :, :, :]) for pixel in IMAGE_TYPES],
    "affine_elements": [(real[:, :, :, :], float64[:, :, :], float64[:], boolean, real[:, :, :, :])
                        for real in (float32, float64)],
}
