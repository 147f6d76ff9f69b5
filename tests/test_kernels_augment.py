"""kernels/cpu/augment.py against NumPy and per-pixel Python references, and its bounds-checked serial twins."""
import math

import numpy as np
import pytest

from minigrad.kernels.cpu import augment
from minigrad.kernels.cpu.preset import checked_twin

# Shapes that are multiples of nothing: (N, C, H, W).
SHAPES = [(3, 2, 7, 5), (1, 3, 13, 9), (4, 1, 6, 11)]
NUMPY_PAD_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}


def random_images(shape, dtype, seed=0):
    generator = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        return generator.integers(0, 256, shape).astype(dtype)
    return generator.standard_normal(shape).astype(dtype)


def reference_crop(images, tops, lefts, size, mode, fill):
    """Pad every image with np.pad (by enough on every side), then slice each window."""
    pad = max(size) + 1 if mode in ("constant", "edge") else min(images.shape[2:]) - (mode == "reflect")
    options = {"constant_values": 0} if mode == "constant" else {}
    out = np.empty(images.shape[:2] + size, dtype=images.dtype)
    for image, (top, left) in enumerate(zip(tops, lefts)):
        padded = np.pad(images[image], ((0, 0), (pad, pad), (pad, pad)), mode=NUMPY_PAD_MODES[mode], **options)
        if mode == "constant":
            inside = np.zeros(padded.shape[1:], dtype=bool)
            inside[pad:pad + images.shape[2], pad:pad + images.shape[3]] = True
            padded = np.where(inside, padded, fill[:, None, None])
        out[image] = padded[:, top + pad:top + pad + size[0], left + pad:left + pad + size[1]]
    return out


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_crop_matches_numpy_padding(shape, mode, dtype):
    images = random_images(shape, dtype)
    generator = np.random.default_rng(1)
    size = (shape[2] + 1, max(1, shape[3] - 2))
    # Offsets from deep in the top-left padding to deep in the bottom-right (one reflection reaches).
    reach = min(shape[2:]) - 1 if mode == "reflect" else min(shape[2:])
    tops = generator.integers(-reach, shape[2] + reach - size[0] + 1, shape[0])
    lefts = generator.integers(-reach, shape[3] + reach - size[1] + 1, shape[0])
    fill = np.arange(1, shape[1] + 1).astype(dtype)
    out = np.empty(shape[:2] + size, dtype=dtype)
    augment.crop(images, tops, lefts, mode, fill, out)
    np.testing.assert_array_equal(out, reference_crop(images, tops, lefts, size, mode, fill))


@pytest.mark.parametrize("shape", SHAPES)
def test_flip_matches_numpy(shape):
    images = random_images(shape, np.float64)
    flags = np.arange(shape[0]) % 2 == 0
    for vertical, axis in ((False, -1), (True, -2)):
        out = np.empty_like(images)
        augment.flip(images, flags, vertical, out)
        expected = np.where(flags[:, None, None, None], np.flip(images, axis), images)
        np.testing.assert_array_equal(out, expected)


def reference_affine(images, matrices, fill, nearest):
    """Per output pixel: its input position, then nearest (half to even) or bilinear with torchvision's fill."""
    count, channels, height, width = images.shape
    out = np.empty_like(images)
    for image in range(count):
        for i in range(height):
            for j in range(width):
                x, y = matrices[image] @ (j, i, 1.0)
                if nearest:
                    column, row = round(x), round(y)
                    inside = 0 <= column < width and 0 <= row < height
                    out[image, :, i, j] = images[image, :, row, column] if inside else fill
                    continue
                left, top = math.floor(x), math.floor(y)
                value, inside = np.zeros(channels), 0.0
                for row, row_weight in ((top, 1 - (y - top)), (top + 1, y - top)):
                    for column, column_weight in ((left, 1 - (x - left)), (left + 1, x - left)):
                        if 0 <= column < width and 0 <= row < height:
                            value += row_weight * column_weight * images[image, :, row, column]
                            inside += row_weight * column_weight
                out[image, :, i, j] = value * inside + (1 - inside) * fill
    return out


