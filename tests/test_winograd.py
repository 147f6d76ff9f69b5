"""Winograd's row transforms (kernels/cpu/winograd.py, winograd_weights.py): the matrices, the
hand-written transforms against them, both kernels against float64 direct sums on every kernel
width they take, ragged shapes and their bounds-checked twins, the inf/NaN fallback and the
choice by ISA and shape."""
import numpy as np
import pytest

import minigrad.kernels.cpu.conv2d as conv2d_module
import minigrad.kernels.cpu.conv_choice as conv_choice_module
import minigrad.kernels.cpu.im2col as im2col_module
import minigrad.kernels.cpu.im2col_tiles as im2col_tiles_module
import minigrad.kernels.cpu.matmul as matmul_module
import minigrad.kernels.cpu.winograd as winograd_module
import minigrad.kernels.cpu.winograd_weights as winograd_weights_module
from minigrad.kernels.cpu.preset import checked_twin
from minigrad.kernels.cpu.simd import VECTOR_BYTES

KERNEL_WIDTHS = range(2, 8)


def correlation(x, weight, top, left, dilation_h, out_height, out_width):
    """float64 direct sums: out[n, o, i, j] = sum_{c,p,q} weight[o,c,p,q] x[n, c, i + p*dh - top,
    j + q - left] (zero outside x)."""
    batch, channels, height, width = x.shape
    kernel_height, kernel_width = weight.shape[2:]
    rows = out_height + dilation_h * (kernel_height - 1)
    padded = np.zeros((batch, channels, max(rows, top + height) + abs(top),
                       max(out_width + kernel_width - 1, left + width) + abs(left)))
    source = x.astype(np.float64)[:, :, max(0, -top):, max(0, -left):]
    padded[:, :, max(0, top):max(0, top) + source.shape[2], max(0, left):max(0, left) + source.shape[3]] = source
    out = np.zeros((batch, weight.shape[0], out_height, out_width))
    for p in range(kernel_height):
        for q in range(kernel_width):
            window = padded[:, :, p * dilation_h:p * dilation_h + out_height, q:q + out_width]
            out += np.einsum("ncij,oc->noij", window, weight[:, :, p, q].astype(np.float64))
    return out


def weight_gradient(x, grad_out, top, left, dilation_h, kernel_height, kernel_width):
    """float64: grad_weight[o, c, p, q] = sum_{n,i,j} grad_out[n,o,i,j] x[n, c, i + p*dh - top,
    j + q - left]."""
    out_height, out_width = grad_out.shape[2:]
    batch, channels = x.shape[:2]
    result = np.zeros((grad_out.shape[1], channels, kernel_height, kernel_width))
    for c in range(channels):
        for p in range(kernel_height):
            for q in range(kernel_width):
                unit = np.zeros((1, channels, kernel_height, kernel_width))
                unit[0, c, p, q] = 1
                taps = correlation(x, unit, top, left, dilation_h, out_height, out_width)[:, 0]
                result[:, c, p, q] = np.einsum("noij,nij->o", grad_out.astype(np.float64), taps)
    return result


def make_case(generator, batch, channels, rows, height, width, kernel_height, kernel_width, dtype):
    x = generator.uniform(-1, 1, (batch, channels, height, width)).astype(dtype)
    weight = generator.uniform(-1, 1, (rows, channels, kernel_height, kernel_width)).astype(dtype)
    bias = generator.uniform(-1, 1, rows).astype(dtype)
    return x, weight, bias


def assert_near(result, expected, dtype, terms):
    # Inputs in [-1, 1): the transforms' rounding grows with the terms summed, as direct sums do,
    # by a few times more (their coefficients reach 2^5).
    epsilon = np.finfo(dtype).eps
    np.testing.assert_allclose(result, expected, rtol=100 * epsilon, atol=16 * epsilon * max(terms, 1))


