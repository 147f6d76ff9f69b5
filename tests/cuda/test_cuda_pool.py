"""kernels/cuda/pool.py against kernels/cpu/pool.py on the same arrays.

Tiny NCHW shapes (the simulator runs every GPU thread as a Python thread): 2 images, 3 channels,
7x6 planes, so that no size is a multiple of a block and odd rows or columns are left over.
Max pooling is a selection and its backward adds in the CPU kernel's order, so those results
must be the same bits; average pooling divides and sums, within rounding.
"""
import numpy as np
import pytest
from minigrad.kernels.cpu import pool as cpu
from minigrad.kernels.cuda import pool as gpu
from numba import cuda

DTYPES = [np.float32, np.float64]
TOLERANCES = {np.float32: {"rtol": 1e-6, "atol": 1e-6}, np.float64: {"rtol": 1e-13, "atol": 1e-13}}
SHAPE = (2, 3, 7, 6)

# (kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w)
GEOMETRIES = {
    "2x2-stride2": (2, 2, 2, 2, 0, 0),  # the reference CNN's pool (the CPU kernels' unrolled path)
    "3x3-stride2-overlapping": (3, 3, 2, 2, 0, 0),
    "3x3-stride2-pad1": (3, 3, 2, 2, 1, 1),
    "2x3-stride1x2-pad1": (2, 3, 1, 2, 1, 1),
    "3x2-stride3x1-pad1x0": (3, 2, 3, 1, 1, 0),
}


def pooled_shape(shape, geometry):
    """Floor-mode output shape, as the engine computes it."""
    kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w = geometry
    return shape[:2] + ((shape[2] + 2 * pad_h - kernel_h) // stride_h + 1,
                        (shape[3] + 2 * pad_w - kernel_w) // stride_w + 1)


def values(dtype, seed=0):
    """Random values on a coarse grid, so that windows hold ties."""
    return np.random.default_rng(seed).integers(-3, 4, SHAPE).astype(dtype)


def max_pool_both(x, geometry):
    out_shape = pooled_shape(x.shape, geometry)
    expected, expected_indices = np.empty(out_shape, x.dtype), np.empty(out_shape, np.int64)
    cpu.max_pool2d_forward(x, *geometry, expected, expected_indices)
    out, indices = cuda.device_array(out_shape, x.dtype), cuda.device_array(out_shape, np.int64)
    gpu.max_pool2d_forward(cuda.to_device(x), *geometry, out, indices)
    return out.copy_to_host(), indices.copy_to_host(), expected, expected_indices


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(GEOMETRIES))
def test_max_pool_forward_matches_the_cpu_kernel_ties_included(name, dtype):
    out, indices, expected, expected_indices = max_pool_both(values(dtype), GEOMETRIES[name])
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(indices, expected_indices)


@pytest.mark.parametrize("name", sorted(GEOMETRIES))
def test_max_pool_forward_propagates_nan_and_handles_infinities(name):
    x = values(np.float32, seed=1)
    x[0, 0, 1, 1] = np.nan
    x[0, 0, 3, 2] = np.nan  # two NaNs in some overlapping windows: the CPU reports the last one
    x[0, 1, 2, 3] = np.inf
    x[1, 2] = -np.inf  # a whole plane of -inf: every window reports its first in-bounds cell
    out, indices, expected, expected_indices = max_pool_both(x, GEOMETRIES[name])
    np.testing.assert_array_equal(out, expected)  # NaN equals NaN here
    np.testing.assert_array_equal(indices, expected_indices)
    assert np.isnan(out[0, 0]).any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(GEOMETRIES))
def test_max_pool_backward_matches_the_cpu_kernel(name, dtype):
    geometry = GEOMETRIES[name]
    x = values(dtype, seed=2)
    _, indices, _, _ = max_pool_both(x, geometry)
    grad_out = np.random.default_rng(3).standard_normal(indices.shape).astype(dtype)
    expected = np.empty(SHAPE, dtype)
    cpu.max_pool2d_backward(grad_out, indices, expected)
    # NaN first: every element must be written, the ones no window picked included.
    grad_x = cuda.to_device(np.full(SHAPE, np.nan, dtype))
    gpu.max_pool2d_backward(cuda.to_device(grad_out), cuda.to_device(indices), grad_x)
    # The same additions in the same order: the same bits.
    np.testing.assert_array_equal(grad_x.copy_to_host(), expected)


