"""kernels/cuda/matmul.py against kernels/cpu/matmul.py, on the same values.

Shapes are tiny (the simulator runs every GPU thread as a Python thread) but chosen around the
kernel's structure: 64 x 64 output tiles (33 x 65 and 70 x 20 need edge tiles on both sides,
64 x 64 none), k in stages of 16 (17 and 40 need a partial last stage), and a single element.
The device operands come in every layout (C, F, strided slices of a larger array, a stride-0
batch axis); the CPU kernel gets C-ordered copies of the same values, so it compiles for one
layout only. Outputs start as NaN, so an element the kernel never writes shows up as a mismatch.
"""
import numpy as np
import pytest
from minigrad.kernels.cpu import matmul as cpu
from minigrad.kernels.cuda import matmul as gpu
from numba import cuda

DTYPES = [np.float32, np.float64]
LAYOUTS = ["C", "F", "strided"]


def tolerance(dtype):
    """float32 sums of a few dozen products in [-1, 1) agree to a few ulps; float64 to rounding."""
    if dtype == np.float32:
        return {"rtol": 1e-5, "atol": 1e-5}
    return {"rtol": 1e-12, "atol": 1e-12}


def on_device(host, layout):
    """``host`` as a device array in ``layout``: C- or F-ordered, or every other row and every
    third column of a larger array (a device-side slice: ``cuda.to_device`` needs contiguous data)."""
    if layout == "C":
        return cuda.to_device(np.ascontiguousarray(host))
    if layout == "F":
        return cuda.to_device(np.asfortranarray(host))
    if layout == "strided":
        parent = np.full((2 * host.shape[0], 3 * host.shape[1]), np.inf, host.dtype)
        parent[::2, ::3] = host
        return cuda.to_device(parent)[::2, ::3]
    raise ValueError(layout)


def cpu_product(a, b):
    out = np.full((a.shape[0], b.shape[1]), np.nan, a.dtype)
    cpu.matmul(np.ascontiguousarray(a), np.ascontiguousarray(b), out)
    return out


def cuda_product(a_device, b_device, dtype):
    out = cuda.to_device(np.full((a_device.shape[0], b_device.shape[1]), np.nan, dtype))
    gpu.matmul(a_device, b_device, out)
    return out.copy_to_host()


def random_matrix(shape, dtype, seed):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows, depth, columns", [(1, 1, 1), (5, 7, 3), (33, 17, 65), (17, 40, 9),
                                                  (70, 5, 20), (64, 64, 64)])
def test_matmul_matches_the_cpu_kernel(rows, depth, columns, dtype):
    a = random_matrix((rows, depth), dtype, seed=rows)
    b = random_matrix((depth, columns), dtype, seed=columns)
    result = cuda_product(cuda.to_device(a), cuda.to_device(b), dtype)
    np.testing.assert_allclose(result, cpu_product(a, b), **tolerance(dtype))


@pytest.mark.parametrize("a_layout, b_layout", [("F", "C"), ("C", "F"), ("F", "F"),
                                                ("strided", "strided"), ("strided", "F")])
def test_matmul_reads_every_layout(a_layout, b_layout):
    """F-ordered operands are what ``x.T @ g`` and ``x @ W.T`` pass; slices have neither order."""
    a = random_matrix((19, 21), np.float32, seed=1)
    b = random_matrix((21, 13), np.float32, seed=2)
    a_device, b_device = on_device(a, a_layout), on_device(b, b_layout)
    assert a_device.shape == a.shape and b_device.shape == b.shape
    result = cuda_product(a_device, b_device, np.float32)
    np.testing.assert_allclose(result, cpu_product(a, b), **tolerance(np.float32))


def test_matmul_transposed_float64_operands_match_exactly_ish():
    a = random_matrix((9, 18), np.float64, seed=3)
    b = random_matrix((18, 11), np.float64, seed=4)
    result = cuda_product(on_device(a, "F"), on_device(b, "strided"), np.float64)
    np.testing.assert_allclose(result, cpu_product(a, b), **tolerance(np.float64))


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_with_an_empty_shared_dimension_writes_zeros(dtype):
    a = np.empty((5, 0), dtype)
    b = np.empty((0, 3), dtype)
    result = cuda_product(cuda.to_device(a), cuda.to_device(b), dtype)
    np.testing.assert_array_equal(result, np.zeros((5, 3), dtype))
    np.testing.assert_array_equal(result, cpu_product(a, b))


@pytest.mark.parametrize("rows, columns", [(0, 3), (4, 0)])
def test_matmul_with_an_empty_output_launches_nothing(rows, columns):
    a = cuda.to_device(np.ones((rows, 2), np.float32))
    b = cuda.to_device(np.ones((2, columns), np.float32))
    out = cuda.device_array((rows, columns), np.float32)
    gpu.matmul(a, b, out)
    assert out.copy_to_host().shape == (rows, columns)


