"""The elementwise kernels against NumPy, with NaN, signed zeros and their bounds-checked twins."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import backend
from minigrad.kernels.cpu import elementwise
from minigrad.kernels.cpu.preset import checked_twin


def torch_relu_gradient(x, grad_output):
    """PyTorch's threshold_backward: 0 where x <= 0, else the gradient (NaN in x passes it on)."""
    return np.where(x <= 0, 0, grad_output).astype(grad_output.dtype)


def special_array(size, dtype):
    x = np.random.default_rng(size).standard_normal(size).astype(dtype)
    x[:5] = [np.nan, 0.0, -0.0, np.inf, -np.inf]
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [5, 17, 1000])
@pytest.mark.parametrize("kernel_of", [lambda name: getattr(elementwise, name),
                                       lambda name: checked_twin(getattr(elementwise, name))])
def test_relu_kernels_match_numpy(dtype, size, kernel_of):
    x = special_array(size, dtype)
    grad_output = np.random.default_rng(1).standard_normal(size).astype(dtype)
    out, grad_input = np.empty_like(x), np.empty_like(x)
    kernel_of("relu_forward")(x, out)
    kernel_of("relu_backward")(x, grad_output, grad_input)
    np.testing.assert_array_equal(out, np.maximum(x, 0))
    np.testing.assert_array_equal(grad_input, torch_relu_gradient(x, grad_output))


def test_backend_uses_the_kernel_for_large_arrays_and_agrees_with_numpy():
    x = special_array(backend.PARALLEL_ELEMENTWISE_SIZE * 2 + 3, np.float32).reshape(-1, 1)
    grad_output = np.random.default_rng(2).standard_normal(x.shape).astype(np.float32)
    np.testing.assert_array_equal(backend.relu_forward(x), np.maximum(x, 0))
    np.testing.assert_array_equal(backend.relu_backward(x, grad_output), torch_relu_gradient(x, grad_output))
    strided = x[::2]  # not contiguous: the NumPy path
    np.testing.assert_array_equal(backend.relu_forward(strided), np.maximum(strided, 0))


def test_relu_op_on_a_large_tensor_has_the_right_gradient():
    x = mg.tensor(special_array(100_000, np.float64)[5:], requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (x.numpy() > 0).astype(np.float64))
