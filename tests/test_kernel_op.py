"""mg.autograd.kernel_op (minigrad/kernel_op.py): a user's Numba kernels as a differentiable op.

The kernels here are small and serial (cached), so the tests compile quickly; their CUDA twins
are tested under the simulator in tests/cuda/test_cuda_kernel_op.py. Values and gradients are
compared with the same expression in Tensor ops, and gradchecked in float64.
"""
import math

import numba
import numpy as np
import pytest

import minigrad as mg

kernel = numba.njit(cache=True)


@kernel
def swish_forward(x, beta, out):
    """out = x * sigmoid(beta * x)"""
    for index in range(x.size):
        out[index] = x[index] / (1.0 + math.exp(-beta[0] * x[index]))


@kernel
def swish_backward(x, beta, out, grad_out, grad_x, grad_beta):
    """dx = g * (s + beta x s (1 - s)),  dbeta = sum(g * x^2 s (1 - s)),  s = sigmoid(beta x)"""
    total = 0.0
    for index in range(x.size):
        value = x[index]
        sigmoid = 1.0 / (1.0 + math.exp(-beta[0] * value))
        slope = sigmoid * (1.0 - sigmoid)
        grad_x[index] = grad_out[index] * (sigmoid + beta[0] * value * slope)
        total += grad_out[index] * value * value * slope
    grad_beta[0] = total


@kernel
def scale_rows_forward(x, weight, offset, out):
    """out[i, j] = x[i, j] * weight[j] + offset  (2-D arrays, a number passed through)"""
    for row in range(x.shape[0]):
        for column in range(x.shape[1]):
            out[row, column] = x[row, column] * weight[column] + offset


@kernel
def scale_rows_backward(x, weight, offset, out, grad_out, grad_x, grad_weight):
    for row in range(x.shape[0]):
        for column in range(x.shape[1]):
            grad_x[row, column] = grad_out[row, column] * weight[column]
            grad_weight[column] += grad_out[row, column] * x[row, column]  # the buffer starts at zero


@kernel
def row_sums_forward(x, out):
    for row in range(x.shape[0]):
        out[row] = x[row].sum()


@kernel
def row_sums_backward(x, out, grad_out, grad_x):
    for row in range(x.shape[0]):
        grad_x[row, :] = grad_out[row]


swish = mg.autograd.kernel_op(swish_forward, swish_backward, flat=True)
scale_rows = mg.autograd.kernel_op(scale_rows_forward, scale_rows_backward)
row_sums = mg.autograd.kernel_op(row_sums_forward, row_sums_backward, output_shape=lambda shape: shape[:1])


def float64(shape, seed=0, requires_grad=True):
    values = np.random.default_rng(seed).standard_normal(shape)
    return mg.tensor(values, dtype=mg.float64, requires_grad=requires_grad)


def swish_in_tensor_ops(x, beta):
    return x * (beta * x).sigmoid()


@pytest.mark.parametrize("dtype", [mg.float32, mg.float64])
def test_swish_equals_the_same_expression_in_tensor_ops(dtype):
    x = float64((3, 4)).to(dtype).detach().requires_grad_()
    beta = mg.tensor([0.7], dtype=dtype, requires_grad=True)
    y = swish(x, beta)
    assert y.dtype == dtype and y.shape == (3, 4) and y.grad_fn.name == "swish"
    reference_x, reference_beta = x.detach().requires_grad_(), beta.detach().requires_grad_()
    reference = swish_in_tensor_ops(reference_x, reference_beta)
    tolerance = 1e-12 if dtype == mg.float64 else 1e-5
    np.testing.assert_allclose(y.numpy(), reference.numpy(), rtol=tolerance, atol=tolerance)
    weights = float64((3, 4), seed=1, requires_grad=False).to(dtype)
    (y * weights).sum().backward()
    (reference * weights).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), reference_x.grad.numpy(), rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(beta.grad.numpy(), reference_beta.grad.numpy(), rtol=tolerance * 10, atol=tolerance)


