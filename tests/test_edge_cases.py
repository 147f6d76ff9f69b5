"""PyTorch's answers at the edges on the CPU (the cases: tests/edge_cases.py), and the same at sizes
where the backend switches from NumPy to a Numba kernel."""
import numpy as np
import pytest
from edge_cases import CASES

import minigrad as mg
from minigrad import backend


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
def test_on_the_cpu(case):
    case("cpu")


def test_relu_gradient_is_the_same_below_and_above_the_kernel_size():
    """The NumPy path (small) and the Numba kernel (large) give the same selection, inf and NaN included."""
    for size in (8, backend.PARALLEL_ELEMENTWISE_SIZE + 8):
        values = np.resize(np.array([np.nan, -1.0, 0.0, 2.0]), size)
        x = mg.tensor(values, dtype=mg.float64, requires_grad=True)
        x.relu().backward(mg.tensor(np.resize(np.array([1.0, np.inf, np.inf, 3.0]), size), dtype=mg.float64))
        np.testing.assert_array_equal(x.grad.numpy(), np.resize(np.array([1.0, 0.0, 0.0, 3.0]), size))
