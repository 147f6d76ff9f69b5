"""The CPU conv2d kernels against a NumPy float64 reference, against PyTorch, and as checked twins.

Geometries are chosen around the kernels' structure: both paths of each contract (direct loops
for few channels, the gathered matrix products for many, with ragged strips of positions, taps
and channels, several images per weight-gradient chunk),
strides and dilations off 1 (outputs read off the wide stride-1 grid, input gradients by stride
phases, some of them reached by no tap),
asymmetric padding (``"same"`` with an even kernel), padding larger than the kernel's reach
(negative padding in the transposed convolution of the input gradient), channel counts that are
no whole row block or tile, spatial sizes that are no multiple of anything, and kernels as large
as the padded input (a 1 x 1 output).
"""
import numpy as np
import pytest

import minigrad.kernels.cpu.conv2d as conv2d_module
import minigrad.kernels.cpu.conv_choice as conv_choice_module
import minigrad.kernels.cpu.conv_direct as conv_direct_module
import minigrad.kernels.cpu.conv_phases as conv_phases_module
import minigrad.kernels.cpu.im2col as im2col_module
import minigrad.kernels.cpu.im2col_row_tiles as im2col_row_tiles_module
import minigrad.kernels.cpu.im2col_tiles as im2col_tiles_module
import minigrad.kernels.cpu.matmul as matmul_module
from minigrad.kernels.cpu.preset import checked_twin

DTYPES = [np.float32, np.float64]

# (batch, channels, height, width, out_channels, kernel_h, kernel_w, stride, (top, bottom, left,
# right) padding, dilation)
GEOMETRIES = [
    (1, 1, 5, 5, 1, 3, 3, 1, (0, 0, 0, 0), 1),
    (3, 2, 7, 9, 3, 3, 3, 1, (1, 1, 1, 1), 1),
    (3, 3, 11, 10, 2, 5, 5, 1, (2, 2, 2, 2), 1),
    (1, 2, 9, 13, 3, 3, 3, 2, (1, 1, 1, 1), 1),
    (3, 3, 10, 7, 2, 2, 2, 2, (0, 0, 0, 0), 1),
    (1, 3, 13, 11, 1, 3, 3, 1, (2, 2, 2, 2), 2),
    (3, 1, 12, 9, 2, 3, 2, 2, (1, 1, 2, 2), 2),
    # "same" padding with even kernels: one more row and column after than before.
    (3, 2, 8, 11, 3, 4, 4, 1, (1, 2, 1, 2), 1),
    (1, 1, 6, 7, 2, 2, 2, 1, (0, 1, 0, 1), 1),
    (1, 2, 7, 7, 3, 4, 2, 1, (3, 3, 1, 2), 2),
    # Odd by even kernels, padding wider than the kernel reaches, a 1 x 1 kernel with stride 3.
    (3, 3, 6, 9, 2, 5, 2, 1, (3, 3, 0, 1), 1),
    (1, 2, 5, 6, 3, 1, 1, 3, (2, 2, 1, 1), 1),
    # Kernel as large as the padded input: one output position.
    (3, 2, 5, 4, 3, 7, 6, 1, (1, 1, 1, 1), 1),
    (1, 3, 3, 3, 2, 3, 3, 2, (0, 0, 0, 0), 1),
    # More output channels than one direct row block (8) and one tile (4), ragged.
    (1, 3, 6, 5, 11, 3, 3, 1, (1, 1, 1, 1), 1),
    # Enough channels and taps for the matrix-product kernels: the forward and weight gradient
    # (17 output channels, ragged strips); the input gradient, strided, from 16 channels; all
    # three, dilated; all three with several weight-gradient slabs, the last one short.
    (2, 3, 6, 5, 17, 5, 5, 1, (2, 2, 2, 2), 1),
    (1, 16, 5, 7, 5, 4, 4, 2, (1, 2, 1, 2), 1),
    (3, 17, 9, 8, 19, 3, 3, 1, (1, 1, 1, 1), 2),
    (5, 16, 20, 20, 16, 3, 3, 1, (1, 1, 1, 1), 1),
    # A forward of 576 taps: two depth slabs in float64 (4 KiB lines), the second one short.
    (1, 64, 5, 6, 16, 3, 3, 1, (1, 1, 1, 1), 1),
    # 33 channels each way: a ragged second column strip of the gathered tile (a third in
    # float64), ragged position strips, batch 3 split unevenly between threads; strided too.
    (3, 33, 7, 5, 33, 3, 2, 1, (1, 1, 0, 1), 1),
    (1, 33, 9, 11, 33, 3, 3, 2, (2, 2, 1, 1), 1),
    # Padding past the kernel's reach with the matrix products: the input gradient's image is
    # cropped at the top and left (negative padding); the forward's 36 positions end in a half
    # strip of 4, the weight gradient's 153 taps in one of 1.
    (2, 17, 2, 3, 20, 3, 3, 1, (3, 3, 3, 2), 1),
    # 1 x 1 kernels with 16 or more output channels take the matrix products at any tap count,
    # stride 1 and 2 (the input gradient's phases: one holds the tap, three are zero).
    (2, 5, 6, 7, 16, 1, 1, 1, (0, 0, 0, 0), 1),
    (3, 16, 9, 8, 17, 1, 1, 2, (0, 0, 0, 0), 1),
    # Input gradients by stride phases: stride 3 with dilation 2 (the taps of a phase are every
    # third one), sizes that are no multiple of the stride.
    (2, 3, 11, 10, 4, 3, 3, 3, (1, 1, 2, 2), 2),
    (2, 16, 13, 11, 18, 3, 3, 2, (1, 1, 1, 1), 1),
    # 16 output channels, strided (the forward's strips) and at stride 1 on rows of 28 (the row
    # tile): one vector wide in float32 on AVX-512 (gather_narrow_tile, gather_row_planes_narrow).
    (2, 16, 9, 9, 16, 3, 3, 2, (1, 1, 1, 1), 1),
    (2, 16, 5, 28, 16, 3, 3, 1, (1, 1, 1, 1), 1),
]
REFERENCE_LAYERS = [(100, 1, 28, 28, 32, 5, 5, 1, (2, 2, 2, 2), 1),
                    (100, 32, 14, 14, 64, 5, 5, 1, (2, 2, 2, 2), 1)]


