"""kernels/cuda/elementwise.py against kernels/cpu/elementwise.py on the same arrays."""
import numpy as np
import pytest
from minigrad.kernels.cpu import elementwise as cpu
from minigrad.kernels.cuda import elementwise as gpu
from numba import cuda

DTYPES = [np.float32, np.float64]
# One element, less than a warp, and sizes that leave a partial last block of 256 threads.
SIZES = [1, 7, 300, 1000]


def values_with_edge_cases(size, dtype, seed=0):
    """Random values with NaN, ±inf, ±0 and exact zeros planted at the front (as many as fit)."""
    values = np.random.default_rng(seed).standard_normal(size).astype(dtype)
    edge_cases = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0], dtype)
    count = min(size, edge_cases.size)
    values[:count] = edge_cases[:count]
    return values


def run_forward_both(x):
    expected = np.empty_like(x)
    cpu.relu_forward(x, expected)
    out = cuda.device_array(x.shape, x.dtype)
    gpu.relu_forward(cuda.to_device(x), out)
    return out.copy_to_host(), expected


def run_backward_both(x, grad_output):
    expected = np.empty_like(x)
    cpu.relu_backward(x, grad_output, expected)
    grad_input = cuda.device_array(x.shape, x.dtype)
    gpu.relu_backward(cuda.to_device(x), cuda.to_device(grad_output), grad_input)
    return grad_input.copy_to_host(), expected


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
def test_relu_forward_matches_the_cpu_kernel(size, dtype):
    got, expected = run_forward_both(values_with_edge_cases(size, dtype))
    # A selection, not arithmetic: the results are the same bits, NaN included.
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
def test_relu_backward_matches_the_cpu_kernel(size, dtype):
    x = values_with_edge_cases(size, dtype, seed=1)
    grad_output = values_with_edge_cases(size, dtype, seed=2)[::-1].copy()
    got, expected = run_backward_both(x, grad_output)
    np.testing.assert_array_equal(got, expected)


def test_nan_stays_in_forward_and_passes_the_gradient_in_backward_as_pytorch():
    x = np.array([np.nan, -2.0, 3.0, 0.0], np.float32)
    forward, _ = run_forward_both(x)
    backward, _ = run_backward_both(x, np.array([1.0, np.inf, 1.0, np.inf], np.float32))
    assert np.isnan(forward[0]) and forward[1] == 0 and forward[2] == 3
    np.testing.assert_array_equal(backward, [1, 0, 1, 0])  # an infinite gradient at x <= 0 gives 0, not NaN


def test_the_grid_stride_loop_covers_arrays_larger_than_the_grid(monkeypatch):
    # Two blocks of 256 threads for 1000 elements: each thread takes two elements, some take one.
    monkeypatch.setattr(gpu, "MAX_BLOCKS", 2)
    x = values_with_edge_cases(1000, np.float32, seed=3)
    got, expected = run_forward_both(x)
    np.testing.assert_array_equal(got, expected)
    got, expected = run_backward_both(x, np.arange(1000, dtype=np.float32))
    np.testing.assert_array_equal(got, expected)


def test_empty_arrays_launch_nothing():
    empty = np.empty(0, np.float32)
    got, _ = run_forward_both(empty)
    assert got.shape == (0,)
    got, _ = run_backward_both(empty, empty)
    assert got.shape == (0,)
