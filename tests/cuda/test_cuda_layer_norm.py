"""kernels/cuda/layer_norm.py against kernels/cpu/layer_norm.py on the same arrays, then the layers on
"cuda" tensors against the CPU.

Tiny shapes (the simulator runs every GPU thread as a Python thread), none a multiple of a block:
rows of 37 elements (one warp and a few left over), GroupNorm rows of 3 channels by 5 positions.
The trees add in another order than the CPU's serial sums: equal within rounding.
"""
import numpy as np
import pytest
from minigrad.kernels.cpu import layer_norm as cpu
from minigrad.kernels.cuda import layer_norm as gpu
from numba import cuda

import minigrad as mg
import minigrad.nn.functional as F

DTYPES = [np.float32, np.float64]
TOLERANCES = {np.float32: {"rtol": 1e-5, "atol": 1e-5}, np.float64: {"rtol": 1e-12, "atol": 1e-12}}


def random(shape, dtype, seed, offset=0.0):
    return (np.random.default_rng(seed).standard_normal(shape) * 2 + offset).astype(dtype)


def on_both(entry, cpu_inputs, outputs):
    """Run the entry point on both devices; outputs are the empty arrays to fill: (cpu results, gpu results)."""
    cpu_outputs = [np.empty_like(array) for array in outputs]
    getattr(cpu, entry)(*cpu_inputs, *cpu_outputs)
    device_inputs = [cuda.to_device(value) if isinstance(value, np.ndarray) else value for value in cpu_inputs]
    device_outputs = [cuda.device_array(array.shape, array.dtype) for array in outputs]
    getattr(gpu, entry)(*device_inputs, *device_outputs)
    return cpu_outputs, [array.copy_to_host() for array in device_outputs]


def assert_close(pairs, dtype):
    for expected, got in zip(*pairs):
        np.testing.assert_allclose(got, expected, **TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_kernels_match_the_cpu(dtype, affine):
    x, g = random((3, 37), dtype, 0, offset=3.0), random((3, 37), dtype, 1)
    weight, bias = random(37, dtype, 2), random(37, dtype, 3)
    forward = on_both("layer_norm_forward", [x, weight, bias, 1e-5],
                      [np.empty_like(x), np.empty(3, dtype), np.empty(3, dtype)])
    assert_close(forward, dtype)
    _, mean, rstd = forward[0]
    length = 37 if affine else 0
    backward = on_both("layer_norm_backward", [g, x, weight, mean, rstd],
                       [np.empty_like(x), np.empty(length, dtype), np.empty(length, dtype)])
    assert_close(backward, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("groups", [1, 2, 6])
def test_group_norm_kernels_match_the_cpu(dtype, groups):
    x, g = random((2, 6, 5), dtype, 4, offset=-1.0), random((2, 6, 5), dtype, 5)
    weight, bias = random(6, dtype, 6), random(6, dtype, 7)
    forward = on_both("group_norm_forward", [x, weight, bias, groups, 1e-5],
                      [np.empty_like(x), np.empty((2, groups), dtype), np.empty((2, groups), dtype)])
    assert_close(forward, dtype)
    _, mean, rstd = forward[0]
    backward = on_both("group_norm_backward", [g, x, weight, mean, rstd, groups],
                       [np.empty_like(x), np.empty(6, dtype), np.empty(6, dtype)])
    assert_close(backward, dtype)


@pytest.mark.parametrize("which", ["layer", "group"])
def test_the_layers_on_cuda_tensors_equal_the_cpu(which):
    x = random((2, 4, 3), np.float64, 8)
    weight = random((4, 3) if which == "layer" else (4,), np.float64, 9)
    bias = random(weight.shape, np.float64, 10)
    results = []
    for device in ("cpu", "cuda"):
        tensors = [mg.tensor(array, dtype=mg.float64, device=device, requires_grad=True) for array in (x, weight, bias)]
        if which == "layer":
            out = F.layer_norm(tensors[0], (4, 3), tensors[1], tensors[2])
        else:
            out = F.group_norm(tensors[0], 2, tensors[1], tensors[2])
        (out * out * mg.tensor(np.arange(24.0).reshape(2, 4, 3), dtype=mg.float64, device=device)).sum().backward()
        results.append([out.cpu().numpy()] + [tensor.grad.cpu().numpy() for tensor in tensors])
    for got, expected in zip(results[1], results[0]):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
