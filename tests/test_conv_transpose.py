"""ConvTranspose2d and F.conv_transpose2d: PyTorch's values, gradients, output size, arguments, init and repr."""
import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn

# (input shape, weight shape, options): strides 1-3, padding, output_padding, dilation, non-square
# kernels, odd sizes that are multiples of no tile, groups
GEOMETRIES = [
    ((2, 3, 5, 7), (3, 4, 3, 3), {}),
    ((2, 3, 5, 6), (3, 2, 3, 2), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((3, 4, 5, 7), (4, 3, 2, 3), {"stride": (3, 2), "padding": (0, 1), "output_padding": (2, 1), "dilation": (1, 2)}),
    ((2, 3, 4, 5), (3, 2, 3, 3), {"stride": 1, "dilation": 2, "output_padding": 1}),
    ((2, 3, 5, 5), (3, 2, 3, 3), {"stride": 2, "padding": 3}),
    ((1, 2, 3, 3), (2, 5, 5, 1), {"stride": (1, 3), "padding": (2, 0), "dilation": (2, 1)}),
    ((2, 4, 5, 5), (4, 3, 3, 3), {"stride": 2, "padding": 1, "groups": 2}),
    ((2, 6, 3, 4), (6, 1, 2, 2), {"stride": 3, "output_padding": 2, "groups": 6}),
]


def run_both(x_shape, weight_shape, options, dtype, bias=True, seed=0):
    """(minigrad tensors, torch tensors), each (output, x, weight, bias), after backward of one upstream gradient."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    x, weight = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(weight_shape).astype(dtype)
    bias_array = rng.standard_normal(weight_shape[1] * options.get("groups", 1)).astype(dtype) if bias else None
    results = []
    for library, functional in ((mg, F), (torch, torch.nn.functional)):
        tensors = [library.tensor(array, requires_grad=True) if array is not None else None
                   for array in (x, weight, bias_array)]
        out = functional.conv_transpose2d(*tensors, **options)
        upstream = np.random.default_rng(seed + 1).standard_normal(tuple(out.shape)).astype(dtype)
        out.backward(library.tensor(upstream))
        results.append([out] + tensors)
    return results


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
    mine, theirs = run_both((3, 4, 5), (3, 2, 3, 3), {"stride": 2, "output_padding": 1}, np.float64, bias=False)
    np.testing.assert_allclose(mine[0].numpy(), theirs[0].detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(mine[1].grad.numpy(), theirs[1].grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("x_shape, weight_shape, options", [
    ((1, 2, 3, 3), (2, 2, 3, 2), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((1, 2, 2, 3), (2, 1, 2, 2), {"stride": (1, 2), "dilation": (2, 1), "output_padding": (1, 0)}),
    ((1, 2, 2, 2), (2, 1, 2, 2), {"stride": 2, "groups": 2}),
])
def test_gradcheck_and_gradgradcheck_in_float64(x_shape, weight_shape, options):
    rng = np.random.default_rng(3)
    x = mg.tensor(rng.standard_normal(x_shape), requires_grad=True)
    weight = mg.tensor(rng.standard_normal(weight_shape), requires_grad=True)
    bias = mg.tensor(rng.standard_normal(weight_shape[1] * options.get("groups", 1)), requires_grad=True)

    def function(x, weight, bias):
        return F.conv_transpose2d(x, weight, bias, **options)

    assert mg.gradcheck(function, (x, weight, bias))
    assert mg.gradgradcheck(function, (x, weight, bias))


def test_the_tape_names_the_op():
    x = mg.randn(1, 2, 3, 3, requires_grad=True)
    out = F.conv_transpose2d(x, mg.randn(2, 3, 3, 3), stride=2)
    assert out.grad_fn.name == "ConvTranspose2d"


def test_layer_matches_pytorch_with_its_weights_and_output_size():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1, groups=2, dilation=(1, 2))
    mine = nn.ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1, groups=2, dilation=(1, 2))
    mine.load_state_dict({name: value.detach().numpy() for name, value in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 5)).astype(np.float32)
    for output_size in (None, [10, 10], (2, 6, 9, 10)):
        expected = theirs(torch.tensor(x), output_size=output_size).detach().numpy()
        np.testing.assert_allclose(mine(mg.tensor(x), output_size=output_size).numpy(), expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"ConvTranspose2d: requested an output size of \[12, 12\].*\[9, 9\] to \[10, 10\]"):
        mine(mg.tensor(x), output_size=[12, 12])


@pytest.mark.parametrize("arguments, keywords", [
    ((4, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((4, 6, (3, 2)), {"groups": 2, "bias": False, "dilation": 2}),
    ((4, 3, 3), {}),
    ((2, 2, 1), {"padding": (1, 0), "output_padding": (0, 1), "stride": (1, 2)}),
])
def test_repr_parameters_and_initialisation_are_pytorchs(arguments, keywords):
    torch = pytest.importorskip("torch")
    mine, theirs = nn.ConvTranspose2d(*arguments, **keywords), torch.nn.ConvTranspose2d(*arguments, **keywords)
    assert repr(mine) == repr(theirs)
    assert [(name, tuple(p.shape)) for name, p in mine.named_parameters()] == [
        (name, tuple(p.shape)) for name, p in theirs.named_parameters()]
    fan_in = theirs.weight.shape[1] * theirs.weight.shape[2] * theirs.weight.shape[3]
    assert np.abs(mine.weight.numpy()).max() <= 1 / math.sqrt(fan_in)
    if mine.bias is not None:
        assert np.abs(mine.bias.numpy()).max() <= 1 / math.sqrt(fan_in)


def test_initialisation_fills_the_bound():
    mg.manual_seed(0)
    layer = nn.ConvTranspose2d(8, 16, 3, dtype=mg.float64)  # fan_in = 16 * 9
    bound = 1 / math.sqrt(16 * 9)
    assert layer.weight.dtype == mg.float64 and layer.weight.shape == (8, 16, 3, 3)
    assert 0.9 * bound < np.abs(layer.weight.numpy()).max() <= bound
    assert 0.6 * bound < np.abs(layer.bias.numpy()).max() <= bound


@pytest.mark.parametrize("call, message", [
    (lambda: F.conv_transpose2d(mg.randn(1, 2, 3, 3), mg.randn(2, 2, 3, 3), output_padding=1),
     r"conv_transpose2d: output_padding \(1, 1\) must be smaller than either stride \(1, 1\) or dilation \(1, 1\)"),
    (lambda: F.conv_transpose2d(mg.randn(1, 2, 3, 3), mg.randn(2, 2, 3, 3), stride=2, output_padding=(0, 2)),
     r"output_padding \(0, 2\) must be smaller"),
    (lambda: F.conv_transpose2d(mg.randn(1, 2, 3, 3), mg.randn(2, 2, 3, 3), padding=3),
     r"conv_transpose2d: output size \(-1, -1\) is too small"),
    (lambda: F.conv_transpose2d(mg.randn(1, 2, 3, 3), mg.randn(3, 2, 3, 3)),
     r"conv_transpose2d: weight \(3, 2, 3, 3\) expects 3 input channels, input \(1, 2, 3, 3\) has 2"),
    (lambda: F.conv_transpose2d(mg.randn(1, 2, 3, 3), mg.randn(2, 2, 3, 3), mg.randn(3)),
     r"conv_transpose2d: bias of shape \(3,\) does not match 2 output channels"),
    (lambda: F.conv_transpose2d(mg.randn(1, 3, 3, 3), mg.randn(3, 2, 3, 3), groups=2),
     r"conv_transpose2d: groups=2 must divide"),
    (lambda: F.conv_transpose2d(mg.randn(1, 2, 3, 3), mg.randn(2, 2, 3)),
     r"conv_transpose2d: expected a 4-D weight"),
    (lambda: F.conv_transpose2d(mg.randn(2, 3), mg.randn(2, 2, 3, 3)), r"conv_transpose2d: expected a 3-D"),
    (lambda: F.conv_transpose2d(mg.randn(1, 2, 3, 3), mg.randn(2, 2, 3, 3, dtype=mg.float64)),
     r"conv_transpose2d: input, weight and bias must share one float dtype, got input float32, weight float64"),
    (lambda: F.conv_transpose2d(mg.randn(1, 2, 3, 3), mg.randn(2, 2, 3, 3), stride=0),
     r"conv_transpose2d: stride must be at least 1, got 0"),
    (lambda: F.conv_transpose2d(mg.randn(1, 2, 3, 3), mg.randn(2, 2, 3, 3), padding=-1),
     r"conv_transpose2d: padding must be at least 0, got -1"),
    (lambda: F.conv_transpose2d(mg.randn(1, 2, 3, 3), mg.randn(2, 2, 3, 3), padding="same"), r"no 'same'"),
    (lambda: nn.ConvTranspose2d(2, 3, 3, padding_mode="reflect"),
     r"ConvTranspose2d: only \"zeros\" padding mode is supported, got padding_mode='reflect'"),
    (lambda: nn.ConvTranspose2d(4, 3, 3, groups=2), r"ConvTranspose2d: out_channels must be divisible by groups"),
    (lambda: nn.ConvTranspose2d(3, 4, 3, groups=2), r"ConvTranspose2d: in_channels must be divisible by groups"),
    (lambda: nn.ConvTranspose2d(0, 4, 3), r"ConvTranspose2d: in_channels must be a positive int, got 0"),
    (lambda: nn.ConvTranspose2d(2, 4, 3)(mg.randn(1, 2, 3, 3), output_size=[5]),
     r"ConvTranspose2d: for 4D input, output_size must have 2 or 4 elements \(got 1\)"),
])
def test_bad_arguments_are_refused_with_the_name_and_value(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_refusals_agree_with_pytorch_on_the_output_size():
    torch = pytest.importorskip("torch")
    for padding in (2, 3):  # output sizes 1 and -1 (float64: PyTorch's own check)
        x, weight = np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2))
        try:
            torch.nn.functional.conv_transpose2d(torch.tensor(x), torch.tensor(weight), padding=(0, padding))
            torch_refused = False
        except RuntimeError:
            torch_refused = True
        try:
            F.conv_transpose2d(mg.tensor(x), mg.tensor(weight), padding=(0, padding))
            mine_refused = False
        except ValueError:
            mine_refused = True
        assert torch_refused == mine_refused, padding


def test_the_layer_refuses_a_non_tensor_with_its_name():
    with pytest.raises(TypeError, match="ConvTranspose2d"):
        nn.ConvTranspose2d(2, 3, 3)(np.zeros((1, 2, 3, 3), np.float32))


@pytest.mark.parametrize("groups", [1, 2])
def test_an_inf_in_x_at_a_cropped_position_makes_the_weight_gradient_nan_as_pytorch_float64(groups):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 4))
    x[0, 1, 0, 0], x[0, 0, 2, 3] = -np.inf, np.nan  # their taps land in the padding (cropped rows/columns)
    weight = np.random.default_rng(1).standard_normal((2, 3 - groups, 2, 2))
    options = {"stride": 2, "padding": 1, "groups": groups}
    theirs = [torch.tensor(array, requires_grad=True) for array in (x, weight)]
    torch.nn.functional.conv_transpose2d(*theirs, **options).sum().backward()
    mine = [mg.tensor(array, requires_grad=True) for array in (x, weight)]
    F.conv_transpose2d(*mine, **options).sum().backward()
    assert np.isnan(theirs[1].grad.numpy()).any()
    np.testing.assert_allclose(mine[1].grad.numpy(), theirs[1].grad.numpy(), rtol=1e-10, equal_nan=True)
    np.testing.assert_allclose(mine[0].grad.numpy(), theirs[0].grad.numpy(), rtol=1e-10, equal_nan=True)
