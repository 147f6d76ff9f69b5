"""Ops of your own on "cuda" tensors: mg.autograd.kernel_op runs its CUDA twins (a @cuda.jit kernel
launched by the op, or a function that launches its own), and a custom Function in PyTorch's form
runs its Tensor ops there; values and gradients equal the CPU's."""
import math

import numba
import numpy as np
import pytest
from numba import cuda

import minigrad as mg


@numba.njit(cache=True)
def swish_forward(x, beta, out):
    for index in range(x.size):
        out[index] = x[index] / (1.0 + math.exp(-beta[0] * x[index]))


@numba.njit(cache=True)
def swish_backward(x, beta, out, grad_out, grad_x, grad_beta):
    total = 0.0
    for index in range(x.size):
        sigmoid = 1.0 / (1.0 + math.exp(-beta[0] * x[index]))
        slope = sigmoid * (1.0 - sigmoid)
        grad_x[index] = grad_out[index] * (sigmoid + beta[0] * x[index] * slope)
        total += grad_out[index] * x[index] * x[index] * slope
    grad_beta[0] = total


@cuda.jit
def swish_forward_cuda(x, beta, out):
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):  # the op launches one thread per element
        out[index] = x[index] / (1.0 + math.exp(-beta[0] * x[index]))


@cuda.jit
def swish_backward_cuda(x, beta, out, grad_out, grad_x, grad_beta):
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        sigmoid = 1.0 / (1.0 + math.exp(-beta[0] * x[index]))
        slope = sigmoid * (1.0 - sigmoid)
        grad_x[index] = grad_out[index] * (sigmoid + beta[0] * x[index] * slope)
        cuda.atomic.add(grad_beta, 0, grad_out[index] * x[index] * x[index] * slope)


@numba.njit(cache=True)
def row_sums_forward(x, out):
    for row in range(x.shape[0]):
        out[row] = x[row].sum()


@numba.njit(cache=True)
def row_sums_backward(x, out, grad_out, grad_x):
    for row in range(x.shape[0]):
        grad_x[row, :] = grad_out[row]


@cuda.jit
def row_sums_kernel(x, out):
    row = cuda.grid(1)
    if row < x.shape[0]:
        total = 0.0
        for column in range(x.shape[1]):
            total += x[row, column]
        out[row] = total


@cuda.jit
def spread_rows_kernel(grad_out, grad_x):
    row, column = cuda.grid(2)
    if row < grad_x.shape[0] and column < grad_x.shape[1]:
        grad_x[row, column] = grad_out[row]


def row_sums_forward_cuda(x, out):
    """A twin that is a plain function: it launches its kernel itself, with its own grid."""
    row_sums_kernel[math.ceil(x.shape[0] / 32), 32](x, out)


def row_sums_backward_cuda(x, out, grad_out, grad_x):
    spread_rows_kernel[(math.ceil(x.shape[0] / 8), math.ceil(x.shape[1] / 8)), (8, 8)](grad_out, grad_x)


swish = mg.autograd.kernel_op(swish_forward, swish_backward, cuda_forward=swish_forward_cuda,
                              cuda_backward=swish_backward_cuda, flat=True)
row_sums = mg.autograd.kernel_op(row_sums_forward, row_sums_backward, cuda_forward=row_sums_forward_cuda,
                                 cuda_backward=row_sums_backward_cuda, output_shape=lambda shape: shape[:1])


def run(op, device, arrays, dtype):
    tensors = [mg.tensor(array, dtype=dtype, device=device, requires_grad=True) for array in arrays]
    out = op(*tensors)
    assert out.device == device
    (out * out).sum().backward()
    return out.cpu().numpy(), [tensor.grad.cpu().numpy() for tensor in tensors]


@pytest.mark.parametrize("dtype", [mg.float32, mg.float64])
@pytest.mark.parametrize("op, shapes", [(swish, [(5, 7), (1,)]), (row_sums, [(37, 5)])], ids=["swish", "row_sums"])
def test_the_cuda_twins_give_the_cpu_kernels_values_and_gradients(op, shapes, dtype):
    generator = np.random.default_rng(0)
    arrays = [generator.standard_normal(shape) for shape in shapes]
    cpu_out, cpu_grads = run(op, "cpu", arrays, dtype)
    cuda_out, cuda_grads = run(op, "cuda", arrays, dtype)
    tolerance = 1e-10 if dtype == mg.float64 else 1e-4
    np.testing.assert_allclose(cuda_out, cpu_out, rtol=tolerance, atol=tolerance)
    for cpu_grad, cuda_grad in zip(cpu_grads, cuda_grads):
        np.testing.assert_allclose(cuda_grad, cpu_grad, rtol=tolerance, atol=tolerance)


def test_an_op_without_cuda_twins_says_so_on_cuda_tensors():
    op = mg.autograd.kernel_op(row_sums_forward, row_sums_backward, output_shape=lambda shape: shape[:1])
    with pytest.raises(RuntimeError, match="row_sums: this op has no CUDA kernels"):
        op(mg.ones(2, 3, device="cuda"))
    with pytest.raises(RuntimeError, match="swish: expected all tensors on one device"):
        swish(mg.ones(3, device="cuda"), mg.ones(1))


class ExpAndScaled(mg.autograd.Function):
    """Two outputs, a number argument, a backward in Tensor ops."""

    @staticmethod
    def forward(ctx, x, scale):
        exp = x.exp()
        ctx.save_for_backward(exp)
        ctx.scale = scale
        return exp, x * scale

    @staticmethod
    def backward(ctx, grad_exp, grad_scaled):
        (exp,) = ctx.saved_tensors
        return grad_exp * exp + grad_scaled * ctx.scale, None


def test_a_custom_function_in_pytorch_s_form_runs_on_cuda_as_on_the_cpu():
    values = np.random.default_rng(1).standard_normal((3, 4))
    results = {}
    for device in ("cpu", "cuda"):
        x = mg.tensor(values, dtype=mg.float64, device=device, requires_grad=True)
        exp, scaled = ExpAndScaled.apply(x, 2.5)
        assert exp.device == device and exp.grad_fn is scaled.grad_fn
        exp[0].sum().backward(retain_graph=True)  # output 1 gets no gradient: backward gets zeros on the device
        (first,) = mg.autograd.grad((exp * scaled).sum(), x, create_graph=True)
        (second,) = mg.autograd.grad(first.sum(), x)
        results[device] = [tensor.cpu().detach().numpy() for tensor in (exp, scaled, x.grad, first, second)]
    for cpu, on_device in zip(results["cpu"], results["cuda"]):
        np.testing.assert_allclose(on_device, cpu, rtol=1e-12, atol=1e-12)
