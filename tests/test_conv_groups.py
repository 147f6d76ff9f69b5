"""Grouped and depthwise convolution: F.conv2d(groups=...) and nn.Conv2d(groups=..., padding_mode=...)
against PyTorch (values and every gradient, float32 and float64), gradcheck and gradgradcheck in
float64, forward mode, the depthwise kernels' bounds-checked twins, and the argument checks."""
import functools
import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.kernels.cpu import conv_depthwise
from minigrad.kernels.cpu.preset import checked_twin

# (label, batch, in_channels, out_channels, groups, height, width, kernel, stride, padding, dilation)
CASES = [
    ("depthwise 3x3 same", 2, 3, 3, 3, 7, 6, 3, 1, 1, 1),
    ("depthwise stride 2", 2, 4, 4, 4, 9, 7, 3, 2, 1, 1),
    ("depthwise stride 2 even planes (flat phases)", 2, 3, 3, 3, 8, 10, 3, 2, 1, 1),
    ("depthwise multiplier 2", 2, 3, 6, 3, 7, 8, 3, 1, 1, 1),
    ("depthwise multiplier 2 stride 2 dilation 2", 1, 2, 4, 2, 9, 9, 3, 2, 2, 2),
    ("depthwise 'same' even kernel", 2, 3, 3, 3, 6, 5, 4, 1, "same", 1),
    ("depthwise 'valid' 5x5 rectangular stride", 1, 2, 2, 2, 9, 8, (5, 3), (2, 1), "valid", (1, 2)),
    ("depthwise kernel larger than the padding", 1, 2, 2, 2, 3, 3, 3, 3, 2, 1),
    ("groups 2", 2, 4, 6, 2, 7, 6, 3, 1, 1, 1),
    ("groups 2 stride 2 'valid'", 1, 4, 2, 2, 8, 7, 3, 2, 0, 1),
    ("groups 3 dilation 2 'same'", 2, 6, 3, 3, 7, 7, 3, 1, "same", 2),
    ("groups 1", 2, 3, 2, 1, 6, 5, 3, 1, 1, 1),
]
IDS = [case[0] for case in CASES]


