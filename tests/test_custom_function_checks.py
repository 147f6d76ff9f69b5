"""Bad input to custom Functions in PyTorch's form (the issue's item 4): what the user's backward, forward
and jvp return is checked (minigrad/custom_function_checks.py), and each error names the Function, and
where they matter the input's position and both shapes. Where torch refuses the same, it is checked too.
"""
import pytest

import minigrad as mg
from minigrad.autograd import forward_ad
from test_custom_function import pair, same

torch = pytest.importorskip("torch")


def returning(library, gradients, forward=None):
    """A Function of two arguments (x, y) whose backward returns ``gradients(grad_output)``."""
    class Bad(library.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return (x * y) if forward is None else forward(x)

        @staticmethod
        def backward(ctx, grad_output):
            return gradients(grad_output)

    return Bad


@pytest.mark.parametrize("gradients, message", [
    (lambda g: g, r"Bad.backward returned 1 gradient, but forward took 2 arguments"),
    (lambda g: (g, g, g), r"Bad.backward returned 3 gradients, but forward took 2 arguments"),
    (lambda g: (g[0], g), r"Bad.backward returned a gradient of shape \(3,\) for input 0, whose shape is \(2, 3\)"),
    (lambda g: (g.reshape(6), g), r"shape \(6,\) for input 0, whose shape is \(2, 3\)"),
], ids=["too few", "too many", "wrong shape", "same size, wrong shape"])
def test_bad_gradients_raise_naming_the_function_the_input_and_the_shapes(gradients, message):
    (x, tx), (y, ty) = pair(), pair()
    with pytest.raises((RuntimeError, ValueError), match=message):
        returning(mg, gradients).apply(x, y).sum().backward()
    with pytest.raises(RuntimeError):  # torch refuses each of them too
        returning(torch, gradients).apply(tx, ty).sum().backward()


def test_what_torch_accepts_is_accepted():
    (x, tx), (y, ty) = pair(), pair()
    # trailing Nones; a gradient with an extra broadcast axis is summed back to the input's shape
    for gradients in (lambda g: (g, g, None), lambda g: (g.reshape(1, 2, 3) * 1, None)):
        returning(mg, gradients).apply(x, y).sum().backward()
        returning(torch, gradients).apply(tx, ty).sum().backward()
        same(x.grad, tx.grad)


def test_gradients_of_the_wrong_kind_raise():
    x, y = pair()[0], pair()[0]
    with pytest.raises(TypeError, match="Bad.backward returned a int64 gradient for input 1"):
        returning(mg, lambda g: (g, (g > 0).long())).apply(x, y).sum().backward()
    with pytest.raises(TypeError, match="Bad.backward returned ndarray as the gradient of input 0"):
        returning(mg, lambda g: (g.numpy(), None)).apply(x, y).sum().backward()
    with pytest.raises(TypeError, match="Bad.backward returned list"):
        returning(mg, lambda g: [g, g]).apply(x, y).sum().backward()
    with pytest.raises(RuntimeError, match="gradient for argument 1 of forward, which is not a Tensor"):
        returning(mg, lambda g: (g, g)).apply(x, 2.0).sum().backward()


@pytest.mark.parametrize("result, message", [
    (lambda x: 3.0, "Bad.forward returned float, not a Tensor"),
    (lambda x: x.numpy() * 2, r"Bad.forward returned ndarray, not a Tensor \(an array: wrap it"),
    (lambda x: [x * 2], "Bad.forward returned list, not a Tensor"),
    (lambda x: (x * 2, x.numpy()), "Bad.forward returned an array as output 1"),
])
def test_a_forward_that_returns_no_tensor_says_so(result, message):
    with pytest.raises(TypeError, match=message):
        returning(mg, lambda g: g, forward=result).apply(pair()[0], None)


def test_jvp_of_the_wrong_count_or_shape_raises():
    class BadTangents(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def jvp(ctx, tangent):
            return tangent[0]

    with forward_ad.dual_level():
        dual = forward_ad.make_dual(pair()[0].detach(), mg.ones(2, 3, dtype=mg.float64))
        with pytest.raises(RuntimeError, match="BadTangents.jvp returned 1 tangent for 2 outputs"):
            BadTangents.apply(dual)
        BadTangents.jvp = staticmethod(lambda ctx, tangent: (tangent, tangent[0]))
        with pytest.raises(ValueError, match=r"tangent of shape \(3,\) for output 1, whose shape is \(2, 3\)"):
            BadTangents.apply(dual)
