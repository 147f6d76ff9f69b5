"""F.interpolate and nn.Upsample: against PyTorch (values exactly where they are index choices, and
gradients; float32 and float64), gradcheck and gradgradcheck in float64, PyTorch's refusals, repr, and
the kernels against their bounds-checked serial twins."""
import functools

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.kernels.cpu import resample as kernels
from minigrad.kernels.cpu.preset import checked_twin as uncached_checked_twin
from minigrad.nn import functional as F
from minigrad.ops.resample import ResamplePlan, linear_axis, nearest_axis

checked_twin = functools.cache(uncached_checked_twin)  # one compilation per kernel for the module
DTYPES = [np.float32, np.float64]
TOLERANCES = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}
MODES = [("nearest", None), ("bilinear", False), ("bilinear", True)]

# (input shape, options): up and down, integer and non-integer scales (as floats and pairs), sizes
# as an int and a pair, odd sizes, one-pixel planes, recompute_scale_factor, a scale of 1.
CASES = [
    ((2, 3, 5, 7), dict(scale_factor=2)),
    ((2, 3, 5, 7), dict(scale_factor=1.7)),
    ((2, 3, 9, 8), dict(scale_factor=0.5)),
    ((2, 3, 9, 8), dict(scale_factor=(0.6, 2.3))),
    ((1, 2, 7, 5), dict(scale_factor=(1 / 3, 2.9))),
    ((2, 3, 5, 7), dict(size=(3, 11))),
    ((2, 3, 5, 7), dict(size=9)),
    ((2, 2, 6, 6), dict(size=(6, 13))),
    ((2, 3, 5, 7), dict(scale_factor=1.3, recompute_scale_factor=True)),
    ((1, 2, 1, 1), dict(size=(3, 4))),
    ((1, 2, 4, 3), dict(size=(1, 1))),
    ((3, 2, 5, 7), dict(scale_factor=1.0)),
]


def both(x, options, dtype):
    """(minigrad output, input, torch output, input) after backward of the same upstream gradient."""
    torch = pytest.importorskip("torch")
    mine_input = mg.tensor(x.astype(dtype), requires_grad=True)
    their_input = torch.tensor(x.astype(dtype), requires_grad=True)
    mine = F.interpolate(mine_input, **options)
    theirs = torch.nn.functional.interpolate(their_input, **options)
    upstream = np.random.default_rng(1).standard_normal(tuple(theirs.shape)).astype(dtype)
    mine.backward(mg.tensor(upstream))
    theirs.backward(torch.tensor(upstream))
    return mine, mine_input, theirs, their_input


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("mode", "align_corners"), MODES)
@pytest.mark.parametrize(("shape", "options"), CASES)
def test_values_and_gradients_match_pytorch(shape, options, mode, align_corners, dtype):
    x = np.random.default_rng(0).standard_normal(shape)
    options = dict(options, mode=mode, align_corners=align_corners)
    mine, mine_input, theirs, their_input = both(x, options, dtype)
    assert mine.shape == tuple(theirs.shape) and mine.dtype == dtype
    np.testing.assert_allclose(mine.numpy(), theirs.detach().numpy(), **TOLERANCES[dtype])
    np.testing.assert_allclose(mine_input.grad.numpy(), their_input.grad.numpy(), **TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_nearest_on_3d_input_matches_pytorch(dtype):
    """Its 1-d nearest has only the generic kernel (no shortcut for equal or doubled sizes); its backward
    takes the shortcuts, so gradients are compared where there are none to take."""
    x = np.random.default_rng(0).standard_normal((2, 3, 13))
    for options in (dict(scale_factor=1.0527), dict(scale_factor=2.05), dict(size=5), dict(scale_factor=1.7)):
        mine, mine_input, theirs, their_input = both(x, options, dtype)
        np.testing.assert_array_equal(mine.numpy(), theirs.detach().numpy())
        if mine.shape[-1] not in (13, 26):
            np.testing.assert_allclose(mine_input.grad.numpy(), their_input.grad.numpy(), **TOLERANCES[dtype])


def source_positions(shape, options, dtype, library):
    """Which input element each output element reads (nearest) or the bilinear values, on x = its flat index."""
    x = np.broadcast_to(np.arange(shape[2] * shape[3]).reshape(1, 1, shape[2], shape[3]), shape).astype(dtype)
    if library == "torch":
        torch = pytest.importorskip("torch")
        return torch.nn.functional.interpolate(torch.tensor(x.copy()), **options).numpy()
    return F.interpolate(mg.tensor(x.copy()), **options).numpy()


@pytest.mark.parametrize("dtype", DTYPES)
def test_source_indices_equal_pytorchs_on_random_non_integer_scales(dtype):
    """PyTorch's exact formulas: the scale from the scale factor (not in / out), float32 floors, and
    both of its nearest kernels (the shortcut one for OH + OW <= 128 or channels-last C > 3, the
    generic one for wider outputs, where a scale of 1.05 on 13 rows reads row 0 twice)."""
    rng = np.random.default_rng(5)
    for trial in range(25):
        channels = int(rng.choice([1, 2, 5]))
        height, width = (int(value) for value in rng.integers(1, 30, 2))
        width *= int(rng.choice([1, 5]))  # some outputs wider than 128
        factors = [float(rng.choice([rng.uniform(0.3, 3), 1.0, 2.0, rng.uniform(0.95, 1.1), rng.uniform(1.95, 2.1)]))
                   for _ in range(2)]
        for mode, align_corners in MODES:
            options = dict(scale_factor=factors, mode=mode, align_corners=align_corners)
            if min(int(np.floor(length * factor)) for length, factor in zip((height, width), factors)) < 1:
                continue
            shape = (1, channels, height, width)
            theirs = source_positions(shape, options, dtype, "torch")
            mine = source_positions(shape, options, dtype, "minigrad")
            if mode == "nearest":
                np.testing.assert_array_equal(mine, theirs, err_msg=f"{shape} {options}")
            else:
                np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-6 * height * width, err_msg=f"{shape} {options}")