def arrays(case, dtype, seed=0):
    _, batch, channels, outputs, groups, height, width, kernel, *_ = case
    kernel = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((batch, channels, height, width)).astype(dtype),
            rng.standard_normal((outputs, channels // groups) + kernel).astype(dtype),
            rng.standard_normal(outputs).astype(dtype))


def options(case):
    groups, stride, padding, dilation = case[4], case[8], case[9], case[10]
    return {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_values_and_every_gradient_match_torch(case, dtype):
    torch = pytest.importorskip("torch")
    x, weight, bias = arrays(case, dtype)
    mine = [mg.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    out = F.conv2d(*mine, **options(case))
    expected = torch.nn.functional.conv2d(*theirs, **options(case))
    upstream = np.random.default_rng(5).standard_normal(expected.shape).astype(dtype)
    out.backward(mg.tensor(upstream))
    expected.backward(torch.tensor(upstream))
    tolerance = {"rtol": 1e-4, "atol": 1e-4} if dtype == np.float32 else {"rtol": 1e-11, "atol": 1e-11}
    assert out.dtype == mine[0].dtype
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **tolerance)
    for name, tensor, reference in zip(("input", "weight", "bias"), mine, theirs):
        np.testing.assert_allclose(tensor.grad.numpy(), reference.grad.numpy(), err_msg=name, **tolerance)


# Tiny cases for the (slow, numerical) float64 checks.
SMALL = [
    ("depthwise stride 2", 1, 2, 2, 2, 5, 4, 3, 2, 1, 1),
    ("depthwise 3x3 same (flat planes)", 1, 2, 2, 2, 4, 5, 3, 1, 1, 1),
    ("depthwise stride 2 even planes (flat phases)", 1, 2, 2, 2, 4, 6, 3, 2, 1, 1),
    ("depthwise multiplier 2 dilation 2", 1, 2, 4, 2, 5, 4, 2, 1, 1, 2),
    ("depthwise 'same' even kernel", 1, 2, 2, 2, 4, 3, 2, 1, "same", 1),
    ("groups 2 stride 2", 1, 4, 2, 2, 4, 5, 2, 2, 1, 1),
]


def leaves(case):
    return [mg.tensor(a, requires_grad=True) for a in arrays(case, np.float64, seed=1)]


@pytest.mark.parametrize("case", SMALL, ids=[case[0] for case in SMALL])
def test_gradcheck_and_gradgradcheck(case):
    def function(*inputs):
        return F.conv2d(*inputs, **options(case))
    inputs = leaves(case)
    assert mg.gradcheck(function, inputs)
    assert mg.gradcheck(lambda x, w: function(x, w), inputs[:2])
    assert mg.gradgradcheck(function, inputs)


@pytest.mark.parametrize("case", SMALL[1:2], ids=[case[0] for case in SMALL[1:2]])
def test_third_derivatives_run_through_the_grouped_gradient_ops(case):
    """The gradient ops carry groups, so a gradient of a gradient of a gradient is still right."""
    def second(x, w):
        with mg.enable_grad():  # gradcheck's numerical pass runs under no_grad
            out = F.conv2d(x, w, **options(case))
            (grad_x,) = mg.autograd.grad((out * out).sum(), (x,), create_graph=True)
            return (grad_x * grad_x).sum()

    def third(x, w):
        with mg.enable_grad():
            return mg.autograd.grad(second(x, w), (w,), create_graph=True)[0]
    x, weight, _ = leaves(case)
    assert mg.gradcheck(third, (x, weight))


@pytest.mark.parametrize("case", SMALL, ids=[case[0] for case in SMALL])
def test_forward_mode_equals_reverse_mode(case):
    inputs = [mg.tensor(a) for a in arrays(case, np.float64, seed=2)]
    positions = (0, 1, 2)
    function = lambda *tensors: F.conv2d(*tensors, **options(case))  # noqa: E731
    forward = mg.func.jacfwd(function, argnums=positions)(*inputs)
    reverse = mg.func.jacrev(function, argnums=positions)(*inputs)
    for mine, expected in zip(forward, reverse):
        np.testing.assert_allclose(mine.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)


def test_padding_is_skipped_not_multiplied_as_torch_does_for_depthwise():
    """PyTorch's float32 depthwise kernels skip taps outside the input: an inf weight makes no NaN at the
    border (its float64 path multiplies the padding's zeros, NaN there; minigrad skips in both dtypes)."""
    torch = pytest.importorskip("torch")
    x = np.ones((1, 2, 4, 4), np.float32)
    weight = np.ones((2, 1, 3, 3), np.float32)
    weight[0, 0, 0, 0] = np.inf
    out = F.conv2d(mg.tensor(x), mg.tensor(weight), padding=1, groups=2).numpy()
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(weight), padding=1, groups=2).numpy()
    np.testing.assert_array_equal(out, expected)
    assert not np.isnan(out).any()


@functools.cache
def twin(name):
    return checked_twin(getattr(conv_depthwise, name))


# Plane widths whose output rows take one float64 vector on AVX-512 (the forward's rows four at a
# time), two (two at a time), and more (one row at a time, two vectors per pass).
@pytest.mark.parametrize("width", [5, 13, 22])
@pytest.mark.parametrize("multiplier, stride", [(1, 1), (2, 2), (1, 2), (2, 1)])
def test_the_bounds_checked_twins_agree(multiplier, stride, width):
    """prange hides index errors: the kernels compiled serially with boundscheck, on awkward geometry."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, width))
    weight = rng.standard_normal((3 * multiplier, 1, 3, 2))
    bias = rng.standard_normal(3 * multiplier)
    geometry = (stride, stride, 2, 1, 2, 1)  # padding 2 top (1 bottom implied), dilation 2 rows
    out_shape = (2, 3 * multiplier, (7 + 3 - 4 - 1) // stride + 1, (width + 2 - 1 - 1) // stride + 1)
    out, checked = np.empty(out_shape), np.empty(out_shape)
    conv_depthwise.depthwise_forward(x, weight, bias, *geometry, out)
    twin("phase_forward")(x, weight, bias, *geometry, checked)
    np.testing.assert_allclose(checked, out, rtol=1e-13, atol=1e-13)
    grad_out = rng.standard_normal(out_shape)
    grad_x, checked = np.empty_like(x), np.empty_like(x)
    conv_depthwise.scatter_input_gradient(grad_out, weight, *geometry, grad_x)
    twin("scatter_input_gradient")(grad_out, weight, *geometry, checked)
    np.testing.assert_allclose(checked, grad_x, rtol=1e-13, atol=1e-13)
    # The entry point (the forward with flipped taps at stride 1, one output per channel) agrees too.
    conv_depthwise.depthwise_backward_input(grad_out, weight, *geometry, checked)
    np.testing.assert_allclose(checked, grad_x, rtol=1e-13, atol=1e-13)
    partials, checked = np.empty((2, 3 * multiplier, 3, 2)), np.empty((2, 3 * multiplier, 3, 2))
    conv_depthwise.depthwise_weight_partials(x, grad_out, *geometry, partials)
    twin("depthwise_weight_partials")(x, grad_out, *geometry, checked)
    np.testing.assert_allclose(checked, partials, rtol=1e-13, atol=1e-13)
    total, checked_total = np.empty(partials[0].size), np.empty(partials[0].size)
    conv_depthwise.sum_partials(partials.reshape(2, -1), total)
    twin("sum_partials")(partials.reshape(2, -1), checked_total)
    np.testing.assert_array_equal(checked_total, total)


# Planes smaller than one vector, not a whole number of vectors, of one row, and wide; 3x3 kernels at
# stride 1 with rows as wide as the input's take the flat planes.
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("height, width", [(3, 5), (7, 9), (14, 14), (1, 17), (5, 33)])
@pytest.mark.parametrize("multiplier, pad_top, dilation", [(1, 1, (1, 1)), (2, 0, (1, 1)), (1, 2, (2, 1)),
                                                            (1, 1, (1, 2)), (2, 3, (2, 2))])
def test_the_flat_planes_agree_with_the_phase_planes_and_their_checked_twin(dtype, height, width, multiplier,
                                                                             pad_top, dilation):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, height, width)).astype(dtype)
    weight = rng.standard_normal((3 * multiplier, 1, 3, 3)).astype(dtype)
    bias = rng.standard_normal(3 * multiplier).astype(dtype)
    geometry = (1, 1, pad_top, dilation[1], *dilation)
    out_height = height + 2 * pad_top - 2 * dilation[0]
    if out_height < 1:
        pytest.skip("no output rows")
    out_shape = (2, 3 * multiplier, out_height, width)
    assert conv_depthwise.uses_flat_planes(weight.shape[2:], 1, 1, width, width)
    out, phases, checked = np.empty(out_shape, dtype), np.empty(out_shape, dtype), np.empty(out_shape, dtype)
    conv_depthwise.depthwise_forward(x, weight, bias, *geometry, out)
    conv_depthwise.phase_forward(x, weight, bias, *geometry, phases)
    twin("flat_forward")(x, weight, bias, *geometry[2:], checked)
    tolerance = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(out, phases, rtol=tolerance, atol=tolerance)
    np.testing.assert_array_equal(checked, out)
    grad_out = rng.standard_normal(out_shape).astype(dtype)
    partials_shape = (2, 3 * multiplier, 3, 3)
    flat, phases, checked = (np.empty(partials_shape, dtype) for _ in range(3))
    conv_depthwise.flat_weight_partials(x, grad_out, *geometry[2:], flat)
    conv_depthwise.depthwise_weight_partials(x, grad_out, *geometry, phases)
    twin("flat_weight_partials")(x, grad_out, *geometry[2:], checked)
    np.testing.assert_allclose(flat, phases, rtol=10 * tolerance, atol=10 * tolerance)
    np.testing.assert_array_equal(checked, flat)


# Even planes of twice the output's size, 3x3, stride 2, padding 1: the flat phases' three kernels.
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("height, width", [(2, 2), (4, 6), (14, 14), (6, 34), (10, 2)])
def test_the_flat_phases_agree_with_the_scatter_kernel_and_their_checked_twin(dtype, height, width):
    rng = np.random.default_rng(7)
    weight = rng.standard_normal((3, 1, 3, 3)).astype(dtype)
    grad_out = rng.standard_normal((2, 3, height // 2, width // 2)).astype(dtype)
    geometry = (2, 2, 1, 1, 1, 1)
    assert conv_depthwise.uses_flat_phases(weight.shape, geometry, (2, 3, height, width), grad_out.shape)
    flat, scattered, checked = (np.empty((2, 3, height, width), dtype) for _ in range(3))
    conv_depthwise.depthwise_backward_input(grad_out, weight, *geometry, flat)
    conv_depthwise.scatter_input_gradient(grad_out, weight, *geometry, scattered)
    twin("flat_phase_input_gradient")(grad_out, weight, checked)
    tolerance = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(flat, scattered, rtol=tolerance, atol=tolerance)
    np.testing.assert_array_equal(checked, flat)
    x = rng.standard_normal((2, 3, height, width)).astype(dtype)
    bias = rng.standard_normal(3).astype(dtype)
    flat, phases, checked = (np.empty(grad_out.shape, dtype) for _ in range(3))
    conv_depthwise.depthwise_forward(x, weight, bias, *geometry, flat)
    conv_depthwise.phase_forward(x, weight, bias, *geometry, phases)
    twin("flat_phase_forward")(x, weight, bias, checked)
    np.testing.assert_allclose(flat, phases, rtol=tolerance, atol=tolerance)
    np.testing.assert_array_equal(checked, flat)
    flat, phases, checked = (np.empty((2, 3, 3, 3), dtype) for _ in range(3))
    conv_depthwise.flat_phase_weight_partials(x, grad_out, flat)
    conv_depthwise.depthwise_weight_partials(x, grad_out, *geometry, phases)
    twin("flat_phase_weight_partials")(x, grad_out, checked)
    np.testing.assert_allclose(flat, phases, rtol=10 * tolerance, atol=10 * tolerance)
    np.testing.assert_array_equal(checked, flat)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the reference's inf - inf
def test_a_non_finite_weight_or_gradient_on_the_flat_phases():
    """An inf in x or the output gradient meets only real taps (a neighbour's terms are blended out, rows past
    the plane read zeros); an inf in a weight takes the exact loops, and so does a NaN in x's plane or
    an inf in the gradient's for the weight gradient."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((1, 2, 6, 8))
    weight = rng.standard_normal((2, 1, 3, 3))
    grad_out = rng.standard_normal((1, 2, 3, 4))
    grad_out[0, 0, 1, 3], grad_out[0, 0, 2, 0] = np.inf, -np.inf
    weight[1, 0, 0, 2] = np.inf
    geometry = (2, 2, 1, 1, 1, 1)
    x[0, 1, 5, 7] = np.nan
    x[0, 0, 0, 7] = np.inf  # the last column: the flat forward's next output row reads it, blended out
    expected_out, expected, expected_weight = reference_depthwise(x, weight, geometry, grad_out)
    out, grad_x, grad_weight = np.empty(grad_out.shape), np.empty(x.shape), np.empty(weight.shape)
    conv_depthwise.depthwise_forward(x, weight, np.zeros(2), *geometry, out)
    conv_depthwise.depthwise_backward_input(grad_out, weight, *geometry, grad_x)
    conv_depthwise.depthwise_backward_weight(x, grad_out, *geometry, grad_weight)
    for mine, reference in ((out, expected_out), (grad_x, expected), (grad_weight, expected_weight)):
        np.testing.assert_array_equal(np.isnan(mine), np.isnan(reference))
        np.testing.assert_allclose(mine, reference, rtol=1e-12, atol=1e-12)
    assert np.isinf(grad_x[0, 0]).any() and np.isfinite(grad_x[0, 0]).any()


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the reference's inf - inf
def test_an_inf_at_a_row_end_stays_out_of_the_next_rows_flat_sums():
    """On the flat planes a lane past a row's end reads the next row's first element: its kernel column
    is blended out, so an inf there adds no NaN (a multiply by zero would); a non-finite plane's weight
    gradient takes the exact loops, an inf in the output gradient too."""
    rng = np.random.default_rng(5)
    x = np.arange(3 * 5 * 6, dtype=np.float64).reshape(1, 3, 5, 6) / 7
    x[0, 0, 1, 0], x[0, 0, 3, 5], x[0, 1, 2, 0] = np.inf, -np.inf, np.nan
    weight = rng.standard_normal((3, 1, 3, 3))
    grad_out = rng.standard_normal((1, 3, 5, 6))
    grad_out[0, 2, 0, 5] = np.inf
    geometry = (1, 1, 1, 1, 1, 1)
    expected_out, _, expected_weight = reference_depthwise(x, weight, geometry, grad_out)
    out, grad_weight = np.empty((1, 3, 5, 6)), np.empty(weight.shape)
    conv_depthwise.depthwise_forward(x, weight, np.zeros(3), *geometry, out)
    conv_depthwise.depthwise_backward_weight(x, grad_out, *geometry, grad_weight)
    for mine, expected in ((out, expected_out), (grad_weight, expected_weight)):
        np.testing.assert_array_equal(np.isnan(mine), np.isnan(expected))
        np.testing.assert_allclose(mine, expected, rtol=1e-12, atol=1e-12)
    assert np.isfinite(grad_weight[2]).sum() > 0 and np.isinf(grad_weight[2]).any()


def test_an_empty_batch():
    x = mg.zeros(0, 3, 5, 5, requires_grad=True)
    weight = mg.ones(6, 1, 3, 3, requires_grad=True)
    out = F.conv2d(x, weight, padding=1, groups=3)
    assert out.shape == (0, 6, 5, 5)
    out.sum().backward()
    assert x.grad.shape == (0, 3, 5, 5) and not weight.grad.numpy().any()


# --- the functional's argument checks -------------------------------------------------------------

@pytest.mark.parametrize("groups, weight_shape, error, message", [
    (0, (4, 4, 3, 3), ValueError, "conv2d: non-positive groups is not supported, got groups=0"),
    (-2, (4, 4, 3, 3), ValueError, "non-positive groups"),
    (1.5, (4, 4, 3, 3), TypeError, "conv2d: groups must be an int, got 1.5"),
    (4, (6, 1, 3, 3), ValueError, r"conv2d: given groups=4, expected weight to be divisible by 4 at dimension 0"),
    (3, (6, 2, 3, 3), ValueError, r"given groups=3, weight \(6, 2, 3, 3\) expects 6 input channels, input "
                                  r"\(2, 4, 5, 5\) has 4"),
    (2, (6, 1, 3, 3), ValueError, "expects 2 input channels"),
])
def test_conv2d_refuses_bad_groups(groups, weight_shape, error, message):
    with pytest.raises(error, match=message):
        F.conv2d(mg.ones(2, 4, 5, 5), mg.ones(*weight_shape), groups=groups)


# --- the layer --------------------------------------------------------------------------------------

@pytest.mark.parametrize("arguments", [
    {"groups": 2, "bias": False},
    {"groups": 4, "padding": 1},
    {"groups": 2, "padding": "same", "dilation": 2},
    {"groups": 1, "padding_mode": "reflect", "padding": 1},
    {"groups": 4, "padding_mode": "replicate", "padding": (1, 2), "stride": 2},
])
def test_the_layer_matches_torch(arguments):
    """repr, weight shape, fan_in-bounded initialisation, and forward/backward against torch with
    torch's layer given the same parameters (padding modes through F.pad)."""
    torch = pytest.importorskip("torch")
    layer = mg.nn.Conv2d(4, 8, 3, **arguments)
    reference = torch.nn.Conv2d(4, 8, 3, **arguments)
    assert repr(layer) == repr(reference)
    assert layer.weight.shape == tuple(reference.weight.shape)
    bound = 1 / math.sqrt(4 // arguments["groups"] * 9)
    assert np.abs(layer.weight.numpy()).max() <= bound
    assert np.abs(layer.weight.numpy()).max() > 0.7 * bound  # drawn with the grouped fan_in, not a smaller one
    with torch.no_grad():
        reference.weight.copy_(torch.tensor(layer.weight.numpy()))
        if layer.bias is not None:
            reference.bias.copy_(torch.tensor(layer.bias.numpy()))
    x = np.random.default_rng(4).standard_normal((2, 4, 7, 6)).astype(np.float32)
    mine, theirs = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = layer(mine), reference(theirs)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.weight.grad.numpy(), reference.weight.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_the_layer_keeps_torch_positional_order():
    layer = mg.nn.Conv2d(4, 4, 3, 1, 1, 1, 4, False, "zeros")
    assert (layer.groups, layer.bias, layer.padding_mode) == (4, None, "zeros")
    assert layer.weight.shape == (4, 1, 3, 3)


@pytest.mark.parametrize("positional, keywords, message", [
    ((6, 4, 3), {"groups": 4}, "Conv2d: in_channels must be divisible by groups, got in_channels=6, groups=4"),
    ((4, 6, 3), {"groups": 4}, "Conv2d: out_channels must be divisible by groups, got out_channels=6, groups=4"),
    ((4, 4, 3), {"groups": 0}, "Conv2d: non-positive groups is not supported"),
    ((4, 4, 3), {"padding_mode": "mirror"}, "Conv2d: padding_mode must be one of zeros, reflect, replicate, "
                                            "circular, got 'mirror'"),
    ((4, 4, 3), {"padding_mode": "circular"}, "Conv2d: padding_mode 'circular' is not supported"),
    ((4, 4, 3), {"padding": "same", "stride": 2}, "Conv2d: padding='same' needs stride 1"),
    ((4, 4, 3), {"padding": "full"}, "Conv2d: padding must be an int, a pair, 'same' or 'valid', got 'full'"),
])
def test_the_layer_refuses_bad_arguments(positional, keywords, message):
    exception = NotImplementedError if keywords.get("padding_mode") == "circular" else ValueError
    with pytest.raises(exception, match=message):
        mg.nn.Conv2d(*positional, **keywords)


def reference_depthwise(x, weight, geometry, grad_out):
    """Forward, input and weight gradients by plain loops over the real terms only (taps in the padding skipped)."""
    stride_h, stride_w, top, left, dilation_h, dilation_w = geometry
    batch, channels, height, width = x.shape
    outputs, _, kernel_height, kernel_width = weight.shape
    multiplier = outputs // channels
    out = np.zeros(grad_out.shape)
    grad_x, grad_weight = np.zeros(x.shape), np.zeros(weight.shape)
    for n, o, i, j, p, q in np.ndindex(batch, outputs, grad_out.shape[2], grad_out.shape[3], kernel_height,
                                       kernel_width):
        y, z = i * stride_h - top + p * dilation_h, j * stride_w - left + q * dilation_w
        if 0 <= y < height and 0 <= z < width:
            c = o // multiplier
            out[n, o, i, j] += weight[o, 0, p, q] * x[n, c, y, z]
            grad_x[n, c, y, z] += weight[o, 0, p, q] * grad_out[n, o, i, j]
            grad_weight[o, 0, p, q] += x[n, c, y, z] * grad_out[n, o, i, j]
    return out, grad_x, grad_weight


def test_non_finite_weights_and_planes_take_the_exact_loops():
    """An inf in a weight (forward, input gradient) or a plane (weight gradient) meets none of the wide
    grid's zeros: the results equal the real terms' sums, NaN only where those make one."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 2, 5, 4))
    weight = rng.standard_normal((4, 1, 3, 2))
    x[1, 0, 0, 0] = np.inf
    weight[3, 0, 2, 1] = -np.inf
    geometry = (2, 1, 1, 1, 1, 2)
    out_shape = (2, 4, 3, 3)
    grad_out = rng.standard_normal(out_shape)
    expected = reference_depthwise(x, weight, geometry, grad_out)
    out, grad_x, grad_weight = np.empty(out_shape), np.empty(x.shape), np.empty(weight.shape)
    conv_depthwise.depthwise_forward(x, weight, np.zeros(4), *geometry, out)
    conv_depthwise.depthwise_backward_input(grad_out, weight, *geometry, grad_x)
    conv_depthwise.depthwise_backward_weight(x, grad_out, *geometry, grad_weight)
    for mine, reference in zip((out, grad_x, grad_weight), expected):
        np.testing.assert_allclose(mine, reference, rtol=1e-12, atol=1e-12)
    assert np.isinf(out).any() and not np.isnan(out).all()
