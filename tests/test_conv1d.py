"""Conv1d and F.conv1d (on the 2-D kernels): PyTorch's values, gradients, arguments, init and repr."""
import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn

# (input shape, weight shape, options): odd lengths, strides, padding ints and names, dilation, groups
GEOMETRIES = [
    ((2, 3, 11), (4, 3, 3), {}),
    ((2, 3, 10), (5, 3, 4), {"stride": 2, "padding": 1}),
    ((3, 2, 9), (2, 2, 3), {"padding": "same", "dilation": 2}),
    ((1, 3, 8), (4, 3, 4), {"padding": "same"}),  # even kernel: the extra zero after, as PyTorch
    ((2, 3, 7), (4, 3, 2), {"padding": "valid", "stride": 3, "dilation": 3}),
    ((2, 4, 9), (6, 2, 3), {"groups": 2, "padding": 1}),
    ((2, 4, 9), (4, 1, 5), {"groups": 4, "padding": 2}),  # depthwise
]


def run_both(x_shape, weight_shape, options, dtype, bias=True, seed=0):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    x, weight = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(weight_shape).astype(dtype)
    bias_array = rng.standard_normal(weight_shape[0]).astype(dtype) if bias else None
    results = []
    for library, functional in ((mg, F), (torch, torch.nn.functional)):
        tensors = [library.tensor(array, requires_grad=True) if array is not None else None
                   for array in (x, weight, bias_array)]
        out = functional.conv1d(*tensors, **options)
        out.backward(library.tensor(np.random.default_rng(seed + 1).standard_normal(tuple(out.shape)).astype(dtype)))
        results.append([out] + tensors)
    return results


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")  # PyTorch's, for its copy
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape, weight_shape, options", GEOMETRIES)
def test_values_and_every_gradient_equal_pytorchs(x_shape, weight_shape, options, dtype):
    tolerance = {"rtol": 1e-4, "atol": 1e-4} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-11}
    mine, theirs = run_both(x_shape, weight_shape, options, dtype)
    assert mine[0].shape == tuple(theirs[0].shape) and mine[0].dtype == dtype
    np.testing.assert_allclose(mine[0].numpy(), theirs[0].detach().numpy(), **tolerance)
    for label, a, b in zip(("input", "weight", "bias"), mine[1:], theirs[1:]):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), err_msg=label, **tolerance)


