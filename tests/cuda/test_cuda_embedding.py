"""kernels/cuda/embedding.py against kernels/cpu/embedding.py, and F.embedding on CUDA tensors against the CPU.

Small tables (the simulator runs every GPU thread as a Python thread): 9 rows of 21 columns, so that
the scatter's row blocks and the thread blocks leave remainders. The gather is a copy and the
scatter adds in position order on both devices, so results are the same bits; frequency scaling
divides once per row on both (within a rounding: the CPU's fastmath multiplies by a reciprocal).
"""
import numpy as np
import pytest
from minigrad.kernels.cpu import embedding as cpu
from minigrad.kernels.cuda import embedding as gpu
from numba import cuda

import minigrad as mg
import minigrad.nn.functional as F

DTYPES = [np.float32, np.float64]
ROWS, WIDTH, POSITIONS = 9, 21, 13


def arrays(dtype, seed=0):
    rng = np.random.default_rng(seed)
    weight = rng.standard_normal((ROWS, WIDTH)).astype(dtype)
    indices = rng.integers(0, ROWS, POSITIONS)
    indices[:3] = [4, 4, 4]  # a row named three times
    grad_out = rng.standard_normal((POSITIONS, WIDTH)).astype(dtype)
    return weight, indices, grad_out


@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_matches_the_cpu_kernel(dtype):
    weight, indices, _ = arrays(dtype)
    expected = np.empty((POSITIONS, WIDTH), dtype)
    cpu.embedding_forward(weight, indices, expected)
    out = cuda.device_array((POSITIONS, WIDTH), dtype)
    gpu.embedding_forward(cuda.to_device(weight), cuda.to_device(indices), out)
    np.testing.assert_array_equal(out.copy_to_host(), expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("padding_idx", [-1, 4])
@pytest.mark.parametrize("scale", [False, True])
@pytest.mark.parametrize("target_threads", [16384, 40])  # one row per block, and several rows per block
def test_scatter_add_matches_the_cpu_kernel(target_threads, scale, padding_idx, dtype, monkeypatch):
    monkeypatch.setattr(gpu, "TARGET_SCATTER_THREADS", target_threads)
    _, indices, grad_out = arrays(dtype, seed=1)
    expected = np.zeros((ROWS, WIDTH), dtype)
    cpu.embedding_backward(grad_out, indices, padding_idx, scale, expected)
    grad_weight = cuda.to_device(np.zeros((ROWS, WIDTH), dtype))
    gpu.embedding_backward(cuda.to_device(grad_out), cuda.to_device(indices), padding_idx, scale, grad_weight)
    if scale:  # the CPU kernel's fastmath divides by a reciprocal (arcp): the last bit may differ
        tolerance = 1e-6 if dtype == np.float32 else 1e-14
        np.testing.assert_allclose(grad_weight.copy_to_host(), expected, rtol=tolerance, atol=tolerance)
    else:
        np.testing.assert_array_equal(grad_weight.copy_to_host(), expected)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
def test_renorm_matches_the_cpu_kernel(norm_type):
    weight, indices, _ = arrays(np.float64, seed=2)
    weight *= 2
    expected = weight.copy()
    cpu.embedding_renorm(expected, indices[:6], 1.2, norm_type, np.zeros(ROWS, np.int8))
    on_device = cuda.to_device(weight)
    gpu.embedding_renorm(on_device, cuda.to_device(indices[:6]), 1.2, norm_type, cuda.to_device(np.zeros(ROWS, np.int8)))
    np.testing.assert_allclose(on_device.copy_to_host(), expected, rtol=1e-14)


def test_empty_inputs_launch_nothing():
    gpu.embedding_forward(cuda.to_device(np.zeros((3, 2))), cuda.to_device(np.zeros(0, np.int64)),
                          cuda.device_array((0, 2)))
    grad_weight = cuda.to_device(np.zeros((3, 2)))
    gpu.embedding_backward(cuda.device_array((0, 2)), cuda.to_device(np.zeros(0, np.int64)), -1, True, grad_weight)
    assert not grad_weight.copy_to_host().any()


def test_f_embedding_on_cuda_tensors_matches_the_cpu(monkeypatch):
    """Through minigrad/cuda/ops_embedding.py: lookup, gradient with padding and scaling, max_norm in place."""
    weight_array, indices, grad_out = arrays(np.float32, seed=3)
    indices = indices[:12].reshape(3, 4)
    results = {}
    for device in ("cpu", "cuda"):
        weight = mg.tensor(weight_array * 2, device=device, requires_grad=True)
        out = F.embedding(mg.tensor(indices, device=device), weight, padding_idx=4, max_norm=1.5,
                          scale_grad_by_freq=True)
        (out * mg.tensor(grad_out[:12].reshape(3, 4, WIDTH), device=device)).sum().backward()
        results[device] = (out.cpu().numpy(), weight.grad.cpu().numpy(), weight.detach().cpu().numpy())
    for ours, expected in zip(results["cuda"], results["cpu"]):
        np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-6)