def output_size(size, padding_before, padding_after, kernel, stride, dilation):
    return (size + padding_before + padding_after - dilation * (kernel - 1) - 1) // stride + 1


def make_case(geometry, dtype, seed=0):
    """Random x, weight, bias and output gradient for a geometry, plus the output shape."""
    batch, channels, height, width, out_channels, kernel_h, kernel_w, stride, padding, dilation = (
        geometry)
    top, bottom, left, right = padding
    out_height = output_size(height, top, bottom, kernel_h, stride, dilation)
    out_width = output_size(width, left, right, kernel_w, stride, dilation)
    generator = np.random.default_rng(seed)
    x = generator.uniform(-1, 1, (batch, channels, height, width)).astype(dtype)
    weight = generator.uniform(-1, 1, (out_channels, channels, kernel_h, kernel_w)).astype(dtype)
    bias = generator.uniform(-1, 1, out_channels).astype(dtype)
    grad_out = generator.uniform(-1, 1, (batch, out_channels, out_height, out_width)).astype(dtype)
    return x, weight, bias, grad_out


def reference(geometry, x, weight, bias, grad_out):
    """Forward, input gradient and weight gradient in float64, tap by tap over the padded input."""
    stride, padding, dilation = geometry[7], geometry[8], geometry[9]
    top, bottom, left, right = padding
    x, weight, bias, grad_out = (array.astype(np.float64) for array in (x, weight, bias, grad_out))
    padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    grad_padded = np.zeros_like(padded)
    out_height, out_width = grad_out.shape[2:]
    out = np.zeros(grad_out.shape) + bias[:, None, None]
    grad_weight = np.zeros(weight.shape)
    for p in range(weight.shape[2]):
        for q in range(weight.shape[3]):
            rows = slice(p * dilation, p * dilation + (out_height - 1) * stride + 1, stride)
            columns = slice(q * dilation, q * dilation + (out_width - 1) * stride + 1, stride)
            window = padded[:, :, rows, columns]
            out += np.einsum("ncij,oc->noij", window, weight[:, :, p, q])
            grad_padded[:, :, rows, columns] += np.einsum("noij,oc->ncij", grad_out,
                                                          weight[:, :, p, q])
            grad_weight[:, :, p, q] = np.einsum("noij,ncij->oc", grad_out, window)
    height, width = x.shape[2:]
    grad_x = grad_padded[:, :, top:top + height, left:left + width]
    return out, grad_x, grad_weight


