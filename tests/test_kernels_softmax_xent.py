"""The fused softmax cross-entropy kernel against NumPy, PyTorch and its bounds-checked twin."""
import numpy as np
import pytest

from minigrad.kernels.cpu.preset import checked_twin
from minigrad.kernels.cpu.softmax_xent import count_targets, softmax_cross_entropy

IGNORE_INDEX = -100
TOLERANCES = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


def reference(logits, targets, label_smoothing, ignore_index):
    """Per-row losses and their gradient, in float64, by a plain log-sum-exp."""
    logits = logits.astype(np.float64)
    row_count, class_count = logits.shape
    row_max = logits.max(axis=1, keepdims=True)
    log_sum_exp = row_max + np.log(np.exp(logits - row_max).sum(axis=1, keepdims=True))
    log_probabilities = logits - log_sum_exp
    valid = targets != ignore_index
    target_distribution = np.full(logits.shape, label_smoothing / class_count)
    target_distribution[np.flatnonzero(valid), targets[valid]] += 1.0 - label_smoothing
    losses = -(target_distribution * log_probabilities).sum(axis=1)
    grad_logits = np.exp(log_probabilities) - target_distribution
    losses[~valid] = 0.0
    grad_logits[~valid] = 0.0
    return losses, grad_logits


def make_inputs(row_count, class_count, dtype, ignored_fraction=0.0, scale=3.0, seed=0,
                ignore_index=IGNORE_INDEX):
    generator = np.random.default_rng(seed)
    logits = (scale * generator.standard_normal((row_count, class_count))).astype(dtype)
    targets = generator.integers(0, class_count, row_count)
    targets[generator.random(row_count) < ignored_fraction] = ignore_index
    return logits, targets


def run(kernel, logits, targets, label_smoothing=0.0, ignore_index=IGNORE_INDEX):
    losses = np.empty(logits.shape[0], logits.dtype)
    grad_logits = np.empty(logits.shape, logits.dtype)
    kernel(logits, targets, label_smoothing, ignore_index, losses, grad_logits)
    return losses, grad_logits


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row_count", [1, 3, 100, 257])
@pytest.mark.parametrize("class_count", [1, 2, 10, 1000])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("ignored_fraction", [0.0, 0.3])
def test_matches_numpy_reference(dtype, row_count, class_count, label_smoothing, ignored_fraction):
    logits, targets = make_inputs(row_count, class_count, dtype, ignored_fraction)
    losses, grad_logits = run(softmax_cross_entropy, logits, targets, label_smoothing)
    expected_losses, expected_grad = reference(logits, targets, label_smoothing, IGNORE_INDEX)
    assert losses.dtype == grad_logits.dtype == dtype
    np.testing.assert_allclose(losses, expected_losses, **TOLERANCES[dtype])
    np.testing.assert_allclose(grad_logits, expected_grad, **TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_contiguous_logits(dtype):
    logits, targets = make_inputs(50, 20, dtype, ignored_fraction=0.2)
    strided = np.asfortranarray(logits)[:, ::2]
    losses, grad_logits = run(softmax_cross_entropy, strided, targets % 10, 0.1)
    expected_losses, expected_grad = reference(strided, targets % 10, 0.1, IGNORE_INDEX)
    np.testing.assert_allclose(losses, expected_losses, **TOLERANCES[dtype])
    np.testing.assert_allclose(grad_logits, expected_grad, **TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("ignore_index", [IGNORE_INDEX, 3])
def test_matches_pytorch(dtype, label_smoothing, ignore_index):
    torch = pytest.importorskip("torch")
    logits, targets = make_inputs(64, 10, dtype, ignored_fraction=0.2, ignore_index=ignore_index)
    losses, grad_logits = run(softmax_cross_entropy, logits, targets, label_smoothing, ignore_index)
    torch_logits = torch.from_numpy(logits).requires_grad_()
    torch_losses = torch.nn.functional.cross_entropy(
        torch_logits, torch.from_numpy(targets), reduction="none",
        label_smoothing=label_smoothing, ignore_index=ignore_index)
    torch_losses.sum().backward()
    tolerance = TOLERANCES[dtype] if dtype == np.float64 else dict(rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(losses, torch_losses.detach().numpy(), **tolerance)
    np.testing.assert_allclose(grad_logits, torch_logits.grad.numpy(), **tolerance)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_stay_finite(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, 1e4], [-1e4, 1e4, 1e4]],
                      dtype)
    targets = np.array([1, 0, 2, 0])
    losses, grad_logits = run(softmax_cross_entropy, logits, targets, 0.1)
    expected_losses, expected_grad = reference(logits, targets, 0.1, IGNORE_INDEX)
    assert np.isfinite(losses).all() and np.isfinite(grad_logits).all()
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-6)
    np.testing.assert_allclose(grad_logits, expected_grad, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equal_logits_give_uniform_softmax(dtype):
    class_count = 7
    logits = np.full((2, class_count), 5.0, dtype)
    losses, grad_logits = run(softmax_cross_entropy, logits, np.array([0, 6]))
    np.testing.assert_allclose(losses, np.log(class_count), rtol=1e-6)
    np.testing.assert_allclose(grad_logits[0, 1:], 1.0 / class_count, rtol=1e-6)
    np.testing.assert_allclose(grad_logits[0, 0], 1.0 / class_count - 1.0, rtol=1e-6)


def test_huge_class_count_stays_finite():
    logits, targets = make_inputs(2, 200_000, np.float32, scale=20.0)
    losses, grad_logits = run(softmax_cross_entropy, logits, targets, 0.1)
    expected_losses, expected_grad = reference(logits, targets, 0.1, IGNORE_INDEX)
    assert np.isfinite(losses).all() and np.isfinite(grad_logits).all()
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-5)
    np.testing.assert_allclose(grad_logits, expected_grad, atol=1e-6)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_nan_logit_poisons_its_row_only(label_smoothing):
    logits, targets = make_inputs(4, 5, np.float32)
    logits[2, 3] = np.nan
    losses, grad_logits = run(softmax_cross_entropy, logits, targets, label_smoothing)
    assert np.isnan(losses[2]) and np.isnan(grad_logits[2]).all()
    others = [0, 1, 3]
    expected_losses, expected_grad = reference(logits[others], targets[others], label_smoothing,
                                               IGNORE_INDEX)
    np.testing.assert_allclose(losses[others], expected_losses, rtol=1e-5)
    np.testing.assert_allclose(grad_logits[others], expected_grad, atol=1e-6)


