"""kernels/cuda/resample.py against kernels/cpu/resample.py on the same arrays and maps, and F.interpolate,
F.pad and their gradients on cuda tensors against the CPU.

Tiny shapes (the simulator runs every GPU thread as a Python thread): 2 x 3 planes of 5 x 7, sizes that
are no multiple of a block. Gathers (nearest, reflect, replicate) must be the same bits; the weighted
sums (bilinear, every backward) add in the CPU's order, so they agree within rounding (fused
multiply-adds may differ).
"""
import numpy as np
import pytest
from minigrad.kernels.cpu import resample as cpu
from minigrad.kernels.cuda import resample as gpu
from minigrad.ops.padding import reflect_axis, replicate_axis
from minigrad.ops.resample import ResamplePlan, linear_axis, nearest_axis
from numba import cuda

import minigrad as mg
from minigrad.nn import functional as F

DTYPES = [np.float32, np.float64]
TOLERANCES = {np.float32: {"rtol": 1e-6, "atol": 1e-6}, np.float64: {"rtol": 1e-13, "atol": 1e-13}}


def plans(dtype):
    """Every kind of map: nearest (both of PyTorch's formulas), bilinear (both align_corners), pads."""
    forward = {
        "nearest": ResamplePlan(nearest_axis(5, 11, None, dtype, True), nearest_axis(7, 3, 0.45, dtype, False)),
        "bilinear": ResamplePlan(linear_axis(5, 9, False, 1.9, dtype), linear_axis(7, 4, True, None, dtype)),
        "pads": ResamplePlan(reflect_axis(5, 3, -1), replicate_axis(7, 2, 4)),
    }
    every = {}
    for name, plan in forward.items():
        every[name] = plan
        every[name + " transposed"] = plan.transposed()
    return every


def run_both(plan, x):
    out_shape = (x.shape[0],) + plan.output_size
    expected = np.empty(out_shape, x.dtype)
    out = cuda.device_array(out_shape, x.dtype)
    rows, columns = plan.rows, plan.columns
    if plan.is_gather:
        cpu.gather2d(x, rows.source, columns.source, expected)
        gpu.gather2d(cuda.to_device(x), cuda.to_device(rows.source), cuda.to_device(columns.source), out)
    else:
        maps = (rows.pointer, rows.source, rows.weights(x.dtype), columns.pointer, columns.source,
                columns.weights(x.dtype))
        cpu.resample2d(x, *maps, expected)
        gpu.resample2d(cuda.to_device(x), *(cuda.to_device(array) for array in maps), out)
    return out.copy_to_host(), expected


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(plans(np.float64)))
def test_kernels_match_the_cpu_ones(name, dtype):
    plan = plans(dtype)[name]
    x = np.random.default_rng(0).standard_normal((6,) + plan.input_size).astype(dtype)
    got, expected = run_both(plan, x)
    if plan.is_gather:
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, **TOLERANCES[dtype])


CALLS = {
    "nearest": lambda x: F.interpolate(x, scale_factor=(1.7, 0.6)),
    "bilinear": lambda x: F.interpolate(x, size=(4, 9), mode="bilinear", align_corners=True),
    "reflect": lambda x: F.pad(x, (2, -1, 1, 3), mode="reflect"),
    "replicate": lambda x: F.pad(x[0], (3, 1), mode="replicate"),
    "constant": lambda x: F.pad(x, (1, -2, 0, 2), value=2.5),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_functions_and_gradients_on_cuda_tensors_match_the_cpu(name):
    values = np.random.default_rng(1).standard_normal((2, 3, 5, 7)).astype(np.float32)
    on_cpu = mg.tensor(values, requires_grad=True)
    on_gpu = mg.tensor(values, device="cuda", requires_grad=True)
    expected, got = CALLS[name](on_cpu), CALLS[name](on_gpu)
    assert got.device == "cuda"
    upstream = np.random.default_rng(2).standard_normal(expected.shape).astype(np.float32)
    expected.backward(mg.tensor(upstream))
    got.backward(mg.tensor(upstream, device="cuda"))
    np.testing.assert_allclose(got.cpu().numpy(), expected.numpy(), **TOLERANCES[np.float32])
    np.testing.assert_allclose(on_gpu.grad.cpu().numpy(), on_cpu.grad.numpy(), **TOLERANCES[np.float32])
