"""The pooling kernels against a NumPy loop reference, PyTorch and their bounds-checked twins."""
import functools
import itertools

import numpy as np
import pytest

from minigrad.kernels.cpu import pool
from minigrad.kernels.cpu.preset import checked_twin as uncached_checked_twin

# One compilation per kernel for the whole module, not one per test case.
checked_twin = functools.cache(uncached_checked_twin)
TOLERANCES = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}
DTYPES = [np.float32, np.float64]


def output_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def window_cells(oh, ow, height, width, geometry):
    """The in-bounds (row, column) cells of one window, in row-major order."""
    kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w = geometry
    rows = range(max(oh * stride_h - pad_h, 0), min(oh * stride_h - pad_h + kernel_h, height))
    columns = range(max(ow * stride_w - pad_w, 0), min(ow * stride_w - pad_w + kernel_w, width))
    return list(itertools.product(rows, columns))


def output_shape(shape, geometry):
    kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w = geometry
    return shape[:2] + (output_size(shape[2], kernel_h, stride_h, pad_h),
                        output_size(shape[3], kernel_w, stride_w, pad_w))


def reference_max(x, geometry):
    """Max pooling in float64: a strict > keeps the first of equal cells, a NaN is always taken."""
    x = x.astype(np.float64)
    out = np.empty(output_shape(x.shape, geometry))
    indices = np.empty(out.shape, np.int64)
    height, width = x.shape[2:]
    for n, c, oh, ow in np.ndindex(out.shape):
        cells = window_cells(oh, ow, height, width, geometry)
        best, best_index = -np.inf, cells[0][0] * width + cells[0][1]
        for row, column in cells:
            value = x[n, c, row, column]
            if value > best or np.isnan(value):
                best, best_index = value, row * width + column
        out[n, c, oh, ow], indices[n, c, oh, ow] = best, best_index
    return out, indices


def reference_max_backward(grad_out, indices, input_shape):
    """Scatter-add of grad_out at the recorded flat indices of each plane."""
    grad_x = np.zeros(input_shape)
    planes = grad_x.reshape(input_shape[0], input_shape[1], -1)
    for n, c, oh, ow in np.ndindex(grad_out.shape):
        planes[n, c, indices[n, c, oh, ow]] += grad_out[n, c, oh, ow]
    return grad_x


def reference_avg(x, geometry, count_include_pad):
    x = x.astype(np.float64)
    out = np.empty(output_shape(x.shape, geometry))
    height, width = x.shape[2:]
    for n, c, oh, ow in np.ndindex(out.shape):
        cells = window_cells(oh, ow, height, width, geometry)
        divisor = geometry[0] * geometry[1] if count_include_pad else len(cells)
        out[n, c, oh, ow] = sum(x[n, c, row, column] for row, column in cells) / divisor
    return out


def reference_avg_backward(grad_out, geometry, count_include_pad, input_shape):
    grad_x = np.zeros(input_shape)
    height, width = input_shape[2:]
    for n, c, oh, ow in np.ndindex(grad_out.shape):
        cells = window_cells(oh, ow, height, width, geometry)
        divisor = geometry[0] * geometry[1] if count_include_pad else len(cells)
        for row, column in cells:
            grad_x[n, c, row, column] += grad_out[n, c, oh, ow] / divisor
    return grad_x


def run_max(x, geometry, forward=pool.max_pool2d_forward):
    out = np.full(output_shape(x.shape, geometry), np.nan, x.dtype)
    indices = np.full(out.shape, -1, np.int64)
    forward(x, *geometry, out, indices)
    return out, indices


def run_max_backward(grad_out, indices, input_shape, backward=pool.max_pool2d_backward):
    grad_x = np.full(input_shape, np.nan, grad_out.dtype)
    backward(grad_out, indices, grad_x)
    return grad_x


def run_avg(x, geometry, count_include_pad, forward=pool.avg_pool2d_forward):
    out = np.full(output_shape(x.shape, geometry), np.nan, x.dtype)
    forward(x, *geometry, count_include_pad, out)
    return out


