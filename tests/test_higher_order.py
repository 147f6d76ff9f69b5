"""Gradients of gradients: backward(create_graph=True), mg.autograd.grad, nested GradientTapes,
mg.gradgradcheck, and the errors of their bad input. The per-op second derivatives are checked in
tests/test_double_backward_core_ops.py and tests/test_double_backward_layers.py."""
import inspect

import numpy as np
import pytest

import minigrad as mg
from minigrad import ops
from minigrad.autograd import Function


def float64(*shape, seed=0):
    return mg.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=mg.float64, requires_grad=True)


# --- every op can be differentiated twice ---------------------------------------------------------


def op_classes():
    return sorted({value for value in vars(ops).values()
                   if inspect.isclass(value) and issubclass(value, Function) and value is not Function
                   and not value.__name__.startswith("_")}, key=lambda cls: cls.__name__)


@pytest.mark.parametrize("op", op_classes(), ids=lambda cls: cls.__name__)
def test_every_op_has_a_differentiable_backward(op):
    # A new op cannot skip it: Function's own raises NotImplementedError.
    assert op.differentiable_backward is not Function.differentiable_backward, (
        f"{op.__name__} has no differentiable_backward: backward(create_graph=True) through it would fail")


# --- mg.autograd.grad -----------------------------------------------------------------------------


def test_grad_returns_a_tuple_and_leaves_dot_grad_alone():
    x = float64(3, 4)
    (gradient,) = mg.autograd.grad((x * x).sum(), x)
    np.testing.assert_allclose(gradient.data, 2 * x.data)
    assert x.grad is None and gradient.grad_fn is None and not gradient.requires_grad


def test_create_graph_gives_a_gradient_that_differentiates_again():
    x = float64(5)
    (first,) = mg.autograd.grad((x * x * x).sum(), x, create_graph=True)
    assert first.grad_fn is not None
    np.testing.assert_allclose(first.data, 3 * x.data**2)
    (second,) = mg.autograd.grad(first.sum(), x, create_graph=True)
    np.testing.assert_allclose(second.data, 6 * x.data)
    (third,) = mg.autograd.grad(second.sum(), x)
    np.testing.assert_allclose(third.data, np.full(5, 6.0))


def test_hessian_vector_product_of_a_quadratic_form_is_a_times_v():
    generator = np.random.default_rng(1)
    a = generator.standard_normal((4, 4))
    a = mg.tensor(a + a.T, dtype=mg.float64)
    x = float64(4, 1, seed=2)
    v = mg.tensor(generator.standard_normal((4, 1)), dtype=mg.float64)
    energy = (x.transpose() @ a @ x).sum() * 0.5
    (gradient,) = mg.autograd.grad(energy, x, create_graph=True)
    (hessian_times_v,) = mg.autograd.grad(gradient, x, grad_outputs=v)
    np.testing.assert_allclose(hessian_times_v.data, a.data @ v.data, rtol=1e-12)


def test_grad_outputs_weight_a_non_scalar_output_and_may_carry_a_graph():
    x = float64(3)
    weight = float64(3, seed=1)
    (gradient,) = mg.autograd.grad(x * x, x, grad_outputs=weight, create_graph=True)
    np.testing.assert_allclose(gradient.data, 2 * x.data * weight.data)
    (through_weight,) = mg.autograd.grad(gradient.sum(), weight)  # d(2 x w)/dw = 2 x
    np.testing.assert_allclose(through_weight.data, 2 * x.data)


def test_backward_with_create_graph_leaves_a_differentiable_dot_grad_and_keeps_the_graph():
    x = float64(4)
    loss = (x * x * x).sum()
    loss.backward(create_graph=True)
    assert x.grad.grad_fn is not None
    np.testing.assert_allclose(x.grad.data, 3 * x.data**2)
    penalty = (x.grad * x.grad).sum()  # a gradient penalty, trained through
    # retain_graph: the penalty's graph runs through the loss's forward nodes, which a second
    # backward of the loss still needs (as in PyTorch)
    (through,) = mg.autograd.grad(penalty, x, retain_graph=True)
    np.testing.assert_allclose(through.data, 2 * (3 * x.data**2) * 6 * x.data)
    loss.backward(create_graph=True)  # retain_graph defaulted to create_graph: a second pass works
    np.testing.assert_allclose(x.grad.data, 6 * x.data**2)


def test_gradgradcheck_passes_and_reports_a_wrong_second_derivative():
    assert mg.gradgradcheck(lambda a, b: a * b * a - b, (float64(3, 4), float64(4, seed=1)))

    class WrongSecondDerivative(Function):
        """x * x with a differentiable backward that forgets the factor 2."""

        def forward(self, x):
            self.save_for_backward(x)
            return x * x

        def backward(self, g):
            return (2 * g * self.saved[0],)

        def differentiable_backward(self, g):
            return (g * self.inputs[0],)

    with pytest.raises(mg.GradcheckError, match="input 0"):
        mg.gradgradcheck(lambda x: WrongSecondDerivative.apply(x), float64(3))


