"""Batched image augmentation: a crop window over a padded image, a flip, an affine resample.

Images are (N, C, H, W) arrays and every image has its own parameters (crop offsets, a flip flag,
a 2x3 matrix), drawn by the caller. One thread writes each output row, so any thread can make any
row. The affine resample follows torchvision's tensor path (``grid_sample`` with
``align_corners=False`` behind ``F.affine``/``F.rotate``): the caller's matrix maps an output pixel's
(column, row) to the input position sampled there; nearest rounds half to even as ``nearbyint``
does; bilinear reads zero outside the image and blends the fill in by the weight that fell outside,
``value * inside + (1 - inside) * fill``, as torchvision does.
"""
import numpy as np
from numba import prange

from .preset import cpu_kernel, serial_kernel

# The entry points minigrad/data/transforms.py calls (through minigrad.backend.kernels("augment")); each
# has a twin of the same name and arguments in kernels/cuda/augment.py.
__all__ = ["crop", "flip", "affine"]

# Padding modes, torchvision's names: what a position outside the image reads.
CONSTANT, EDGE, REFLECT, SYMMETRIC = 0, 1, 2, 3
PADDING_MODES = {"constant": CONSTANT, "edge": EDGE, "reflect": REFLECT, "symmetric": SYMMETRIC}


@serial_kernel
def source_index(position, size, mode):
    """The index read for ``position`` (maybe outside [0, size)), or -1 where the fill value goes.

    One reflection only: the caller keeps the padding below ``size`` (reflect) or at most ``size``."""
    if 0 <= position < size:
        return position
    if mode == CONSTANT:
        return -1
    if mode == EDGE:
        return 0 if position < 0 else size - 1
    if mode == REFLECT:  # 3 2 1 | 0 1 2 3 | 2 1 0: the edge is not repeated
        return -position if position < 0 else 2 * (size - 1) - position
    return -position - 1 if position < 0 else 2 * size - 1 - position  # symmetric: 2 1 0 | 0 1 2 | 2 1


@cpu_kernel
def crop_kernel(images, tops, lefts, mode, fill, out):
    """out[n, c, i, j] = images[n, c, tops[n] + i, lefts[n] + j], outside the image by ``mode`` (fill[c])"""
    count, channels, height, width = images.shape
    out_height, out_width = out.shape[2], out.shape[3]
    for row in prange(count * channels * out_height):
        image, i = row // (channels * out_height), row % out_height
        channel = (row // out_height) % channels
        y = source_index(tops[image] + i, height, mode)
        for j in range(out_width):
            x = source_index(lefts[image] + j, width, mode)
            if y < 0 or x < 0:
                out[image, channel, i, j] = fill[channel]
            else:
                out[image, channel, i, j] = images[image, channel, y, x]


@cpu_kernel
def flip_kernel(images, flags, vertical, out):
    """out[n] = images[n] mirrored left-right (up-down when ``vertical``) where flags[n], else images[n]"""
    count, channels, height, width = images.shape
    for row in prange(count * channels * height):
        image, channel, i = row // (channels * height), (row // height) % channels, row % height
        source_row = height - 1 - i if flags[image] and vertical else i
        mirrored = flags[image] and not vertical
        for j in range(width):
            out[image, channel, i, j] = images[image, channel, source_row, width - 1 - j if mirrored else j]


@cpu_kernel
def affine_kernel(images, matrices, fill, nearest, out):
    """out[n, c, i, j] = images[n, c] sampled at (x, y) = matrices[n] @ (j, i, 1), nearest or bilinear"""
    count, channels, height, width = images.shape
    out_height, out_width = out.shape[2], out.shape[3]
    for row in prange(count * out_height):
        image, i = row // out_height, row % out_height
        for j in range(out_width):
            x = matrices[image, 0, 0] * j + matrices[image, 0, 1] * i + matrices[image, 0, 2]
            y = matrices[image, 1, 0] * j + matrices[image, 1, 1] * i + matrices[image, 1, 2]
            if nearest:
                x, y = np.rint(x), np.rint(y)
                if 0 <= x <= width - 1 and 0 <= y <= height - 1:
                    for channel in range(channels):
                        out[image, channel, i, j] = images[image, channel, int(y), int(x)]
                else:
                    for channel in range(channels):
                        out[image, channel, i, j] = fill[channel]
                continue
            left, top = np.floor(x), np.floor(y)
            if not (-1 <= left <= width - 1 and -1 <= top <= height - 1):  # every tap outside: the fill alone
                for channel in range(channels):
                    out[image, channel, i, j] = fill[channel]
                continue
            column, line = int(left), int(top)
            right_weight, bottom_weight = x - left, y - top
            weights = ((1 - right_weight) * (1 - bottom_weight), right_weight * (1 - bottom_weight),
                       (1 - right_weight) * bottom_weight, right_weight * bottom_weight)
            has_left, has_right = column >= 0, column + 1 <= width - 1
            has_top, has_bottom = line >= 0, line + 1 <= height - 1
            inside = ((weights[0] if has_left and has_top else 0.0) + (weights[1] if has_right and has_top else 0.0)
                      + (weights[2] if has_left and has_bottom else 0.0)
                      + (weights[3] if has_right and has_bottom else 0.0))
            whole = has_left and has_right and has_top and has_bottom
            for channel in range(channels):
                value = 0.0
                if has_top:
                    if has_left:
                        value += weights[0] * images[image, channel, line, column]
                    if has_right:
                        value += weights[1] * images[image, channel, line, column + 1]
                if has_bottom:
                    if has_left:
                        value += weights[2] * images[image, channel, line + 1, column]
                    if has_right:
                        value += weights[3] * images[image, channel, line + 1, column + 1]
                if not whole:
                    value = value * inside + (1.0 - inside) * fill[channel]
                out[image, channel, i, j] = value


def crop(images, tops, lefts, padding_mode, fill, out):
    """Fill ``out`` (N, C, h, w) with each image's window at (tops[n], lefts[n]) of the padded image.

    ``tops``/``lefts`` are int64 (N,) offsets in the unpadded image's coordinates (negative inside the
    padding); ``fill`` a (C,) array of the images' dtype; ``padding_mode`` a name of PADDING_MODES."""
    crop_kernel(images, tops, lefts, PADDING_MODES[padding_mode], fill, out)


def flip(images, flags, vertical, out):
    """Fill ``out`` with the images mirrored where ``flags`` (bool (N,)) is set, copied elsewhere."""
    flip_kernel(images, flags, vertical, out)


def affine(images, matrices, fill, nearest, out):
    """Fill ``out`` (N, C, h, w) by resampling float images at ``matrices`` (float64 (N, 2, 3)) @ (j, i, 1).

    ``fill``: float64 (C,), the value outside the image; ``nearest``: nearest (True) or bilinear."""
    affine_kernel(images, matrices, fill, nearest, out)