def run_avg_backward(grad_out, geometry, count_include_pad, input_shape,
                     backward=pool.avg_pool2d_backward):
    grad_x = np.full(input_shape, np.nan, grad_out.dtype)
    backward(grad_out, *geometry, count_include_pad, grad_x)
    return grad_x


def random_array(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# (kernel, stride, padding) with padding <= kernel / 2, as the engine enforces; stride < kernel
# overlaps windows, stride > kernel leaves gaps between them.
GEOMETRIES = [(kernel, stride, padding) for kernel in (1, 2, 3) for stride in (1, 2, 3)
              for padding in (0, 1) if 2 * padding <= kernel]
# Sizes that are not multiples of the strides, so windows are left over at the edges.
SHAPES = [(1, 1, 5, 7), (3, 2, 8, 6), (1, 3, 7, 9)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel, stride, padding", GEOMETRIES)
@pytest.mark.parametrize("shape", SHAPES)
def test_max_pool_matches_reference(dtype, kernel, stride, padding, shape):
    geometry = (kernel, kernel, stride, stride, padding, padding)
    x = random_array(shape, dtype)
    out, indices = run_max(x, geometry)
    expected_out, expected_indices = reference_max(x, geometry)
    np.testing.assert_array_equal(out, expected_out.astype(dtype))
    np.testing.assert_array_equal(indices, expected_indices)
    grad_out = random_array(out.shape, dtype, seed=1)
    np.testing.assert_allclose(run_max_backward(grad_out, indices, shape),
                               reference_max_backward(grad_out, indices, shape),
                               **TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel, stride, padding", GEOMETRIES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_matches_reference(dtype, kernel, stride, padding, shape, count_include_pad):
    geometry = (kernel, kernel, stride, stride, padding, padding)
    x = random_array(shape, dtype)
    np.testing.assert_allclose(run_avg(x, geometry, count_include_pad),
                               reference_avg(x, geometry, count_include_pad), **TOLERANCES[dtype])
    grad_out = random_array(output_shape(shape, geometry), dtype, seed=1)
    np.testing.assert_allclose(run_avg_backward(grad_out, geometry, count_include_pad, shape),
                               reference_avg_backward(grad_out, geometry, count_include_pad, shape),
                               **TOLERANCES[dtype])


# Rectangular windows, strides and paddings: a swapped height and width would show here.
RECTANGULAR = [(2, 3, 1, 2, 1, 0), (3, 1, 2, 1, 0, 0), (3, 2, 3, 1, 1, 1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", RECTANGULAR)
def test_rectangular_geometry(dtype, geometry):
    shape = (2, 3, 7, 8)
    x = random_array(shape, dtype)
    out, indices = run_max(x, geometry)
    expected_out, expected_indices = reference_max(x, geometry)
    np.testing.assert_array_equal(out, expected_out.astype(dtype))
    np.testing.assert_array_equal(indices, expected_indices)
    for count_include_pad in (True, False):
        np.testing.assert_allclose(run_avg(x, geometry, count_include_pad),
                                   reference_avg(x, geometry, count_include_pad),
                                   **TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 1, 1), (3, 2, 1)])
def test_ties_pick_the_first_cell(dtype, kernel, stride, padding):
    geometry = (kernel, kernel, stride, stride, padding, padding)
    x = np.full((2, 2, 7, 6), 0.5, dtype)
    out, indices = run_max(x, geometry)
    np.testing.assert_array_equal(out, 0.5)
    np.testing.assert_array_equal(indices, reference_max(x, geometry)[1])
    # The first in-bounds cell of each window: its top-left corner, clipped to the plane.
    rows = np.maximum(np.arange(out.shape[2]) * stride - padding, 0)
    columns = np.maximum(np.arange(out.shape[3]) * stride - padding, 0)
    np.testing.assert_array_equal(indices[0, 0], rows[:, None] * 6 + columns[None, :])


@pytest.mark.parametrize("dtype", DTYPES)
def test_non_contiguous_inputs(dtype):
    geometry = (3, 2, 2, 1, 1, 1)
    x = np.asfortranarray(random_array((3, 4, 9, 16), dtype))[:, 1:, :, ::2]
    out, indices = run_max(x, geometry)
    expected_out, expected_indices = reference_max(x, geometry)
    np.testing.assert_array_equal(out, expected_out.astype(dtype))
    np.testing.assert_array_equal(indices, expected_indices)
    grad_out = np.asfortranarray(random_array(out.shape, dtype, seed=1))
    np.testing.assert_allclose(run_max_backward(grad_out, indices, x.shape),
                               reference_max_backward(grad_out, indices, x.shape),
                               **TOLERANCES[dtype])
    np.testing.assert_allclose(run_avg(x, geometry, False), reference_avg(x, geometry, False),
                               **TOLERANCES[dtype])
    np.testing.assert_allclose(run_avg_backward(grad_out, geometry, False, x.shape),
                               reference_avg_backward(grad_out, geometry, False, x.shape),
                               **TOLERANCES[dtype])


def torch_pools(x, geometry, count_include_pad):
    """PyTorch's max (with indices) and avg pools of x and the gradients of sum(grad_out * pool)."""
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w = geometry
    arguments = dict(kernel_size=(kernel_h, kernel_w), stride=(stride_h, stride_w),
                     padding=(pad_h, pad_w))
    torch_x = torch.from_numpy(x).requires_grad_()
    max_out, indices = functional.max_pool2d(torch_x, return_indices=True, **arguments)
    avg_out = functional.avg_pool2d(torch_x, count_include_pad=count_include_pad, **arguments)
    grad_out = random_array(tuple(max_out.shape), x.dtype, seed=1)
    (max_grad,) = torch.autograd.grad(max_out, torch_x, torch.from_numpy(grad_out))
    (avg_grad,) = torch.autograd.grad(avg_out, torch_x, torch.from_numpy(grad_out))
    return (grad_out, max_out.detach().numpy(), indices.numpy(), max_grad.numpy(),
            avg_out.detach().numpy(), avg_grad.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", [(2, 2, 2, 2, 0, 0), (3, 3, 1, 1, 1, 1), (3, 3, 2, 2, 1, 1),
                                      (2, 3, 1, 2, 1, 1), (2, 2, 3, 3, 0, 0)])
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_matches_pytorch(dtype, geometry, count_include_pad):
    x = random_array((3, 2, 11, 10), dtype)
    grad_out, max_out, indices, max_grad, avg_out, avg_grad = torch_pools(
        x, geometry, count_include_pad)
    out, our_indices = run_max(x, geometry)
    np.testing.assert_array_equal(out, max_out)
    np.testing.assert_array_equal(our_indices, indices)
    np.testing.assert_allclose(run_max_backward(grad_out, our_indices, x.shape), max_grad,
                               **TOLERANCES[dtype])
    np.testing.assert_allclose(run_avg(x, geometry, count_include_pad), avg_out,
                               **TOLERANCES[dtype])
    np.testing.assert_allclose(run_avg_backward(grad_out, geometry, count_include_pad, x.shape),
                               avg_grad, **TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", [(2, 2, 2, 2, 0, 0), (3, 3, 1, 1, 1, 1)])
def test_ties_and_nan_match_pytorch(dtype, geometry):
    x = np.round(random_array((2, 2, 8, 9), dtype))  # many equal values inside windows
    x[0, 0, 1, 1] = x[1, 1, 4, 5] = x[1, 1, 5, 4] = x[0, 1, 0, 0] = np.nan
    x[1, 0, 2:5, 2:5] = -np.inf
    _, max_out, indices, *_ = torch_pools(x, geometry, True)
    out, our_indices = run_max(x, geometry)
    np.testing.assert_array_equal(out, max_out)
    assert np.isnan(out).any()
    np.testing.assert_array_equal(our_indices, indices)
    np.testing.assert_array_equal(our_indices, reference_max(x, geometry)[1])


# Edge shapes: a single cell, a window as large as the padded plane, one output per plane.
EDGE_CASES = [((1, 1, 1, 1), (1, 1, 1, 1, 0, 0)), ((2, 1, 1, 1), (2, 2, 1, 1, 1, 1)),
              ((1, 2, 3, 2), (3, 2, 3, 2, 0, 0)), ((1, 1, 2, 5), (2, 3, 1, 3, 1, 1)),
              ((2, 3, 5, 5), (2, 2, 2, 2, 0, 0)), ((1, 1, 3, 3), (3, 3, 5, 5, 1, 1))]


def checked_max_forward(x, *arguments):
    """max_pool2d_forward's choice, on the twins of the kernel it chooses."""
    out, indices = arguments[-2:]
    if pool.is_two_by_two(*arguments[:-2]):
        checked_twin(pool.max_pool2x2_forward)(x, out, indices)
    else:
        checked_twin(pool.max_pool_general_forward)(x, *arguments)


@pytest.mark.parametrize("shape, geometry", EDGE_CASES)
def test_checked_twins_stay_in_bounds(shape, geometry):
    x = random_array(shape, np.float64)
    out, indices = run_max(x, geometry, checked_max_forward)
    expected_out, expected_indices = reference_max(x, geometry)
    np.testing.assert_array_equal(out, expected_out)
    np.testing.assert_array_equal(indices, expected_indices)
    grad_out = random_array(out.shape, np.float64, seed=1)
    np.testing.assert_allclose(
        run_max_backward(grad_out, indices, shape, checked_twin(pool.max_pool_backward_planes)),
        reference_max_backward(grad_out, indices, shape))
    np.testing.assert_allclose(run_avg(x, geometry, False, checked_twin(pool.avg_pool2d_forward)),
                               reference_avg(x, geometry, False))
    np.testing.assert_allclose(
        run_avg_backward(grad_out, geometry, True, shape, checked_twin(pool.avg_pool2d_backward)),
        reference_avg_backward(grad_out, geometry, True, shape))


@pytest.mark.parametrize("shape, geometry", EDGE_CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_checked_twins_of_plane_helpers(shape, geometry, count_include_pad):
    """The general serial helpers, on the last plane only: the others must stay untouched."""
    x = random_array(shape, np.float64)
    n, c = shape[0] - 1, shape[1] - 1
    out, indices = run_max(x, geometry, lambda x, *arguments: checked_twin(pool.max_pool_plane)(
        x, n, c, *arguments))
    expected_out, expected_indices = reference_max(x, geometry)
    np.testing.assert_array_equal(out[n, c], expected_out[n, c])
    np.testing.assert_array_equal(indices[n, c], expected_indices[n, c])
    assert np.isnan(out).sum() == out.size - out[n, c].size
    out = run_avg(x, geometry, count_include_pad,
                  lambda x, *arguments: checked_twin(pool.avg_pool_plane)(x, n, c, *arguments))
    np.testing.assert_allclose(out[n, c], reference_avg(x, geometry, count_include_pad)[n, c])
    grad_out = random_array(out.shape, np.float64, seed=1)
    grad_x = run_avg_backward(
        grad_out, geometry, count_include_pad, shape,
        lambda grad_out, *arguments: checked_twin(pool.avg_pool_plane_backward)(
            grad_out, n, c, *arguments))
    expected_grad = reference_avg_backward(grad_out, geometry, count_include_pad, shape)
    np.testing.assert_allclose(grad_x[n, c], expected_grad[n, c])


def test_checked_twins_of_scalar_helpers():
    assert checked_twin(pool.window_bounds)(0, 2, 1, 3, 5) == (0, 2)
    assert checked_twin(pool.window_bounds)(2, 2, 1, 3, 5) == (3, 5)
    assert checked_twin(pool.window_divisor)(0, 2, 1, 3, 3, 3, True) == 9
    assert checked_twin(pool.window_divisor)(0, 2, 1, 3, 3, 3, False) == 4
    assert not checked_twin(pool.is_two_by_two)(2, 2, 2, 2, 1, 1)


# --- the 2x2 stride-2 pool by vectors -------------------------------------------------------------
# Rows a vector wide, around it and across two: 16 float32 lanes on AVX-512, 8 on AVX2, 4 on SSE;
# odd widths and heights leave a last column or row in no window.
VECTOR_WIDTHS = [1, 2, 3, 7, 8, 9, 14, 15, 16, 17, 28, 31, 32, 33, 34, 64, 65]


@pytest.fixture(scope="module")
def checked_pool():
    """The pool module with the 2x2 kernels and every helper they call swapped for the serial
    bounds-checked twins (the twins of the entry kernels bind the swapped helpers when they first
    compile, after the swap)."""
    patch = pytest.MonkeyPatch()
    for name in ("max_pool2x2_plane", "max_pool2x2_plane_backward", "store_interleaved",
                 "scatter_plane"):
        patch.setattr(pool, name, checked_twin(getattr(pool, name)))
    for name in ("max_pool2x2_forward", "max_pool_backward_planes"):
        patch.setattr(pool, name, checked_twin(getattr(pool, name)))
    yield pool
    patch.undo()


def special_values(x, seed):
    """x with ties, NaNs, infinities and signed zeros strewn over it."""
    rng = np.random.default_rng(seed)
    x = np.round(x)
    flat = x.reshape(-1)
    for value in (np.nan, np.inf, -np.inf, -0.0, 0.0):
        flat[rng.integers(0, flat.size, max(1, flat.size // 20))] = value
    return x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("width", VECTOR_WIDTHS)
@pytest.mark.parametrize("height", [1, 2, 3, 6])
def test_two_by_two_by_vectors(dtype, width, height, checked_pool):
    """max_pool2x2_forward and the block backward against the references, natively and as the
    bounds-checked twins, values with ties and non-finite cells included."""
    geometry = (2, 2, 2, 2, 0, 0)
    shape = (2, 3, height, width)
    for x in (random_array(shape, dtype), special_values(random_array(shape, dtype), width)):
        expected_out, expected_indices = reference_max(x, geometry)
        grad_out = random_array(expected_out.shape, dtype, seed=1)
        expected_grad = reference_max_backward(grad_out, expected_indices, shape)
        for module in (pool, checked_pool):
            out, indices = run_max(x, geometry, module.max_pool2d_forward)
            np.testing.assert_array_equal(out, expected_out.astype(dtype))
            np.testing.assert_array_equal(indices, expected_indices)
            grad_x = run_max_backward(grad_out, indices, shape, module.max_pool2d_backward)
            np.testing.assert_allclose(grad_x, expected_grad, **TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("width", [6, 14, 28, 34])
def test_backward_of_overlapping_windows_that_halve_the_plane(dtype, width, checked_pool):
    """3x3 stride 2 padding 1 and 4x4 stride 2 padding 1 halve an even plane as 2x2 does, but their
    indices leave the 2x2 blocks and cells take several windows' gradients: the backward must see
    it from the indices (every plane here, one plane only, and a gradient of NaN, inf or zero at
    an index outside its block) and scatter."""
    shape = (2, 3, 8, width)
    x = random_array(shape, dtype)
    for geometry in [(3, 3, 2, 2, 1, 1), (4, 4, 2, 2, 1, 1)]:
        _, indices = reference_max(x, geometry)
        assert indices.shape[2:] == (4, width // 2)
        for case in range(4):
            plane_indices = indices.copy()
            grad_out = random_array(indices.shape, dtype, seed=case)
            if case > 0:  # one plane of overlapping windows, the others 2x2 blocks
                plane_indices[:] = reference_max(x, (2, 2, 2, 2, 0, 0))[1]
                plane_indices[1, 2] = indices[1, 2]
                outside = np.argwhere(plane_indices[1, 2] // width // 2 != np.arange(4)[:, None])
                grad_out[1, 2][tuple(outside[0])] = (np.nan, np.inf, 0.0)[case - 1]
            expected = reference_max_backward(grad_out, plane_indices, shape)
            for module in (pool, checked_pool):
                grad_x = run_max_backward(grad_out, plane_indices, shape, module.max_pool2d_backward)
                np.testing.assert_allclose(grad_x, expected, **TOLERANCES[dtype])
