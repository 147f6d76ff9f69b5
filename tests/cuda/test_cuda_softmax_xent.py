"""kernels/cuda/softmax_xent.py against kernels/cpu/softmax_xent.py on the same logits and targets."""
import numpy as np
import pytest
from minigrad.kernels.cpu import softmax_xent as cpu
from minigrad.kernels.cuda import softmax_xent as gpu
from numba import cuda

# The two sides sum in float64 in different orders (serial there, a tree here), and the CPU
# contracts multiply-adds; float32 outputs are rounded from float64 values on both sides.
TOLERANCES = {np.float32: {"rtol": 1e-5, "atol": 1e-7}, np.float64: {"rtol": 1e-12, "atol": 1e-15}}
IGNORE_INDEX = -100
# (rows, classes, label_smoothing, dtype): MNIST-like rows in one warp, a single class, rows wider
# than a warp but not a power of two, and rows wider than the 256-thread block, so each thread
# takes several columns. Not the full product: every block barrier costs the simulator
# milliseconds, so each shape runs in the combinations that exercise it.
CASES = [
    (13, 10, 0.0, np.float32),
    (13, 10, 0.1, np.float32),
    (13, 10, 0.1, np.float64),
    (4, 1, 0.0, np.float32),
    (4, 1, 0.1, np.float64),
    (6, 45, 0.1, np.float32),
    (6, 45, 0.0, np.float64),
    (3, 300, 0.1, np.float32),
    (3, 300, 0.1, np.float64),
    (5, 3000, 0.1, np.float32),
    (2, 3000, 0.0, np.float64),
]


def random_problem(rows, classes, dtype, seed=0, ignored_every=5):
    """Logits of a few units, random targets, every ``ignored_every``-th row ignored."""
    generator = np.random.default_rng(seed)
    logits = (3 * generator.standard_normal((rows, classes))).astype(dtype)
    targets = generator.integers(0, classes, rows).astype(np.int64)
    targets[::ignored_every] = IGNORE_INDEX
    return logits, targets


def run_both(logits, targets, label_smoothing):
    """(losses, gradient) from the CUDA kernel and from the CPU kernel."""
    rows = logits.shape[0]
    expected_losses = np.empty(rows, logits.dtype)
    expected_grad = np.empty_like(logits)
    cpu.softmax_cross_entropy(logits, targets, label_smoothing, IGNORE_INDEX, expected_losses, expected_grad)
    # Outputs start as NaN, so an element the kernel forgot to write shows up.
    losses = cuda.to_device(np.full(rows, np.nan, logits.dtype))
    grad_logits = cuda.to_device(np.full(logits.shape, np.nan, logits.dtype))
    gpu.softmax_cross_entropy(cuda.to_device(logits), cuda.to_device(targets), label_smoothing, IGNORE_INDEX,
                              losses, grad_logits)
    return (losses.copy_to_host(), grad_logits.copy_to_host()), (expected_losses, expected_grad)


def assert_close(got, expected, dtype):
    for name, got_array, expected_array in zip(("losses", "grad_logits"), got, expected):
        assert got_array.dtype == dtype
        # NaN where the CPU has NaN, inf where it has inf (assert_allclose checks both positions).
        np.testing.assert_allclose(got_array, expected_array, err_msg=name, **TOLERANCES[dtype])


