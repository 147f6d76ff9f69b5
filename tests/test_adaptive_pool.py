"""AdaptiveAvgPool2d and AdaptiveMaxPool2d: against PyTorch (values, indices, gradients; float32 and
float64), gradcheck and gradgradcheck in float64, PyTorch's refusals, repr, and the kernels against
their bounds-checked serial twins."""
import functools

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.kernels.cpu import adaptive_pool as kernels
from minigrad.kernels.cpu.preset import checked_twin as uncached_checked_twin
from minigrad.nn import functional as F

checked_twin = functools.cache(uncached_checked_twin)  # one compilation per kernel for the module
DTYPES = [np.float32, np.float64]
TOLERANCES = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}

# (input shape, output_size): sizes that divide the input, that do not (overlapping bins), larger
# than the input (repeated rows), global (1, 1), None entries, an int, and 3-D (C, H, W) inputs.
CASES = [
    ((2, 3, 6, 8), (3, 4)),
    ((2, 3, 5, 7), (2, 3)),
    ((2, 3, 5, 7), (3, 5)),
    ((1, 2, 3, 4), (5, 7)),
    ((3, 4, 7, 7), (1, 1)),
    ((2, 3, 5, 7), 1),
    ((2, 3, 5, 7), (None, 3)),
    ((2, 3, 5, 7), (4, None)),
    ((2, 3, 5, 7), (None, None)),
    ((3, 9, 6), (4, 4)),
    ((3, 9, 6), (1, 1)),
    ((2, 3, 13, 11), 4),
    ((2, 1, 1, 1), (3, 2)),
]
FUNCTIONS = ["adaptive_avg_pool2d", "adaptive_max_pool2d"]


def both(name, x, output_size, dtype):
    """(minigrad output, input, torch output, input) after backward of the same upstream gradient."""
    torch = pytest.importorskip("torch")
    mine_input = mg.tensor(x.astype(dtype), requires_grad=True)
    their_input = torch.tensor(x.astype(dtype), requires_grad=True)
    mine = getattr(F, name)(mine_input, output_size)
    theirs = getattr(torch.nn.functional, name)(their_input, output_size)
    upstream = np.random.default_rng(1).standard_normal(tuple(theirs.shape)).astype(dtype)
    mine.backward(mg.tensor(upstream))
    theirs.backward(torch.tensor(upstream))
    return mine, mine_input, theirs, their_input


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "output_size"), CASES)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_values_and_gradients_match_pytorch(name, shape, output_size, dtype):
    x = np.random.default_rng(0).standard_normal(shape)
    mine, mine_input, theirs, their_input = both(name, x, output_size, dtype)
    assert mine.shape == tuple(theirs.shape) and mine.dtype == dtype
    np.testing.assert_allclose(mine.numpy(), theirs.detach().numpy(), **TOLERANCES[dtype])
    np.testing.assert_allclose(mine_input.grad.numpy(), their_input.grad.numpy(), **TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "output_size"), [((2, 3, 6, 8), (3, 4)), ((2, 2, 5, 7), (3, 5)),
                                                      ((2, 2, 4, 5), (1, 1)), ((2, 5, 4), (7, 6))])