def run_kernels(geometry, x, weight, bias, grad_out, module=conv2d_module):
    """The three kernels on one case, outputs pre-filled with NaN so unwritten elements show."""
    stride, padding, dilation = geometry[7], geometry[8], geometry[9]
    top, left = padding[0], padding[2]
    geometry_arguments = (stride, stride, top, left, dilation, dilation)
    out = np.full(grad_out.shape, np.nan, x.dtype)
    module.conv2d_forward(x, weight, bias, *geometry_arguments, out)
    grad_x = np.full(x.shape, np.nan, x.dtype)
    module.conv2d_backward_input(grad_out, weight, *geometry_arguments, grad_x)
    grad_weight = np.full(weight.shape, np.nan, x.dtype)
    module.conv2d_backward_weight(x, grad_out, *geometry_arguments, grad_weight)
    return out, grad_x, grad_weight


def assert_close(results, references, dtype, terms):
    # Inputs are in [-1, 1); rounding grows with the number of terms summed.
    epsilon = np.finfo(dtype).eps
    for result, expected in zip(results, references):
        assert result.dtype == dtype
        np.testing.assert_allclose(result, expected, rtol=100 * epsilon,
                                   atol=4 * epsilon * max(terms, 1))


def reduction_terms(x, weight, grad_out):
    """The longest sum any of the three outputs takes (forward, input and weight gradients)."""
    taps = weight.shape[2] * weight.shape[3]
    return max(weight.shape[1] * taps, weight.shape[0] * taps,
               grad_out.shape[0] * grad_out.shape[2] * grad_out.shape[3])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_conv2d_kernels_match_reference(geometry, dtype):
    x, weight, bias, grad_out = make_case(geometry, dtype)
    results = run_kernels(geometry, x, weight, bias, grad_out)
    assert_close(results, reference(geometry, x, weight, bias, grad_out), dtype,
                 reduction_terms(x, weight, grad_out))


def test_conv2d_kernels_accept_non_contiguous_views():
    geometry = (3, 2, 7, 9, 3, 3, 3, 1, (1, 1, 1, 1), 1)
    x, weight, bias, grad_out = make_case(geometry, np.float64)
    views = [np.asfortranarray(x), weight.transpose(1, 0, 2, 3).copy().transpose(1, 0, 2, 3),
             np.repeat(bias, 2)[::2], np.asfortranarray(grad_out)]
    results = run_kernels(geometry, *views)
    assert_close(results, reference(geometry, x, weight, bias, grad_out), np.float64,
                 reduction_terms(x, weight, grad_out))


def test_weight_gradient_of_an_infinite_input_is_not_nan():
    """An inf in x reaches only the weight gradients whose taps read it (no zero times inf from
    discarded columns): as in PyTorch, each gradient is inf, -inf or finite, never NaN, when the
    output gradient is nonzero everywhere."""
    geometry = (2, 16, 6, 6, 16, 3, 3, 1, (1, 1, 1, 1), 1)
    x, weight, bias, grad_out = make_case(geometry, np.float32)
    grad_out = np.abs(grad_out) + np.float32(0.5)
    x[0, 3, 2, 4] = np.inf
    grad_weight = np.full(weight.shape, np.nan, np.float32)
    conv2d_module.conv2d_backward_weight(x, grad_out, 1, 1, 1, 1, 1, 1, grad_weight)
    assert not np.isnan(grad_weight).any()
    assert np.isinf(grad_weight[:, 3]).all() and np.isfinite(np.delete(grad_weight, 3, 1)).all()


