"""nn.LayerNorm, nn.GroupNorm, F.layer_norm and F.group_norm (kernels/cpu/layer_norm.py).

Forward values and every gradient against PyTorch in float32 and float64, over one to three
normalized axes, with and without the affine parameters, groups of one channel, of all of them and
between, and sizes that are multiples of no vector width; gradcheck and gradgradcheck in float64;
forward mode against torch.func.jvp; the kernels against their bounds-checked serial twins; the
refusals, the initialisation and the printed text, as PyTorch's.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.kernels.cpu import layer_norm as kernels
from minigrad.kernels.cpu.preset import checked_twin

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64]
TOLERANCE = {np.float32: {"rtol": 2e-5, "atol": 2e-5}, np.float64: {"rtol": 1e-10, "atol": 1e-10}}
TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64}
MINIGRAD_DTYPES = {np.float32: mg.float32, np.float64: mg.float64}

# (input shape, normalized_shape): 1, 2 and 3 trailing axes; rows of odd lengths (37, 1023)
LAYER_SHAPES = [((5, 37), (37,)), ((3, 1023), (1023,)), ((2, 3, 5), (3, 5)), ((2, 3, 4, 5), (3, 4, 5)), ((7,), (7,))]
# (input shape, groups): one channel per group, all in one, between; no spatial axes, one, two
GROUP_SHAPES = [((3, 6, 5, 7), 1), ((3, 6, 5, 7), 2), ((3, 6, 5, 7), 6), ((4, 6), 3), ((2, 4, 9), 2), ((2, 9, 3, 3), 3)]
AFFINE = ["affine", "no bias", "none"]


def random(shape, dtype, seed, scale=1.0, offset=0.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale + offset).astype(dtype)


def both_modules(mine, theirs, dtype, seed):
    """Give the two modules the same random affine parameters (ones and zeros would hide mistakes)."""
    for name in ("weight", "bias"):
        parameter = getattr(mine, name)
        if parameter is not None:
            values = random(parameter.shape, dtype, seed + len(name))
            parameter.data[...] = values
            with torch.no_grad():
                getattr(theirs, name).copy_(torch.tensor(values))


def compare(mine, theirs, x_array, dtype, seed=5):
    x = mg.tensor(x_array, requires_grad=True)
    torch_x = torch.tensor(x_array, requires_grad=True)
    out, torch_out = mine(x), theirs(torch_x)
    np.testing.assert_allclose(out.numpy(), torch_out.detach().numpy(), **TOLERANCE[dtype])
    upstream = random(x_array.shape, dtype, seed)
    out.backward(mg.tensor(upstream))
    torch_out.backward(torch.tensor(upstream))
    np.testing.assert_allclose(x.grad.numpy(), torch_x.grad.numpy(), **TOLERANCE[dtype])
    for name in ("weight", "bias"):
        parameter = getattr(mine, name)
        assert (parameter is None) == (getattr(theirs, name) is None)
        if parameter is not None:
            # sums over every row: a little more rounding in float32
            np.testing.assert_allclose(parameter.grad.numpy(), getattr(theirs, name).grad.numpy(),
                                       rtol=TOLERANCE[dtype]["rtol"] * 10, atol=TOLERANCE[dtype]["atol"] * 10)


def affine_options(mode, affine_name):
    return {affine_name: mode != "none", "bias": mode == "affine"}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", AFFINE)
@pytest.mark.parametrize("shapes", LAYER_SHAPES, ids=str)
def test_layer_norm_matches_pytorch(shapes, mode, dtype):
    shape, normalized_shape = shapes
    options = affine_options(mode, "elementwise_affine")
    mine = mg.nn.LayerNorm(normalized_shape, dtype=MINIGRAD_DTYPES[dtype], **options)
    theirs = torch.nn.LayerNorm(normalized_shape, dtype=TORCH_DTYPES[dtype], **options)
    both_modules(mine, theirs, dtype, 1)
    compare(mine, theirs, random(shape, dtype, 0, scale=2.0, offset=0.5), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", AFFINE)
@pytest.mark.parametrize("shapes", GROUP_SHAPES, ids=str)
def test_group_norm_matches_pytorch(shapes, mode, dtype):
    shape, groups = shapes
    options = affine_options(mode, "affine")
    mine = mg.nn.GroupNorm(groups, shape[1], dtype=MINIGRAD_DTYPES[dtype], **options)
    theirs = torch.nn.GroupNorm(groups, shape[1], dtype=TORCH_DTYPES[dtype], **options)
    both_modules(mine, theirs, dtype, 2)
    compare(mine, theirs, random(shape, dtype, 3, scale=2.0, offset=-0.5), dtype)


def test_a_large_mean_does_not_cancel_the_float32_variance():
    """Rows around 1000 with a spread of 0.01: the shifted one-pass sums keep the variance."""
    x = random((4, 300), np.float32, 7, scale=0.01, offset=1000.0)
    out = F.layer_norm(mg.tensor(x), (300,), eps=1e-12)
    expected = torch.nn.functional.layer_norm(torch.tensor(x, dtype=torch.float64), (300,), eps=1e-12).numpy()
    np.testing.assert_allclose(out.numpy(), expected, atol=2e-2)
    np.testing.assert_allclose(out.numpy().std(axis=1), 1.0, atol=1e-3)


def test_functional_forms_take_a_bias_without_a_weight():
    x = random((3, 4, 5), np.float64, 8)
    bias = random((4, 5), np.float64, 9)
    out = F.layer_norm(mg.tensor(x), (4, 5), None, mg.tensor(bias), eps=1e-3)
    expected = torch.nn.functional.layer_norm(torch.tensor(x), (4, 5), None, torch.tensor(bias), eps=1e-3)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)
    channel_bias = random((4,), np.float64, 10)
    out = F.group_norm(mg.tensor(x), 2, None, mg.tensor(channel_bias), eps=1e-3)
    expected = torch.nn.functional.group_norm(torch.tensor(x), 2, None, torch.tensor(channel_bias), eps=1e-3)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)


def float64_leaves(*shapes):
    return [mg.tensor(random(shape, np.float64, index), requires_grad=True) for index, shape in enumerate(shapes)]


@pytest.mark.parametrize("function, shapes", [
    (lambda x, w, b: F.layer_norm(x, (2, 3), w, b), ((2, 2, 3), (2, 3), (2, 3))),
    (lambda x, w, b: F.layer_norm(x, (5,), w, b), ((2, 5), (5,), (5,))),
    (lambda x, w, b: F.group_norm(x, 2, w, b), ((2, 4, 2), (4,), (4,))),
    (lambda x, w, b: F.group_norm(x, 3, w, b), ((2, 3, 2, 2), (3,), (3,))),
], ids=["layer-2-axes", "layer-1-axis", "group-2", "group-per-channel"])
def test_gradcheck_and_gradgradcheck(function, shapes):
    inputs = float64_leaves(*shapes)
    assert mg.gradcheck(function, inputs)
    assert mg.gradgradcheck(function, inputs)


@pytest.mark.parametrize("function", [lambda x: F.layer_norm(x, (5,)), lambda x: F.group_norm(x, 2)],
                         ids=["layer", "group"])
def test_gradcheck_without_affine(function):
    inputs = float64_leaves((2, 4, 5))
    assert mg.gradcheck(function, inputs)
    assert mg.gradgradcheck(function, inputs)


@pytest.mark.parametrize("which", ["layer", "group"])
def test_forward_mode_matches_torch_func_jvp(which):
    shapes = ((3, 4, 5), (4, 5) if which == "layer" else (4,), (4, 5) if which == "layer" else (4,))
    primals = [random(shape, np.float64, index) for index, shape in enumerate(shapes)]
    tangents = [random(shape, np.float64, 10 + index) for index, shape in enumerate(shapes)]

    def mine(x, w, b):
        return F.layer_norm(x, (4, 5), w, b) if which == "layer" else F.group_norm(x, 2, w, b)

    def theirs(x, w, b):
        functional = torch.nn.functional
        return functional.layer_norm(x, (4, 5), w, b) if which == "layer" else functional.group_norm(x, 2, w, b)

    out, tangent = mg.func.jvp(mine, [mg.tensor(p) for p in primals], [mg.tensor(t) for t in tangents])
    torch_out, torch_tangent = torch.func.jvp(theirs, tuple(torch.tensor(p) for p in primals),
                                              tuple(torch.tensor(t) for t in tangents))
    np.testing.assert_allclose(out.numpy(), torch_out.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tangent.numpy(), torch_tangent.numpy(), rtol=1e-10, atol=1e-10)


def run_kernels(wrap, affine):
    """Every layer_norm kernel once, through ``wrap``, on fixed float64 arrays: their outputs."""
    x, g = random((5, 11), np.float64, 1), random((5, 11), np.float64, 2)
    weight, bias = random(11, np.float64, 3), random(11, np.float64, 4)
    out, mean, rstd = np.empty_like(x), np.empty(5), np.empty(5)
    wrap["layer_norm_forward"](x, weight, bias, 1e-5, out, mean, rstd)
    grads = [np.empty_like(x), np.empty(11 if affine else 0), np.empty(11 if affine else 0)]
    wrap["layer_norm_backward"](g, x, weight, mean, rstd, *grads)
    results = [out, mean, rstd, *grads]
    planes, plane_g = random((3, 6, 5), np.float64, 5), random((3, 6, 5), np.float64, 6)
    channel_weight, channel_bias = random(6, np.float64, 7), random(6, np.float64, 8)
    out, mean, rstd = np.empty_like(planes), np.empty((3, 3)), np.empty((3, 3))
    wrap["group_norm_forward"](planes, channel_weight, channel_bias, 3, 1e-5, out, mean, rstd)
    grads = [np.empty_like(planes), np.empty(6 if affine else 0), np.empty(6 if affine else 0)]
    wrap["group_norm_backward"](plane_g, planes, channel_weight, mean, rstd, 3, *grads)
    return results + [out, mean, rstd, *grads]


def test_the_kernels_match_their_bounds_checked_serial_twins():
    """prange swallows index errors: the serial twins with boundscheck would raise them."""
    parallel = {name: getattr(kernels, name) for name in kernels.__all__}
    serial = {name: checked_twin(kernel) for name, kernel in parallel.items()}  # compiled once each
    for affine in (True, False):
        for got, expected in zip(run_kernels(parallel, affine), run_kernels(serial, affine)):
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_modules_are_initialised_and_printed_as_pytorch():
    assert repr(mg.nn.LayerNorm(5)) == repr(torch.nn.LayerNorm(5))
    assert repr(mg.nn.LayerNorm([3, 4], eps=1e-3, bias=False)) == repr(torch.nn.LayerNorm([3, 4], eps=1e-3, bias=False))
    assert repr(mg.nn.LayerNorm((3, 4), elementwise_affine=False)) == repr(
        torch.nn.LayerNorm((3, 4), elementwise_affine=False))
    assert repr(mg.nn.GroupNorm(2, 4)) == repr(torch.nn.GroupNorm(2, 4))
    assert repr(mg.nn.GroupNorm(2, 4, 1e-3, False)) == repr(torch.nn.GroupNorm(2, 4, 1e-3, False))
    assert repr(mg.nn.GroupNorm(2, 4, bias=False)) == repr(torch.nn.GroupNorm(2, 4, bias=False))
    layer = mg.nn.LayerNorm((2, 3), dtype=mg.float64)
    assert layer.normalized_shape == (2, 3) and layer.weight.dtype == mg.float64
    np.testing.assert_array_equal(layer.weight.numpy(), np.ones((2, 3)))
    np.testing.assert_array_equal(layer.bias.numpy(), np.zeros((2, 3)))
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert list(mg.nn.LayerNorm(4, bias=False).state_dict()) == ["weight"]
    assert list(mg.nn.LayerNorm(4, elementwise_affine=False).state_dict()) == []
    group = mg.nn.GroupNorm(3, 6)
    np.testing.assert_array_equal(group.weight.numpy(), np.ones(6))
    assert group.weight.requires_grad and list(group.state_dict()) == ["weight", "bias"]
    assert mg.nn.GroupNorm(3, 6, affine=False).weight is None


@pytest.mark.parametrize("call, error, words", [
    (lambda: mg.nn.GroupNorm(3, 4), ValueError, "GroupNorm: num_channels (4) must be divisible by num_groups (3)"),
    (lambda: mg.nn.GroupNorm(0, 4), ValueError, "GroupNorm: num_groups must be a positive int, got 0"),
    (lambda: mg.nn.LayerNorm(5)(mg.zeros(3, 4)), RuntimeError,
     "LayerNorm: given normalized_shape=[5], expected input with shape [*, 5], but got input of size[3, 4]"),
    (lambda: mg.nn.GroupNorm(2, 4)(mg.zeros(3, 6)), RuntimeError,
     "GroupNorm: expected weight to be a vector of size equal to the number of channels in input, but got "
     "weight of shape [4] and input of shape [3, 6]"),
    (lambda: mg.nn.GroupNorm(2, 4)(mg.zeros(3)), RuntimeError, "GroupNorm: expected at least 2 dimensions"),
    (lambda: mg.nn.LayerNorm(5)(np.zeros(5)), TypeError, "LayerNorm"),
    (lambda: F.layer_norm(mg.zeros(3, 4), (5,)), RuntimeError, "layer_norm: given normalized_shape=[5]"),
    (lambda: F.layer_norm(mg.zeros(3, 4), 4), TypeError, "layer_norm: normalized_shape must be a tuple of ints"),
    (lambda: F.layer_norm(mg.zeros(3, 4), ()), RuntimeError, "at least 1-dimensional"),
    (lambda: F.layer_norm(mg.zeros(3, 4), (4,), mg.ones(3)), RuntimeError,
     "layer_norm: expected weight to be of same shape as normalized_shape, but got weight of shape [3]"),
    (lambda: F.layer_norm(mg.zeros(3, 4), (4,), None, mg.ones(3)), RuntimeError, "bias of shape [3]"),
    (lambda: F.layer_norm(mg.zeros(3, 4), (4,), mg.ones(4, dtype=mg.float64)), TypeError, "float64"),
    (lambda: F.group_norm(mg.zeros(3, 5), 2), RuntimeError,
     "group_norm: expected number of channels in input to be divisible by num_groups, but got input of shape "
     "[3, 5] and num_groups=2"),
    (lambda: F.group_norm(mg.zeros(1, 4), 4), ValueError,
     "group_norm: expected more than 1 value per channel when training, got input size [1, 4]"),
    (lambda: F.group_norm(mg.zeros(2, 4), 2.0), TypeError, "group_norm: num_groups must be an int, got 2.0"),
    (lambda: F.group_norm(mg.zeros(2, 4), 0), ValueError, "group_norm: num_groups must be positive, got 0"),
    (lambda: F.group_norm(mg.zeros(2, 4), 2, None, mg.ones(3)), RuntimeError, "bias of shape [3]"),
])
def test_bad_arguments_are_refused_with_the_name_and_the_value(call, error, words):
    with pytest.raises(error) as raised:
        call()
    assert words in str(raised.value)


def test_pytorch_refuses_the_same_shapes():
    """The refusals above that PyTorch makes too, on the same arguments."""
    for call in (lambda: torch.nn.LayerNorm(5)(torch.zeros(3, 4)), lambda: torch.nn.GroupNorm(2, 4)(torch.zeros(3, 6)),
                 lambda: torch.nn.functional.group_norm(torch.zeros(3, 5), 2),
                 lambda: torch.nn.functional.layer_norm(torch.zeros(3, 4), ())):
        with pytest.raises(RuntimeError):
            call()
    with pytest.raises(ValueError, match="divisible"):
        torch.nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="more than 1 value"):
        torch.nn.functional.group_norm(torch.zeros(1, 4), 4)


def test_empty_batches_give_empty_outputs_and_gradients():
    x = mg.zeros(0, 4, 3, requires_grad=True)
    layer = mg.nn.LayerNorm(3)
    layer(x).sum().backward()
    assert x.grad.shape == (0, 4, 3)
    np.testing.assert_array_equal(layer.weight.grad.numpy(), np.zeros(3))
    group = mg.nn.GroupNorm(2, 4)
    assert group(mg.zeros(0, 4, 3)).shape == (0, 4, 3)
