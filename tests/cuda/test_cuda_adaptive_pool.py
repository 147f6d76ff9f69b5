"""kernels/cuda/adaptive_pool.py against kernels/cpu/adaptive_pool.py on the same arrays, and the layers on
"cuda" tensors (values and gradients, dropout2d's mask included) against the CPU's.

Tiny NCHW shapes (the simulator runs every GPU thread as a Python thread) whose sizes are not
multiples of anything. Max pooling is a selection, so its results must be the same bits; average
pooling sums in another order, so within rounding.
"""
import numpy as np
import pytest
from minigrad.kernels.cpu import adaptive_pool as cpu
from minigrad.kernels.cuda import adaptive_pool as gpu
from numba import cuda

import minigrad as mg
from minigrad.nn import functional as F

DTYPES = [np.float32, np.float64]
TOLERANCES = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-13, "atol": 1e-13}}
# (input shape, output size): overlapping bins, larger than the input, global, a one-cell plane
CASES = [((2, 3, 5, 7), (2, 3)), ((1, 2, 3, 4), (5, 6)), ((2, 3, 5, 7), (1, 1)), ((2, 2, 1, 1), (1, 1)),
         ((1, 2, 6, 6), (3, 2))]


def values(shape, dtype, seed=0):
    """Random values on a coarse grid, so that bins hold ties."""
    return np.random.default_rng(seed).integers(-3, 4, shape).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "output_size"), CASES)
def test_average_forward_and_backward_match_the_cpu_kernels(shape, output_size, dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    out_shape = shape[:2] + output_size
    expected = np.empty(out_shape, dtype)
    cpu.adaptive_avg_pool2d_forward(x, expected)
    out = cuda.device_array(out_shape, dtype)
    gpu.adaptive_avg_pool2d_forward(cuda.to_device(x), out)
    np.testing.assert_allclose(out.copy_to_host(), expected, **TOLERANCES[dtype])
    grad_out = rng.standard_normal(out_shape).astype(dtype)
    expected_grad = np.empty(shape, dtype)
    cpu.adaptive_avg_pool2d_backward(grad_out, expected_grad)
    grad_x = cuda.to_device(np.full(shape, np.nan, dtype))  # NaN first: every element must be written
    gpu.adaptive_avg_pool2d_backward(cuda.to_device(grad_out), grad_x)
    np.testing.assert_allclose(grad_x.copy_to_host(), expected_grad, **TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "output_size"), CASES)
def test_max_forward_matches_the_cpu_kernel_ties_and_nan_included(shape, output_size, dtype):
    x = values(shape, dtype)
    x.reshape(-1)[3] = np.nan
    out_shape = shape[:2] + output_size
    expected, expected_indices = np.empty(out_shape, dtype), np.empty(out_shape, np.int64)
    cpu.adaptive_max_pool2d_forward(x, expected, expected_indices)
    out, indices = cuda.device_array(out_shape, dtype), cuda.device_array(out_shape, np.int64)
    gpu.adaptive_max_pool2d_forward(cuda.to_device(x), out, indices)
    np.testing.assert_array_equal(out.copy_to_host(), expected)
    np.testing.assert_array_equal(indices.copy_to_host(), expected_indices)


@pytest.mark.parametrize(("shape", "output_size"), [((2, 3, 5, 4), (2, 3)), ((3, 4, 3), (1, 1))])
@pytest.mark.parametrize("name", ["adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_the_functions_on_cuda_tensors_match_the_cpu(name, shape, output_size):
    x = np.random.default_rng(2).standard_normal(shape)
    weights = np.random.default_rng(3).standard_normal(shape[:-2] + output_size)
    results = {}
    for device in ("cpu", "cuda"):
        tensor = mg.tensor(x, dtype=mg.float64, device=device, requires_grad=True)
        out = getattr(F, name)(tensor, output_size)
        (out * mg.tensor(weights, dtype=mg.float64, device=device)).sum().backward()
        results[device] = out.cpu().numpy(), tensor.grad.cpu().numpy()
    for mine, expected in zip(results["cuda"], results["cpu"]):
        np.testing.assert_allclose(mine, expected, rtol=1e-13, atol=1e-13)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the dropout hash's uint64 wrap
def test_dropout2d_draws_the_same_channel_mask_on_cuda():
    x = np.random.default_rng(4).standard_normal((3, 4, 2, 3))
    results = {}
    for device in ("cpu", "cuda"):
        mg.manual_seed(5)
        tensor = mg.tensor(x, dtype=mg.float64, device=device, requires_grad=True)
        out = F.dropout2d(tensor, 0.5)
        out.sum().backward()
        results[device] = out.cpu().numpy(), tensor.grad.cpu().numpy()
    np.testing.assert_array_equal(results["cuda"][0], results["cpu"][0])
    np.testing.assert_array_equal(results["cuda"][1], results["cpu"][1])


def test_empty_outputs_launch_nothing():
    x = cuda.device_array((0, 2, 3, 3), np.float32)
    out, indices = cuda.device_array((0, 2, 2, 2), np.float32), cuda.device_array((0, 2, 2, 2), np.int64)
    gpu.adaptive_avg_pool2d_forward(x, out)
    gpu.adaptive_avg_pool2d_backward(out, x)
    gpu.adaptive_max_pool2d_forward(x, out, indices)
    assert out.copy_to_host().shape == (0, 2, 2, 2)
