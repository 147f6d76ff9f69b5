"""kernels/cuda/conv2d.py against kernels/cpu/conv2d.py on the same arrays.

Tiny shapes (the simulator runs every GPU thread as a Python thread): 2 images, 3 channels, 7x6
planes, 4 output channels, so that no size is a multiple of a block, with strides, symmetric and
asymmetric padding and dilation.
"""
import numpy as np
import pytest
from minigrad.kernels.cpu import conv2d as cpu
from minigrad.kernels.cuda import conv2d as gpu
from numba import cuda

DTYPES = [np.float32, np.float64]
TOLERANCES = {np.float32: {"rtol": 1e-5, "atol": 1e-5}, np.float64: {"rtol": 1e-12, "atol": 1e-12}}

# (kernel (KH, KW), stride (h, w), padding (top, bottom, left, right), dilation (h, w)).
GEOMETRIES = {
    "3x3": ((3, 3), (1, 1), (0, 0, 0, 0), (1, 1)),
    "3x3-same": ((3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),
    "2x3-stride2-pad1": ((2, 3), (2, 2), (1, 1, 1, 1), (1, 1)),
    "3x3-stride2x1-asymmetric": ((3, 3), (2, 1), (0, 1, 2, 1), (1, 1)),
    "2x2-same-even": ((2, 2), (1, 1), (0, 1, 0, 1), (1, 1)),
    "3x3-dilation2-pad2": ((3, 3), (1, 1), (2, 2, 2, 2), (2, 2)),
    "2x3-stride2-dilation2x1-asymmetric": ((2, 3), (2, 2), (1, 0, 0, 2), (2, 1)),
}
BATCH, CHANNELS, HEIGHT, WIDTH, OUT_CHANNELS = 2, 3, 7, 6, 4


def output_size(size, kernel, stride, before, after, dilation):
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


def problem(name, dtype, seed=0):
    """x, weight, bias, output shape and the six geometry scalars of the kernels' contract."""
    kernel, stride, padding, dilation = GEOMETRIES[name]
    (kernel_h, kernel_w), (stride_h, stride_w), (dilation_h, dilation_w) = kernel, stride, dilation
    top, bottom, left, right = padding
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, CHANNELS, HEIGHT, WIDTH)).astype(dtype)
    weight = rng.standard_normal((OUT_CHANNELS, CHANNELS, kernel_h, kernel_w)).astype(dtype)
    bias = rng.standard_normal(OUT_CHANNELS).astype(dtype)
    out_shape = (BATCH, OUT_CHANNELS, output_size(HEIGHT, kernel_h, stride_h, top, bottom, dilation_h),
                 output_size(WIDTH, kernel_w, stride_w, left, right, dilation_w))
    geometry = (stride_h, stride_w, top, left, dilation_h, dilation_w)
    return x, weight, bias, out_shape, geometry


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(GEOMETRIES))
def test_forward_matches_the_cpu_kernel(name, dtype):
    x, weight, bias, out_shape, geometry = problem(name, dtype)
    expected = np.empty(out_shape, dtype)
    cpu.conv2d_forward(x, weight, bias, *geometry, expected)
    out = cuda.device_array(out_shape, dtype)
    gpu.conv2d_forward(cuda.to_device(x), cuda.to_device(weight), cuda.to_device(bias), *geometry, out)
    np.testing.assert_allclose(out.copy_to_host(), expected, **TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(GEOMETRIES))
def test_input_gradient_matches_the_cpu_kernel(name, dtype):
    x, weight, _, out_shape, geometry = problem(name, dtype)
    grad_out = np.random.default_rng(1).standard_normal(out_shape).astype(dtype)
    expected = np.empty(x.shape, dtype)
    cpu.conv2d_backward_input(grad_out, weight, *geometry, expected)
    # Filled with NaN first: every element must be written, rows and columns no output reads included.
    grad_x = cuda.to_device(np.full(x.shape, np.nan, dtype))
    gpu.conv2d_backward_input(cuda.to_device(grad_out), cuda.to_device(weight), *geometry, grad_x)
    np.testing.assert_allclose(grad_x.copy_to_host(), expected, **TOLERANCES[dtype])


@pytest.fixture
def few_lanes(monkeypatch):
    """3 lanes of partial sums per weight element (which divide no sum's length here) instead of up
    to 256: the same code, on a few hundred simulated threads instead of some nine thousand."""
    monkeypatch.setattr(gpu, "MAX_LANES", 3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(GEOMETRIES))