@pytest.mark.parametrize("rows, classes, label_smoothing, dtype", CASES)
def test_loss_and_gradient_match_the_cpu_kernel(rows, classes, label_smoothing, dtype):
    logits, targets = random_problem(rows, classes, dtype)
    got, expected = run_both(logits, targets, label_smoothing)
    assert_close(got, expected, dtype)
    ignored = targets == IGNORE_INDEX
    assert np.all(got[0][ignored] == 0) and np.all(got[1][ignored] == 0)
    assert np.all(got[0][~ignored] >= 0)  # zero only for a single class


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the simulator's NumPy scalars warn of inf - inf
def test_rows_with_nan_and_inf_logits_come_out_as_on_the_cpu():
    classes = 40  # wider than a warp: the special values sit in different threads' columns
    logits = np.random.default_rng(1).standard_normal((9, classes)).astype(np.float32)
    targets = np.full(9, 3, np.int64)
    logits[0, 0] = np.nan           # NaN where the serial max starts: the whole row is NaN
    logits[1, 33] = np.nan          # NaN elsewhere: the row is NaN all the same
    logits[2, 7] = -np.inf          # a -inf logit that is not the target: exp gives 0, all finite
    logits[3, 3] = -np.inf          # the target at -inf: an infinite loss, a finite gradient
    logits[4, :] = -np.inf          # a row of -inf: -inf - -inf is NaN
    logits[5, 20] = np.inf          # +inf: inf - inf is NaN
    logits[6, 0] = np.nan           # a NaN row that is ignored: loss 0, gradient 0 * NaN (PyTorch's)
    targets[6] = IGNORE_INDEX
    logits[7, :] = 5.0              # ties: a uniform softmax
    logits[8, 35] = 80.0            # a logit whose exp overflows float32 unless the max is taken off
    results = {}
    for label_smoothing in (0.0, 0.2):
        got, expected = run_both(logits, targets, label_smoothing)
        assert_close(got, expected, np.float32)
        results[label_smoothing] = got
    losses, grad = results[0.0]
    assert np.isnan(losses[0]) and np.isnan(losses[1]) and np.all(np.isnan(grad[:2]))
    assert np.isfinite(losses[2]) and np.isinf(losses[3]) and np.all(np.isfinite(grad[3]))
    assert np.all(np.isnan(grad[4])) and np.all(np.isnan(grad[5]))
    assert losses[6] == 0 and np.all(np.isnan(grad[6]))
    np.testing.assert_allclose(grad[7], np.full(classes, 1 / classes) - np.eye(classes)[3], rtol=1e-6)
    assert np.isfinite(losses[8]) and grad[8, 35] > 0.99
    # With smoothing every class's -log p counts: a -inf logit anywhere makes the loss infinite.
    assert np.isinf(results[0.2][0][2])


def test_the_same_input_gives_the_same_bits():
    logits, targets = random_problem(2, 300, np.float32, seed=2, ignored_every=3)
    first, _ = run_both(logits, targets, 0.1)
    second, _ = run_both(logits, targets, 0.1)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_an_empty_batch_launches_nothing():
    logits = np.empty((0, 10), np.float32)
    targets = np.empty(0, np.int64)
    (losses, grad), _ = run_both(logits, targets, 0.0)
    assert losses.shape == (0,) and grad.shape == (0, 10)
    assert gpu.count_targets(cuda.to_device(targets), 10, IGNORE_INDEX) == (0, 0)


def with_bad_targets(targets, every):
    """Every ``every``-th target made out of range, alternately below 0 and at or past the class count."""
    targets = targets.copy()
    targets[1::every] = np.where(np.arange(len(targets[1::every])) % 2, -3, 10 + np.arange(len(targets[1::every])))
    return targets


# All ignored, none ignored, some ignored, some out of range; one block, and two blocks of 256
# threads, the last partial.
@pytest.mark.parametrize("size, ignored_every, bad_every", [
    (1, 1, 10_000), (1, 10_000, 10_000), (2, 10_000, 1), (37, 3, 10_000), (37, 3, 4), (300, 1, 10_000),
    (300, 10_000, 10_000), (300, 3, 10_000), (300, 3, 7),
])
def test_count_targets_matches_the_cpu_kernel(size, ignored_every, bad_every):
    _, targets = random_problem(size, 10, np.float32, seed=size, ignored_every=ignored_every)
    targets = with_bad_targets(targets, bad_every)
    counts = gpu.count_targets(cuda.to_device(targets), 10, IGNORE_INDEX)
    assert all(type(count) is int for count in counts)
    expected_bad = int(np.sum((targets != IGNORE_INDEX) & ((targets < 0) | (targets >= 10))))
    assert counts == cpu.count_targets(targets, 10, IGNORE_INDEX)
    assert counts == (int(np.sum((targets >= 0) & (targets < 10))), expected_bad)


def test_count_targets_strides_past_the_largest_grid(monkeypatch):
    # One block of 256 threads for 600 targets: each thread counts two or three.
    monkeypatch.setattr(gpu, "COUNT_MAX_BLOCKS", 1)
    _, targets = random_problem(600, 10, np.float32, seed=3, ignored_every=7)
    targets = with_bad_targets(targets, 11)
    counts = gpu.count_targets(cuda.to_device(targets), 10, IGNORE_INDEX)
    bad = len(range(1, 600, 11))
    ignored = len(set(range(0, 600, 7)) - set(range(1, 600, 11)))  # a bad target replaced some ignored ones
    assert counts == cpu.count_targets(targets, 10, IGNORE_INDEX) == (600 - ignored - bad, bad)
