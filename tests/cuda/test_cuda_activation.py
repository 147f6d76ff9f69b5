"""kernels/cuda/activation.py against kernels/cpu/activation.py on the same arrays.

Small flat arrays (the simulator runs every GPU thread as a Python thread), 37 elements: not a
multiple of a block. Values within exp's float64 range (the simulator computes with Python's math,
which raises on overflow rather than giving inf), with inf, NaN, +-0 and each kink. The CPU's float32
runs on its own exp/tanh/erf forms, the GPU's on CUDA's: equal within float32 rounding; the
selections (LeakyReLU, Hardtanh) bit for bit.
"""
import inspect

import numpy as np
import pytest
from minigrad.kernels.cpu import activation as cpu
from minigrad.kernels.cuda import activation as gpu
from numba import cuda

DTYPES = [np.float32, np.float64]
# float32 atol: GELU tanh's gradient near x = -5 is 0 or a float32 rounding of tanh away from -1 (1e-6).
TOLERANCES = {np.float32: {"rtol": 2e-5, "atol": 5e-6}, np.float64: {"rtol": 1e-12, "atol": 1e-14}}
SCALARS = {"negative_slope": 0.2, "alpha": 1.5, "beta": 2.0, "threshold": 10.0, "min_val": -2.0, "max_val": 1.5}


def values(dtype):
    specials = [np.inf, -np.inf, np.nan, 0.0, -0.0, 1.5, -2.0, 5.0, 20.0, 25.0, -30.0, 60.0, -60.0]
    random = np.random.default_rng(0).standard_normal(37 - len(specials)) * 4
    return np.concatenate([specials, random]).astype(dtype)


def scalars(entry, dtype):
    names = inspect.signature(getattr(cpu, entry).py_func).parameters
    return [dtype(SCALARS[name]) for name in names if name in SCALARS]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("entry", cpu.__all__)
def test_cuda_kernel_matches_the_cpu_kernel(entry, dtype):
    x = values(dtype)
    grad = np.random.default_rng(1).standard_normal(x.size).astype(dtype)
    arrays = [x] if entry.endswith("forward") else [x, grad]
    expected = np.empty_like(x)
    getattr(cpu, entry)(*arrays, *scalars(entry, dtype), expected)
    out = cuda.device_array(x.shape, dtype)
    getattr(gpu, entry)(*[cuda.to_device(array) for array in arrays], *scalars(entry, dtype), out)
    result = out.copy_to_host()
    if entry.startswith(("leaky_relu", "hardtanh")):
        np.testing.assert_array_equal(result, expected)
    else:
        np.testing.assert_allclose(result, expected, equal_nan=True, **TOLERANCES[dtype])


def test_an_empty_array_launches_nothing():
    out = cuda.device_array(0, np.float32)
    gpu.gelu_forward(cuda.to_device(np.zeros(0, np.float32)), out)
    assert out.copy_to_host().shape == (0,)


@pytest.mark.parametrize("name", ["leaky_relu", "elu", "gelu", "gelu_tanh", "silu", "softplus", "hardtanh",
                                  "relu6", "mish"])
def test_functions_on_cuda_tensors_equal_the_cpu_ones(name):
    """The op through minigrad/cuda/ops_activation.py: CudaArrays in and out, a strided input, backward."""
    import minigrad as mg
    import minigrad.nn.functional as F

    function = {"gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
                "softplus": lambda x: F.softplus(x, 2.0, 10.0)}.get(name, getattr(F, name, None))
    array = np.random.default_rng(2).standard_normal((3, 5)) * 3
    results = {}
    for device in ("cpu", "cuda"):
        x = mg.tensor(array, dtype=mg.float64, device=device, requires_grad=True)
        out = function(x.transpose(0, 1))
        out.backward(mg.ones(out.shape, dtype=mg.float64, device=device))
        assert out.device == x.device
        results[device] = (out.cpu().numpy(), x.grad.cpu().numpy())
    np.testing.assert_allclose(results["cuda"][0], results["cpu"][0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(results["cuda"][1], results["cpu"][1], rtol=1e-12, atol=1e-14)
