"""Custom Functions in PyTorch's form beyond first derivatives: @once_differentiable (first derivatives
only, then an error), forward mode through the user's jvp, and forward over reverse through the user's
backward. Second derivatives of a backward in Tensor ops are in tests/test_custom_function.py.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import forward_ad
from minigrad.autograd.function import once_differentiable
from test_custom_function import VALUES, cube, pair, same

torch = pytest.importorskip("torch")
import torch.autograd.forward_ad as torch_forward_ad  # noqa: E402
from torch.autograd.function import once_differentiable as torch_once_differentiable  # noqa: E402


# --- once_differentiable --------------------------------------------------------------------------

def once(library, decorator):
    class CubeOnce(library.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        @decorator
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            assert not library.is_grad_enabled()
            return 3 * x ** 2 * grad_output

    return CubeOnce


def test_once_differentiable_gives_first_derivatives_and_refuses_second_ones():
    (x, tx), (v, tv) = pair(), pair(np.ones(VALUES.shape))
    mine, theirs = once(mg, once_differentiable), once(torch, torch_once_differentiable)
    (plain,) = mg.autograd.grad(mine.apply(x).sum(), x, create_graph=True)
    (torch_plain,) = torch.autograd.grad(theirs.apply(tx).sum(), tx, create_graph=True)
    same(plain, torch_plain)
    assert plain.grad_fn is None and torch_plain.grad_fn is None  # grad_outputs needed no grad
    (marked,) = mg.autograd.grad(mine.apply(x), x, grad_outputs=v, create_graph=True)
    (torch_marked,) = torch.autograd.grad(theirs.apply(tx), tx, grad_outputs=tv, create_graph=True)
    assert marked.requires_grad and torch_marked.requires_grad
    with pytest.raises(RuntimeError, match="differentiate twice a function that was marked with @once_differentiable"):
        marked.sum().backward()
    with pytest.raises(RuntimeError, match="differentiate twice a function that was marked with @once_differentiable"):
        torch_marked.sum().backward()


# --- forward mode ---------------------------------------------------------------------------------

def multiply_with_jvp(library):
    class Multiply(library.autograd.Function):
        @staticmethod
        def forward(ctx, x, y, scale):
            ctx.save_for_forward(x, y)
            ctx.scale = scale
            return x * y * scale, x.exp()

        @staticmethod
        def backward(ctx, grad_product, grad_exp):
            raise AssertionError("not used")

        @staticmethod
        def jvp(ctx, tangent_x, tangent_y, tangent_scale):
            assert tangent_scale is None
            x, y = ctx.saved_tensors
            return (tangent_x * y + x * tangent_y) * ctx.scale, tangent_x * x.exp()

    return Multiply


def test_jvp_gives_the_outputs_tangents_as_torch():
    (x, tx), (y, ty) = pair(), pair(VALUES * 0.5)
    direction = VALUES[::-1].copy()
    with forward_ad.dual_level():
        outputs = multiply_with_jvp(mg).apply(forward_ad.make_dual(x, mg.tensor(direction, dtype=mg.float64)), y, 1.5)
        tangents = [forward_ad.unpack_dual(output).tangent for output in outputs]
    with torch_forward_ad.dual_level():
        dual = torch_forward_ad.make_dual(tx.detach(), torch.tensor(direction))
        torch_outputs = multiply_with_jvp(torch).apply(dual, ty, 1.5)  # y has no tangent: jvp gets zeros for it
        torch_tangents = [torch_forward_ad.unpack_dual(output).tangent for output in torch_outputs]
    for mine, theirs in zip(tangents, torch_tangents):
        same(mine, theirs)


def test_forward_over_reverse_differentiates_the_user_s_backward():
    class CubeWithJvp(cube(mg)):
        @staticmethod
        def jvp(ctx, tangent):
            (x,) = ctx.saved_tensors
            return 3 * x * x * tangent

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)
            return x * x * x

    x = mg.tensor(VALUES, dtype=mg.float64)
    direction = mg.tensor(VALUES[::-1].copy(), dtype=mg.float64)
    _, tangent = mg.func.jvp(CubeWithJvp.apply, (x,), (direction,))
    np.testing.assert_allclose(tangent.numpy(), 3 * VALUES ** 2 * direction.numpy())
    # The tangent of the gradient 3 x^2 is 6 x: carried through the Tensor ops of the user's backward.
    _, tangent = mg.func.jvp(mg.func.grad(lambda t: CubeWithJvp.apply(t).sum()), (x,), (direction,))
    np.testing.assert_allclose(tangent.numpy(), 6 * VALUES * direction.numpy())


def test_forward_mode_without_jvp_says_what_to_add_as_torch_does():
    x, tx = pair()
    with forward_ad.dual_level():
        dual = forward_ad.make_dual(x.detach(), mg.ones(2, 3, dtype=mg.float64))
        with pytest.raises(NotImplementedError, match="Cube: forward-mode AD needs the Function's jvp"):
            cube(mg).apply(dual)
        cube(mg).apply(x)  # no tangent in: no jvp needed
    with torch_forward_ad.dual_level():
        with pytest.raises(NotImplementedError):
            cube(torch).apply(torch_forward_ad.make_dual(tx.detach(), torch.ones(2, 3, dtype=torch.float64)))
