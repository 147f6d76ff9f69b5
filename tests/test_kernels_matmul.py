"""The CPU matmul kernels against NumPy in float64, over edge shapes, layouts and their checked twins.

Shapes are chosen around the kernel's structure: shared dimensions on both sides of the
outer-product cut-off and longer than one depth slab, column counts on both sides of the narrow
cut-off, row and column counts that are not whole tiles, chunks or blocks. Each new combination of array layouts compiles the kernels again, so layouts are
covered by a handful of combinations rather than all of them.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad.kernels.cpu.matmul as matmul_module
from minigrad.kernels.cpu.matmul import batched_matmul, matmul
from minigrad.kernels.cpu.preset import checked_twin

DTYPES = [np.float32, np.float64]
EDGE_SIZES = [1, 7, 17, 33, 65, 100, 129, 300]
# 128 and 129 straddle the outer-product cut-off (taken when b has at least as many columns as
# steps, so the column counts below send short depths down both paths); 1100 spans two float32
# and three float64 slabs.
DEPTHS = [1, 7, 33, 65, 128, 129, 300, 1100]
# Pairs of (a, b) layouts: every layout on both sides, in few pairs (each pair compiles anew).
LAYOUT_PAIRS = [("C", "C"), ("F", "C"), ("C", "transposed"), ("strided", "strided"),
                ("transposed", "F")]


def make_matrix(shape, dtype, layout, generator):
    """A (rows, columns) matrix with the requested memory layout, values in [-1, 1)."""
    rows, columns = shape
    if layout == "C":
        return generator.uniform(-1, 1, shape).astype(dtype)
    if layout == "F":
        return np.asfortranarray(generator.uniform(-1, 1, shape).astype(dtype))
    if layout == "strided":
        parent = generator.uniform(-1, 1, (2 * rows, 3 * columns)).astype(dtype)
        return parent[::2, ::3]
    if layout == "transposed":
        return generator.uniform(-1, 1, (columns, rows)).astype(dtype).T
    raise ValueError(layout)


def run_matmul(kernel, a, b):
    out = np.full((a.shape[0], b.shape[1]), np.nan, a.dtype)
    kernel(a, b, out)
    return out


def assert_matches_reference(out, a, b):
    reference = a.astype(np.float64) @ b.astype(np.float64)
    depth = max(a.shape[1], 1)
    # Rounding grows with the number of terms summed; inputs are in [-1, 1).
    epsilon = np.finfo(a.dtype).eps
    np.testing.assert_allclose(out, reference, rtol=100 * epsilon, atol=4 * epsilon * depth,
                               equal_nan=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("rows, columns", [(1, 1), (7, 17), (33, 1), (65, 100), (129, 300),
                                           (300, 7)])
def test_matmul_edge_shapes(rows, depth, columns, dtype):
    generator = np.random.default_rng(rows * 10_000 + depth * 100 + columns)
    a = make_matrix((rows, depth), dtype, "C", generator)
    b = make_matrix((depth, columns), dtype, "C", generator)
    assert_matches_reference(run_matmul(matmul, a, b), a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("a_layout, b_layout", LAYOUT_PAIRS)
@pytest.mark.parametrize("rows, depth, columns", [(1, 1, 1), (17, 33, 7), (100, 65, 33),
                                                  (129, 300, 65), (65, 1100, 100)])
def test_matmul_layouts(rows, depth, columns, a_layout, b_layout, dtype):
    generator = np.random.default_rng(rows + depth + columns)
    a = make_matrix((rows, depth), dtype, a_layout, generator)
    b = make_matrix((depth, columns), dtype, b_layout, generator)
    assert_matches_reference(run_matmul(matmul, a, b), a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_empty_shared_dimension_gives_zeros(dtype):
    out = run_matmul(matmul, np.ones((5, 0), dtype), np.ones((0, 3), dtype))
    np.testing.assert_array_equal(out, np.zeros((5, 3)))


@pytest.mark.parametrize("a_layout", ["C", "F"])
@pytest.mark.parametrize("depth, columns", [(7, 9), (7, 40), (300, 9), (300, 40)])
def test_matmul_propagates_inf_and_nan(depth, columns, a_layout):
    """inf * 0 is NaN and NaN spreads along its row and column, exactly as NumPy does;
    padding of edge tiles must not leak NaN into finite outputs."""
    generator = np.random.default_rng(depth)
    a = make_matrix((10, depth), np.float64, a_layout, generator)
    b = generator.uniform(-1, 1, (depth, columns))
    a[2, 3] = np.inf
    b[3, 4] = 0.0
    a[5, 1] = np.nan
    b[depth - 1, columns - 1] = -np.inf
    out = run_matmul(matmul, a, b)
    with np.errstate(invalid="ignore"):
        assert_matches_reference(out, a, b)
        assert np.isfinite(out).sum() == np.isfinite(a @ b).sum()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("a_layout, b_layout", LAYOUT_PAIRS)
@pytest.mark.parametrize("rows, depth, columns", [(1, 1, 1), (1, 784, 15), (5, 3, 16), (127, 17, 1),
                                                  (128, 100, 10), (129, 65, 15), (300, 1100, 3),
                                                  (257, 7, 17)])
def test_matmul_narrow_paths(rows, depth, columns, a_layout, b_layout, dtype):
    """Few output columns: the dot-product path (a's rows read as lines) and the transposed
    outer-product path (a's columns contiguous: the F and transposed layouts), around the
    column cut-off, whole and partial row chunks and depths that are no whole vector."""
    generator = np.random.default_rng(rows * depth + columns)
    a = make_matrix((rows, depth), dtype, a_layout, generator)
    b = make_matrix((depth, columns), dtype, b_layout, generator)
    assert_matches_reference(run_matmul(matmul, a, b), a, b)


def test_mnist_shapes_and_backward_views():
    """The softmax-regression and CNN shapes, forward and the transposed backward products."""
    generator = np.random.default_rng(0)
    for batch, features, units in [(100, 784, 10), (100, 3136, 1024)]:
        x = generator.uniform(-1, 1, (batch, features)).astype(np.float32)
        weight = generator.uniform(-1, 1, (features, units)).astype(np.float32)
        grad_y = generator.uniform(-1, 1, (batch, units)).astype(np.float32)
        assert_matches_reference(run_matmul(matmul, x, weight), x, weight)
        assert_matches_reference(run_matmul(matmul, x.T, grad_y), x.T, grad_y)
        assert_matches_reference(run_matmul(matmul, grad_y, weight.T), grad_y, weight.T)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batched_matmul_with_broadcast_batches(dtype):
    """Batch stride 0 (np.broadcast_to) on either side, transposed and strided items."""
    generator = np.random.default_rng(1)
    batch, rows, depth, columns = 3, 17, 70, 33
    a = generator.uniform(-1, 1, (batch, rows, 2 * depth)).astype(dtype)[:, :, ::2]
    b = generator.uniform(-1, 1, (batch, depth, columns)).astype(dtype)
    shared_a = np.broadcast_to(a[0], a.shape)
    shared_b = np.broadcast_to(b[0], b.shape)
    transposed_b = np.ascontiguousarray(b.transpose(0, 2, 1)).transpose(0, 2, 1)[:, :, ::1]
    # Read-only like the broadcasts, so all operands share one Numba type (read-only, layout
    # 'A') and the kernel compiles once per dtype.
    a.flags.writeable = False
    transposed_b.flags.writeable = False
    for left, right in [(shared_a, transposed_b), (a, shared_b), (shared_a, shared_b)]:
        out = np.full((batch, rows, columns), np.nan, dtype)
        batched_matmul(left, right, out)
        for index in range(batch):
            assert_matches_reference(out[index], left[index], right[index])


CHECKED_HELPERS = ["round_up", "pack_strips", "micro_kernel", "store_tile",
                   "outer_product_matmul", "blocked_matmul", "narrow_matmul",
                   "transposed_narrow_matmul", "matmul"]


def strided_view(shape, lines_adjacent, generator, unit_row_stride=False):
    """A float64 (rows, columns) view that is neither C- nor F-contiguous (Numba layout 'A').

    ``lines_adjacent`` puts consecutive rows closer in memory than consecutive columns, which
    sends the packing through its transposing path; ``unit_row_stride`` makes them adjacent
    elements, which sends few-column products through the transposed narrow path.
    """
    rows, columns = shape
    if unit_row_stride:
        return generator.uniform(-1, 1, (2 * columns, rows))[::2].T
    if lines_adjacent:
        return generator.uniform(-1, 1, (columns, 2 * rows))[:, ::2].T
    return generator.uniform(-1, 1, (rows, 2 * columns))[:, ::2]


@pytest.fixture(scope="module")
def checked():
    """The serial bounds-checked twin of matmul, calling checked helpers.

    A kernel binds the helpers it calls when it compiles, so the module's helpers are swapped for
    their twins while the twins compile for the one signature the tests use (float64 arrays of
    layout 'A'), then put back.
    """
    patch = pytest.MonkeyPatch()
    for name in CHECKED_HELPERS:
        patch.setattr(matmul_module, name, checked_twin(getattr(matmul_module, name)))
    twin_matmul = matmul_module.matmul
    generator = np.random.default_rng(2)
    try:
        # One call types, and so compiles, every path for the signature.
        a = strided_view((5, 3), True, generator)
        b = strided_view((3, 3), False, generator)
        twin_matmul(a, b, np.empty((5, 3)))
    finally:
        patch.undo()
    return twin_matmul


@pytest.mark.parametrize("rows, depth, columns", [(1, 1, 1), (5, 7, 3), (6, 6, 9), (9, 65, 70),
                                                  (7, 64, 9), (13, 1100, 6), (33, 129, 17),
                                                  (129, 5, 15), (300, 67, 16), (2, 33, 40)])
def test_checked_twins_stay_in_bounds(checked, rows, depth, columns):
    """Edge shapes through the serial bounds-checked kernels: no IndexError, same results.

    (batched_matmul is a Python loop over matmul: the parallel kernels are what need the twin.)
    """
    twin_matmul = checked
    generator = np.random.default_rng(rows + depth + columns)
    for a_adjacent, b_adjacent, a_unit in [(False, False, False), (True, True, False),
                                           (False, True, False), (False, False, True)]:
        a = strided_view((rows, depth), a_adjacent, generator, a_unit)
        b = strided_view((depth, columns), b_adjacent, generator)
        out = run_matmul(twin_matmul, a, b)
        assert_matches_reference(out, a, b)
        np.testing.assert_allclose(out, run_matmul(matmul, a, b), rtol=1e-12, atol=1e-12)
        batched_out = np.full((1, rows, columns), np.nan)
        batched_matmul(a[None], b[None], batched_out)
        np.testing.assert_allclose(batched_out[0], out, rtol=1e-12, atol=1e-12)


@settings(deadline=None, max_examples=30)
@given(rows=st.integers(1, 70), depth=st.integers(0, 200), columns=st.integers(1, 70),
       layouts=st.sampled_from(LAYOUT_PAIRS), seed=st.integers(0, 2**16))
def test_matmul_random_shapes(rows, depth, columns, layouts, seed):
    a_layout, b_layout = layouts
    generator = np.random.default_rng(seed)
    a = make_matrix((rows, depth), np.float32, a_layout, generator)
    b = make_matrix((depth, columns), np.float32, b_layout, generator)
    assert_matches_reference(run_matmul(matmul, a, b), a, b)
