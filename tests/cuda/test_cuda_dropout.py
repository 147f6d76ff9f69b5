"""kernels/cuda/dropout.py against kernels/cpu/dropout.py: the same mask, bit for bit, for a seed.

Small sizes (the simulator runs every GPU thread as a Python thread); 300 elements leave a partial
second block of 256 threads. The CPU kernel is checked against a NumPy implementation of the hash
in tests/test_dropout_kernel.py.
"""
import numpy as np
import pytest
from minigrad.kernels.cpu import dropout as cpu
from minigrad.kernels.cuda import dropout as gpu
from numba import cuda

# The simulator's threads compute on NumPy scalars, which warn when uint64 products wrap around
# (the hash wants them to).
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def masks_on_both(seed, keep_probability, size, dtype):
    expected = np.full(size, np.nan, dtype)
    cpu.dropout_mask(seed, keep_probability, expected)
    out = cuda.to_device(np.full(size, np.nan, dtype))
    gpu.dropout_mask(seed, keep_probability, out)
    return out.copy_to_host(), expected


@pytest.mark.parametrize(("seed", "keep_probability", "dtype"), [
    (0, 0.5, np.float32),
    (12345, 0.9, np.float64),
    (2**63 - 1, 0.3, np.float32),  # the largest seed: seed * GOLDEN_GAMMA wraps around
    (77, 1.0, np.float64),
])
def test_the_gpu_mask_is_the_cpu_mask_bit_for_bit(seed, keep_probability, dtype):
    got, expected = masks_on_both(seed, keep_probability, 300, dtype)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))
    if keep_probability == 1.0:
        np.testing.assert_array_equal(got, 1.0)


def test_the_grid_stride_loop_covers_masks_larger_than_the_grid(monkeypatch):
    monkeypatch.setattr(gpu, "MAX_BLOCKS", 1)  # one block of 256 threads for 600 elements
    got, expected = masks_on_both(5, 0.5, 600, np.float32)
    np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))
    kept = np.count_nonzero(got) / got.size
    assert 0.4 < kept < 0.6


def test_different_seeds_give_different_masks():
    first, _ = masks_on_both(1, 0.5, 200, np.float32)
    second, _ = masks_on_both(2, 0.5, 200, np.float32)
    assert not np.array_equal(first, second)


def test_empty_masks_launch_nothing_and_bad_probabilities_are_refused():
    got, _ = masks_on_both(3, 0.5, 0, np.float32)
    assert got.shape == (0,)
    with pytest.raises(ValueError, match="keep_probability"):
        gpu.dropout_mask(3, 0.0, cuda.to_device(np.zeros(4, np.float32)))