def test_infinite_logits_behave_like_pytorch():
    torch = pytest.importorskip("torch")
    logits, targets = make_inputs(4, 5, np.float64)
    logits[0, 1] = np.inf
    logits[1, :] = -np.inf
    logits[2, 4] = -np.inf
    targets[2] = 0
    for label_smoothing in (0.0, 0.1):
        losses, _ = run(softmax_cross_entropy, logits, targets, label_smoothing)
        torch_losses = torch.nn.functional.cross_entropy(
            torch.from_numpy(logits), torch.from_numpy(targets), reduction="none",
            label_smoothing=label_smoothing)
        np.testing.assert_allclose(losses, torch_losses.numpy(), rtol=1e-12)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_gradient_rows_sum_to_zero(label_smoothing):
    logits, targets = make_inputs(100, 10, np.float32, ignored_fraction=0.2)
    _, grad_logits = run(softmax_cross_entropy, logits, targets, label_smoothing)
    valid = targets != IGNORE_INDEX
    np.testing.assert_allclose(grad_logits[valid].sum(axis=1), 0.0, atol=1e-6)
    assert not grad_logits[~valid].any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("class_count", [1, 10, 1000])
def test_checked_twin_agrees(dtype, class_count):
    logits, targets = make_inputs(37, class_count, dtype, ignored_fraction=0.3)
    losses, grad_logits = run(softmax_cross_entropy, logits, targets, 0.1)
    # Same per-row code, but LLVM may vectorise the two compilations' sums differently.
    checked_losses, checked_grad = run(checked_twin(softmax_cross_entropy), logits, targets, 0.1)
    np.testing.assert_allclose(checked_losses, losses, **TOLERANCES[dtype])
    np.testing.assert_allclose(checked_grad, grad_logits, **TOLERANCES[dtype])


def test_count_targets():
    targets = np.array([0, -100, 3, -100, 7, 2])
    assert count_targets(targets, 10, -100) == (4, 0)
    assert count_targets(targets, 10, 3) == (3, 2)  # -100 is out of range when 3 is the ignored index
    assert count_targets(targets, 5, -100) == (3, 1)  # 7 is not a class of 5
    assert count_targets(np.array([-1, 5, 0]), 5, -100) == (1, 2)  # below 0 and at the class count
    assert count_targets(np.full(5, -100), 10, -100) == (0, 0)
    assert count_targets(np.empty(0, np.int64), 10, -100) == (0, 0)
    assert checked_twin(count_targets)(targets, 5, -100) == (3, 1)