def test_weight_gradient_matches_the_cpu_kernel(few_lanes, name, dtype):
    x, weight, _, out_shape, geometry = problem(name, dtype)
    grad_out = np.random.default_rng(2).standard_normal(out_shape).astype(dtype)
    expected = np.empty(weight.shape, dtype)
    cpu.conv2d_backward_weight(x, grad_out, *geometry, expected)
    grad_weight = cuda.to_device(np.full(weight.shape, np.nan, dtype))
    gpu.conv2d_backward_weight(cuda.to_device(x), cuda.to_device(grad_out), *geometry, grad_weight)
    np.testing.assert_allclose(grad_weight.copy_to_host(), expected, **TOLERANCES[dtype])


@pytest.mark.parametrize("max_lanes", [1, 7, None])
def test_weight_gradient_with_any_number_of_lanes(monkeypatch, max_lanes):
    """One lane (a single serial sum), 7 (which do not divide the 2*7*6 = 84 terms) and the module's
    own choice (one lane per term here)."""
    if max_lanes is not None:
        monkeypatch.setattr(gpu, "MAX_LANES", max_lanes)
    x, weight, _, out_shape, geometry = problem("3x3-same", np.float64)
    grad_out = np.random.default_rng(3).standard_normal(out_shape)
    expected = np.empty(weight.shape)
    cpu.conv2d_backward_weight(x, grad_out, *geometry, expected)
    grad_weight = cuda.device_array(weight.shape, np.float64)
    gpu.conv2d_backward_weight(cuda.to_device(x), cuda.to_device(grad_out), *geometry, grad_weight)
    np.testing.assert_allclose(grad_weight.copy_to_host(), expected, **TOLERANCES[np.float64])


def test_weight_gradient_of_an_empty_batch_is_zero():
    x, weight, _, out_shape, geometry = problem("3x3", np.float32)
    grad_weight = cuda.to_device(np.full(weight.shape, np.nan, np.float32))
    gpu.conv2d_backward_weight(cuda.to_device(x[:0]), cuda.device_array((0,) + out_shape[1:], np.float32),
                               *geometry, grad_weight)
    np.testing.assert_array_equal(grad_weight.copy_to_host(), np.zeros(weight.shape, np.float32))


def test_empty_batch_forward_and_input_gradient_launch_nothing():
    x, weight, bias, out_shape, geometry = problem("3x3", np.float32)
    out = cuda.device_array((0,) + out_shape[1:], np.float32)
    gpu.conv2d_forward(cuda.to_device(x[:0]), cuda.to_device(weight), cuda.to_device(bias), *geometry, out)
    grad_x = cuda.device_array((0,) + x.shape[1:], np.float32)
    gpu.conv2d_backward_input(out, cuda.to_device(weight), *geometry, grad_x)
    assert out.copy_to_host().shape == (0,) + out_shape[1:]


@pytest.mark.parametrize("max_lanes", [256, 1, 5])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(2, 4, 42), (3, 5, 1), (1, 1, 300)])
def test_bias_gradient_matches_the_cpu_kernel(monkeypatch, shape, dtype, max_lanes):
    monkeypatch.setattr(gpu, "MAX_LANES", max_lanes)
    grad_planes = np.random.default_rng(4).standard_normal(shape).astype(dtype)
    expected = np.empty(shape[1], dtype)
    cpu.conv2d_backward_bias(grad_planes, expected)
    grad_bias = cuda.to_device(np.full(shape[1], np.nan, dtype))
    gpu.conv2d_backward_bias(cuda.to_device(grad_planes), grad_bias)
    np.testing.assert_allclose(grad_bias.copy_to_host(), expected, **TOLERANCES[dtype])


def test_results_do_not_change_from_run_to_run(few_lanes):
    """No atomics: the sums run in an order fixed by the shapes, so the bits repeat."""
    x, weight, _, out_shape, geometry = problem("3x3-same", np.float32)
    grad_out = cuda.to_device(np.random.default_rng(5).standard_normal(out_shape).astype(np.float32))
    x_device = cuda.to_device(x)
    runs = []
    for _ in range(2):
        grad_weight = cuda.device_array(weight.shape, np.float32)
        gpu.conv2d_backward_weight(x_device, grad_out, *geometry, grad_weight)
        runs.append(grad_weight.copy_to_host())
    np.testing.assert_array_equal(runs[0], runs[1])