@pytest.mark.parametrize("geometry", [GEOMETRIES[index] for index in (3, 4, 6, 11, 16, 21)])
def test_strided_weight_gradient_of_an_infinite_input_is_not_nan(geometry):
    """Strided and dilated weight gradients sum over exact output positions: the zeros between
    strided outputs on the wide grid would have met the inf as 0 * inf = NaN."""
    x, weight, bias, grad_out = make_case(geometry, np.float64)
    grad_out = np.abs(grad_out) + 0.5
    x[0, 0, 1, 1] = np.inf
    grad_weight = np.full(weight.shape, np.nan)
    stride, padding, dilation = geometry[7], geometry[8], geometry[9]
    conv2d_module.conv2d_backward_weight(x, grad_out, stride, stride, padding[0], padding[2], dilation, dilation,
                                         grad_weight)
    expected = reference(geometry, np.where(np.isinf(x), 1e300, x), weight, bias, grad_out)[2]
    assert not np.isnan(grad_weight).any()
    np.testing.assert_array_equal(np.isinf(grad_weight), np.abs(expected) > 1e299)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_input_gradient_by_taps_matches_reference(geometry):
    """The exact path (for weights holding inf or NaN) gives the same input gradient on finite ones."""
    x, weight, bias, grad_out = make_case(geometry, np.float64)
    stride, padding, dilation = geometry[7], geometry[8], geometry[9]
    grad_x = np.full(x.shape, np.nan)
    conv2d_module.input_gradient_by_taps(grad_out, weight, stride, stride, padding[0], padding[2], dilation,
                                         dilation, grad_x)
    np.testing.assert_allclose(grad_x, reference(geometry, x, weight, bias, grad_out)[1], rtol=1e-12, atol=1e-12)


def test_an_infinite_weight_reaches_the_input_gradient_only_through_real_terms():
    """PyTorch's col2im adds only products that exist; the correlation's zero border would add 0 * inf."""
    geometry = (1, 2, 5, 5, 3, 3, 3, 1, (1, 1, 1, 1), 1)
    x, weight, bias, grad_out = make_case(geometry, np.float64)
    grad_out = np.abs(grad_out) + 0.5
    weight[1, 0, 0, 0] = np.inf
    grad_x = np.full(x.shape, np.nan)
    conv2d_module.conv2d_backward_input(grad_out, weight, 1, 1, 1, 1, 1, 1, grad_x)
    assert not np.isnan(grad_x).any()
    # tap (0, 0) of output (i, j) reads x at (i - 1, j - 1): every x but the last row and column
    np.testing.assert_array_equal(np.isinf(grad_x[0, 0]), np.pad(np.ones((4, 4), bool), ((0, 1), (0, 1))))


@pytest.mark.parametrize("geometry", REFERENCE_LAYERS, ids=["conv1", "conv2"])
def test_reference_cnn_layers(geometry):
    x, weight, bias, grad_out = make_case(geometry, np.float32)
    results = run_kernels(geometry, x, weight, bias, grad_out)
    for result, expected in zip(results, reference(geometry, x, weight, bias, grad_out)):
        scale = np.abs(expected).max()
        np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize("geometry", [GEOMETRIES[2], GEOMETRIES[3], GEOMETRIES[6], GEOMETRIES[7]])
def test_conv2d_kernels_match_torch(geometry):
    torch = pytest.importorskip("torch")
    x, weight, bias, grad_out = make_case(geometry, np.float32, seed=1)
    stride, (top, bottom, left, right), dilation = geometry[7], geometry[8], geometry[9]
    x_tensor = torch.tensor(x, requires_grad=True)
    weight_tensor = torch.tensor(weight, requires_grad=True)
    padded = torch.nn.functional.pad(x_tensor, (left, right, top, bottom))
    out = torch.nn.functional.conv2d(padded, weight_tensor, torch.tensor(bias), stride=stride,
                                     dilation=dilation)
    out.backward(torch.tensor(grad_out))
    expected = (out.detach().numpy(), x_tensor.grad.numpy(), weight_tensor.grad.numpy())
    results = run_kernels(geometry, x, weight, bias, grad_out)
    for result, torch_result in zip(results, expected):
        np.testing.assert_allclose(result, torch_result, rtol=1e-4, atol=1e-4)


# Every kernel the modules call, by the names they call them (the matmul tile store that
# im2col_tiles imports, and the tiles im2col imports, included: swapped where they are imported,
# and the row store the tile store calls swapped in the matmul module).
CHECKED_HELPERS = {
    matmul_module: ["store_row"],
    conv2d_module: ["correlate_planes"],
    conv_direct_module: ["direct_correlate", "direct_weight_gradient", "add_tap_sums", "spread_into"],
    conv_phases_module: ["interleave_phases"],
    im2col_tiles_module: ["store_vector_tile", "gather_tile", "gather_half_tile", "gather_strip",
                          "gather_strip_planes", "gather_narrow_tile"],
    im2col_row_tiles_module: ["gather_row_planes", "gather_row_planes_narrow"],
    im2col_module: ["gather_strip", "gather_strip_planes", "gather_row_planes", "gather_row_planes_narrow",
                    "row_tile_strips", "spread_into",
                    "prefetch_share", "pack_transposed", "gather_correlate", "gather_correlate_gradients"],
}


