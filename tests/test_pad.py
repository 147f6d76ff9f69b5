"""F.pad and the 2-D padding layers: against PyTorch (values and gradients, float32 and float64) for
every mode, asymmetric and negative pads, gradcheck and gradgradcheck in float64, PyTorch's refusals
and repr."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

DTYPES = [np.float32, np.float64]

CASES = [
    ((2, 3, 5, 6), (1, 2, 0, 3), "reflect"),
    ((2, 3, 5, 6), (4, 0, -1, 2), "reflect"),
    ((3, 5, 6), (2, 2), "reflect"),
    ((5, 6), (3, 1), "reflect"),
    ((3, 5, 6), (1, 2, 3, 4), "replicate"),
    ((2, 3, 5, 6), (7, -2, 3, 9), "replicate"),
    ((5, 6), (3, 8), "replicate"),
    ((2, 1, 1, 1), (2, 3, 1, 0), "replicate"),
    # as many output positions as input ones, but not one each: the backward map is no gather
    ((2, 3), (1, -1), "reflect"),
    ((1, 2, 3, 3), (0, 0, 1, -1), "replicate"),
    ((1, 1, 2), (-1, -1, 0, 0), "reflect"),  # an empty output (PyTorch allows it for 2-D pads)
    ((2, 3, 4), (1, 2), "constant"),
    ((2, 3, 4), (1, -2, -1, 3, 2, 0), "constant"),
    ((2, 3, 4, 5), (-2, -3), "constant"),
    ((2, 3, 4, 5), (0, 0, 1, 1, 2, 2, 1, 0), "constant"),
    ((4,), (2, 3), "constant"),
    ((2, 3, 4), (), "constant"),
    ((2, 3, 4), (-2, -2), "constant"),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "pad", "mode"), CASES)
def test_values_and_gradients_match_pytorch(shape, pad, mode, dtype):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    options = {"value": 1.5} if mode == "constant" else {}
    mine_input = mg.tensor(x, requires_grad=True)
    their_input = torch.tensor(x, requires_grad=True)
    mine = F.pad(mine_input, pad, mode=mode, **options)
    theirs = torch.nn.functional.pad(their_input, pad, mode=mode, **options)
    upstream = np.random.default_rng(1).standard_normal(tuple(theirs.shape)).astype(dtype)
    mine.backward(mg.tensor(upstream))
    theirs.backward(torch.tensor(upstream))
    assert mine.shape == tuple(theirs.shape) and mine.dtype == dtype
    np.testing.assert_array_equal(mine.numpy(), theirs.detach().numpy())
    np.testing.assert_allclose(mine_input.grad.numpy(), their_input.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("pad", "mode"), [((1, 2, 0, 1), "reflect"), ((2, -1, 3, 1), "replicate"),
                                           ((1, -1, -1, 2), "constant")])
def test_gradcheck_and_gradgradcheck_in_float64(pad, mode):
    x = mg.tensor(np.random.default_rng(2).standard_normal((1, 2, 3, 3)), requires_grad=True)

    def function(t):
        return F.pad(t, pad, mode=mode)

    assert mg.gradcheck(function, (x,))
    assert mg.gradgradcheck(function, (x,))


def test_constant_pad_forward_mode_tangent_has_no_fill_value():
    x = mg.tensor(np.ones((2, 3)))
    tangent = mg.tensor(np.full((2, 3), 2.0))
    _, output_tangent = mg.func.jvp(lambda t: F.pad(t, (1, 1), value=7.0), (x,), (tangent,))
    np.testing.assert_array_equal(output_tangent.numpy(), np.pad(np.full((2, 3), 2.0), ((0, 0), (1, 1))))


REFUSALS = [
    ((3, 3), (1,), "constant", None, ValueError, "padding length must be divisible by 2"),
    ((3, 3), (1, 1, 1, 1, 1, 1), "constant", None, ValueError, "padding length 6 and input of dimension 2"),
    ((1, 2, 3, 3), (-2, -2), "constant", None, ValueError, "input size 3, cut by negative padding -2 and -2"),
    ((3, 3), (1.0, 1), "constant", None, TypeError, r"pad must be a tuple of ints, got \(1.0, 1\)"),
    ((1, 2, 3, 3), (3, 0, 0, 0), "reflect", None, ValueError,
     r"padding size should be less than.*padding \(3, 0\) at dimension 3 of input \[1, 2, 3, 3\]"),
    ((1, 2, 3, 3), (0, 0, 2, 3), "reflect", None, ValueError, r"padding \(2, 3\) at dimension 2"),
    ((1,), (1, -2), "constant", None, ValueError, "input size 1, cut by negative padding 1 and -2"),
    ((1, 2), (-1, -1), "reflect", None, ValueError, "too small for padding \\(-1, -1\\): calculated output size 0"),
    ((3, 3), (1, 1), "reflect", 2.5, ValueError, "'reflect' doesn't take in value argument"),
    ((3, 3), (1, 1), "foo", None, ValueError, "mode must be one of.*'foo'"),
    ((3, 3), (1, 1), "circular", None, NotImplementedError, "'circular' is not supported"),
    ((3,), (1, 1), "reflect", None, NotImplementedError, "padding size 2 is not supported for 1D input"),
    ((1, 2, 3, 3), (1, 1), "replicate", None, NotImplementedError, "padding size 2 is not supported for 4D input"),
    ((3, 3), (1, 1, 1, 1), "replicate", None, NotImplementedError, "padding size 4 is not supported for 2D input"),
    ((1, 1, 2, 3, 3), (1, 1, 1, 1, 1, 1), "reflect", None, NotImplementedError, "padding of 3 dims"),
    ((2, 0), (1, 1), "replicate", None, ValueError, r"non-zero sizes.*\(2, 0\)"),
]


@pytest.mark.parametrize(("shape", "pad", "mode", "value", "error", "message"), REFUSALS)
def test_bad_arguments_are_refused_with_the_function_name(shape, pad, mode, value, error, message):
    with pytest.raises(error, match="pad: .*" + message):
        F.pad(mg.zeros(*shape), pad, mode=mode, value=value)


def test_an_empty_batch_pads_to_an_empty_output():
    x = mg.zeros(0, 2, 3, requires_grad=True)
    y = F.pad(x, (1, 1), mode="reflect")
    assert y.shape == (0, 2, 5)
    y.sum().backward()
    assert x.grad.shape == (0, 2, 3)


def test_padding_layers_match_pytorch_and_print_as_it_does():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    pairs = [(nn.ZeroPad2d((1, 2, -1, 3)), torch.nn.ZeroPad2d((1, 2, -1, 3))),
             (nn.ConstantPad2d(2, 3.5), torch.nn.ConstantPad2d(2, 3.5)),
             (nn.ReflectionPad2d((1, 2, 3, 0)), torch.nn.ReflectionPad2d((1, 2, 3, 0))),
             (nn.ReplicationPad2d(3), torch.nn.ReplicationPad2d(3))]
    for mine, theirs in pairs:
        np.testing.assert_array_equal(mine(mg.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy())
        assert repr(mine) == repr(theirs)
    assert repr(nn.ConstantPad2d(2, 3)) == "ConstantPad2d(padding=(2, 2, 2, 2), value=3)"
    with pytest.raises(TypeError, match=r"ReflectionPad2d: padding must be an int or 4 ints.*\(1, 2\)"):
        nn.ReflectionPad2d((1, 2))
    with pytest.raises(TypeError, match="ZeroPad2d"):
        nn.ZeroPad2d(1)(np.zeros((1, 1, 2, 2)))
