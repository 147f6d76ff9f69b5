"""PyTorch's tensor functions (cat, where, gather, sort, max along a dim, norm...) on "cuda" tensors:
values and gradients equal the CPU's. Runs on a GPU or in Numba's CUDA simulator, as the rest of
tests/cuda; the cases are tests/tensor_function_cases.py's, small, so the simulator stays quick.

cumsum, sort and topk order or scan on the host (a copy each way: no GPU scan or sort kernel yet);
everything else runs on the device through the CudaArray's NumPy protocols.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/: the shared cases
from tensor_function_cases import CASES, flat, inputs  # noqa: E402

# the simulator warns of the dropout hash's intended uint64 wrap-around (elementwise kernels share it)
pytestmark = [pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")]


def run_on(device, function, arrays):
    tensors = [mg.tensor(array, dtype=mg.float64, device=device, requires_grad=True) for array in arrays]
    joined = flat(mg, function(mg, *tensors))
    weights = mg.tensor(np.cos(np.arange(joined.shape[0]) + 1.0), dtype=mg.float64, device=device)
    (joined * weights).sum().backward()
    return joined.cpu().numpy(), [None if t.grad is None else t.grad.cpu().numpy() for t in tensors]


# One case per function (the simulator runs each GPU thread in Python: all of them take minutes)
ON_CUDA = ["cat dim -1 of three", "stack dim 1", "split sections", "chunk fewer", "where number first",
           "masked_fill 0-d tensor", "gather dim 0 smaller", "scatter_add", "sort descending dim 0", "topk",
           "max keepdim", "min of two", "clamp tensors", "expand", "repeat", "squeeze dims", "cumsum", "var correction",
           "std dims", "norm p3 dims", "norm inf", "logsumexp dims", "pow number first"]


@pytest.mark.parametrize("name", ON_CUDA)
def test_values_and_gradients_on_cuda_equal_the_cpu(name):
    function, shapes = CASES[name]
    arrays = inputs(shapes)
    cpu_values, cpu_gradients = run_on("cpu", function, arrays)
    cuda_values, cuda_gradients = run_on("cuda", function, arrays)
    np.testing.assert_allclose(cuda_values, cpu_values, rtol=1e-12, atol=1e-12)
    for cpu_gradient, cuda_gradient in zip(cpu_gradients, cuda_gradients):
        assert (cpu_gradient is None) == (cuda_gradient is None)
        if cpu_gradient is not None:
            np.testing.assert_allclose(cuda_gradient, cpu_gradient, rtol=1e-12, atol=1e-12)


def test_indices_and_integer_results_on_cuda():
    x = mg.tensor([[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]], device="cuda")
    values, indices = x.max(1)
    assert indices.device == "cuda" and indices.cpu().tolist() == [0, 1]
    assert x.sort(descending=True).indices.cpu().tolist() == [[0, 2, 1], [1, 0, 2]]
    assert x.topk(1, largest=False).indices.cpu().tolist() == [[1], [2]]
    assert x.argmin(1).cpu().tolist() == [1, 2]
    assert mg.where(x > 1.5)[1].cpu().tolist() == [0, 2, 1]
    assert (x > 1).cumsum(1).cpu().tolist() == [[1, 1, 2], [0, 1, 1]]