# --- TensorFlow's nested tapes --------------------------------------------------------------------


def test_nested_gradient_tapes_give_the_second_derivative():
    x = mg.tensor([0.5, -1.0, 2.0], dtype=mg.float64)
    with mg.GradientTape() as outer:
        outer.watch(x)
        with mg.GradientTape() as inner:
            inner.watch(x)
            y = x * x * x
        dy_dx = inner.gradient(y, x)
    d2y_dx2 = outer.gradient(dy_dx, x)
    np.testing.assert_allclose(dy_dx.data, 3 * x.data**2)
    np.testing.assert_allclose(d2y_dx2.data, 6 * x.data)


def test_a_tape_alone_still_returns_plain_gradients():
    x = float64(3)
    with mg.GradientTape() as tape:
        y = (x * x).sum()
    gradient = tape.gradient(y, x)
    assert gradient.grad_fn is None


# --- bad input ------------------------------------------------------------------------------------


def test_a_non_scalar_output_needs_grad_outputs():
    x = float64(3)
    with pytest.raises(RuntimeError, match=r"grad: output 0 has shape \(3,\).*pass grad_outputs"):
        mg.autograd.grad(x * x, x)


def test_an_unused_input_is_an_error_unless_allowed():
    x, unused = float64(3), float64(2, seed=1)
    with pytest.raises(RuntimeError, match=r"grad: input 1 \(shape \(2,\)\) was not used.*allow_unused=True"):
        mg.autograd.grad((x * x).sum(), [x, unused])
    assert mg.autograd.grad((x * x).sum(), [x, unused], allow_unused=True)[1] is None


def test_inputs_and_outputs_must_take_part_in_the_graph():
    x = float64(3)
    constant = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64)
    with pytest.raises(RuntimeError, match=r"grad: input 0 \(shape \(3,\)\) does not require grad"):
        mg.autograd.grad((x * constant).sum(), constant)
    with pytest.raises(RuntimeError, match="grad: output 0 .* does not require grad"):
        mg.autograd.grad((constant * constant).sum(), x)
    with pytest.raises(ValueError, match=r"grad_outputs\[0\] has shape \(2,\)"):
        mg.autograd.grad(x * x, x, grad_outputs=mg.ones(2, dtype=mg.float64))


def test_create_graph_inside_no_grad_is_an_error():
    x = float64(3)
    loss = (x * x).sum()
    with mg.no_grad():
        with pytest.raises(RuntimeError, match="grad: create_graph=True inside mg.no_grad"):
            mg.autograd.grad(loss, x, create_graph=True)
        with pytest.raises(RuntimeError, match="backward: create_graph=True inside mg.no_grad"):
            loss.backward(create_graph=True)


def test_a_second_pass_through_a_freed_graph_names_the_op():
    x = float64(3)
    loss = (x * x).sum()
    mg.autograd.grad(loss, x)
    with pytest.raises(RuntimeError, match="has already been through backward.*retain_graph=True"):
        mg.autograd.grad(loss, x)


def test_an_error_halfway_leaves_every_dot_grad_as_it_was():
    class NoSecondDerivative(Function):
        """x * 2, written in minigrad's instance style with no differentiable_backward."""

        def forward(self, x):
            return x * 2

        def backward(self, g):
            return (g * 2,)

    x, y = float64(3), float64(3, seed=1)
    (x * y).sum().backward()
    before_x, before_y = x.grad.data.copy(), y.grad.data.copy()
    loss = (NoSecondDerivative.apply(x) * y).sum()
    with pytest.raises(NotImplementedError, match="NoSecondDerivative: backward with create_graph=True"):
        loss.backward(create_graph=True)
    # y's gradient was computed before the failing node was reached, and was not written.
    np.testing.assert_array_equal(x.grad.data, before_x)
    np.testing.assert_array_equal(y.grad.data, before_y)


# --- seeing inside ------------------------------------------------------------------------------


def test_explain_shows_the_nodes_a_create_graph_backward_recorded():
    x = float64(3)
    (gradient,) = mg.autograd.grad((x * x * x).sum(), x, create_graph=True)
    table = mg.autograd.explain(gradient, names={"x": x})
    assert "Mul" in table and "x (3,)" in table
    # The nodes the backward recorded say whose gradient they compute; the forward's do not.
    assert "Mul (backward of #" in table and table.splitlines()[2].split()[1:3] == ["Mul", "x"]
    assert "backward of #" in mg.viz.to_dot(gradient)


def test_anomaly_mode_covers_a_create_graph_backward():
    x = mg.tensor([1.0, 0.0], dtype=mg.float64, requires_grad=True)
    loss = x.sqrt().sum()  # d/dx sqrt(x) = 1 / (2 sqrt(x)): infinite at 0
    with mg.detect_anomaly():
        with pytest.raises(mg.AnomalyError, match="the backward of Sqrt"):
            mg.autograd.grad(loss, x, create_graph=True)
