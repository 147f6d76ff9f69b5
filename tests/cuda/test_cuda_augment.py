"""kernels/cuda/augment.py against kernels/cpu/augment.py on the same arrays.

Small odd shapes (the simulator runs every GPU thread as a Python thread): 3 images, 2 channels,
7x9 planes, so no size is a multiple of a block. Crop and flip copy pixels and nearest selects
one, so those results must be the same bits; bilinear blends in float64, within rounding.
"""
import numpy as np
import pytest
from minigrad.kernels.cpu import augment as cpu
from minigrad.kernels.cuda import augment as gpu
from numba import cuda

SHAPE = (3, 2, 7, 9)
MODES = ["constant", "edge", "reflect", "symmetric"]
TOLERANCES = {np.float32: {"rtol": 1e-6, "atol": 1e-6}, np.float64: {"rtol": 1e-13, "atol": 1e-13}}


def random_images(dtype, seed=0):
    generator = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        return generator.integers(0, 256, SHAPE).astype(dtype)
    return generator.standard_normal(SHAPE).astype(dtype)


def on_gpu(function, images, arguments, out_shape):
    """``function`` of the CUDA module on device copies; the result back on the host."""
    out = cuda.to_device(np.zeros(out_shape, images.dtype))
    function(cuda.to_device(images), *[cuda.to_device(value) if isinstance(value, np.ndarray) else value
                                       for value in arguments], out)
    return out.copy_to_host()


def on_cpu(function, images, arguments, out_shape):
    out = np.zeros(out_shape, images.dtype)
    function(images, *arguments, out)
    return out


# Every mode once, the dtypes shared out among them (a dtype changes only the loads and stores).
@pytest.mark.parametrize(("mode", "dtype"), list(zip(MODES, [np.uint8, np.float32, np.uint8, np.float64])))
def test_crop_matches_the_cpu_kernel_in_every_padding_mode(mode, dtype):
    images = random_images(dtype)
    # Windows from deep in the top-left padding to deep in the bottom-right (one reflection reaches):
    # a window taller than the image, one narrower, and offsets past both edges.
    reach = 6 if mode == "reflect" else 7
    tops = np.array([-reach, 3, -2], dtype=np.int64)
    lefts = np.array([4, -reach, 9 + reach - 6], dtype=np.int64)
    fill = np.array([5, 17], dtype=dtype)
    arguments = (tops, lefts, mode, fill)
    expected = on_cpu(cpu.crop, images, arguments, (3, 2, 8, 6))
    np.testing.assert_array_equal(on_gpu(gpu.crop, images, arguments, (3, 2, 8, 6)), expected)
    if mode == "constant":
        assert (expected == fill[None, :, None, None]).any(), "the windows reach the padding"


@pytest.mark.parametrize(("vertical", "dtype"), [(False, np.float64), (True, np.uint8)])
def test_flip_matches_the_cpu_kernel(vertical, dtype):
    images = random_images(dtype, seed=1)
    flags = np.array([True, False, True])
    got = on_gpu(gpu.flip, images, (flags, vertical), SHAPE)
    np.testing.assert_array_equal(got, on_cpu(cpu.flip, images, (flags, vertical), SHAPE))
    np.testing.assert_array_equal(got[1], images[1])  # an image left as it was


def sampling_matrices():
    """(3, 2, 3): a rotation and scale about the centre with a shift (many pixels outside), exact
    half positions (0.5 steps: nearest's ties, half to even), and a mirror onto -1 and past the edge."""
    angle, scale = np.radians(30), 1.1
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
    centre_x, centre_y = 4.0, 3.0
    rotation = [[cos, -sin, centre_x - cos * centre_x + sin * centre_y + 1.3],
                [sin, cos, centre_y - sin * centre_x - cos * centre_y - 0.7]]
    halves = [[0.5, 0.0, -1.0], [0.0, 1.5, -1.0]]
    mirror = [[-1.0, 0.0, 8.25], [0.0, 1.0, -1.0]]
    return np.array([rotation, halves, mirror])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nearest", [True, False], ids=["nearest", "bilinear"])
def test_affine_matches_the_cpu_kernel(nearest, dtype):
    images = random_images(dtype, seed=2)
    matrices, fill = sampling_matrices(), np.array([0.25, -3.0])
    arguments = (matrices, fill, nearest)
    expected = on_cpu(cpu.affine, images, arguments, SHAPE)
    got = on_gpu(gpu.affine, images, arguments, SHAPE)
    if nearest:
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, **TOLERANCES[dtype])
    assert (expected == fill[None, :, None, None]).any(), "some pixels fall outside the image"


# The simulator computes inf * 0 in NumPy scalars, which warn (the GPU does not).
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("nearest", [True, False], ids=["nearest", "bilinear"])
def test_affine_reads_the_fill_at_nan_and_infinite_positions(nearest):
    images = random_images(np.float32, seed=3)
    matrices = sampling_matrices()
    matrices[0, 0, 2] = np.nan
    matrices[1, 1, 2] = np.inf
    matrices[2, 0, 0] = -np.inf
    fill = np.array([7.0, 8.0])
    arguments = (matrices, fill, nearest)
    got = on_gpu(gpu.affine, images, arguments, SHAPE)
    np.testing.assert_array_equal(got, on_cpu(cpu.affine, images, arguments, SHAPE))
    np.testing.assert_array_equal(got[:2], np.broadcast_to(fill[None, :, None, None], (2, 2, 7, 9)))


def test_empty_outputs_launch_nothing():
    images = random_images(np.float32)
    empty = (0, 2, 7, 9)
    none = np.zeros(0, dtype=np.int64)
    assert on_gpu(gpu.crop, images[:0], (none, none, "edge", np.zeros(2, np.float32)), empty).shape == empty
    assert on_gpu(gpu.flip, images[:0], (np.zeros(0, bool), False), empty).shape == empty
    assert on_gpu(gpu.affine, images[:0], (np.zeros((0, 2, 3)), np.zeros(2), True), empty).shape == empty


def test_transforms_keep_a_cuda_tensor_on_cuda_with_the_cpu_values():
    """mg.data.transforms on a CUDA batch (through the host for now): a CUDA tensor back, the CPU's
    values for the same seed; Normalize too, in place included."""
    import minigrad as mg
    from minigrad.data import transforms as T

    pipeline = T.Compose([T.RandomCrop(6, padding=2, padding_mode="reflect"), T.RandomHorizontalFlip(),
                          T.RandomRotation(20, interpolation=T.InterpolationMode.BILINEAR, fill=0.5),
                          T.Normalize((0.5, 0.1), (2.0, 3.0))])
    images = random_images(np.float32, seed=4)
    results = {}
    for device in ("cpu", "cuda"):
        mg.manual_seed(7)
        results[device] = pipeline(mg.tensor(images, device=device))
    assert results["cuda"].device == "cuda" and results["cuda"].shape == (3, 2, 6, 6)
    np.testing.assert_array_equal(results["cuda"].cpu().numpy(), results["cpu"].numpy())
    batch = mg.tensor(images, device="cuda")
    assert T.Normalize((0.5, 0.1), (2.0, 3.0), inplace=True)(batch) is batch
    expected = (images - np.array([0.5, 0.1], np.float32)[:, None, None]) / np.array([2, 3], np.float32)[:, None, None]
    np.testing.assert_array_equal(batch.cpu().numpy(), expected)
