"""mg.func's transforms (torch.func's names) and GradientTape.jacobian, against closed forms and,
where it is installed, torch.func."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

try:
    import torch
    import torch.func
except ImportError:  # the comparisons with PyTorch skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def values(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def cubic(x):
    return (x * x * x).sum()


def test_grad_and_its_nesting_give_the_derivatives_of_a_cubic():
    x = mg.tensor(values(0, 4), dtype=mg.float64)
    np.testing.assert_allclose(mg.func.grad(cubic)(x).data, 3 * x.data**2)
    second = mg.func.grad(lambda t: mg.func.grad(cubic)(t).sum())(x)
    np.testing.assert_allclose(second.data, 6 * x.data)
    assert not x.requires_grad and x.grad is None  # the argument is left as it was


def test_grad_argnums_has_aux_and_grad_and_value():
    x, y = mg.tensor(values(1, 3), dtype=mg.float64), mg.tensor(values(2, 3), dtype=mg.float64)

    def product(a, b):
        return (a * b).sum(), "aux"

    (dx, dy), aux = mg.func.grad(product, argnums=(0, 1), has_aux=True)(x, y)
    np.testing.assert_allclose(dx.data, y.data)
    np.testing.assert_allclose(dy.data, x.data)
    assert aux == "aux"
    gradient, value = mg.func.grad_and_value(lambda a: (a * a).sum())(x)
    np.testing.assert_allclose(value.item(), (x.data**2).sum())
    np.testing.assert_allclose(gradient.data, 2 * x.data)


def test_grad_of_an_unused_argument_is_zeros():
    x, y = mg.tensor(values(1, 3), dtype=mg.float64), mg.tensor(values(2, 2), dtype=mg.float64)
    dy = mg.func.grad(lambda a, b: (a * a).sum(), argnums=1)(x, y)
    np.testing.assert_array_equal(dy.data, np.zeros(2))


def test_vjp_returns_the_output_and_a_reusable_function():
    x = mg.tensor(values(3, 2, 3), dtype=mg.float64)
    output, vjp_fn = mg.func.vjp(lambda t: t * t, x)
    np.testing.assert_allclose(output.data, x.data**2)
    for seed in (4, 5):  # called twice: the graph is kept
        cotangent = mg.tensor(values(seed, 2, 3), dtype=mg.float64)
        (gradient,) = vjp_fn(cotangent)
        np.testing.assert_allclose(gradient.data, 2 * x.data * cotangent.data)


def test_jacrev_and_hessian_have_torch_func_shapes_and_values():
    matrix = values(6, 3, 4)
    x = mg.tensor(values(7, 4), dtype=mg.float64)
    jacobian = mg.func.jacrev(lambda t: (mg.tensor(matrix) @ t).tanh())(x)
    assert jacobian.shape == (3, 4)
    expected = (1 - np.tanh(matrix @ x.data) ** 2)[:, None] * matrix
    np.testing.assert_allclose(jacobian.data, expected, rtol=1e-12)
    hessian = mg.func.hessian(cubic)(x)
    np.testing.assert_allclose(hessian.data, np.diag(6 * x.data), atol=1e-12)


def test_hvp_is_the_hessian_times_v_without_forming_it():
    x = mg.tensor(values(8, 5), dtype=mg.float64)
    v = mg.tensor(values(9, 5), dtype=mg.float64)
    value, product = mg.func.hvp(cubic, x, v)
    np.testing.assert_allclose(value.item(), (x.data**3).sum())
    np.testing.assert_allclose(product.data, 6 * x.data * v.data)
    with pytest.raises(ValueError, match=r"hvp: v\[0\] has shape \(2,\), input 0 has shape \(5,\)"):
        mg.func.hvp(cubic, x, mg.ones(2, dtype=mg.float64))


def test_functional_call_differentiates_a_model_by_its_parameters_given_as_arguments():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    inputs = mg.tensor(values(10, 5, 3), dtype=model[0].weight.dtype)
    parameters = {name: parameter.detach() for name, parameter in model.named_parameters()}

    def loss(parameters):
        return (mg.func.functional_call(model, parameters, (inputs,)) ** 2).mean()

    names = list(parameters)  # the transforms take Tensors: the dict's values, rebuilt inside
    gradients = mg.func.grad(lambda *tensors: loss(dict(zip(names, tensors))), argnums=tuple(range(len(names))))(
        *parameters.values())
    expected_loss = (model(inputs) ** 2).mean()
    expected_loss.backward()
    for name, gradient in zip(names, gradients):
        np.testing.assert_allclose(gradient.data, dict(model.named_parameters())[name].grad.data, rtol=1e-5)
    # The model's own parameters were put back.
    assert model[0].weight is dict(model.named_parameters())["0.weight"] and isinstance(model[0].weight, nn.Parameter)


def test_bad_arguments_are_named():
    with pytest.raises(RuntimeError, match=r"grad: the function must return a scalar Tensor, got a Tensor of shape \(3,\)"):
        mg.func.grad(lambda t: t * 2)(mg.ones(3))
    with pytest.raises(TypeError, match="grad: argument 0 is int64"):
        mg.func.grad(lambda t: t.sum())(mg.tensor([1, 2]))
    with pytest.raises(ValueError, match="grad: argnums 2 out of range"):
        mg.func.grad(lambda t: t.sum(), argnums=2)(mg.ones(3))
    with pytest.raises(KeyError, match="not parameters of Linear"):
        mg.func.functional_call(nn.Linear(2, 2), {"kernel": mg.ones(2, 2)}, (mg.ones(1, 2),))


@needs_torch
def test_hessian_of_a_small_network_loss_matches_torch_func():
    weight = values(11, 3, 4)
    data = values(12, 6, 4)

    def ours(w):
        return ((mg.tensor(data) @ w.transpose()).tanh() ** 2).mean()

    def theirs(w):
        return (torch.tanh(torch.tensor(data) @ w.T) ** 2).mean()

    w = mg.tensor(weight, dtype=mg.float64)
    expected = torch.func.hessian(theirs)(torch.tensor(weight))
    np.testing.assert_allclose(mg.func.hessian(ours)(w).data, expected.numpy(), rtol=1e-10, atol=1e-12)
    expected_gradient = torch.func.grad(theirs)(torch.tensor(weight))
    np.testing.assert_allclose(mg.func.grad(ours)(w).data, expected_gradient.numpy(), rtol=1e-10)


# --- GradientTape.jacobian ------------------------------------------------------------------------


def test_tape_jacobian_has_tensorflows_shape_and_values():
    x = mg.tensor(values(13, 2, 3), dtype=mg.float64)
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    jacobian = tape.jacobian(y, x)
    assert jacobian.shape == (2, 3, 2, 3)
    expected = np.zeros((6, 6))
    np.fill_diagonal(expected, 2 * x.data.ravel())
    np.testing.assert_allclose(jacobian.data.reshape(6, 6), expected)
    with pytest.raises(RuntimeError, match="non-persistent GradientTape can only compute one set"):
        tape.jacobian(y, x)


def test_a_persistent_tape_gives_a_jacobian_per_source_with_zeros_where_unconnected():
    x, unconnected = mg.tensor(values(14, 3), dtype=mg.float64), mg.tensor(values(15, 2), dtype=mg.float64)
    with mg.GradientTape(persistent=True) as tape:
        tape.watch([x, unconnected])
        y = (x * x).sum() * x
    jx, ju = tape.jacobian(y, [x, unconnected])
    expected = 2 * np.outer(x.data, x.data) + np.eye(3) * (x.data**2).sum()
    np.testing.assert_allclose(jx.data, expected)
    np.testing.assert_array_equal(ju.data, np.zeros((3, 2)))
    np.testing.assert_allclose(tape.gradient(y, x).data, expected.sum(axis=0))