def test_max_pool_backward_adds_where_overlapping_windows_pick_the_same_cell():
    x = np.zeros((1, 1, 5, 5), np.float32)
    x[0, 0, 2, 2] = 1.0  # the centre lies in all four 3x3 stride-2 windows and wins each
    out_shape = pooled_shape(x.shape, GEOMETRIES["3x3-stride2-overlapping"])
    out, indices = cuda.device_array(out_shape, np.float32), cuda.device_array(out_shape, np.int64)
    gpu.max_pool2d_forward(cuda.to_device(x), *GEOMETRIES["3x3-stride2-overlapping"], out, indices)
    grad_x = cuda.device_array(x.shape, np.float32)
    gpu.max_pool2d_backward(cuda.to_device(np.array([[[[1.0, 2.0], [3.0, 4.0]]]], np.float32)), indices,
                            grad_x)
    expected = np.zeros(x.shape, np.float32)
    expected[0, 0, 2, 2] = 10.0
    np.testing.assert_array_equal(grad_x.copy_to_host(), expected)


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(GEOMETRIES))
def test_avg_pool_forward_matches_the_cpu_kernel(name, dtype, count_include_pad):
    geometry = GEOMETRIES[name]
    x = np.random.default_rng(4).standard_normal(SHAPE).astype(dtype)
    out_shape = pooled_shape(SHAPE, geometry)
    expected = np.empty(out_shape, dtype)
    cpu.avg_pool2d_forward(x, *geometry, count_include_pad, expected)
    out = cuda.device_array(out_shape, dtype)
    gpu.avg_pool2d_forward(cuda.to_device(x), *geometry, count_include_pad, out)
    np.testing.assert_allclose(out.copy_to_host(), expected, **TOLERANCES[dtype])


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(GEOMETRIES))
def test_avg_pool_backward_matches_the_cpu_kernel(name, dtype, count_include_pad):
    geometry = GEOMETRIES[name]
    grad_out = np.random.default_rng(5).standard_normal(pooled_shape(SHAPE, geometry)).astype(dtype)
    expected = np.empty(SHAPE, dtype)
    cpu.avg_pool2d_backward(grad_out, *geometry, count_include_pad, expected)
    grad_x = cuda.to_device(np.full(SHAPE, np.nan, dtype))
    gpu.avg_pool2d_backward(cuda.to_device(grad_out), *geometry, count_include_pad, grad_x)
    np.testing.assert_allclose(grad_x.copy_to_host(), expected, **TOLERANCES[dtype])


def test_avg_pool_propagates_nan():
    x = np.random.default_rng(6).standard_normal(SHAPE).astype(np.float32)
    x[1, 2, 3, 3] = np.nan
    geometry = GEOMETRIES["3x3-stride2-pad1"]
    out_shape = pooled_shape(SHAPE, geometry)
    expected = np.empty(out_shape, np.float32)
    cpu.avg_pool2d_forward(x, *geometry, True, expected)
    out = cuda.device_array(out_shape, np.float32)
    gpu.avg_pool2d_forward(cuda.to_device(x), *geometry, True, out)
    got = out.copy_to_host()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    assert np.isnan(got).sum() == 4  # the four windows around (3, 3)
    np.testing.assert_allclose(got, expected, **TOLERANCES[np.float32])


def test_empty_batch_launches_nothing():
    geometry = GEOMETRIES["3x3-stride2-pad1"]
    out_shape = (0,) + pooled_shape(SHAPE, geometry)[1:]
    x = cuda.device_array((0,) + SHAPE[1:], np.float32)
    out, indices = cuda.device_array(out_shape, np.float32), cuda.device_array(out_shape, np.int64)
    gpu.max_pool2d_forward(x, *geometry, out, indices)
    gpu.max_pool2d_backward(out, indices, x)
    gpu.avg_pool2d_forward(x, *geometry, True, out)
    gpu.avg_pool2d_backward(out, *geometry, True, x)
    assert x.copy_to_host().shape == (0,) + SHAPE[1:]
