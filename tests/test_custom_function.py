"""Custom autograd Functions in PyTorch's form (minigrad/custom_function.py), against torch's.

Each Function is written once, against a library argument (``mg`` or ``torch``): the two read the
same, so a test runs the same class in both and compares values, gradients, second derivatives and
what the user's backward receives. Bad input is in test_custom_function_checks.py; once_differentiable
and forward mode in test_custom_function_higher_order.py.
"""
import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")

VALUES = np.array([[0.5, -1.25, 2.0], [1.5, -0.75, 0.25]])


def pair(values=VALUES, requires_grad=True):
    """The same float64 values as a minigrad and a torch tensor."""
    return (mg.tensor(values, dtype=mg.float64, requires_grad=requires_grad),
            torch.tensor(values, dtype=torch.float64, requires_grad=requires_grad))


def same(mine, theirs):
    assert (mine is None) == (theirs is None)
    if mine is not None:
        np.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-12)


# --- the Functions, written once for both libraries -----------------------------------------------

def cube(library):
    class Cube(library.autograd.Function):
        """x ** 3 with a backward in tensor ops: differentiable again."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return 3 * x * x * grad_output

    return Cube


def exponential(library):
    class Exponential(library.autograd.Function):
        """Saves its output, which double backward must treat as the output of this node."""

        @staticmethod
        def forward(ctx, x):
            out = x.exp()
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, grad_output):
            (out,) = ctx.saved_tensors
            return grad_output * out

    return Exponential


def scaled_product(library, seen):
    class ScaledProduct(library.autograd.Function):
        """x * y * scale + shift: a number and a keyword among the arguments."""

        @staticmethod
        def forward(ctx, x, scale, y, shift=0.0):
            seen["forward"] = (ctx.needs_input_grad, library.is_grad_enabled())
            ctx.save_for_backward(x, y)
            ctx.scale = scale
            return x * y * scale + shift

        @staticmethod
        def backward(ctx, grad_output):
            x, y = ctx.saved_tensors
            seen["backward"] = ctx.needs_input_grad
            grad_x = grad_output * y * ctx.scale if ctx.needs_input_grad[0] else None
            grad_y = grad_output * x * ctx.scale if ctx.needs_input_grad[2] else None
            return grad_x, None, grad_y, None

    return ScaledProduct


def exp_and_tanh(library, seen, materialize=True):
    class ExpAndTanh(library.autograd.Function):
        """Two outputs: backward gets one gradient per output."""

        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(materialize)
            exp, tanh = x.exp(), x.tanh()
            ctx.save_for_backward(exp, tanh)
            return exp, tanh

        @staticmethod
        def backward(ctx, grad_exp, grad_tanh):
            seen.append((grad_exp, grad_tanh))
            exp, tanh = ctx.saved_tensors
            total = 0
            if grad_exp is not None:
                total = total + grad_exp * exp
            if grad_tanh is not None:
                total = total + grad_tanh * (1 - tanh * tanh)
            return total

    return ExpAndTanh


def relu_with_mask(library, seen):
    class ReluWithMask(library.autograd.Function):
        """relu(x) and its mask as a float tensor marked non-differentiable."""

        @staticmethod
        def forward(ctx, x):
            mask = (x > 0).double()
            ctx.mark_non_differentiable(mask)
            ctx.save_for_backward(mask)
            return x * mask, mask

        @staticmethod
        def backward(ctx, grad_output, grad_mask):
            seen.append(grad_mask)
            (mask,) = ctx.saved_tensors
            return grad_output * mask

    return ReluWithMask


def add_one_in_place(library):
    class AddOneInPlace(library.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output

    return AddOneInPlace


# --- forward and backward -------------------------------------------------------------------------

def test_the_issue_s_square_works_as_in_pytorch():
    class Square(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return 2 * x * grad_output

    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = Square.apply(x)
    assert y.grad_fn.name == "Square" and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])


@pytest.mark.parametrize("make", [cube, exponential], ids=["cube", "saved output"])
def test_gradients_and_second_derivatives_equal_torch(make):
    (x, tx), mine, theirs = pair(), make(mg), make(torch)
    same(mine.apply(x), theirs.apply(tx))
    (gradient,) = mg.autograd.grad(mine.apply(x).sum(), x, create_graph=True)
    (torch_gradient,) = torch.autograd.grad(theirs.apply(tx).sum(), tx, create_graph=True)
    same(gradient, torch_gradient)
    assert gradient.grad_fn is not None
    same(mg.autograd.grad((gradient * gradient).sum(), x)[0], torch.autograd.grad((torch_gradient ** 2).sum(), tx)[0])
    assert mg.gradcheck(mine.apply, (x,)) and mg.gradgradcheck(mine.apply, (x,))


def test_numbers_keywords_and_needs_input_grad_as_in_torch():
    for x_grad, y_grad in [(True, False), (False, True), (True, True)]:
        (x, tx), (y, ty) = pair(requires_grad=x_grad), pair(VALUES[::-1].copy(), requires_grad=y_grad)
        seen, torch_seen = {}, {}
        out = scaled_product(mg, seen).apply(x, 2.5, y, shift=1.0)
        torch_out = scaled_product(torch, torch_seen).apply(tx, 2.5, ty, shift=1.0)
        same(out, torch_out)
        assert seen["forward"] == torch_seen["forward"] == ((x_grad, False, y_grad, False), False)
        out.sum().backward()
        torch_out.sum().backward()
        assert seen["backward"] == torch_seen["backward"]
        same(x.grad, tx.grad)
        same(y.grad, ty.grad)
    x, y = pair()[0], pair()[0]
    assert mg.gradcheck(lambda a, b: scaled_product(mg, {}).apply(a, -0.5, b), (x, y))


def test_without_grad_nothing_is_recorded_but_needs_input_grad_still_says_what_requires_it():
    seen = {}
    x, _ = pair()
    with mg.no_grad():
        out = scaled_product(mg, seen).apply(x, 2.0, x.detach())
    assert out.grad_fn is None and not out.requires_grad
    assert seen["forward"] == ((True, False, False), False)  # torch's answer too (defaults do not count)


@pytest.mark.parametrize("materialize", [True, False])
@pytest.mark.parametrize("used", ["exp", "tanh", "both"])
def test_several_outputs_give_backward_one_gradient_each(used, materialize):
    (x, tx), seen, torch_seen = pair(), [], []
    mine, theirs = exp_and_tanh(mg, seen, materialize).apply(x), exp_and_tanh(torch, torch_seen, materialize).apply(tx)
    assert mine[0].grad_fn is mine[1].grad_fn
    for outputs in (mine, theirs):
        loss = {"exp": outputs[0].sum(), "tanh": (outputs[1] * 3).sum(), "both": (outputs[0] * outputs[1]).sum()}[used]
        loss.backward()
    same(x.grad, tx.grad)
    for received, expected in zip(seen[0], torch_seen[0]):
        same(received, expected)  # zeros (materialized) or None where no gradient arrived, as in torch


def test_an_output_of_a_several_output_function_can_be_an_input_of_grad():
    (x, tx) = pair()
    exp, tanh = exp_and_tanh(mg, []).apply(x)
    torch_exp, torch_tanh = exp_and_tanh(torch, []).apply(tx)
    loss, torch_loss = (exp * tanh * tanh).sum(), (torch_exp * torch_tanh * torch_tanh).sum()
    for mine, theirs in zip(mg.autograd.grad(loss, [tanh, exp, x]), torch.autograd.grad(torch_loss, [torch_tanh, torch_exp, tx])):
        same(mine, theirs)
    assert mg.gradcheck(lambda t: exp_and_tanh(mg, []).apply(t), (x,))
    assert mg.gradgradcheck(lambda t: exp_and_tanh(mg, []).apply(t), (x,))


def test_one_tensor_returned_twice_is_two_outputs():
    received = []

    class Twice(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            doubled = x * 2
            return doubled, doubled

        @staticmethod
        def backward(ctx, first, second):
            received.append((first.numpy().copy(), second.numpy().copy()))
            return 2 * first + 5 * second

    x, _ = pair()
    first, second = Twice.apply(x)
    assert first is not second and first.grad_fn is second.grad_fn
    (first * 3 + second * second).sum().backward()
    # Each output its own gradient. (torch returns the one tensor twice, as output 1: both gradients
    # reach backward as output 1's, and output 0 gets zeros.)
    np.testing.assert_allclose(received[0][0], np.full(VALUES.shape, 3.0))
    np.testing.assert_allclose(received[0][1], 4 * VALUES)
    np.testing.assert_allclose(x.grad.numpy(), 2 * 3.0 + 5 * 4 * VALUES)


def test_a_non_differentiable_output_needs_no_grad_and_backward_gets_zeros_for_it():
    (x, tx), seen, torch_seen = pair(), [], []
    out, mask = relu_with_mask(mg, seen).apply(x)
    torch_out, torch_mask = relu_with_mask(torch, torch_seen).apply(tx)
    assert not mask.requires_grad and mask.grad_fn is None and not torch_mask.requires_grad
    (out + mask).sum().backward()
    (torch_out + torch_mask).sum().backward()
    same(x.grad, tx.grad)
    same(seen[0], torch_seen[0])


def test_mark_dirty_makes_the_modified_input_the_output_and_keeps_the_graph_before_it():
    (x, tx) = pair()
    base, torch_base = x * 2, tx * 2
    out, torch_out = add_one_in_place(mg).apply(base), add_one_in_place(torch).apply(torch_base)
    assert out is base and torch_out is torch_base
    assert out.grad_fn.name == "AddOneInPlace"
    (out * out).sum().backward()
    (torch_out * torch_out).sum().backward()
    same(x.grad, tx.grad)


def test_mark_dirty_errors_as_in_torch():
    x, tx = pair()
    for library, leaf in ((mg, x), (torch, tx)):
        with pytest.raises(RuntimeError, match="leaf"):  # its gradient would be lost
            add_one_in_place(library).apply(leaf)
    exp, torch_exp = (x * 1).exp(), (tx * 1).exp()  # exp saved its output for backward
    add_one_in_place(mg).apply(exp)
    add_one_in_place(torch).apply(torch_exp)
    with pytest.raises(RuntimeError, match="modified in place"):
        exp.sum().backward()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        torch_exp.sum().backward()

    class NotReturned(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            return x * 2

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output

    with pytest.raises(ValueError, match="NotReturned: an input marked dirty .* is not returned"):
        NotReturned.apply(x * 1)


def test_an_input_returned_as_is_becomes_a_new_tensor_on_the_tape():
    class Identity(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad_output):
            return 2 * grad_output

    x, _ = pair()
    out = Identity.apply(x)
    assert out is not x and out.grad_fn is not None and x.grad_fn is None
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(VALUES.shape, 2.0))  # torch: the same


def test_setup_context_form_binds_keywords_and_defaults_as_torch():
    def scale(library, seen):
        class Scale(library.autograd.Function):
            @staticmethod
            def forward(x, factor=2.0):
                return x * factor

            @staticmethod
            def setup_context(ctx, inputs, output):
                seen.append(len(inputs))
                ctx.factor = inputs[1]

            @staticmethod
            def backward(ctx, grad_output):
                return grad_output * ctx.factor, None

        return Scale

    (x, tx), seen, torch_seen = pair(), [], []
    for library, tensor, record in ((mg, x, seen), (torch, tx, torch_seen)):
        scale(library, record).apply(tensor).sum().backward()
        scale(library, record).apply(tensor, factor=3.0).sum().backward()
    same(x.grad, tx.grad)
    assert seen == torch_seen == [2, 2]


# --- saved tensors --------------------------------------------------------------------------------

def test_saved_tensors_check_the_version_counter():
    x, _ = pair()
    for make, modify in [(cube, "input"), (exponential, "output")]:
        base = x * 1
        out = make(mg).apply(base)
        with mg.no_grad():
            (base if modify == "input" else out).add_(1)
        with pytest.raises(RuntimeError, match=rf"{make(mg).__name__} .* saved its {modify} 0 .* modified in place"):
            out.sum().backward()


def test_saved_tensors_are_freed_after_backward_unless_retained():
    x, _ = pair()
    out = cube(mg).apply(x)
    out.sum().backward(retain_graph=True)
    assert out.grad_fn.ctx.saved_tensors[0] is x
    out.sum().backward()
    with pytest.raises(RuntimeError, match="Cube .* already been through backward"):
        out.grad_fn.ctx.saved_tensors
    with pytest.raises(RuntimeError, match="already been through backward"):
        out.sum().backward()


def test_a_saved_output_its_user_dropped_comes_back_as_that_output_of_the_node():
    x, _ = pair()
    exp, tanh = exp_and_tanh(mg, []).apply(x)
    node = exp.grad_fn
    del exp, tanh  # only the node's records keep their buffers now
    saved_exp, saved_tanh = node.ctx.saved_tensors
    assert saved_tanh.grad_fn is node
    np.testing.assert_allclose(saved_tanh.numpy(), np.tanh(VALUES))
    (gradient,) = mg.autograd.grad(saved_tanh.sum(), x)  # through the node, as its output 1
    np.testing.assert_allclose(gradient.numpy(), 1 - np.tanh(VALUES) ** 2)


def test_save_for_backward_takes_only_tensors():
    class SavesANumber(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 2

    with pytest.raises(TypeError, match="save_for_backward can only save Tensors .* argument 1 is int"):
        SavesANumber.apply(pair()[0])


# --- the instance form and the rest of the engine -------------------------------------------------

def test_the_instance_form_keeps_working_beside_it():
    class Twice(mg.autograd.Function):
        def forward(self, x):
            return 2 * x

        def backward(self, grad_output):
            return (2 * grad_output,)

    x, _ = pair()
    Twice.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(VALUES.shape, 2.0))
    assert Twice.apply.__func__ is mg.autograd.Function.apply.__func__  # the ops' path is untouched


def test_gradient_tape_explain_and_anomaly_mode_see_the_node():
    x = mg.tensor(VALUES, dtype=mg.float64)
    with mg.GradientTape() as tape:
        tape.watch(x)
        exp, tanh = exp_and_tanh(mg, []).apply(x)
        loss = (exp + tanh).sum()
    (gradient,) = tape.gradient(loss, [x])
    np.testing.assert_allclose(gradient.numpy(), np.exp(VALUES) + 1 - np.tanh(VALUES) ** 2)
    x.requires_grad_()
    exp, tanh = exp_and_tanh(mg, []).apply(x)
    (exp * tanh).sum().backward()
    text = str(mg.autograd.explain(exp))
    assert "ExpAndTanh" in text and "output 0" in text and "output 1" in text and "|g|=" in text

    class LogInNumPy(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return mg.from_numpy(np.log(x.numpy()))

    with mg.detect_anomaly(), np.errstate(invalid="ignore"):
        with pytest.raises(mg.AnomalyError, match=r"the forward of LogInNumPy \(sequence \d+\) produced 2 NaN"):
            LogInNumPy.apply(x)