def test_gradcheck_of_each_kernel_op():
    beta = mg.tensor([0.7], dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(swish, (float64((2, 3)), beta))
    assert mg.gradcheck(lambda x, w: scale_rows(x, w, 0.5), (float64((2, 3)), float64((3,), seed=2)))
    assert mg.gradcheck(row_sums, (float64((3, 4)),))


def test_a_number_argument_reaches_the_kernels_and_the_output_shape_follows_output_shape():
    x, weight = float64((2, 3)), float64((3,), seed=2)
    np.testing.assert_allclose(scale_rows(x, weight, 1.5).numpy(), x.numpy() * weight.numpy() + 1.5)
    sums = row_sums(x)
    assert sums.shape == (2,)
    np.testing.assert_allclose(sums.numpy(), x.numpy().sum(axis=1))


def test_inputs_that_are_not_contiguous_reach_the_kernel_contiguous():
    x = float64((3, 2))
    np.testing.assert_allclose(row_sums(x.T).numpy(), x.numpy().T.sum(axis=1))


def test_no_grad_records_nothing_and_the_tape_names_the_op():
    x, beta = float64((4,)), mg.tensor([1.0], dtype=mg.float64, requires_grad=True)
    with mg.no_grad():
        assert swish(x, beta).grad_fn is None
    loss = swish(x, beta).sum()
    assert "swish" in str(mg.autograd.explain(loss))
    assert repr(swish) == "<kernel op swish (cpu)>"


def test_create_graph_gives_the_gradient_and_differentiating_it_again_raises():
    x, beta = float64((4,)), mg.tensor([0.3], dtype=mg.float64, requires_grad=True)
    gradient, _ = mg.autograd.grad(swish(x, beta).sum(), [x, beta], create_graph=True)
    reference, _ = mg.autograd.grad(swish_in_tensor_ops(x, beta).sum(), [x, beta])
    np.testing.assert_allclose(gradient.numpy(), reference.numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError, match="swish: its gradient comes from a backward kernel"):
        gradient.sum().backward()


# --- bad input: every error names the op ----------------------------------------------------------

def test_a_call_with_the_wrong_arguments_names_the_op_and_the_kernel_s_parameters():
    x = float64((4,))
    with pytest.raises(TypeError, match=r"swish: takes 2 arguments \(x, beta\), as its forward kernel does"):
        swish(x)
    with pytest.raises(TypeError, match="swish: expected at least one Tensor argument"):
        swish(1.0, 2.0)
    with pytest.raises(TypeError, match="swish: argument 1 is float32, argument 0 float64"):
        swish(x, mg.tensor([1.0]))


def test_a_backward_kernel_with_the_wrong_arguments_says_what_it_is_given():
    @kernel
    def short_backward(x, beta, out, grad_out, grad_x):  # forgot grad_beta
        pass

    op = mg.autograd.kernel_op(swish_forward, short_backward, name="swish", flat=True)
    loss = op(float64((4,)), mg.tensor([1.0], dtype=mg.float64, requires_grad=True)).sum()
    with pytest.raises(TypeError, match=r"swish: its backward kernel short_backward takes 5 arguments .* gives it 6"):
        loss.backward()


def test_a_kernel_that_fails_to_compile_is_reported_with_the_op_s_name():
    @kernel
    def broken_forward(x, out):
        out[0] = x.no_such_attribute

    op = mg.autograd.kernel_op(broken_forward, row_sums_backward)
    with pytest.raises(Exception) as caught:
        op(float64((2,)))
    assert "in kernel op broken: its forward kernel broken_forward (cpu), called with (float64[2], float64[2])" in (
        "\n".join(getattr(caught.value, "__notes__", [])))


def test_kernel_op_refuses_what_is_not_a_kernel_and_half_a_cuda_pair():
    with pytest.raises(TypeError, match="kernel_op: backward must be a kernel"):
        mg.autograd.kernel_op(swish_forward, None)
    with pytest.raises(TypeError, match="give both CUDA twins"):
        mg.autograd.kernel_op(swish_forward, swish_backward, cuda_forward=swish_forward)
    op = mg.autograd.kernel_op(row_sums_forward, row_sums_backward, output_shape=lambda shape: "rows")
    with pytest.raises(TypeError, match="row_sums: output_shape returned 'rows', not a tuple of sizes"):
        op(float64((2, 3)))