@pytest.fixture(scope="module")
def checked_module():
    """The conv2d module with every kernel it reaches swapped for its serial bounds-checked twin.

    The orchestrators are Python and look the kernels up at each call, so the swap lasts for the
    tests that use this fixture; a twin binds the helpers it calls when it first compiles, which
    happens after every swap.
    """
    patch = pytest.MonkeyPatch()
    for module, names in CHECKED_HELPERS.items():
        for name in names:
            patch.setattr(module, name, checked_twin(getattr(module, name)))
    yield conv2d_module
    patch.undo()


@pytest.mark.parametrize("geometry", [GEOMETRIES[index] for index in (0, 4, 6, 7, 9, 10, 11, 12,
                                                                     13, 14, 15, 16, 17, 18,
                                                                     19, 20, 21, 22, 23, 24,
                                                                     25, 26, 27, 28)])
def test_checked_twins_stay_in_bounds(checked_module, geometry):
    x, weight, bias, grad_out = make_case(geometry, np.float64)
    results = run_kernels(geometry, x, weight, bias, grad_out, module=checked_module)
    assert_close(results, reference(geometry, x, weight, bias, grad_out), np.float64,
                 reduction_terms(x, weight, grad_out))


# The forward's row tiles (im2col.gather_row_planes: 14 positions of one output row, for unit
# column stride and rows of at least 14), also the input gradient's (a stride-1 correlation):
# rows of exactly one tile (3 images over the threads, 20 output channels: a ragged column
# strip), of 15 and 29 (the last tile overlapping the one before), a batch of one split into
# blocks of rows, a strided forward (strips) whose input gradient takes its stride phases, and a
# dilated kernel.
ROW_TILE_GEOMETRIES = [
    (3, 16, 14, 14, 20, 5, 5, 1, (2, 2, 2, 2), 1),
    (1, 17, 6, 15, 33, 3, 3, 1, (1, 1, 1, 1), 1),
    (2, 16, 5, 29, 16, 3, 4, 1, (1, 1, 1, 2), 1),
    (2, 16, 9, 30, 17, 3, 3, 2, (1, 1, 1, 1), 1),
    (1, 16, 8, 18, 18, 3, 3, 1, (2, 2, 2, 2), 2),
    # Kernel columns that skip more than the tile's two (7x7, padding 3), that read the border on
    # both sides of a row (1x15 on rows of 14), and none (no padding: rows of 14 from 16).
    (2, 16, 6, 14, 20, 7, 7, 1, (3, 3, 3, 3), 1),
    (1, 16, 3, 14, 17, 1, 15, 1, (0, 0, 7, 7), 1),
    (2, 16, 5, 16, 18, 3, 3, 1, (0, 0, 0, 0), 1),
]


@pytest.mark.parametrize("height, width, top, left, out_height, out_width, stride, dilation, kernel, "
                         "channels, strip", [
    (14, 14, 2, 2, 14, 14, 1, 1, 5, 32, 8), (14, 14, 1, 1, 14, 14, 1, 1, 3, 32, 8),
    (14, 14, 2, 2, 14, 14, 1, 1, 5, 32, 6), (9, 9, 1, 1, 5, 5, 2, 1, 3, 9, 8),
    (7, 7, 3, 3, 7, 7, 1, 1, 7, 3, 8), (8, 6, 2, 1, 8, 6, 1, 2, 3, 2, 4), (3, 3, 0, 0, 1, 1, 1, 1, 3, 1, 8),
    (5, 4, -1, 0, 3, 2, 1, 1, 1, 2, 4), (2, 2, 4, 4, 9, 9, 1, 1, 3, 1, 8)])