def test_max_pooling_ties_and_indices_are_pytorchs(shape, output_size, dtype):
    """Values on a coarse grid, so bins hold ties: PyTorch keeps the first in row-major order."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).integers(-2, 3, shape).astype(dtype)
    mine, mine_indices = F.adaptive_max_pool2d(mg.tensor(x, requires_grad=True), output_size, return_indices=True)
    theirs, their_indices = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), output_size, return_indices=True)
    np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    np.testing.assert_array_equal(mine_indices.numpy(), their_indices.numpy())
    assert mine_indices.dtype == np.int64 and not mine_indices.requires_grad
    # and the gradient goes where the indices say (overlapping bins that chose one cell add up)
    _, mine_input, _, their_input = both("adaptive_max_pool2d", x, output_size, dtype)
    np.testing.assert_allclose(mine_input.grad.numpy(), their_input.grad.numpy(), **TOLERANCES[dtype])


def test_max_pooling_propagates_nan_and_reports_the_last_one_as_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal((1, 2, 5, 6))
    x[0, 0, 1, 1] = x[0, 0, 1, 2] = np.nan
    x[0, 1] = -np.inf
    mine, mine_indices = F.adaptive_max_pool2d(mg.tensor(x), (2, 3), return_indices=True)
    theirs, their_indices = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), (2, 3), return_indices=True)
    np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    np.testing.assert_array_equal(mine_indices.numpy(), their_indices.numpy())


@pytest.mark.parametrize(("shape", "output_size"), [((1, 2, 5, 4), (2, 3)), ((1, 2, 3, 3), (4, 5)),
                                                      ((2, 2, 3, 4), (1, 1)), ((2, 5, 3), (None, 2))])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_gradcheck_and_gradgradcheck_in_float64(name, shape, output_size):
    x = mg.tensor(np.random.default_rng(4).standard_normal(shape), dtype=mg.float64, requires_grad=True)

    def function(value):
        return getattr(F, name)(value, output_size) ** 2  # squared: the second derivative is not zero

    assert mg.gradcheck(function, (x,))
    assert mg.gradgradcheck(function, (x,))


def test_return_indices_from_the_module_and_3d_inputs():
    x = mg.tensor(np.random.default_rng(5).standard_normal((3, 5, 7)))
    out, indices = nn.AdaptiveMaxPool2d((2, 3), return_indices=True)(x)
    assert out.shape == (3, 2, 3) and indices.shape == (3, 2, 3)
    assert isinstance(nn.AdaptiveMaxPool2d(2)(x), mg.Tensor)


def test_global_average_pooling_of_a_channels_last_view_and_an_empty_batch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(6).standard_normal((2, 5, 6, 3)).astype(np.float32)
    mine = F.adaptive_avg_pool2d(mg.tensor(x).permute(0, 3, 1, 2), (1, 1))  # not contiguous
    theirs = torch.nn.functional.adaptive_avg_pool2d(torch.tensor(x).permute(0, 3, 1, 2), (1, 1))
    np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)
    for name in FUNCTIONS:
        empty = mg.zeros(0, 3, 4, 4, requires_grad=True)
        out = getattr(F, name)(empty, (2, 2))
        assert out.shape == (0, 3, 2, 2)
        out.sum().backward()
        assert empty.grad.shape == (0, 3, 4, 4)


def test_output_size_zero_and_the_global_mean_of_an_empty_plane_as_pytorch():
    x = mg.ones(2, 3, 4, 4, requires_grad=True)
    for name in FUNCTIONS:
        out = getattr(F, name)(x, (0, 2))
        assert out.shape == (2, 3, 0, 2)
        out.sum().backward()  # PyTorch's backward refuses; minigrad's gradient is zero
        np.testing.assert_array_equal(x.grad.numpy(), 0)
    # PyTorch takes the global average as a mean, which is NaN over nothing
    assert np.isnan(F.adaptive_avg_pool2d(mg.zeros(2, 3, 0, 4), (1, 1)).numpy()).all()
    assert F.adaptive_avg_pool2d(mg.zeros(2, 0, 4, 4), 2).shape == (2, 0, 2, 2)


@pytest.mark.parametrize(("output_size", "error", "message"), [
    ((2,), ValueError, "output_size must have 2 entries"),
    ((1, 2, 3), ValueError, "output_size must have 2 entries"),
    ((-1, 2), ValueError, r"greater than or equal to 0, got \(-1, 2\)"),
    ((2.0, 3), TypeError, r"got \(2.0, 3\)"),
    (2.5, TypeError, "got 2.5"),
    (None, TypeError, "got None"),
    (True, TypeError, "got True"),
])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_bad_output_sizes_are_refused_with_the_name_and_the_value(name, output_size, error, message):
    with pytest.raises(error, match=f"{name}: .*{message}"):
        getattr(F, name)(mg.ones(1, 2, 4, 4), output_size)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_bad_inputs_are_refused_as_pytorch_refuses_them(name):
    with pytest.raises(ValueError, match=rf"{name}: expected a 3-D .* got shape \(3, 4\)"):
        getattr(F, name)(mg.ones(3, 4), 2)
    with pytest.raises(ValueError, match=rf"{name}: expected a 3-D .* got shape \(1, 2, 3, 4, 5\)"):
        getattr(F, name)(mg.ones(1, 2, 3, 4, 5), 2)
    with pytest.raises(TypeError, match=f"{name}: input must be float32 or float64, got int64"):
        getattr(F, name)(mg.tensor(np.ones((1, 2, 3, 3), np.int64)), 2)
    with pytest.raises(TypeError, match=f"{name}: expected a Tensor as input"):
        getattr(F, name)(np.ones((1, 2, 3, 3)), 2)
    with pytest.raises(ValueError, match=rf"{name}: .*non-zero size .* shape \(2, 3, 0, 4\) with dimension 2"):
        getattr(F, name)(mg.ones(2, 3, 0, 4), (2, 2))
    with pytest.raises(ValueError, match=rf"{name}: .*non-zero size .* shape \(3, 4, 0\) with dimension 2"):
        getattr(F, name)(mg.ones(3, 4, 0), 1 if name == "adaptive_max_pool2d" else 2)
    # PyTorch pools a 4-D input without channels on average, and refuses it on max
    if name == "adaptive_max_pool2d":
        with pytest.raises(ValueError, match=r"shape \(2, 0, 4, 4\) with dimension 1"):
            F.adaptive_max_pool2d(mg.ones(2, 0, 4, 4), 2)


def test_the_layers_refuse_arrays_and_print_as_pytorch():
    torch = pytest.importorskip("torch")
    for arguments in [((1, 1),), (1,), ((None, 3),), ([2, 3],), (5,)]:
        assert repr(nn.AdaptiveAvgPool2d(*arguments)) == repr(torch.nn.AdaptiveAvgPool2d(*arguments))
        assert repr(nn.AdaptiveMaxPool2d(*arguments)) == repr(torch.nn.AdaptiveMaxPool2d(*arguments))
    assert repr(nn.AdaptiveMaxPool2d((2, 3), return_indices=True)) == "AdaptiveMaxPool2d(output_size=(2, 3))"
    with pytest.raises(TypeError, match="AdaptiveAvgPool2d"):
        nn.AdaptiveAvgPool2d(1)(np.ones((1, 2, 3, 3)))
    with pytest.raises(TypeError):
        nn.AdaptiveAvgPool2d()
    model = nn.Sequential(nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
    assert model(mg.ones(4, 8, 7, 7)).shape == (4, 8)


# --- the kernels against their bounds-checked serial twins ----------------------------------------

KERNEL_SHAPES = [((2, 3, 5, 7), (2, 3)), ((1, 2, 3, 4), (5, 7)), ((2, 3, 7, 7), (1, 1)), ((1, 1, 1, 9), (1, 1)),
                 ((2, 2, 6, 6), (3, 3))]


@pytest.mark.parametrize("dtype", [np.float64])  # float32 runs against PyTorch above; each dtype compiles anew
@pytest.mark.parametrize(("shape", "output_size"), KERNEL_SHAPES)
def test_checked_twins_stay_in_bounds_and_agree(shape, output_size, dtype):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape).astype(dtype)
    out_shape = shape[:2] + output_size
    grad_out = rng.standard_normal(out_shape).astype(dtype)
    planes = shape[0] * shape[1]
    twins = {}
    for name in ("global_avg_forward", "global_avg_backward", "adaptive_avg_general_forward",
                 "adaptive_avg_general_backward", "adaptive_max_pool2d_forward"):
        twins[name] = checked_twin(getattr(kernels, name))
    # the general kernels on every shape (the global one too: it must agree with its fast path)
    out, expected = np.empty(out_shape, dtype), np.empty(out_shape, dtype)
    twins["adaptive_avg_general_forward"](x, out)
    kernels.adaptive_avg_pool2d_forward(x, expected)
    np.testing.assert_allclose(out, expected, **TOLERANCES[dtype])
    grad_x, expected_grad = np.full(shape, np.nan, dtype), np.full(shape, np.nan, dtype)
    twins["adaptive_avg_general_backward"](grad_out, grad_x)
    kernels.adaptive_avg_pool2d_backward(grad_out, expected_grad)
    np.testing.assert_allclose(grad_x, expected_grad, **TOLERANCES[dtype])
    out, indices = np.empty(out_shape, dtype), np.empty(out_shape, np.int64)
    twins["adaptive_max_pool2d_forward"](x, out, indices)
    expected, expected_indices = np.empty(out_shape, dtype), np.empty(out_shape, np.int64)
    kernels.adaptive_max_pool2d_forward(x, expected, expected_indices)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(indices, expected_indices)
    if output_size == (1, 1):
        means = np.empty(planes, dtype)
        twins["global_avg_forward"](x.reshape(planes, -1), means)
        np.testing.assert_allclose(means, x.reshape(planes, -1).mean(axis=1), **TOLERANCES[dtype])
        spread = np.full((planes, shape[2] * shape[3]), np.nan, dtype)
        twins["global_avg_backward"](grad_out.reshape(planes), spread)
        np.testing.assert_allclose(spread.reshape(shape), expected_grad, **TOLERANCES[dtype])


def test_bins_are_pytorchs_floor_and_ceil():
    """Row oh of OH pools [floor(oh * H / OH), ceil((oh + 1) * H / OH))."""
    bounds = checked_twin(kernels.bin_bounds)
    for size in range(1, 12):
        for output in range(1, 14):
            for position in range(output):
                start, stop = bounds(position, output, size)
                assert start == (position * size) // output
                assert stop == -(-((position + 1) * size) // output)
                assert 0 <= start < stop <= size