@pytest.mark.parametrize("kernel_width", KERNEL_WIDTHS)
def test_the_matrices_compute_a_correlation(kernel_width):
    output_transform, weight_transform, input_transform = winograd_module.transform_matrices(kernel_width)
    outputs = winograd_module.tile_width(kernel_width)
    assert output_transform.shape == (outputs, 8) and weight_transform.shape == (8, kernel_width)
    generator = np.random.default_rng(kernel_width)
    for _ in range(5):
        taps, inputs = generator.standard_normal(kernel_width), generator.standard_normal(8)
        tile = output_transform @ ((weight_transform @ taps) * (input_transform @ inputs))
        direct = [taps @ inputs[i:i + kernel_width] for i in range(outputs)]
        np.testing.assert_allclose(tile, direct, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transform_rows_is_the_input_matrix(dtype):
    """Unit rows through the hand-written B^T give B^T's columns, at every tile and offset."""
    input_transform = winograd_module.transform_matrices(5)[2]
    for i in range(8):
        padded = np.zeros((1, 2, 12), dtype)  # two rows, tiles of 4 outputs: two tiles a row
        padded[0, 1, 4 + i] = 1
        transformed = np.full((8, 3 + 4), np.nan, dtype)
        winograd_module.transform_rows(padded, 4, 2, transformed, 3)
        np.testing.assert_allclose(transformed[:, 3 + 3], input_transform[:, i], rtol=1e-6)
        assert not np.isnan(transformed[:, 3:]).any() and np.isnan(transformed[:, :3]).all()


@pytest.mark.parametrize("kernel_width", KERNEL_WIDTHS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_untransform_is_the_output_matrix(kernel_width, dtype):
    """A unit product at point x gives A^T's column x (plus the bias) at the tile's positions inside
    the row, with a finite check; an inf product makes the check NaN."""
    output_transform = winograd_module.transform_matrices(kernel_width)[0]
    outputs = winograd_module.tile_width(kernel_width)
    width = 2 * (VECTOR_BYTES // np.dtype(dtype).itemsize)
    out_width = 2 * outputs - 1  # the second tile's last output falls past the row
    bias = np.arange(width, dtype=dtype)
    for x in range(8):
        products = np.zeros((8, 1, 2, width), dtype)
        products[x, 0, 1, 3] = 1
        buffer = np.full((out_width, width), np.nan, dtype)
        check = np.full(width // 2, np.nan, dtype)
        winograd_module.untransform(products, bias, outputs, 2, out_width, buffer, check)
        assert not np.isnan(check).any()
        expected = np.broadcast_to(bias, buffer.shape).copy()
        expected[outputs:, 3] += output_transform[:outputs - 1, x]
        np.testing.assert_allclose(buffer, expected, rtol=1e-6, atol=1e-6)
    products[7, 0, 0, 0] = np.inf
    winograd_module.untransform(products, bias, outputs, 2, out_width, buffer, check)
    assert np.isnan(check).any()


@pytest.mark.parametrize("kernel_width", KERNEL_WIDTHS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transform_gradient_is_the_transposed_output_matrix(kernel_width, dtype):
    output_transform = winograd_module.transform_matrices(kernel_width)[0]
    outputs = winograd_module.tile_width(kernel_width)
    width = 2 * (VECTOR_BYTES // np.dtype(dtype).itemsize)
    out_width = 2 * outputs - 1
    for k in range(outputs):
        gradient = np.zeros((1, out_width * width), dtype)
        gradient[0, k * width + 5] = 1  # first tile, output k, channel 5
        if outputs + k < out_width:
            gradient[0, (outputs + k) * width + 2] = 1  # second tile, output k, channel 2
        transformed = np.full((8, 1, 3 * width), np.nan, dtype)
        winograd_weights_module.transform_gradient(gradient, outputs, 2, out_width, transformed, 1)
        np.testing.assert_allclose(transformed[:, 0, width + 5], output_transform[k], rtol=1e-6)
        expected = output_transform[k] if outputs + k < out_width else 0
        np.testing.assert_allclose(transformed[:, 0, 2 * width + 2], expected, rtol=1e-6)
        assert np.isnan(transformed[:, 0, :width]).all()


# (batch, channels, rows, height, width, kernel_height, kernel_width, top, left, dilation_h):
# every kernel width the kernels take, rows not a multiple of a tile's outputs, output channels
# past a column strip (1, 17, 40), one channel, a batch smaller than the threads, negative
# padding (an input gradient's), rows of one tile, and row dilation.
GEOMETRIES = [
    (3, 32, 64, 14, 14, 5, 5, 2, 2, 1),
    (2, 5, 17, 9, 11, 5, 5, 2, 2, 1),
    (3, 16, 20, 13, 10, 3, 3, 1, 1, 1),
    (4, 8, 16, 7, 23, 7, 7, 3, 3, 1),
    (3, 4, 9, 8, 9, 2, 4, 2, 1, 2),
    (1, 3, 40, 5, 6, 3, 6, 1, 2, 1),
    (2, 3, 5, 6, 9, 4, 2, 0, 0, 1),
    (2, 1, 1, 6, 5, 1, 5, 0, 2, 1),
    (3, 6, 18, 9, 12, 3, 5, -1, -1, 1),
    (5, 2, 33, 4, 4, 2, 6, 1, 3, 3),
]


def output_size(geometry):
    _, _, _, height, width, kernel_height, kernel_width, top, left, dilation_h = geometry
    return (height + 2 * top - dilation_h * (kernel_height - 1),
            width + 2 * left - (kernel_width - 1))


def run_correlate(module, geometry, dtype):
    batch, channels, rows, height, width, kernel_height, kernel_width, top, left, dilation_h = geometry
    x, weight, bias = make_case(np.random.default_rng(sum(geometry)), batch, channels, rows, height,
                                width, kernel_height, kernel_width, dtype)
    out_height, out_width = output_size(geometry)
    out = np.full((batch, rows, out_height, out_width), np.nan, dtype)
    inexact = module.correlate(x, weight, bias, top, left, dilation_h, out)
    assert inexact.size == 0
    expected = correlation(x, weight, top, left, dilation_h, out_height, out_width) + bias.reshape(1, -1, 1, 1)
    assert_near(out, expected, dtype, channels * kernel_height * kernel_width)


def run_weight_gradient(module, geometry, dtype):
    batch, channels, rows, height, width, kernel_height, kernel_width, top, left, dilation_h = geometry
    generator = np.random.default_rng(sum(geometry))
    x = generator.uniform(-1, 1, (batch, channels, height, width)).astype(dtype)
    grad_out = generator.uniform(-1, 1, (batch, rows) + output_size(geometry)).astype(dtype)
    result = module.weight_gradient(x, grad_out, top, left, dilation_h, kernel_height, kernel_width)
    assert result.dtype == dtype and result.shape == (rows, channels, kernel_height, kernel_width)
    expected = weight_gradient(x, grad_out, top, left, dilation_h, kernel_height, kernel_width)
    assert_near(result, expected, dtype, batch * grad_out.shape[2] * grad_out.shape[3])


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_correlate_matches_direct_sums(geometry, dtype):
    run_correlate(winograd_module, geometry, dtype)


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_gradient_matches_direct_sums(geometry, dtype):
    run_weight_gradient(winograd_weights_module, geometry, dtype)


CHECKED_HELPERS = {
    matmul_module: ["store_vector_tile"],
    im2col_tiles_module: ["gather_tile", "gather_half_tile"],
    im2col_module: ["spread_into", "pack_transposed"],
    winograd_module: ["gather_tile", "gather_half_tile", "store_vector_tile", "spread_into",
                      "transform_rows", "untransform", "transpose_into", "product_strip",
                      "inlined_product_strip",
                      "winograd_correlate"],
    winograd_weights_module: ["spread_into", "pack_transposed", "transform_rows",
                              "transform_gradient", "product_strip", "winograd_weight_gradient"],
}


@pytest.fixture(scope="module")
def checked_kernels():
    """Every kernel and helper the two Winograd kernels reach swapped for its serial bounds-checked
    twin (``prange`` swallows index errors)."""
    patch = pytest.MonkeyPatch()
    twins = {}
    for module, names in CHECKED_HELPERS.items():
        for name in names:
            kernel = getattr(module, name)
            twins.setdefault(kernel.py_func, checked_twin(kernel))
            patch.setattr(module, name, twins[kernel.py_func])
    yield
    patch.undo()


@pytest.mark.usefixtures("checked_kernels")
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_checked_twins_stay_in_bounds(geometry):
    run_correlate(winograd_module, geometry, np.float64)
    run_weight_gradient(winograd_weights_module, geometry, np.float64)


@pytest.fixture
def winograd_everywhere(monkeypatch):
    """Both Winograd choices wherever the kernels can run (stride 1, unspread, column dilation 1,
    kernel widths 2 to 7), whatever the ISA and shape rules choose."""
    def eligible(spread_h, spread_w, stride_h, stride_w, dilation_w, rows, channels, kernel_height,
                 kernel_width, out_width, itemsize=4):
        return spread_h == spread_w == stride_h == stride_w == dilation_w == 1 and 2 <= kernel_width <= 7

    monkeypatch.setattr(conv_choice_module, "uses_winograd", eligible)
    monkeypatch.setattr(conv_choice_module, "uses_winograd_weight_gradient",
                        lambda stride_h, stride_w, *rest: eligible(1, 1, stride_h, stride_w, *rest))


@pytest.mark.usefixtures("winograd_everywhere")
@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_non_finite_images_are_summed_again_directly(monkeypatch, value):
    """An inf or NaN in one image: that image's outputs (and the weight gradient) are what the
    gathered kernels give, as PyTorch sums them; the other images keep Winograd's."""
    generator = np.random.default_rng(7)
    x, weight, bias = make_case(generator, 4, 16, 32, 14, 14, 5, 5, np.float32)
    x[2, 3, 5, 6] = value
    grad_out = generator.uniform(-1, 1, (4, 32, 14, 14)).astype(np.float32)
    out = np.empty_like(grad_out)
    conv2d_module.conv2d_forward(x, weight, bias, 1, 1, 2, 2, 1, 1, out)
    grad_weight = np.empty_like(weight)
    conv2d_module.conv2d_backward_weight(x, grad_out, 1, 1, 2, 2, 1, 1, grad_weight)
    monkeypatch.setattr(conv_choice_module, "uses_winograd", lambda *arguments: False)
    monkeypatch.setattr(conv_choice_module, "uses_winograd_weight_gradient", lambda *arguments: False)
    gathered = np.empty_like(out)
    conv2d_module.conv2d_forward(x, weight, bias, 1, 1, 2, 2, 1, 1, gathered)
    np.testing.assert_array_equal(out[2], gathered[2])
    assert np.isfinite(out[[0, 1, 3]]).all()
    np.testing.assert_allclose(out[[0, 1, 3]], gathered[[0, 1, 3]], rtol=1e-4, atol=1e-4)
    gathered_weight = np.empty_like(weight)
    conv2d_module.conv2d_backward_weight(x, grad_out, 1, 1, 2, 2, 1, 1, gathered_weight)
    np.testing.assert_array_equal(grad_weight, gathered_weight)


@pytest.mark.usefixtures("winograd_everywhere")
def test_an_infinite_weight_sums_every_image_directly(monkeypatch):
    generator = np.random.default_rng(8)
    x, weight, bias = make_case(generator, 3, 16, 32, 14, 14, 5, 5, np.float32)
    weight[4, 2, 1, 3] = np.inf
    out = np.empty((3, 32, 14, 14), np.float32)
    conv2d_module.conv2d_forward(x, weight, bias, 1, 1, 2, 2, 1, 1, out)
    monkeypatch.setattr(conv_choice_module, "uses_winograd", lambda *arguments: False)
    gathered = np.empty_like(out)
    conv2d_module.conv2d_forward(x, weight, bias, 1, 1, 2, 2, 1, 1, gathered)
    np.testing.assert_array_equal(out, gathered)


def test_the_choice_by_isa_and_shape(monkeypatch):
    """Winograd where vectors are narrower than AVX-512's, for the shapes it was measured faster on
    (conv_choice.uses_winograd, uses_winograd_weight_gradient); never on AVX-512 (unmeasured there)."""
    monkeypatch.setattr(conv_choice_module, "VECTOR_BYTES", 32)
    choose = conv_choice_module.uses_winograd
    gradient = conv_choice_module.uses_winograd_weight_gradient
    # The reference CNN's second layer, forward and input gradient (64 <- 32, 32 <- 64), and its
    # weight gradient; its first layer (one channel) in neither.
    assert choose(1, 1, 1, 1, 1, 64, 32, 5, 5, 14) and choose(1, 1, 1, 1, 1, 32, 64, 5, 5, 14)
    assert gradient(1, 1, 1, 64, 32, 5, 5, 14)
    # Its first layer (one channel): not forward; its weight gradient yes (slower there, but the
    # gathered sums would be one more kernel for a first run to compile).
    assert not choose(1, 1, 1, 1, 1, 32, 1, 5, 5, 28) and gradient(1, 1, 1, 32, 1, 5, 5, 28)
    # Kernel widths 3 to 7, on rows of 8 or more (3x3 weight gradients with enough work only).
    for kernel_width in (3, 4, 6, 7):
        assert choose(1, 1, 1, 1, 1, 32, 32, kernel_width, kernel_width, 16)
        assert gradient(1, 1, 1, 32, 32, kernel_width, kernel_width, 16)
    for kernel_width in (1, 2, 8):
        assert not choose(1, 1, 1, 1, 1, 32, 32, kernel_width, kernel_width, 16)
        assert not gradient(1, 1, 1, 32, 32, kernel_width, kernel_width, 16)
    assert choose(1, 1, 1, 1, 1, 32, 32, 5, 5, 8) and not choose(1, 1, 1, 1, 1, 32, 32, 5, 5, 7)
    # Too little work (16 <- 16 3x3), too little depth, or a transformed weight past L2 (64 <- 64
    # 5x5: 640 KiB; float64 halves what fits).
    assert not choose(1, 1, 1, 1, 1, 16, 16, 3, 3, 28) and not choose(1, 1, 1, 1, 1, 32, 3, 5, 5, 32)
    assert gradient(1, 1, 1, 16, 8, 5, 5, 32) and not gradient(1, 1, 1, 8, 8, 5, 5, 32)
    assert not choose(1, 1, 1, 1, 1, 64, 64, 5, 5, 14) and not gradient(1, 1, 1, 64, 64, 5, 5, 14)
    # A 3x3 weight gradient: output channels x depth of 3072 or more on rows of 16 outputs or
    # more (32 -> 32 on 28x28), 6144 on shorter rows (32 -> 64 on 14x14, not 32 -> 32); sums of
    # 384 KiB at most (64 -> 64 yes, 64 -> 128 no; float64 halves what fits).
    assert gradient(1, 1, 1, 32, 32, 3, 3, 28) and not gradient(1, 1, 1, 32, 32, 3, 3, 14)
    assert gradient(1, 1, 1, 64, 32, 3, 3, 14) and not gradient(1, 1, 1, 32, 16, 3, 3, 28)
    assert gradient(1, 1, 1, 64, 64, 3, 3, 14) and not gradient(1, 1, 1, 128, 64, 3, 3, 14)
    assert not gradient(1, 1, 1, 64, 64, 3, 3, 28, 8) and gradient(1, 1, 1, 32, 32, 3, 3, 28, 8)
    assert choose(1, 1, 1, 1, 1, 64, 32, 5, 5, 14, 4) and not choose(1, 1, 1, 1, 1, 64, 32, 5, 5, 14, 8)
    # Strides, spread sources and column dilation keep the other kernels.
    assert not choose(1, 1, 2, 2, 1, 64, 32, 5, 5, 14) and not choose(2, 2, 1, 1, 1, 64, 32, 5, 5, 14)
    assert not choose(1, 1, 1, 1, 2, 64, 32, 5, 5, 14) and not gradient(2, 2, 1, 64, 32, 5, 5, 14)
    assert not gradient(1, 1, 2, 64, 32, 5, 5, 14)
    monkeypatch.setattr(conv_choice_module, "VECTOR_BYTES", 64)
    assert not choose(1, 1, 1, 1, 1, 64, 32, 5, 5, 14) and not gradient(1, 1, 1, 64, 32, 5, 5, 14)


@pytest.mark.parametrize("vector_bytes", [32, 64])
def test_the_kernel_names_say_what_the_contracts_run(monkeypatch, vector_bytes):
    """conv_choice.correlation_kernel and weight_gradient_kernel, which the contracts dispatch on and
    ``python -m minigrad.bench winograd`` prints as the rule: the reference CNN's layers."""
    monkeypatch.setattr(conv_choice_module, "VECTOR_BYTES", vector_bytes)
    winograd = "winograd" if vector_bytes < 64 else "gathered"
    name = conv_choice_module.correlation_kernel
    # First layer: few output channels forward (direct); second layer forward and input gradient.
    assert name(1, 1, 1, 1, 1, (32, 1, 5, 5), 28, 4) == "direct"
    assert name(1, 1, 1, 1, 1, (64, 32, 5, 5), 14, 4) == winograd
    assert name(1, 1, 1, 1, 1, (32, 64, 5, 5), 14, 4) == winograd
    # A stride-2 forward (neither Winograd nor direct) and a spread source (the planes).
    assert name(1, 1, 2, 2, 1, (64, 32, 5, 5), 7, 4) == "gathered"
    assert name(2, 2, 1, 1, 1, (8, 64, 3, 3), 14, 4) == "planes"
    gradient = conv_choice_module.weight_gradient_kernel
    assert gradient(1, 1, 1, (64, 32, 5, 5), 14, 4) == winograd
    # Winograd's result not all finite: summed again by the kernel that would run without it.
    assert gradient(1, 1, 1, (64, 32, 5, 5), 14, 4, finite=False) == "gathered"
    assert gradient(1, 1, 1, (8, 8, 5, 5), 32, 4) == "direct"
