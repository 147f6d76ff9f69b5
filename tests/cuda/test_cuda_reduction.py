"""kernels/cuda/reduction.py against NumPy's reductions on the same views.

The input is a NumPy view (offset, sliced, transposed) of a 1-D base; the kernels get the whole
base uploaded, the view's offset and the element strides of its kept and reduced axes, as a device
array hands them over. Outputs are pre-filled with NaN (or a sentinel integer), so an output no
block wrote fails. The two-pass path (chunks reduced by separate blocks into partials) is forced
on small arrays by shrinking ``CHUNK_LENGTH`` and ``TARGET_BLOCKS``.

Small shapes: the simulator runs every GPU thread as a Python thread, and every barrier of the
shared-memory tree waits for all of a block's threads; a short thread switch interval makes the
waits shorter (and thread interleavings more varied).
"""
import math

import numpy as np
import pytest
from minigrad.kernels.cuda import reduction
from numba import cuda

pytestmark = [pytest.mark.filterwarnings("ignore::RuntimeWarning")]

FLOATS = [np.float32, np.float64]
SENTINEL = -(2**63) + 12345




def view_arguments(base, view):
    """(offset, element strides) of ``view`` inside its 1-D ``base``: what the kernels take with the buffer."""
    offset = (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // base.itemsize
    return offset, tuple(stride // base.itemsize for stride in view.strides)


def run_reduction(operation, base, make_view, axes):
    """reduce_axes over ``axes`` of ``make_view(base)``; returns (result shaped as the kept axes, the view)."""
    view = make_view(base)
    offset, strides = view_arguments(base, view)
    kept = [axis for axis in range(view.ndim) if axis not in axes]
    kept_shape = tuple(view.shape[axis] for axis in kept)
    arg = operation in (reduction.ARGMAX, reduction.ARGMIN)
    marked = np.full(math.prod(kept_shape), SENTINEL if arg or base.dtype.kind == "i" else np.nan,
                     np.int64 if arg else base.dtype)
    out = cuda.to_device(marked)
    reduction.reduce_axes(operation, cuda.to_device(base), offset,
                          kept_shape or (1,), tuple(strides[axis] for axis in kept) or (0,),
                          tuple(view.shape[axis] for axis in axes) or (1,), tuple(strides[axis] for axis in axes) or (0,),
                          out)
    return out.copy_to_host().reshape(kept_shape), view


def expected_reduction(operation, view, axes):
    axes = tuple(axes)
    if operation == reduction.SUM:
        return np.sum(view, axis=axes)
    if operation == reduction.MAX:
        return np.max(view, axis=axes)
    if operation == reduction.MIN:
        return np.min(view, axis=axes)
    # np.argmax over several axes: move them last (in order) and flatten them, row-major.
    kept_shape = tuple(size for axis, size in enumerate(view.shape) if axis not in axes)
    moved = np.moveaxis(view, axes, range(view.ndim - len(axes), view.ndim)).reshape((*kept_shape, -1))
    return (np.argmax if operation == reduction.ARGMAX else np.argmin)(moved, axis=-1)


def assert_reduction_matches(operation, got, view, axes):
    expected = expected_reduction(operation, view, axes)
    assert got.shape == expected.shape
    if operation == reduction.SUM and view.dtype.kind == "f":
        # A different order of additions than NumPy's: within a few roundings of the magnitudes summed.
        magnitude = np.sum(np.abs(view.astype(np.float64)), axis=tuple(axes))
        exact = np.sum(view.astype(np.float64), axis=tuple(axes))
        finite = np.isfinite(exact)
        np.testing.assert_array_equal(got[~finite], exact[~finite])  # NaN and ±inf where NumPy has them
        error = np.abs(got[finite].astype(np.float64) - exact[finite])
        assert np.all(error <= 4 * np.finfo(view.dtype).eps * magnitude[finite]), (got, exact)
        assert got.dtype == view.dtype
    else:
        np.testing.assert_array_equal(got, expected)


def coarse_values(size, dtype, seed=0):
    """Random values on a coarse grid (ties for max / argmax), random signs."""
    return np.random.default_rng(seed).integers(-4, 5, size).astype(dtype)


def normal_values(size, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(size).astype(dtype)


# A (2, 3, 4) view at offset 5 of a base of 60: the (4, 3, 2) block of every other element of rows of
# 10, transposed, so no axis of the view has stride 1.
def sliced_transposed_3d(base):
    return base[5:53].reshape(4, 3, 4)[:, :, ::2].transpose(2, 1, 0)[:, :, :]


# (2, 3, 2, 2) contiguous 4-d view at offset 1.
def offset_4d(base):
    return base[1:25].reshape(2, 3, 2, 2)


AXIS_CHOICES = {"leading": (0,), "middle": (1,), "trailing": (2,), "outer-two": (0, 2), "all": (0, 1, 2)}


@pytest.mark.parametrize("axes", sorted(AXIS_CHOICES))
@pytest.mark.parametrize("dtype", [*FLOATS, np.int64])
def test_sum_over_each_choice_of_axes(dtype, axes):
    values = normal_values(60, dtype, seed=1) if dtype != np.int64 else coarse_values(60, dtype, seed=1) * 10**17
    got, view = run_reduction(reduction.SUM, values, sliced_transposed_3d, AXIS_CHOICES[axes])
    assert_reduction_matches(reduction.SUM, got, view, AXIS_CHOICES[axes])


@pytest.mark.parametrize("axes", sorted(AXIS_CHOICES))
@pytest.mark.parametrize("dtype", FLOATS)
def test_argmax_over_each_choice_of_axes_first_of_ties(dtype, axes):
    got, view = run_reduction(reduction.ARGMAX, coarse_values(60, dtype, seed=2), sliced_transposed_3d,
                              AXIS_CHOICES[axes])
    assert_reduction_matches(reduction.ARGMAX, got, view, AXIS_CHOICES[axes])


@pytest.mark.parametrize("operation", ["MAX", "MIN", "ARGMIN"])
@pytest.mark.parametrize("dtype", [*FLOATS, np.int64])
@pytest.mark.parametrize("axes", ["trailing", "outer-two"])
def test_extremes_match_numpy(operation, dtype, axes):
    code = getattr(reduction, operation)
    got, view = run_reduction(code, coarse_values(60, dtype, seed=3), sliced_transposed_3d, AXIS_CHOICES[axes])
    assert_reduction_matches(code, got, view, AXIS_CHOICES[axes])


@pytest.mark.parametrize("operation", ["SUM", "MAX", "ARGMIN"])
def test_four_dimensional_view_reduced_over_two_separate_axes(operation):
    code = getattr(reduction, operation)
    got, view = run_reduction(code, coarse_values(30, np.float64, seed=4), offset_4d, (1, 3))
    assert_reduction_matches(code, got, view, (1, 3))


@pytest.mark.parametrize("operation", ["SUM", "MAX", "MIN", "ARGMAX", "ARGMIN"])
def test_nan_and_infinities(operation):
    # Rows of 6: a NaN in rows 0 and 1 (two in row 1: the first wins arg*), ±inf in rows 2 and 3.
    values = coarse_values(24, np.float32, seed=5)
    values[[2, 9, 10]] = np.nan
    values[[13, 16, 19]] = [np.inf, -np.inf, np.inf]
    values[22] = -np.inf
    code = getattr(reduction, operation)
    got, view = run_reduction(code, values, lambda base: base.reshape(4, 6), (1,))
    assert_reduction_matches(code, got, view, (1,))
    if operation in ("MAX", "MIN", "SUM"):
        assert np.isnan(got[:2]).all()
    if operation in ("ARGMAX", "ARGMIN"):
        np.testing.assert_array_equal(got[:2], [2, 3])


def test_a_reduction_longer_than_a_block_of_256():
    # 3000 elements into one output: one block of 256 threads, 11 or 12 elements each.
    values = normal_values(3000, np.float32, seed=6)
    got, view = run_reduction(reduction.SUM, values, lambda base: base, (0,))
    assert_reduction_matches(reduction.SUM, got, view, (0,))
    values[[1700, 2900]] = 50
    got, view = run_reduction(reduction.ARGMAX, values, lambda base: base, (0,))
    assert got == 1700


def test_a_reduction_of_one_element_and_a_zero_dimensional_input():
    values = np.array([3.5, -0.0, 7.0], np.float64)
    got, _ = run_reduction(reduction.SUM, values, lambda base: base[1:2].reshape(()), ())
    assert got == 0 and np.signbit(got)  # a lone -0.0 stays -0.0, as in NumPy
    got, _ = run_reduction(reduction.ARGMIN, values, lambda base: base[:2].reshape(2, 1), (1,))
    np.testing.assert_array_equal(got, [0, 0])


# --- two passes -----------------------------------------------------------------------------------

@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 10 elements for the (2, 40) rows below: 4 chunks a row, 8 blocks, then 2 blocks."""
    monkeypatch.setattr(reduction, "CHUNK_LENGTH", 10)
    monkeypatch.setattr(reduction, "TARGET_BLOCKS", 8)
    assert reduction.chunks_for(2, 40) == 4


def two_rows_across_chunks(dtype):
    """(2, 40) values: row 0 has its maximum 9 at 13 and 27 and minimum -9 at 35 and 5 (different
    chunks; the first wins), row 1 NaN at 25 and 31 (chunks 2 and 3) and at nowhere earlier."""
    values = coarse_values(80, dtype, seed=7)
    values[[13, 27]] = 9
    values[[5, 35]] = -9
    values[[40 + 25, 40 + 31]] = np.nan
    return values


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("operation", ["SUM", "MAX", "MIN", "ARGMAX", "ARGMIN"])
def test_two_pass_reductions_match_numpy(small_chunks, operation, dtype):
    code = getattr(reduction, operation)
    values = two_rows_across_chunks(dtype)
    got, view = run_reduction(code, values, lambda base: base.reshape(2, 40), (1,))
    assert_reduction_matches(code, got, view, (1,))
    if operation == "ARGMAX":
        np.testing.assert_array_equal(got, [13, 25])
    if operation == "ARGMIN":
        np.testing.assert_array_equal(got, [5, 25])


@pytest.mark.parametrize("operation", ["MAX", "ARGMAX", "ARGMIN"])
def test_two_pass_extremes_of_values_all_on_one_side_of_zero(small_chunks, operation):
    # No zero to fall back on: every value negative for the maxima, positive for the minima, the
    # extreme tied in chunks 1 and 3 of row 0 and alone in the last chunk of row 1.
    values = -np.arange(1, 81, dtype=np.float64)[::-1] if operation != "ARGMIN" else np.arange(1, 81, dtype=np.float64)
    extreme = -0.5 if operation != "ARGMIN" else 0.5
    values[[12, 33, 79]] = extreme
    code = getattr(reduction, operation)
    got, view = run_reduction(code, values, lambda base: base.reshape(2, 40), (1,))
    assert_reduction_matches(code, got, view, (1,))
    if operation != "MAX":
        np.testing.assert_array_equal(got, [12, 39])


@pytest.mark.parametrize("operation", ["SUM", "ARGMAX"])
def test_two_pass_over_a_transposed_view(small_chunks, operation):
    # The reduced axis has stride 2, the kept one stride 1.
    code = getattr(reduction, operation)
    got, view = run_reduction(code, two_rows_across_chunks(np.float32), lambda base: base.reshape(40, 2), (0,))
    assert_reduction_matches(code, got, view, (0,))


def test_two_pass_int64_and_over_several_axes(small_chunks):
    values = coarse_values(80, np.int64, seed=8) * 10**17  # sums wrap around as NumPy's do
    make_view = lambda base: base.reshape(2, 5, 8)
    for code in (reduction.SUM, reduction.ARGMAX):
        got, view = run_reduction(code, values, make_view, (1, 2))
        assert_reduction_matches(code, got, view, (1, 2))


def test_two_pass_sums_are_the_same_bits_every_run(small_chunks):
    values = normal_values(80, np.float32, seed=9)
    first, _ = run_reduction(reduction.SUM, values, lambda base: base.reshape(2, 40), (1,))
    second, _ = run_reduction(reduction.SUM, values, lambda base: base.reshape(2, 40), (1,))
    np.testing.assert_array_equal(first.view(np.uint32), second.view(np.uint32))


def test_chunk_counts_at_the_default_sizes():
    assert reduction.chunks_for(1, 3_000_000) == 732  # the module docstring's example
    assert reduction.chunks_for(32, 100 * 28 * 28) == 19  # a conv bias gradient
    assert reduction.chunks_for(1, 2 * reduction.CHUNK_LENGTH - 1) == 1  # too short to split
    assert reduction.chunks_for(reduction.TARGET_BLOCKS, 10**7) == 1  # enough outputs for the GPU
    for outputs, size in [(1, 10**6 + 7), (3, 50_000), (100, 10**5)]:
        count = reduction.chunks_for(outputs, size)
        length = math.ceil(size / count)
        assert (count - 1) * length < size <= count * length  # no empty chunk
        assert count <= max(1, math.ceil(reduction.TARGET_BLOCKS / outputs))
    assert [reduction.threads_for(n) for n in (1, 10, 33, 200, 256, 4099)] == [32, 32, 64, 256, 256, 256]


# --- sizes ------------------------------------------------------------------------------------------

def test_no_outputs_launch_nothing_and_an_empty_reduction_is_refused():
    x = cuda.to_device(np.ones(4, np.float32))
    out = cuda.to_device(np.full(4, np.nan, np.float32))
    reduction.reduce_axes(reduction.SUM, x, 0, (0,), (1,), (4,), (1,), out)
    assert np.isnan(out.copy_to_host()).all()
    with pytest.raises(ValueError, match="empty"):
        reduction.reduce_axes(reduction.MAX, x, 0, (4,), (1,), (0,), (1,), out)
    with pytest.raises(ValueError, match="operation"):
        reduction.reduce_axes(17, x, 0, (4,), (1,), (1,), (0,), out)
