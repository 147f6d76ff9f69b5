"""mg.nn.functional: the fused cross-entropy's argument checks, extremes, and the thin wrappers."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F


def logits(rows=4, classes=3, dtype=mg.float32):
    return mg.tensor(np.random.default_rng(0).standard_normal((rows, classes)), dtype=dtype, requires_grad=True)


def test_target_out_of_range_names_the_value_index_and_class_count():
    with pytest.raises(IndexError, match=r"target 3 at index 2 is out of range for 3 classes"):
        F.cross_entropy(logits(), mg.tensor([0, 1, 3, 2]))


def test_negative_target_other_than_ignore_index_is_refused():
    with pytest.raises(IndexError, match=r"target -1 at index 0"):
        F.cross_entropy(logits(), mg.tensor([-1, 1, 0, 2]))


def test_float_targets_are_refused_with_the_dtype():
    with pytest.raises(TypeError, match=r"integer class indices.*float32"):
        F.cross_entropy(logits(), mg.tensor([0.0, 1.0, 2.0, 0.0]))


def test_target_shape_must_match_the_batch():
    with pytest.raises(ValueError, match=r"targets of shape \(3,\) do not match logits of shape \(4, 3\)"):
        F.cross_entropy(logits(), mg.tensor([0, 1, 2]))


@pytest.mark.parametrize("shape, expected", [((3,), "0-d target"), ((2, 3, 4), r"expected \(2, 4\)")])
def test_targets_must_have_the_logits_shape_without_the_classes(shape, expected):
    # PyTorch's shapes: (C,) takes a 0-d target, (N, C, d1) takes (N, d1)
    with pytest.raises(ValueError, match=expected):
        F.cross_entropy(mg.zeros(shape), mg.tensor([0] * shape[0]))


def test_bad_reduction_and_smoothing_are_refused():
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(logits(), mg.tensor([0, 1, 2, 0]), reduction="average")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(logits(), mg.tensor([0, 1, 2, 0]), label_smoothing=1.5)


def test_numpy_targets_are_accepted():
    loss = F.cross_entropy(logits(), np.array([0, 1, 2, 0]))
    assert loss.shape == () and np.isfinite(loss.item())


def test_huge_logits_stay_finite_in_forward_and_backward():
    x = mg.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], requires_grad=True)
    loss = F.cross_entropy(x, mg.tensor([1, 2]))
    loss.backward()
    np.testing.assert_allclose(loss.item(), 1e4, rtol=1e-6)  # row 0 misses by 2e4, row 1 is right
    assert np.isfinite(x.grad.data).all()
    assert np.isfinite(x.log_softmax().data).all()


def test_all_targets_ignored_gives_nan_mean_as_pytorch():
    loss = F.cross_entropy(logits(), mg.tensor([-100] * 4))
    assert np.isnan(loss.item())


def test_float64_logits_give_a_float64_loss_and_gradient():
    x = logits(dtype=mg.float64)
    loss = F.cross_entropy(x, mg.tensor([0, 1, 2, 0]))
    loss.backward()
    assert loss.dtype == mg.float64 and x.grad.dtype == mg.float64


def test_gradient_of_the_mean_loss_is_softmax_minus_onehot_over_batch():
    x = logits(dtype=mg.float64)
    targets = np.array([0, 1, 2, 0])
    F.cross_entropy(x, targets).backward()
    softmax = np.exp(x.data) / np.exp(x.data).sum(1, keepdims=True)
    expected = (softmax - np.eye(3)[targets]) / 4
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12)


def test_wrappers_call_the_tensor_methods():
    x = logits(dtype=mg.float64)
    np.testing.assert_allclose(F.relu(x).data, np.maximum(x.data, 0))
    np.testing.assert_allclose(F.sigmoid(x).data, x.sigmoid().data)
    np.testing.assert_allclose(F.tanh(x).data, np.tanh(x.data))
    np.testing.assert_allclose(F.softmax(x, dim=0).data, x.softmax(0).data)
    np.testing.assert_allclose(F.log_softmax(x).data, x.log_softmax(-1).data)