# The simulator computes in NumPy scalars, which warn on inf - inf and inf * 0 (a GPU does not).
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_propagates_nan_and_inf_like_the_cpu_kernel(dtype):
    """An inf or NaN reaches exactly the outputs whose products it is in; the zero padding of edge
    tiles (rows 7.., columns 6.., steps 5..) must not turn inf into NaN anywhere that is stored."""
    a = random_matrix((7, 5), dtype, seed=5)
    b = np.abs(random_matrix((5, 6), dtype, seed=6)) + 0.5
    a[1, 2] = np.nan
    a[3, 0] = np.inf       # row 3: inf, since every b is positive
    b[4, 5] = -np.inf      # column 5: -inf where a[:, 4] > 0, +inf where it is < 0
    a[:, 4] = np.abs(a[:, 4]) + 0.5
    result = cuda_product(cuda.to_device(a), cuda.to_device(b), dtype)
    expected = cpu_product(a, b)
    np.testing.assert_allclose(result, expected, equal_nan=True, **tolerance(dtype))
    assert np.isnan(result[1]).all()
    assert np.isposinf(result[3, :5]).all()
    assert np.isneginf(result[[0, 2, 4, 5, 6], 5]).all()
    assert np.isnan(result[3, 5])  # inf + -inf
    assert np.isfinite(np.delete(np.delete(result, [1, 3], axis=0), 5, axis=1)).all()


def cpu_batched_product(a, b):
    out = np.full((max(a.shape[0], b.shape[0]), a.shape[1], b.shape[2]), np.nan, a.dtype)
    cpu.batched_matmul(a, b, out)
    return out


def cuda_batched_product(a_device, b_device, dtype):
    shape = (a_device.shape[0], a_device.shape[1], b_device.shape[2])
    out = cuda.to_device(np.full(shape, np.nan, dtype))
    gpu.batched_matmul(a_device, b_device, out)
    return out.copy_to_host()


@pytest.mark.parametrize("dtype", DTYPES)
def test_batched_matmul_matches_the_cpu_kernel(dtype):
    a = random_matrix((3, 5, 18), dtype, seed=7)
    b = random_matrix((3, 18, 6), dtype, seed=8)
    result = cuda_batched_product(cuda.to_device(a), cuda.to_device(b), dtype)
    np.testing.assert_allclose(result, cpu_batched_product(a, b), **tolerance(dtype))


@pytest.mark.parametrize("broadcast", ["a", "b"])
def test_batched_matmul_with_a_broadcast_operand(broadcast):
    """A broadcast operand (``x @ W`` for a batch of x) arrives with batch stride 0, one copy of
    its matrix on the device."""
    a = random_matrix((3, 6, 7), np.float32, seed=9)
    b = random_matrix((3, 7, 5), np.float32, seed=10)
    if broadcast == "a":
        a = np.broadcast_to(a[0], a.shape)
    else:
        b = np.broadcast_to(b[0], b.shape)
    a_device, b_device = cuda.to_device(a), cuda.to_device(b)
    assert (a_device if broadcast == "a" else b_device).strides[0] == 0
    result = cuda_batched_product(a_device, b_device, np.float32)
    np.testing.assert_allclose(result, cpu_batched_product(a, b), **tolerance(np.float32))


def test_batched_matmul_with_column_major_matrices():
    """An F-ordered batch: each matrix is column-major (what a transposed batch looks like)."""
    a = random_matrix((2, 4, 9), np.float64, seed=11)
    b = random_matrix((2, 9, 3), np.float64, seed=12)
    result = cuda_batched_product(cuda.to_device(np.asfortranarray(a)),
                                  cuda.to_device(np.asfortranarray(b)), np.float64)
    np.testing.assert_allclose(result, cpu_batched_product(a, b), **tolerance(np.float64))


@pytest.mark.parametrize("batches, depth", [(0, 4), (2, 0)])
def test_batched_matmul_empty_batch_or_depth(batches, depth):
    a = np.ones((batches, 3, depth), np.float32)
    b = np.ones((batches, depth, 2), np.float32)
    result = cuda_batched_product(cuda.to_device(a), cuda.to_device(b), np.float32)
    np.testing.assert_array_equal(result, np.zeros((batches, 3, 2), np.float32))


def test_mismatched_shapes_raise_before_launching():
    a = cuda.to_device(np.ones((3, 4), np.float32))
    b = cuda.to_device(np.ones((5, 2), np.float32))
    with pytest.raises(ValueError, match="matmul"):
        gpu.matmul(a, b, cuda.device_array((3, 2), np.float32))
    with pytest.raises(ValueError, match="dtype"):
        gpu.matmul(a, cuda.to_device(np.ones((4, 2))), cuda.device_array((3, 2), np.float32))
