"""The CPU matmul kernels against NumPy in float64: edge shapes, layouts, their checked twins.

Shapes are chosen around the kernels' structure: row counts that are not whole 6- or 8-row tiles,
column counts on both sides of the narrow cut-offs (16 columns, and one 2-vector float32 tile)
and not whole tiles, depths that are not whole lanes x lanes transposed blocks and span one, two or
more slabs of k (accumulated into out), and thread counts with fewer column strips than threads.
Each new combination of array layouts compiles the kernels again, so layouts are covered by a
handful of combinations rather than all of them.
"""
import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad.kernels.cpu.matmul as matmul_module
import minigrad.kernels.cpu.matmul_narrow as matmul_narrow_module
from minigrad.kernels.cpu import simd, simd_lanes
from minigrad.kernels.cpu.matmul import batched_matmul, matmul
from minigrad.kernels.cpu.preset import FASTMATH_FLAGS, checked_twin

DTYPES = [np.float32, np.float64]
# 256 is one whole slab of k, 257 and 300 two, 1100 five (evened out).
DEPTHS = [1, 7, 17, 33, 127, 256, 257, 300, 1100]
# Pairs of (a, b) layouts: every layout on both sides, in few pairs (each pair compiles anew).
# b's rows contiguous (C) is packed by row pieces, b's columns contiguous (F, transposed) by
# transposed blocks, a b with neither (strided) copied by matmul first; a's columns contiguous (F,
# transposed) takes the transposed narrow path for few columns.
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
@pytest.mark.parametrize("rows, columns", [(1, 1), (7, 17), (33, 1), (3, 33), (65, 100), (100, 31),
                                           (17, 32), (127, 300), (300, 7)])