def random_matrices(count, height, width, seed):
    """Rotations, scales and shears about the centre, shifted so part of each image falls outside."""
    generator = np.random.default_rng(seed)
    matrices = np.empty((count, 2, 3))
    for image in range(count):
        angle, scale = generator.uniform(-math.pi, math.pi), generator.uniform(0.6, 1.6)
        linear = scale * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        linear[0, 1] += generator.uniform(-0.3, 0.3)
        centre = np.array([(width - 1) / 2, (height - 1) / 2])
        matrices[image, :, :2] = linear
        matrices[image, :, 2] = centre - linear @ centre + generator.uniform(-2.5, 2.5, 2)
    return matrices


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("nearest", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_affine_matches_the_per_pixel_reference(shape, nearest, dtype):
    images = random_images(shape, dtype)
    matrices = random_matrices(shape[0], shape[2], shape[3], seed=2)
    fill = np.linspace(-1, 1, shape[1])
    out = np.empty_like(images)
    augment.affine(images, matrices, fill, nearest, out)
    expected = reference_affine(images.astype(np.float64), matrices, fill, nearest)
    tolerance = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=tolerance, atol=tolerance)
    assert (out == fill[None, :, None, None]).any()  # part of the output fell outside the image


def test_identity_and_integer_shifts_are_exact():
    images = random_images((2, 3, 5, 8), np.float32)
    shift = np.array([[[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]]] * 2)
    for nearest in (True, False):
        out = np.empty_like(images)
        augment.affine(images, shift, np.zeros(3), nearest, out)
        np.testing.assert_array_equal(out[:, :, 1:, :6], images[:, :, :4, 2:])
        np.testing.assert_array_equal(out[:, :, 0], 0)
    # Half a pixel per pixel: nearest meets exact ties and rounds them to even, as nearbyint does.
    halves = np.array([[[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]] * 2)
    out = np.empty_like(images)
    augment.affine(images, halves, np.zeros(3), True, out)
    np.testing.assert_array_equal(out, reference_affine(images, halves, np.zeros(3), True))
    np.testing.assert_array_equal(out[:, :, 0, :6], images[:, :, 0, [0, 0, 1, 2, 2, 2]])


def test_the_bounds_checked_twins_agree():
    """Every prange kernel compiled serially with bounds checks, on the hardest cases: the same results."""
    images = random_images((3, 2, 7, 5), np.float32)
    tops, lefts = np.array([-6, 0, 5]), np.array([-4, 1, 3])  # as far as one reflection reaches
    fill = np.ones(2, dtype=np.float32)
    crop, flip, affine = (checked_twin(kernel) for kernel in (augment.crop_kernel, augment.flip_kernel,
                                                               augment.affine_kernel))
    for mode, code in augment.PADDING_MODES.items():
        fast, checked = np.empty((3, 2, 8, 6), np.float32), np.empty((3, 2, 8, 6), np.float32)
        augment.crop(images, tops, lefts, mode, fill, fast)
        crop(images, tops, lefts, code, fill, checked)
        np.testing.assert_array_equal(fast, checked)
    flags = np.array([True, False, True])
    for vertical in (False, True):
        fast, checked = np.empty_like(images), np.empty_like(images)
        augment.flip(images, flags, vertical, fast)
        flip(images, flags, vertical, checked)
        np.testing.assert_array_equal(fast, checked)
    matrices = random_matrices(3, 7, 5, seed=3)
    for nearest in (True, False):
        fast, checked = np.empty_like(images), np.empty_like(images)
        augment.affine(images, matrices, np.zeros(2), nearest, fast)
        affine(images, matrices, np.zeros(2), nearest, checked)
        np.testing.assert_allclose(fast, checked, rtol=1e-6, atol=1e-6)


def test_a_twin_catches_an_offset_the_padding_cannot_reach():
    images = random_images((1, 1, 4, 4), np.float32)
    out = np.empty((1, 1, 4, 4), np.float32)
    with pytest.raises(IndexError):  # reflect reaches 3 rows above a 4-row image, not 9
        checked_twin(augment.crop_kernel)(images, np.array([-9]), np.array([0]), augment.REFLECT,
                                          np.zeros(1, np.float32), out)


def test_each_kernel_once():
    """The three kernels on one small float32 batch (the node tests/test_isa_targets.py runs per target)."""
    images = random_images((2, 3, 7, 6), np.float32)
    tops, lefts, size = np.array([-2, 1]), np.array([3, -1]), (5, 4)
    fill = np.zeros(3, np.float32)
    out = np.empty((2, 3) + size, np.float32)
    augment.crop(images, tops, lefts, "reflect", fill, out)
    np.testing.assert_array_equal(out, reference_crop(images, tops, lefts, size, "reflect", fill))
    out = np.empty_like(images)
    augment.flip(images, np.array([True, False]), False, out)
    np.testing.assert_array_equal(out, np.stack([images[0, :, :, ::-1], images[1]]))
    matrices = random_matrices(2, 7, 6, seed=4)
    for nearest in (True, False):
        augment.affine(images, matrices, fill.astype(np.float64), nearest, out)
        expected = reference_affine(images.astype(np.float64), matrices, np.zeros(3), nearest)
        np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