@pytest.mark.parametrize(("width", "row_one_reads"), [(33, 1), (34, 0), (37, 0)])
def test_nearest_takes_pytorchs_shortcut_up_to_an_output_height_plus_width_of_128(width, row_one_reads):
    """13 rows at a scale factor of 1.0527 stay 13 rows: read one to one by the shortcut kernel
    (OH + OW = 13 + 115 for width 33), by floor(i / 1.0527) otherwise (13 + 119 for width 34)."""
    shape = (1, 2, 13, width)
    options = dict(scale_factor=(1.052736093224307, 3.5))
    mine = source_positions(shape, options, np.float32, "minigrad")
    assert mine[0, 0, 1, 0] // width == row_one_reads
    np.testing.assert_array_equal(mine, source_positions(shape, options, np.float32, "torch"))


def test_a_wide_nearest_gradient_is_the_transpose_of_the_forward():
    """Where PyTorch's nearest kernels disagree (its backward always takes the shortcut), minigrad's
    gradient follows the forward it computed: <interpolate(x), g> = <x, gradient(g)> (the op is linear)."""
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((1, 2, 13, 40)), requires_grad=True)
    y = F.interpolate(x, scale_factor=(1.052736093224307, 3.5))  # 13 rows, row 1 reading row 0
    g = rng.standard_normal(y.shape)
    y.backward(mg.tensor(g))
    assert np.isclose((y.numpy() * g).sum(), (x.numpy() * x.grad.numpy()).sum(), rtol=1e-12)
    np.testing.assert_array_equal(x.grad.numpy()[:, :, 12], 0)  # no output row reads the last input row


@pytest.mark.parametrize(("mode", "align_corners", "options"), [
    ("nearest", None, dict(scale_factor=(0.7, 1.6))),
    ("nearest", None, dict(size=(5, 2))),
    ("bilinear", False, dict(scale_factor=(1.5, 0.8))),
    ("bilinear", True, dict(size=(4, 2))),
])
def test_gradcheck_and_gradgradcheck_in_float64(options, mode, align_corners):
    x = mg.tensor(np.random.default_rng(2).standard_normal((1, 2, 2, 3)), requires_grad=True)

    def function(t):
        return F.interpolate(t, mode=mode, align_corners=align_corners, **options)

    assert mg.gradcheck(function, (x,))
    assert mg.gradgradcheck(function, (x,))


def test_upsample_layers_are_interpolate_and_print_as_pytorch():
    x = mg.tensor(np.random.default_rng(0).standard_normal((1, 2, 3, 4)))
    layer = nn.Upsample(scale_factor=(2, 1.5), mode="bilinear", align_corners=True)
    expected = F.interpolate(x, scale_factor=(2.0, 1.5), mode="bilinear", align_corners=True)
    np.testing.assert_array_equal(layer(x).numpy(), expected.numpy())
    assert repr(nn.Upsample(scale_factor=2)) == "Upsample(scale_factor=2.0, mode='nearest')"
    assert repr(nn.Upsample(size=3, mode="bilinear", align_corners=True)) == "Upsample(size=3, mode='bilinear')"
    assert repr(nn.Upsample(scale_factor=(2, 1.5))) == "Upsample(scale_factor=(2.0, 1.5), mode='nearest')"
    assert repr(nn.Upsample(size=(3, 4))) == "Upsample(size=(3, 4), mode='nearest')"
    assert repr(nn.UpsamplingNearest2d(scale_factor=2)) == "UpsamplingNearest2d(scale_factor=2.0, mode='nearest')"
    assert repr(nn.UpsamplingBilinear2d(size=3)) == "UpsamplingBilinear2d(size=3, mode='bilinear')"
    np.testing.assert_array_equal(nn.UpsamplingBilinear2d(size=(5, 6))(x).numpy(),
                                  F.interpolate(x, size=(5, 6), mode="bilinear", align_corners=True).numpy())
    with pytest.raises(TypeError, match="Upsample"):
        nn.Upsample(scale_factor=2)(np.zeros((1, 1, 2, 2)))