def test_weight_gradient_runs_cover_every_position_read(height, width, top, left, out_height,
                                                        out_width, stride, dilation, kernel,
                                                        channels, strip):
    """Each strip's runs of output rows and columns against those where one of its taps (ordered
    (p, q, c)) reads the image: from the first to past the last."""
    first_rows, stop_rows, first_columns, stop_columns = conv2d_module.weight_gradient_runs(
        height, width, top, left, out_height, out_width, stride, stride, dilation, dilation,
        kernel, kernel, channels, strip)
    taps = kernel * kernel * channels
    assert first_rows.shape == stop_rows.shape == first_columns.shape == (-(-taps // strip),)
    for index in range(first_rows.shape[0]):
        strip_taps = range(index * strip, min(taps, (index + 1) * strip))
        kernel_rows = {tap // (kernel * channels) for tap in strip_taps}
        kernel_columns = {tap // channels % kernel for tap in strip_taps}
        rows = [i for i in range(out_height)
                if any(top <= i * stride + p * dilation < top + height for p in kernel_rows)]
        columns = [j for j in range(out_width)
                   if any(left <= j * stride + q * dilation < left + width for q in kernel_columns)]
        assert (first_rows[index], stop_rows[index]) == ((rows[0], rows[-1] + 1) if rows else (0, 0))
        assert ((first_columns[index], stop_columns[index])
                == ((columns[0], columns[-1] + 1) if columns else (0, 0)))


@pytest.mark.parametrize("width, left, column_step, row_width, dilation, kernel_width", [
    (14, 2, 1, 14, 1, 5), (28, 2, 1, 28, 1, 5), (15, 1, 1, 15, 1, 3), (14, 3, 1, 14, 1, 7),
    (14, 7, 1, 14, 1, 15), (16, 0, 1, 14, 1, 3), (18, 2, 1, 18, 2, 3), (7, 2, 2, 14, 1, 4),
    (14, -1, 1, 14, 1, 3)])
def test_row_tile_column_skips_count_the_border(width, left, column_step, row_width, dilation,
                                                kernel_width):
    """Each tile's skips against a count of its positions that read left or right of the image's
    columns, clipped as the row tile's loops take them (1 or 2, one side only)."""
    if im2col_module.ROW_TILE == 0:
        pytest.skip("no row tile on this target")
    tile = im2col_module.ROW_TILE
    skips = conv2d_module.row_tile_column_skips(width, left, column_step, row_width, dilation,
                                                kernel_width)
    data = [left + j * column_step for j in range(width) if left + j * column_step >= 0]
    tiles = -(-row_width // tile)
    assert skips.shape == (tiles, kernel_width, 2)
    for t in range(tiles):
        first = min(t * tile, row_width - tile)
        for q in range(kernel_width):
            columns = [first + i + q * dilation for i in range(tile)]
            before = sum(column < data[0] for column in columns)
            after = sum(column > data[-1] for column in columns)
            expected = (min(before, 2), min(after, 2)) if before == 0 or after == 0 else (0, 0)
            assert tuple(skips[t, q]) == expected, (t, q)


@pytest.mark.parametrize("geometry", ROW_TILE_GEOMETRIES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_row_tiles_match_reference(geometry, dtype):
    x, weight, bias, grad_out = make_case(geometry, dtype)
    assert_close(run_kernels(geometry, x, weight, bias, grad_out),
                 reference(geometry, x, weight, bias, grad_out), dtype,
                 reduction_terms(x, weight, grad_out))


@pytest.mark.parametrize("geometry", ROW_TILE_GEOMETRIES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_row_tile_checked_twins_stay_in_bounds(checked_module, geometry, dtype):
    x, weight, bias, grad_out = make_case(geometry, dtype)
    results = run_kernels(geometry, x, weight, bias, grad_out, module=checked_module)
    assert_close(results, reference(geometry, x, weight, bias, grad_out), dtype,
                 reduction_terms(x, weight, grad_out))


# The register-tiled direct kernels (conv_direct.py: stride 1, few taps): output widths around one
# and two vectors (1..33 columns, float32 16 lanes, float64 8), heights 1..9, output channel counts
# that are no multiple of the 8-channel forward tile or the 4-channel gradient tile, kernels 1..5
# odd and even ("same" padding one more after than before for even kernels), one or two input
# channels, a dilated kernel, and batches that split into uneven gradient chunks.
DIRECT_GEOMETRIES = [
    (2, 1, 1, 1, 1, 1, 1, 1, (0, 0, 0, 0), 1),
    (3, 1, 9, 33, 33, 5, 5, 1, (2, 2, 2, 2), 1),
    (5, 1, 4, 16, 9, 4, 4, 1, (1, 2, 1, 2), 1),
    (1, 1, 7, 17, 7, 3, 3, 1, (1, 1, 1, 1), 1),
    (3, 2, 2, 15, 5, 2, 2, 1, (0, 1, 0, 1), 1),
    (2, 1, 6, 31, 3, 1, 5, 1, (0, 0, 2, 2), 1),
    (7, 1, 3, 8, 17, 5, 3, 1, (2, 2, 1, 1), 1),
    (2, 2, 5, 9, 4, 3, 3, 1, (2, 2, 2, 2), 2),
    (1, 1, 8, 2, 12, 5, 4, 1, (2, 2, 1, 2), 1),
    (3, 1, 5, 28, 32, 5, 5, 1, (2, 2, 2, 2), 1),
    (4, 1, 1, 32, 1, 1, 2, 1, (0, 0, 0, 1), 1),
]


def same_padding(kernel):
    """(top, bottom, left, right) of "same" padding: one more after than before when even."""
    return ((kernel - 1) // 2, kernel // 2) * 2


# Every output width from 1 to 33, with heights 1..9, ragged channel counts and kernels 1..5.
DIRECT_WIDTH_SWEEP = [
    (2, 1, height, width, out_channels, kernel, kernel, 1, same_padding(kernel), 1)
    for height, width, out_channels, kernel in zip(
        [1, 2, 3, 4, 5, 6, 7, 8, 9] * 4, range(1, 34),
        [1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 31, 33] * 3, [1, 2, 3, 4, 5] * 7)]


@pytest.fixture
def direct_weight_gradients(monkeypatch):
    """Every direct-eligible weight gradient on the direct kernel, whatever this ISA chooses
    (uses_direct_weight_gradient keeps it only below 16 output channels where vectors are
    narrower than AVX-512's), so the kernel is tested at every row count on every ISA."""
    def direct_when_eligible(stride_h, stride_w, dilation_w, rows, taps, kernel_size):
        return dilation_w == 1 and conv_choice_module.uses_direct(1, 1, stride_h, stride_w, rows, taps,
                                                             kernel_size)
    monkeypatch.setattr(conv_choice_module, "uses_direct_weight_gradient", direct_when_eligible)


def test_direct_weight_gradient_choice_by_isa():
    """The reference CNN's first layer (32 <- 1, 5x5): the direct weight gradient on AVX-512, the
    gathered sums on narrower vectors (measured: uses_direct_weight_gradient); 8 output channels
    take the direct kernel everywhere."""
    first_layer = conv_choice_module.uses_direct_weight_gradient(1, 1, 1, 32, 25, 25)
    assert first_layer == (conv_choice_module.VECTOR_BYTES == 64)
    assert conv_choice_module.uses_direct_weight_gradient(1, 1, 1, 8, 25, 25)
    assert not conv_choice_module.uses_direct_weight_gradient(1, 1, 2, 8, 25, 25)  # column dilation


@pytest.mark.usefixtures("direct_weight_gradients")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", DIRECT_GEOMETRIES + DIRECT_WIDTH_SWEEP)
def test_direct_kernels_match_reference(geometry, dtype):
    channels, kernel_h, kernel_w, out_channels = geometry[1], geometry[5], geometry[6], geometry[4]
    assert conv_choice_module.uses_direct(1, 1, 1, 1, out_channels, channels * kernel_h * kernel_w, kernel_h * kernel_w)
    x, weight, bias, grad_out = make_case(geometry, dtype)
    results = run_kernels(geometry, x, weight, bias, grad_out)
    assert_close(results, reference(geometry, x, weight, bias, grad_out), dtype,
                 reduction_terms(x, weight, grad_out))


@pytest.mark.usefixtures("direct_weight_gradients")
@pytest.mark.parametrize("geometry", DIRECT_GEOMETRIES)
def test_direct_checked_twins_stay_in_bounds(checked_module, geometry):
    for dtype in DTYPES:
        x, weight, bias, grad_out = make_case(geometry, dtype)
        results = run_kernels(geometry, x, weight, bias, grad_out, module=checked_module)
        assert_close(results, reference(geometry, x, weight, bias, grad_out), dtype,
                     reduction_terms(x, weight, grad_out))


@pytest.mark.usefixtures("direct_weight_gradients")
def test_direct_weight_gradient_of_an_infinite_input_is_not_nan():
    """The direct kernel's loads past the output width are masked on both sides: an inf in an
    input column that only discarded lanes would read never meets a zero."""
    geometry = (2, 1, 6, 20, 5, 5, 5, 1, (2, 2, 2, 2), 1)
    x, weight, _, grad_out = make_case(geometry, np.float32)
    grad_out = np.abs(grad_out) + np.float32(0.5)
    x[1, 0, 3, 19] = np.inf
    grad_weight = np.full(weight.shape, np.nan, np.float32)
    conv2d_module.conv2d_backward_weight(x, grad_out, 1, 1, 2, 2, 1, 1, grad_weight)
    assert not np.isnan(grad_weight).any()
    # Column 19 is read by taps q = 2..4 at j = 17..19 and by every tap row (output rows 1..5).
    assert np.isinf(grad_weight[:, 0, :, 2:]).all()
    assert np.isfinite(grad_weight[:, 0, :, :2]).all()


@pytest.mark.usefixtures("direct_weight_gradients")
def test_direct_results_do_not_depend_on_the_thread_count():
    numba = pytest.importorskip("numba")
    geometry = (9, 1, 7, 28, 13, 5, 5, 1, (2, 2, 2, 2), 1)
    x, weight, bias, grad_out = make_case(geometry, np.float32)
    results = []
    for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
        numba.set_num_threads(threads)
        try:
            results.append(run_kernels(geometry, x, weight, bias, grad_out))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for first, other in zip(results[0], results[-1]):
        np.testing.assert_array_equal(first, other)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 5, 7, 2), (100, 32, 28, 28), (2, 33, 3, 17)])
def test_bias_gradient_is_the_sum_over_images_and_positions(dtype, shape):
    grad_out = np.random.default_rng(sum(shape)).standard_normal(shape).astype(dtype)
    planes = grad_out.reshape(shape[0], shape[1], -1)
    expected = grad_out.astype(np.float64).sum(axis=(0, 2, 3))
    for kernel in (conv2d_module.conv2d_backward_bias, checked_twin(conv2d_module.conv2d_backward_bias)):
        grad_bias = np.empty(shape[1], dtype=dtype)
        kernel(planes, grad_bias)
        rtol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(grad_bias, expected, rtol=rtol, atol=rtol * np.abs(grad_out).sum() / shape[1])


# spread_into's rows go out as whole vectors, the last one's lanes past the row zero and its
# overhang written over the zero border or a later row (written after it). Rows of every length
# around a vector's (float64 on AVX-512 is 8 lanes, float32 on AVX2 8 too), padding on either side
# or negative (cropped, above and left or below and right), the last row's overhang at the
# buffer's end: the result is the plain-indexing placement, border still zero, and the bounds-checked twin
# stays in bounds.
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("width", [1, 3, 7, 8, 9, 14, 16, 17, 28, 33])
@pytest.mark.parametrize("top, left, padded_extra", [(1, 1, 2), (0, 0, 0), (2, 3, 5), (-1, -2, 0),
                                                   (1, 0, 1), (0, 1, 1), (-2, 4, -4)])
def test_spread_into_places_rows_and_keeps_the_border_zero(dtype, width, top, left, padded_extra):
    rng = np.random.default_rng(width)
    channels, height = 3, 4
    source = rng.standard_normal((channels, height, width)).astype(dtype)
    padded_height = max(1, top + height + padded_extra)
    padded_width = max(1, left + width + padded_extra)
    expected = np.zeros((channels, padded_height, padded_width), dtype)
    for i in range(height):
        for j in range(width):
            row, column = top + i, left + j
            if 0 <= row < padded_height and 0 <= column < padded_width:
                expected[:, row, column] = source[:, i, j]
    for spread in (im2col_module.spread_into, checked_twin(im2col_module.spread_into)):
        target = np.zeros_like(expected)
        spread(source, top, left, target)
        spread(source, top, left, target)  # a second image on the same buffer
        np.testing.assert_array_equal(target, expected)