def test_without_bias_and_unbatched_input():
    mine, theirs = run_both((3, 9), (2, 3, 3), {"stride": 2}, np.float64, bias=False)
    assert mine[0].shape == (2, 4)
    np.testing.assert_allclose(mine[0].numpy(), theirs[0].detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(mine[1].grad.numpy(), theirs[1].grad.numpy(), rtol=1e-10)


def test_gradcheck_and_gradgradcheck_in_float64():
    rng = np.random.default_rng(3)
    inputs = tuple(mg.tensor(rng.standard_normal(shape), requires_grad=True) for shape in ((2, 2, 6), (3, 2, 3), (3,)))

    def function(x, weight, bias):
        return F.conv1d(x, weight, bias, stride=2, padding=1, dilation=2)

    assert mg.gradcheck(function, inputs)
    assert mg.gradgradcheck(function, inputs)


@pytest.mark.parametrize("arguments, keywords", [
    ((4, 6, 3), {"padding": "same"}),
    ((4, 6, 3), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2, "bias": False}),
    ((1, 2, 5), {}),
    ((2, 2, (3,)), {"stride": (2,), "padding": "valid"}),
    ((4, 6, 4), {"padding": "same", "padding_mode": "reflect"}),
    ((4, 6, 3), {"padding": 2, "stride": 2, "padding_mode": "replicate", "groups": 2}),
])
def test_repr_parameters_and_initialisation_are_pytorchs(arguments, keywords):
    torch = pytest.importorskip("torch")
    mine, theirs = nn.Conv1d(*arguments, **keywords), torch.nn.Conv1d(*arguments, **keywords)
    assert repr(mine) == repr(theirs)
    assert [(name, tuple(p.shape)) for name, p in mine.named_parameters()] == [
        (name, tuple(p.shape)) for name, p in theirs.named_parameters()]
    bound = 1 / math.sqrt(theirs.weight.shape[1] * theirs.weight.shape[2])
    assert np.abs(mine.weight.numpy()).max() <= bound
    x = np.random.default_rng(0).standard_normal((2, arguments[0], 9)).astype(np.float32)
    mine.load_state_dict({name: value.detach().numpy() for name, value in theirs.state_dict().items()})
    np.testing.assert_allclose(mine(mg.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_initialisation_fills_the_bound():
    mg.manual_seed(0)
    layer = nn.Conv1d(8, 16, 5, dtype=mg.float64)  # fan_in = 8 * 5
    bound = 1 / math.sqrt(8 * 5)
    assert layer.weight.dtype == mg.float64 and layer.weight.shape == (16, 8, 5)
    assert 0.9 * bound < np.abs(layer.weight.numpy()).max() <= bound
    assert 0.6 * bound < np.abs(layer.bias.numpy()).max() <= bound


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv1d(mg.randn(1, 2, 5), mg.randn(3, 2, 3), stride=2, padding="same"),
     r"conv1d: padding='same' needs stride 1, got stride 2"),
    (lambda: F.conv1d(mg.randn(1, 2, 5), mg.randn(3, 2, 3), padding="full"), r"conv1d: padding must be .*'full'"),
    (lambda: F.conv1d(mg.randn(1, 2, 5), mg.randn(3, 2, 3), padding=(1, 2)),
     r"conv1d: padding must be an int or a tuple of one int, got \(1, 2\)"),
    (lambda: F.conv1d(mg.randn(1, 2, 5), mg.randn(3, 2, 3), stride=0), r"conv1d: stride must be at least 1, got 0"),
    (lambda: F.conv1d(mg.randn(1, 2, 5), mg.randn(3, 2, 9)), r"conv1d: kernel length 9 is larger than the padded input"),
    (lambda: F.conv1d(mg.randn(1, 2, 5), mg.randn(3, 3, 3)),
     r"conv1d: weight \(3, 3, 3\) with groups=1 expects 3 input channels, input \(1, 2, 5\) has 2"),
    (lambda: F.conv1d(mg.randn(1, 2, 5), mg.randn(3, 2, 3), mg.randn(2)),
     r"conv1d: bias of shape \(2,\) does not match 3 output channels"),
    (lambda: F.conv1d(mg.randn(1, 4, 5), mg.randn(3, 2, 3), groups=2), r"conv1d: groups=2 must divide"),
    (lambda: F.conv1d(mg.randn(1, 2, 5, 5), mg.randn(3, 2, 3)), r"conv1d: expected a 2-D \(unbatched\) or 3-D input"),
    (lambda: F.conv1d(mg.randn(1, 2, 5), mg.randn(3, 2, 3, 3)), r"conv1d: expected a 3-D weight"),
    (lambda: F.conv1d(mg.randn(1, 2, 5), mg.randn(3, 2, 3, dtype=mg.float64)),
     r"conv1d: input, weight and bias must share one float dtype"),
    (lambda: nn.Conv1d(2, 3, 3, padding_mode="circular"), r"Conv1d: padding_mode 'circular' is not supported"),
    (lambda: nn.Conv1d(2, 3, 3, padding_mode="edge"), r"Conv1d: padding_mode must be one of .*, got 'edge'"),
    (lambda: nn.Conv1d(2, 3, 3, stride=2, padding="same"), r"Conv1d: padding='same' is not supported for strided"),
    (lambda: nn.Conv1d(2, 3, 3, padding="foo"), r"Conv1d: invalid padding string 'foo'"),
    (lambda: nn.Conv1d(2, 3, 3, groups=2), r"Conv1d: out_channels must be divisible by groups"),
    (lambda: nn.Conv1d(2, 3, (3, 3)), r"Conv1d: kernel_size must be an int or a tuple of one int"),
])
def test_bad_arguments_are_refused_with_the_name_and_value(call, message):
    with pytest.raises((ValueError, TypeError, NotImplementedError), match=message):
        call()


def test_the_layer_refuses_a_non_tensor_with_its_name():
    with pytest.raises(TypeError, match="Conv1d"):
        nn.Conv1d(2, 3, 3)(np.zeros((1, 2, 5), np.float32))