REFUSALS = [
    (dict(size=2, scale_factor=2), ValueError, "only one of size or scale_factor"),
    (dict(), ValueError, "either size or scale_factor"),
    (dict(size=(2,)), ValueError, r"same number of spatial dimensions.*\(2,\)"),
    (dict(scale_factor=(2, 2, 2)), ValueError, r"scale_factor \(2, 2, 2\)"),
    (dict(scale_factor=2, align_corners=True), ValueError, "align_corners option can only be set"),
    (dict(size=4, recompute_scale_factor=True), ValueError, "recompute_scale_factor is not meaningful"),
    (dict(scale_factor=0.1), ValueError, r"greater than 0.*\(0, 0\)"),
    (dict(size=0), ValueError, r"greater than 0.*\(0, 0\)"),
    (dict(scale_factor=2, antialias=True, mode="bilinear"), NotImplementedError, "antialias"),
    (dict(scale_factor=2, mode="bicubic"), NotImplementedError, "'bicubic' is not supported"),
    (dict(scale_factor=2, mode="foo"), ValueError, "mode must be one of.*'foo'"),
    (dict(size=2.5), TypeError, "size must be ints.*2.5"),
]


@pytest.mark.parametrize(("options", "error", "message"), REFUSALS)
def test_bad_arguments_are_refused_with_the_function_name(options, error, message):
    x = mg.tensor(np.zeros((1, 2, 3, 3), dtype=np.float32))
    with pytest.raises(error, match="interpolate: " + ".*" + message if not message.startswith("interpolate") else message):
        F.interpolate(x, **options)


def test_input_dims_and_dtypes_are_refused_with_the_function_name():
    with pytest.raises(NotImplementedError, match=r"interpolate: got 3-D input .*'bilinear' needs 4-D"):
        F.interpolate(mg.zeros(2, 3, 3), scale_factor=2, mode="bilinear")
    with pytest.raises(NotImplementedError, match=r"interpolate: got 5-D input"):
        F.interpolate(mg.zeros(1, 1, 2, 3, 3), scale_factor=2)
    with pytest.raises(TypeError, match="interpolate: input must be float32 or float64, got int64"):
        F.interpolate(mg.tensor(np.zeros((1, 1, 2, 2), dtype=np.int64)), scale_factor=2)
    with pytest.raises(TypeError, match="interpolate: .*input"):
        F.interpolate(np.zeros((1, 1, 2, 2)), scale_factor=2)


def test_an_empty_batch_gives_an_empty_output_and_gradient():
    x = mg.zeros(0, 2, 3, 3, requires_grad=True)
    y = F.interpolate(x, size=(4, 5), mode="bilinear")
    assert y.shape == (0, 2, 4, 5)
    y.sum().backward()
    assert x.grad.shape == (0, 2, 3, 3)


def plans(dtype):
    """Maps of every kind the kernels run: nearest and bilinear, forward and transposed."""
    nearest = ResamplePlan(nearest_axis(5, 11, None, dtype, True), nearest_axis(7, 3, 0.45, dtype, False))
    bilinear = ResamplePlan(linear_axis(5, 9, False, 1.9, dtype), linear_axis(7, 4, True, None, dtype))
    return [nearest, nearest.transposed(), bilinear, bilinear.transposed()]


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernels_equal_their_bounds_checked_serial_twins(dtype):
    rng = np.random.default_rng(0)
    for plan in plans(dtype):
        x = rng.standard_normal((3,) + plan.input_size).astype(dtype)
        out, checked = (np.full((3,) + plan.output_size, np.nan, dtype=dtype) for _ in range(2))
        rows, columns = plan.rows, plan.columns
        arguments = (x, rows.pointer, rows.source, rows.weights(dtype), columns.pointer, columns.source,
                     columns.weights(dtype))
        kernels.resample2d(*arguments, out)
        checked_twin(kernels.resample2d)(*arguments, checked)
        np.testing.assert_array_equal(out, checked)
        if plan.is_gather:
            gathered = np.full_like(out, np.nan)
            checked_twin(kernels.gather2d)(x, rows.source, columns.source, gathered)
            np.testing.assert_array_equal(gathered, out)