def test_matmul_edge_shapes(rows, depth, columns, dtype):
    generator = np.random.default_rng(rows * 10_000 + depth * 100 + columns)
    a = make_matrix((rows, depth), dtype, "C", generator)
    b = make_matrix((depth, columns), dtype, "C", generator)
    assert_matches_reference(run_matmul(matmul, a, b), a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("a_layout, b_layout", LAYOUT_PAIRS)
@pytest.mark.parametrize("rows, depth, columns", [(1, 1, 1), (17, 33, 7), (3, 17, 127),
                                                  (100, 65, 33), (9, 100, 16), (129, 300, 65),
                                                  (65, 1100, 100), (33, 257, 48),
                                                  # two slabs and two panels per thread
                                                  (40, 600, 900)])
def test_matmul_layouts(rows, depth, columns, a_layout, b_layout, dtype):
    generator = np.random.default_rng(rows + depth + columns)
    a = make_matrix((rows, depth), dtype, a_layout, generator)
    b = make_matrix((depth, columns), dtype, b_layout, generator)
    assert_matches_reference(run_matmul(matmul, a, b), a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows, depth, columns", [(0, 1, 0), (0, 3, 40), (5, 3, 0), (0, 0, 0)])
def test_matmul_of_an_empty_output_writes_nothing(rows, depth, columns, dtype):
    """No rows or no columns (a batch of none): found by the differential fuzzer, where a 0 x 1
    by 1 x 0 product divided by zero strips."""
    a = np.ones((rows, depth), dtype)
    b = np.ones((depth, columns), dtype)
    out = np.empty((rows, columns), dtype)
    matmul(a, b, out)
    assert out.shape == (rows, columns)


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


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_layer_products(dtype):
    """The CNN's 3136 -> 1024 linear layer at batch 100, with its weight stored (out, in) as
    nn.Linear stores it: forward ``x @ W.T``, input gradient ``g @ W``, weight gradient
    ``g.T @ x`` (a depth of 100)."""
    generator = np.random.default_rng(3)
    x = generator.uniform(-1, 1, (100, 3136)).astype(dtype)
    weight = generator.uniform(-1, 1, (1024, 3136)).astype(dtype)
    grad_y = generator.uniform(-1, 1, (100, 1024)).astype(dtype)
    for a, b in [(x, weight.T), (grad_y, weight), (grad_y.T, x)]:
        assert_matches_reference(run_matmul(matmul, a, b), a, b)


@pytest.mark.parametrize("rows, depth, columns", [(1, 40, 32), (17, 300, 33), (9, 64, 100),
                                                  (100, 100, 300), (3, 5, 200)])
def test_matmul_splits_work_for_any_thread_count(rows, depth, columns):
    """One part per thread: column ranges, and row ranges when there are fewer column strips
    than threads; every thread count up to the pool's gives the same product."""
    generator = np.random.default_rng(rows + columns)
    a = generator.uniform(-1, 1, (depth, rows)).T  # a's columns contiguous: no narrow path
    b = generator.uniform(-1, 1, (depth, columns))
    reference = run_matmul(matmul, a, b)
    assert_matches_reference(reference, a, b)
    threads = numba.get_num_threads()
    try:
        for count in range(1, numba.config.NUMBA_NUM_THREADS + 1):
            numba.set_num_threads(count)
            np.testing.assert_array_equal(run_matmul(matmul, a, b), reference)
    finally:
        numba.set_num_threads(threads)


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


# Every kernel and helper, by module; the narrow paths are also swapped where matmul.py, which
# calls them, imports them.
CHECKED_HELPERS = {
    matmul_narrow_module: ["round_up", "pack_strips", "micro_kernel", "store_tile", "narrow_matmul",
                           "transposed_narrow_matmul"],
    matmul_module: ["outer_micro_kernel", "store_vector_tile", "store_row", "pack_row_strip",
                    "pack_column_panel", "pack_row_pieces", "blocked_matmul"],
}


def strided_view(shape, kind, generator):
    """A float64 (rows, columns) view that is neither C- nor F-contiguous (Numba layout 'A').

    - "rows": rows are the lines (closer in memory than columns), at a stride of two elements;
    - "columns": columns are the lines, at a stride of two elements (b is packed by transposing,
      a takes the narrow path's transposing pack);
    - "padded_rows": rows are unit-stride lines of a wider array (the vector paths, taken at run
      time for arrays not typed contiguous);
    - "padded_columns": columns are unit-stride lines of a taller array (b's transposed blocks;
      a's columns contiguous sends few-column products through the transposed narrow path);
    - "reversed": both axes reversed (negative strides).
    """
    rows, columns = shape
    if kind == "rows":
        return generator.uniform(-1, 1, (rows, 2 * columns))[:, ::2]
    if kind == "columns":
        return generator.uniform(-1, 1, (columns, 2 * rows))[:, ::2].T
    if kind == "padded_rows":
        return generator.uniform(-1, 1, (rows, columns + 3))[:, :columns]
    if kind == "padded_columns":
        return generator.uniform(-1, 1, (columns, rows + 3))[:, :rows].T
    if kind == "reversed":
        return generator.uniform(-1, 1, shape)[::-1, ::-1]
    raise ValueError(kind)


TWIN_LAYOUTS = [("rows", "rows"), ("columns", "columns"), ("rows", "columns"),
                ("padded_columns", "rows"), ("padded_rows", "padded_rows"),
                ("rows", "padded_columns"), ("reversed", "reversed")]


@pytest.fixture(scope="module")
def checked():
    """matmul running on the serial bounds-checked twins of its kernels and helpers.

    A kernel binds the helpers it calls when it compiles, so the module's kernels and helpers are
    swapped for their twins during each call (the twins compile, bound to each other, at their
    first call), then put back; matmul itself is Python and finds them in the module.
    """
    twins = {name: checked_twin(getattr(module, name))
             for module, names in CHECKED_HELPERS.items() for name in names}

    def swapped(patch):
        for module, names in CHECKED_HELPERS.items():
            for name in names:
                patch.setattr(module, name, twins[name])
        for name in ("narrow_matmul", "transposed_narrow_matmul"):
            patch.setattr(matmul_module, name, twins[name])

    def twin_matmul(a, b, out):
        with pytest.MonkeyPatch.context() as patch:
            swapped(patch)
            matmul_module.matmul(a, b, out)

    twin_matmul.twins = twins
    twin_matmul.swapped = swapped
    return twin_matmul


def test_the_checked_matmul_runs_the_twins_of_every_path(checked):
    """The blocked path, the narrow one and the transposed narrow one (a's columns contiguous)."""
    generator = np.random.default_rng(3)
    for shape_a, shape_b, kind in [((40, 30), (30, 70), "rows"), ((5, 30), (30, 7), "rows"),
                                   ((40, 30), (30, 7), "padded_columns")]:
        a = strided_view(shape_a, kind, generator)
        b = strided_view(shape_b, "rows", generator)
        out = np.empty((shape_a[0], shape_b[1]))
        checked(a, b, out)
        np.testing.assert_allclose(out, a @ b, rtol=1e-12)
    if not matmul_module.NARROW_PATH:
        # matmul does not take the narrow dot-product path on this target: its twin directly,
        # bound to the other twins as matmul's call binds them.
        a = strided_view((40, 30), "rows", generator)
        b = strided_view((30, 7), "rows", generator)
        out = np.empty((40, 7))
        with pytest.MonkeyPatch.context() as patch:
            checked.swapped(patch)
            checked.twins["narrow_matmul"](a, b, out)
        np.testing.assert_allclose(out, a @ b, rtol=1e-12)
    for path in ("blocked_matmul", "narrow_matmul", "transposed_narrow_matmul", "micro_kernel"):
        assert checked.twins[path].signatures, f"{path}'s twin never ran"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows, depth, columns", [(1, 1, 1), (6, 9, 17), (40, 300, 70)])
def test_blocked_path_packs_a_b_strided_both_ways(rows, depth, columns, dtype):
    """blocked_matmul directly with a b neither of whose directions is contiguous (matmul copies
    such a b first): its transposing pack reads the lines through their strides."""
    generator = np.random.default_rng(rows + depth + columns)
    a = make_matrix((rows, depth), dtype, "C", generator)
    b = make_matrix((depth, columns), dtype, "strided", generator)
    out = np.full((rows, columns), np.nan, dtype)
    matmul_module.any_layout(matmul_module.blocked_matmul, np.dtype(dtype))(a, b, out)
    assert_matches_reference(out, a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows, depth, columns", [(1, 1, 1), (5, 3, 16), (129, 65, 15),
                                                  (300, 1100, 3), (257, 7, 17)])
def test_narrow_dot_product_path_on_its_own(rows, depth, columns, dtype):
    """narrow_matmul directly, on every target (matmul takes it only where the outer-product tile
    is 32 columns wide), with a of each layout its packing reads differently."""
    generator = np.random.default_rng(rows + depth + columns)
    for a_layout in ("C", "strided"):
        a = make_matrix((rows, depth), dtype, a_layout, generator)
        b = make_matrix((depth, columns), dtype, "F", generator)
        out = np.full((rows, columns), np.nan, dtype)
        matmul_module.any_layout(matmul_narrow_module.narrow_matmul, np.dtype(dtype))(a, b, out)
        assert_matches_reference(out, a, b)


@pytest.mark.parametrize("rows, depth, columns", [(2, 3, 2), (5, 7, 3), (6, 6, 9), (9, 65, 70),
                                                  (7, 64, 9), (13, 1100, 6), (33, 129, 17),
                                                  (129, 5, 15), (300, 67, 16), (2, 33, 40),
                                                  (17, 300, 33), (8, 16, 16), (3, 257, 100)])
def test_checked_twins_stay_in_bounds(checked, rows, depth, columns):
    """Edge shapes through the serial bounds-checked kernels: no IndexError, same results.

    (batched_matmul is a Python loop over matmul: the parallel kernels are what need the twin.)
    """
    twin_matmul = checked
    generator = np.random.default_rng(rows + depth + columns)
    for a_kind, b_kind in TWIN_LAYOUTS:
        a = strided_view((rows, depth), a_kind, generator)
        b = strided_view((depth, columns), b_kind, generator)
        out = run_matmul(twin_matmul, a, b)
        assert_matches_reference(out, a, b)
        np.testing.assert_allclose(out, run_matmul(matmul, a, b), rtol=1e-12, atol=1e-12)
        batched_out = np.full((1, rows, columns), np.nan)
        batched_matmul(a[None], b[None], batched_out)
        np.testing.assert_allclose(batched_out[0], out, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["C", "row pieces", "strided"])
@pytest.mark.parametrize("rows, depth", [(6, 9), (8, 9), (13, 8), (14, 17), (20, 64), (100, 97)])
def test_pack_row_strip_matches_the_transposed_rows(checked, dtype, layout, rows, depth):
    """Every strip of a packed as its rows transposed, zeros past a's rows, by the bounds-checked
    twin: where a's rows are contiguous and the target packs by blocks through transpose_block
    (float32 on AVX2), its stores overlap by design, and none may land past the strip or read a
    row past a's. "row pieces": rows contiguous in an array typed any layout, as blocked_matmul
    sees every a."""
    generator = np.random.default_rng(rows + depth)
    if layout == "row pieces":
        a = make_matrix((rows, depth + 3), dtype, "C", generator)[:, :depth]
    else:
        a = make_matrix((rows, depth), dtype, layout, generator)
    strip_rows = matmul_module.OUTER_TILE_ROWS
    pack = checked.twins["pack_row_strip"]
    for first_row in range(0, rows, strip_rows):
        packed = np.full(depth * strip_rows, np.nan, dtype)
        pack(a, packed, first_row)
        expected = np.zeros((strip_rows, depth), dtype)
        expected[:min(strip_rows, rows - first_row)] = a[first_row:first_row + strip_rows]
        np.testing.assert_array_equal(packed.reshape(depth, strip_rows), expected.T)


# --- the vector intrinsics on their own -----------------------------------------------------------

def copy_vector(source, index, target):
    simd.vector_store(target, 0, simd.vector_load(source, index))


def copy_first(source, index, count, target, target_index):
    value = simd.vector_load_first(source, index, count)
    simd.vector_store_first(target, target_index, value, count)


def copy_part(source, index, count, target, target_index):
    """The whole vector stored: the lanes past ``count`` must have loaded as zeros."""
    simd.vector_store(target, target_index, simd.vector_load_part(source, index, count))


def fused_multiply_add(accumulator, scale, values, target):
    total = simd.vector_fma(simd.vector_load(accumulator, 0), scale,
                                     simd.vector_load(values, 0))
    total = simd.vector_add(total, simd.vector_zero(target))
    simd.vector_store(target, 0, total)


def transpose(lines, first_line, first_column, target, offset, pitch):
    simd_lanes.transpose_block(lines, first_line, first_column, target, offset, pitch)


def copy_row(matrix, row, target):
    line = simd.contiguous_row(matrix, row)
    for index in range(line.shape[0]):
        target[index] = line[index]


def compiled(function, bounds_checked):
    if bounds_checked:
        return checked_twin(numba.njit(function))
    return numba.njit(fastmath=FASTMATH_FLAGS)(function)


@pytest.mark.parametrize("dtype", DTYPES)
def test_vector_intrinsics(dtype):
    """Loads, masked loads and stores, fused multiply-adds and the register transpose, on
    contiguous arrays and on strided ones (the element-by-element fallback)."""
    lanes = simd.VECTOR_BYTES // np.dtype(dtype).itemsize
    # Room for a vector from index 7 at any lane count (two lanes on SSE for float64).
    source = np.arange(3 * lanes + 8, dtype=dtype)
    strided = np.arange(2 * (3 * lanes + 8), dtype=dtype)[::2]
    load, first = compiled(copy_vector, False), compiled(copy_first, False)
    part = compiled(copy_part, False)
    for array in (source, strided):
        target = np.zeros(lanes, dtype)
        load(array, 5, target)
        np.testing.assert_array_equal(target, array[5:5 + lanes])
        for count in (-1, 0, 3, lanes - 1, lanes, lanes + 2):
            expected = np.full(lanes + 4, -1, dtype)
            written = min(max(count, 0), lanes)
            expected[2:2 + written] = array[7:7 + written]
            target = np.full(lanes + 4, -1, dtype)
            first(array, 7, count, target, 2)
            np.testing.assert_array_equal(target, expected)
            target = np.full(lanes + 4, -1, dtype)
            part(array, 7, count, target, 2)
            expected[2 + written:2 + lanes] = 0
            np.testing.assert_array_equal(target, expected)
    target = np.zeros(lanes, dtype)
    compiled(fused_multiply_add, False)(source[:lanes], dtype(3), source[lanes:2 * lanes], target)
    np.testing.assert_array_equal(target, source[:lanes] + 3 * source[lanes:2 * lanes])
    lines = np.arange((lanes + 3) * (lanes + 5), dtype=dtype).reshape(lanes + 3, lanes + 5)
    for block_source in (lines, np.asfortranarray(lines), lines[:, ::-1]):
        target = np.full(lanes * 20, -1, dtype)
        compiled(transpose, False)(block_source, 2, 4, target, 3, 20)
        expected = np.full(lanes * 20, -1, dtype)
        for step in range(lanes):
            expected[3 + step * 20:3 + step * 20 + lanes] = block_source[2:2 + lanes, 4 + step]
        np.testing.assert_array_equal(target, expected)


def test_vector_intrinsics_check_bounds_in_twins():
    """The bounds-checked twins raise IndexError for any lane out of bounds, as indexing does,
    and masked accesses check only the lanes they touch."""
    lanes = simd.VECTOR_BYTES // 8
    length = 2 * lanes + 4
    source = np.arange(float(length))
    target = np.zeros(lanes)
    load, first = compiled(copy_vector, True), compiled(copy_first, True)
    load(source, length - lanes, target)
    for index in (length - lanes + 1, -1):
        with pytest.raises(IndexError):
            load(source, index, target)
    count = min(lanes, 3)
    first(source, length - count, count, target, 0)
    first(source, 100, 0, target, 100)
    with pytest.raises(IndexError):
        first(source, length - count + 1, count, target, 0)
    with pytest.raises(IndexError):
        first(source, 0, lanes, target, 1)
    part = compiled(copy_part, True)
    part(source, length - count, count, target, 0)
    part(source, length - lanes, lanes + 1, target, 0)
    for index, part_count in ((length - count + 1, count), (length - lanes + 1, lanes), (-1, lanes)):
        with pytest.raises(IndexError):
            part(source, index, part_count, target, 0)
    matrix = np.arange(12.0).reshape(3, 4)
    row_twin = compiled(copy_row, True)
    target = np.zeros(4)
    row_twin(matrix, 2, target)
    np.testing.assert_array_equal(target, matrix[2])
    row_twin(matrix[:, :], 1, target)
    np.testing.assert_array_equal(target, matrix[1])
    with pytest.raises(IndexError):
        row_twin(matrix, 3, target)
    lines = np.zeros((lanes + 2, lanes + 2))
    transpose_twin = compiled(transpose, True)
    transpose_twin(lines, 2, 2, np.zeros(lanes * lanes), 0, lanes)
    for first_line, first_column, size in [(3, 2, lanes * lanes), (2, 3, lanes * lanes),
                                           (2, 2, lanes * lanes - 1)]:
        with pytest.raises(IndexError):
            transpose_twin(lines, first_line, first_column, np.zeros(size), 0, lanes)


@settings(deadline=None, max_examples=30)
@given(rows=st.integers(1, 70), depth=st.integers(0, 200), columns=st.integers(1, 70),
       layouts=st.sampled_from(LAYOUT_PAIRS), seed=st.integers(0, 2**16))
def test_matmul_random_shapes(rows, depth, columns, layouts, seed):
    a_layout, b_layout = layouts
    generator = np.random.default_rng(seed)
    a = make_matrix((rows, depth), np.float32, a_layout, generator)
    b = make_matrix((depth, columns), np.float32, b_layout, generator)
    assert_matches_reference(run_matmul(matmul, a, b), a, b)
