"""The gradient checker: passes right gradients, and says exactly where wrong ones are wrong."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import Function


class WrongAtOneElement(Function):
    """x * 2 whose backward says d out[p] / d x[p] = 2.5 at one chosen position p: one wrong Jacobian entry."""

    def __init__(self, position):
        self.position = position

    def forward(self, x):
        return x * 2

    def backward(self, g):
        dx = g * 2
        dx[self.position] += 0.5 * g[self.position]
        return (dx,)


class ForgetsSecondInput(Function):
    """a * b whose backward returns the right gradient for a and a zero one for b."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, g):
        a, b = self.saved
        return g * b, np.zeros_like(b)


def leaf(*shape, seed=0):
    return mg.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=mg.float64, requires_grad=True)


def test_correct_gradients_pass():
    assert mg.gradcheck(lambda x, y: (x * y).tanh(), (leaf(3, 2), leaf(3, 2, seed=1)))


def test_a_wrong_gradient_is_reported_with_input_element_and_values():
    x = leaf(3, 4)
    with pytest.raises(mg.GradcheckError) as caught:
        mg.gradcheck(lambda t: WrongAtOneElement.apply(t, position=(2, 1)), (x,))
    report = str(caught.value)
    assert "input 0 (shape (3, 4))" in report
    assert "input[2, 1]" in report
    assert "output element 9" in report  # row-major position of (2, 1) in the (3, 4) output
    assert "analytic 2.5" in report and "numeric 2" in report
    assert "1 of 144 Jacobian entries" in report
    assert "np." not in report  # plain integers, not NumPy reprs


def test_the_report_names_the_input_that_is_wrong():
    a, b = leaf(2, 2), leaf(2, 2, seed=1)
    with pytest.raises(mg.GradcheckError, match=r"input 1 \(shape \(2, 2\)\)"):
        mg.gradcheck(lambda p, q: ForgetsSecondInput.apply(p, q), (a, b))


def test_raise_exception_false_returns_false():
    x = leaf(2)
    assert mg.gradcheck(lambda t: WrongAtOneElement.apply(t, position=0), (x,), raise_exception=False) is False


def test_inputs_are_restored_after_perturbation():
    x = leaf(3)
    before = x.data.copy()
    mg.gradcheck(lambda t: t.exp(), (x,))
    np.testing.assert_array_equal(x.data, before)


def test_only_inputs_that_require_grad_are_checked_and_others_pass_through():
    x = leaf(3)
    constant = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64)
    assert mg.gradcheck(lambda t, c, scale: t * c * scale, (x, constant, 2.0))


def test_several_outputs_are_all_checked():
    x = leaf(3)
    with pytest.raises(mg.GradcheckError, match="output element 4"):
        mg.gradcheck(lambda t: (t.exp(), WrongAtOneElement.apply(t, position=1)), (x,))


def test_float32_inputs_are_refused_with_a_hint():
    with pytest.raises(TypeError, match="float64"):
        mg.gradcheck(lambda t: t * 2, (mg.ones(3, requires_grad=True),))


def test_no_input_requiring_grad_is_refused():
    with pytest.raises(ValueError, match="requires_grad"):
        mg.gradcheck(lambda t: t * 2, (mg.ones(3, dtype=mg.float64),))


def test_tolerances_are_honoured():
    x = leaf(2)
    wrong = lambda t: WrongAtOneElement.apply(t, position=0)  # noqa: E731  (off by 0.5)
    assert mg.gradcheck(wrong, (x,), atol=0.6)
    assert not mg.gradcheck(wrong, (x,), atol=0.4, raise_exception=False)


def test_a_single_tensor_is_accepted_as_inputs():
    assert mg.gradcheck(lambda t: t.sigmoid(), leaf(4))


class NanGradient(Function):
    """x * 2 whose backward returns NaN: a NaN on one side only must be reported."""

    def forward(self, x):
        return x * 2

    def backward(self, g):
        return (g * np.nan,)


def test_a_nan_gradient_is_reported_as_a_mismatch():
    with pytest.raises(mg.GradcheckError, match="analytic nan"):
        mg.gradcheck(lambda t: NanGradient.apply(t), (leaf(3),))
