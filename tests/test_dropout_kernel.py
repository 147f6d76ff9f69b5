"""kernels/cpu/dropout.py against a pure-NumPy implementation of the same hash, and its bounds-checked twin.

The reference spells the constants out again (splitmix64's published ones), so a typo in the
kernel's constants fails here rather than agreeing with itself."""
import numpy as np
import pytest
from minigrad.kernels.cpu import dropout
from minigrad.kernels.cpu.preset import checked_twin

SEEDS = [0, 1, 12345, 2**63 - 1]
KEEP_PROBABILITIES = [0.5, 0.9, 0.1, 1.0]


def reference_mask(seed, keep_probability, size, dtype):
    """The mask in NumPy: uint64 arrays wrap around modulo 2**64 silently."""
    start = np.uint64(seed * 0x9E3779B97F4A7C15 % 2**64)
    z = start + np.arange(size, dtype=np.uint64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    kept = (z >> np.uint64(40)) < round(keep_probability * 2**24)
    return np.where(kept, np.asarray(1 / keep_probability, dtype), np.asarray(0, dtype))


def mask(seed, keep_probability, size, dtype=np.float32):
    out = np.full(size, np.nan, dtype)
    dropout.dropout_mask(seed, keep_probability, out)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("keep_probability", KEEP_PROBABILITIES)
@pytest.mark.parametrize("seed", SEEDS)
def test_the_kernel_matches_the_numpy_hash(seed, keep_probability, dtype):
    got = mask(seed, keep_probability, 1001, dtype)
    expected = reference_mask(seed, keep_probability, 1001, dtype)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))  # the same bits


def test_the_hash_is_splitmix64():
    # seed 1, element 0 hashes GOLDEN_GAMMA itself: splitmix64's first output from state 0,
    # 0xE220A8397B1DCDAF, whose top 24 bits are 0xE220A8 = 14819496 (keep_probability 0.8833).
    assert mask(1, 14819497 / 2**24, 1)[0] != 0
    assert mask(1, 14819496 / 2**24, 1)[0] == 0


@pytest.mark.parametrize("size", [1, 37, 1000])
def test_the_checked_twin_agrees(size):
    threshold = dropout.keep_threshold(0.7)
    fast = np.full(size, np.nan, np.float64)
    checked = fast.copy()
    dropout.dropout_mask_kernel(np.uint64(99), threshold, 1 / 0.7, fast)
    checked_twin(dropout.dropout_mask_kernel)(np.uint64(99), threshold, 1 / 0.7, checked)
    np.testing.assert_array_equal(checked, fast)


@pytest.mark.parametrize("keep_probability", [0.5, 0.8, 0.95])
def test_the_fraction_kept_is_near_keep_probability(keep_probability):
    values = mask(7, keep_probability, 200_000)
    fraction = np.count_nonzero(values) / values.size
    # Standard deviation of the fraction: sqrt(p (1 - p) / n) <= 0.0012; allow five of them.
    assert abs(fraction - keep_probability) < 0.006
    np.testing.assert_array_equal(np.unique(values), [0, np.float32(1 / keep_probability)])


def test_neighbouring_elements_and_seeds_are_uncorrelated():
    first = mask(3, 0.5, 100_000) != 0
    second = mask(4, 0.5, 100_000) != 0
    assert not np.array_equal(first, second)
    # Agreement of two independent fair coins is 0.5 (standard deviation 0.0016).
    assert abs(np.mean(first == second) - 0.5) < 0.01
    assert abs(np.mean(first[1:] == first[:-1]) - 0.5) < 0.01
    assert abs(np.mean(second[1:] == first[:-1]) - 0.5) < 0.01  # seed + 1 is not the stream shifted by one


def test_the_same_seed_gives_the_same_mask():
    np.testing.assert_array_equal(mask(11, 0.5, 5000), mask(11, 0.5, 5000))
    # A prefix of a longer mask: element i depends on (seed, i) only.
    np.testing.assert_array_equal(mask(11, 0.5, 100), mask(11, 0.5, 5000)[:100])


def test_keep_probability_one_keeps_everything_and_empty_outputs_are_fine():
    np.testing.assert_array_equal(mask(5, 1.0, 1000, np.float64), np.ones(1000))
    assert mask(5, 0.5, 0).size == 0


@pytest.mark.parametrize("keep_probability", [0.0, -0.1, 1.5])
def test_keep_probability_outside_zero_one_is_refused(keep_probability):
    with pytest.raises(ValueError, match="keep_probability"):
        mask(5, keep_probability, 10)
