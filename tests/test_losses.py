"""The losses against PyTorch 2.13: values and every gradient in float32 and float64, each reduction, class
weights, probability targets, ignore_index, label smoothing, (N, C, d1, ...) inputs; gradcheck and
gradgradcheck in float64; the modules' arguments, buffers and refusals."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F

torch = pytest.importorskip("torch")
torch_functional = torch.nn.functional

DTYPES = {"float32": (mg.float32, torch.float32, 2e-5), "float64": (mg.float64, torch.float64, 1e-10)}
REDUCTIONS = ["mean", "sum", "none"]
# torch warns that kl_div's "mean" will change meaning; minigrad's is today's PyTorch's
pytestmark = pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")


def rng(seed=0):
    return np.random.default_rng(seed)


def matches_torch(mine, theirs, arrays, dtype_name, differentiable=None, constants=()):
    """mine(*tensors) and theirs(*torch tensors) agree in value and in the gradient of every input in
    ``differentiable`` (all by default), for a fixed random cotangent. ``constants`` are passed as is."""
    mg_dtype, torch_dtype, tolerance = DTYPES[dtype_name]
    differentiable = range(len(arrays)) if differentiable is None else differentiable
    ours = [mg.tensor(a, dtype=mg_dtype, requires_grad=i in differentiable) for i, a in enumerate(arrays)]
    reference = [torch.tensor(a, dtype=torch_dtype, requires_grad=i in differentiable) for i, a in enumerate(arrays)]
    out = mine(*ours, *constants)
    expected = theirs(*reference, *[torch.tensor(c) if isinstance(c, np.ndarray) else c for c in constants])
    assert out.dtype == mg_dtype
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=tolerance, atol=tolerance)
    cotangent = rng(7).standard_normal(out.shape)
    (out * mg.tensor(cotangent, dtype=mg_dtype)).sum().backward()
    (expected * torch.tensor(cotangent, dtype=torch_dtype)).sum().backward()
    for i in differentiable:
        np.testing.assert_allclose(ours[i].grad.numpy(), reference[i].grad.numpy(), rtol=tolerance,
                                   atol=tolerance, err_msg=f"gradient of input {i}")


# --- cross_entropy and nll_loss on class indices ----------------------------------------------------------

CLASS_CASES = {
    "2d": ((5, 4), np.array([0, 3, -100, 1, 3])),
    "nd": ((2, 4, 3, 2), np.array([[[0, 1], [3, -100], [2, 2]], [[1, 1], [0, 3], [-100, 2]]])),
    "one-sample": ((4,), np.array(2)),
}


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("case", sorted(CLASS_CASES))
def test_cross_entropy_on_class_indices_matches_torch(case, smoothing, weighted, reduction, dtype):
    shape, targets = CLASS_CASES[case]
    if case == "one-sample":
        targets = np.array(2)
    weight = np.array([0.5, 2.0, 1.0, 3.0]) if weighted else None

    def mine(x, w=None):
        return F.cross_entropy(x, mg.tensor(targets), weight=w, reduction=reduction, label_smoothing=smoothing)

    def theirs(x, w=None):
        return torch_functional.cross_entropy(x, torch.tensor(targets), weight=w, reduction=reduction,
                                              label_smoothing=smoothing)

    arrays = [rng(1).standard_normal(shape) * 2] + ([weight] if weighted else [])
    matches_torch(mine, theirs, arrays, dtype, differentiable=[0])


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("case", sorted(CLASS_CASES))
def test_nll_loss_matches_torch_with_weights_and_ignored_targets(case, weighted, reduction, dtype):
    shape, targets = CLASS_CASES[case]
    weight = [np.array([0.5, 2.0, 1.0, 3.0])] if weighted else []
    matches_torch(lambda x, *w: F.nll_loss(x, mg.tensor(targets), *w, reduction=reduction, ignore_index=-100),
                  lambda x, *w: torch_functional.nll_loss(x, torch.tensor(targets), *w, reduction=reduction),
                  [rng(2).standard_normal(shape)] + weight, dtype, differentiable=[0])


def test_ignore_index_other_than_the_default_with_weights():
    targets = np.array([0, 2, 1, 2])
    matches_torch(lambda x, w: F.cross_entropy(x, mg.tensor(targets), w, ignore_index=2, label_smoothing=0.1),
                  lambda x, w: torch_functional.cross_entropy(x, torch.tensor(targets), w, ignore_index=2,
                                                              label_smoothing=0.1),
                  [rng(3).standard_normal((4, 3)), np.array([1.0, 4.0, 2.0])], "float64", differentiable=[0])


def test_every_target_ignored_with_weights_gives_nan_as_torch():
    x = mg.tensor(rng(4).standard_normal((3, 4)), requires_grad=True)
    loss = F.cross_entropy(x, mg.tensor([-100] * 3), weight=mg.ones(4, dtype=mg.float64))
    expected = torch_functional.cross_entropy(torch.tensor(x.numpy()), torch.tensor([-100] * 3), weight=torch.ones(4, dtype=torch.float64))
    assert np.isnan(loss.item()) and np.isnan(expected.item())


def test_the_common_case_keeps_the_fused_kernel_and_weights_compose():
    x = mg.tensor(rng(5).standard_normal((3, 4)), requires_grad=True)
    assert F.cross_entropy(x, mg.tensor([0, 1, 2])).grad_fn.name == "SoftmaxCrossEntropy"
    assert F.cross_entropy(x, mg.tensor([0, 1, 2]), label_smoothing=0.1).grad_fn.name == "SoftmaxCrossEntropy"
    assert F.cross_entropy(x, mg.tensor([0, 1, 2]), weight=mg.ones(4)).grad_fn.name == "NllLoss"


# --- cross_entropy on probability targets -------------------------------------------------------------------

def probabilities(shape, class_dimension, seed):
    values = rng(seed).random(shape) + 0.05
    return values / values.sum(axis=class_dimension, keepdims=True)


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4), (3,)])
def test_cross_entropy_on_probability_targets_matches_torch_both_gradients(shape, smoothing, weighted, reduction,
                                                                           dtype):
    class_dimension = 0 if len(shape) == 1 else 1
    weight = [np.array([0.5, 2.0, 1.5])] if weighted else []
    matches_torch(lambda x, q, *w: F.cross_entropy(x, q, *w, reduction=reduction, label_smoothing=smoothing),
                  lambda x, q, *w: torch_functional.cross_entropy(x, q, *w, reduction=reduction,
                                                                  label_smoothing=smoothing),
                  [rng(6).standard_normal(shape), probabilities(shape, class_dimension, 8)] + weight, dtype,
                  differentiable=[0, 1])


# --- the pointwise losses -------------------------------------------------------------------------------------

def pointwise_pair(shape=(3, 5), seed=9):
    prediction = rng(seed).standard_normal(shape)
    target = rng(seed + 1).standard_normal(shape)
    target.flat[:4] = prediction.flat[:4] + np.array([0.0, 0.5, -1.0, 2.0])  # equal, and on the thresholds
    return prediction, target


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, options", [
    ("l1_loss", {}), ("mse_loss", {}), ("smooth_l1_loss", {"beta": 1.0}), ("smooth_l1_loss", {"beta": 0.5}),
    ("smooth_l1_loss", {"beta": 0.0}), ("huber_loss", {"delta": 1.0}), ("huber_loss", {"delta": 2.0}),
    ("huber_loss", {"delta": 0.3}),
])
def test_regression_losses_match_torch_both_gradients(name, options, reduction, dtype):
    matches_torch(lambda x, y: getattr(F, name)(x, y, reduction=reduction, **options),
                  lambda x, y: getattr(torch_functional, name)(x, y, reduction=reduction, **options),
                  list(pointwise_pair()), dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["l1_loss", "mse_loss", "huber_loss"])
def test_elementwise_weights_reduce_as_torch(name, reduction):
    prediction, target = pointwise_pair()
    weight = rng(11).random(prediction.shape) + 0.1
    matches_torch(lambda x, y, w: getattr(F, name)(x, y, reduction=reduction, weight=w),
                  lambda x, y, w: getattr(torch_functional, name)(x, y, reduction=reduction, weight=w),
                  [prediction, target, weight], "float64", differentiable=[0, 1])


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_matches_torch_clamps_included(weighted, reduction, dtype):
    x = rng(12).random((4, 3))
    x[0, :2] = [0.0, 1.0]  # log clamped at -100; the gradient's denominator at 1e-12
    y = (rng(13).random((4, 3)) > 0.5).astype(float)
    y[0, :2] = [1.0, 0.0]
    y[1, 0] = 0.3  # soft targets are allowed
    weight = [rng(14).random(3) + 0.5] if weighted else []
    matches_torch(lambda p, t, *w: F.binary_cross_entropy(p, t, *w, reduction=reduction),
                  lambda p, t, *w: torch_functional.binary_cross_entropy(p, t, *w, reduction=reduction),
                  [x, y] + weight, dtype, differentiable=[0])


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch_both_gradients(log_target, reduction, dtype):
    log_p = np.log(probabilities((4, 5), 1, 15))
    q = probabilities((4, 5), 1, 16)
    q[0, 1] = 0.0  # xlogy(0, 0) = 0
    target = np.log(q + 0.01) if log_target else q
    matches_torch(lambda x, t: F.kl_div(x, t, reduction=reduction, log_target=log_target),
                  lambda x, t: torch_functional.kl_div(x, t, reduction=reduction, log_target=log_target),
                  [log_p, target], dtype, differentiable=[0, 1] if log_target else [0])
    if not log_target:
        # The target's gradient log(t) + 1 - x, where t > 0 (at t = 0 PyTorch gives NaN, minigrad -x:
        # the derivative of the 0 that xlogy(0, 0) is defined as).
        matches_torch(lambda x, t: F.kl_div(x, t, reduction=reduction),
                      lambda x, t: torch_functional.kl_div(x, t, reduction=reduction),
                      [log_p, probabilities((4, 5), 1, 16)], dtype)


# --- gradcheck and gradgradcheck in float64 ------------------------------------------------------------------

def leaf(array):
    return mg.tensor(array, dtype=mg.float64, requires_grad=True)


WEIGHTS = mg.tensor([0.5, 2.0, 1.0, 3.0], dtype=mg.float64)
GRADCHECKED = {
    "cross_entropy weighted smoothed": (lambda x: F.cross_entropy(x, mg.tensor([0, 3, -100, 1]), WEIGHTS,
                                                                  label_smoothing=0.2), [(4, 4)]),
    "cross_entropy nd": (lambda x: F.cross_entropy(x, mg.tensor([[0, 3], [1, 1]])), [(2, 4, 2)]),
    "cross_entropy probabilities": (lambda x, q: F.cross_entropy(x, q.softmax(dim=1), WEIGHTS, label_smoothing=0.1),
                                    [(3, 4), (3, 4)]),
    "nll_loss weighted": (lambda x: F.nll_loss(x, mg.tensor([0, 3, 2]), WEIGHTS, reduction="sum"), [(3, 4)]),
    "l1_loss": (lambda x, y: F.l1_loss(x, y), [(3, 4), (3, 4)]),
    "smooth_l1_loss": (lambda x, y: F.smooth_l1_loss(x, y, beta=0.7), [(3, 4), (3, 4)]),
    "huber_loss": (lambda x, y: F.huber_loss(x, y, delta=0.8, reduction="sum"), [(3, 4), (3, 4)]),
    "binary_cross_entropy": (lambda x: F.binary_cross_entropy(x.sigmoid(), mg.tensor(np.full((3, 4), 0.3))),
                             [(3, 4)]),
    "kl_div": (lambda x, t: F.kl_div(x.log_softmax(dim=1), t.softmax(dim=1), reduction="batchmean"), [(3, 4), (3, 4)]),
    "kl_div log_target": (lambda x, t: F.kl_div(x, t, log_target=True), [(3, 4), (3, 4)]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKED))
def test_gradcheck_and_gradgradcheck(name):
    function, shapes = GRADCHECKED[name]
    inputs = [leaf(rng(20 + i).standard_normal(shape) * 1.3) for i, shape in enumerate(shapes)]
    assert mg.gradcheck(function, inputs)
    assert mg.gradgradcheck(function, inputs)


# --- modules and refusals -------------------------------------------------------------------------------------

def test_modules_take_torch_arguments_and_keep_weights_as_buffers():
    weight = mg.tensor([1.0, 2.0, 3.0])
    loss = nn.CrossEntropyLoss(weight, None, 1, None, "sum", 0.1)
    assert (loss.ignore_index, loss.reduction, loss.label_smoothing) == (1, "sum", 0.1)
    assert list(loss.state_dict()) == ["weight"] and list(nn.CrossEntropyLoss().state_dict()) == []
    x, targets = mg.tensor(rng(21).standard_normal((4, 3)), dtype=mg.float32), mg.tensor([0, 1, 2, 1])
    expected = torch.nn.CrossEntropyLoss(torch.tensor([1.0, 2.0, 3.0]), None, 1, None, "sum", 0.1)(
        torch.tensor(x.numpy()), torch.tensor(targets.numpy()))
    np.testing.assert_allclose(loss(x, targets).item(), expected.item(), rtol=1e-6)
    assert nn.SmoothL1Loss(beta=0.5).beta == 0.5 and nn.HuberLoss("sum", 2.0).delta == 2.0
    assert nn.KLDivLoss(reduction="batchmean", log_target=True).log_target
    assert list(nn.BCELoss(weight=mg.ones(3)).state_dict()) == ["weight"]
    for module in (nn.L1Loss(), nn.SmoothL1Loss(beta=2.0), nn.HuberLoss(delta=2.0), nn.BCELoss(), nn.KLDivLoss(),
                   nn.NLLLoss(weight=mg.ones(2))):
        assert repr(module) == repr(getattr(torch.nn, type(module).__name__)())


@pytest.mark.parametrize("name, arguments, module", [
    ("l1_loss", (), nn.L1Loss), ("smooth_l1_loss", (), nn.SmoothL1Loss), ("binary_cross_entropy", (), nn.BCELoss),
    ("kl_div", (), nn.KLDivLoss), ("mse_loss", (), nn.MSELoss),
])
def test_legacy_size_average_and_reduce_are_refused(name, arguments, module):
    x = mg.tensor([0.5, 0.25])
    with pytest.raises(ValueError, match=f"{name}: size_average and reduce are deprecated"):
        getattr(F, name)(x, x, size_average=True)
    with pytest.raises(ValueError, match=f"{module.__name__}: size_average and reduce are deprecated"):
        module(reduce=False)


def test_refusals_name_the_function_and_the_value():
    x = mg.tensor(rng(22).standard_normal((3, 4)))
    with pytest.raises(ValueError, match=r"cross_entropy: weight must have one value per class, shape \(4,\), got \(3,\)"):
        F.cross_entropy(x, mg.tensor([0, 1, 2]), weight=mg.ones(3))
    with pytest.raises(ValueError, match="cross_entropy: size_average and reduce"):
        F.cross_entropy(x, mg.tensor([0, 1, 2]), size_average=False)
    with pytest.raises(IndexError, match="nll_loss: target 7 at index 1"):
        F.nll_loss(x, mg.tensor([0, 7, 2]), weight=mg.ones(4))
    with pytest.raises(IndexError, match="cross_entropy: target 4 at index 0"):
        F.cross_entropy(x, mg.tensor([4, 1, 2]), weight=mg.ones(4))
    with pytest.raises(TypeError, match="probability targets must be float and of the logits' shape"):
        F.cross_entropy(x, mg.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="binary_cross_entropy: all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(mg.tensor([0.5, 1.5]), mg.tensor([1.0, 0.0]))
    with pytest.raises(NotImplementedError, match="binary_cross_entropy: the target's gradient"):
        F.binary_cross_entropy(mg.tensor([0.5, 0.5]), mg.tensor([1.0, 0.0], requires_grad=True))
    with pytest.raises(ValueError, match="kl_div: reduction must be 'mean', 'batchmean', 'sum' or 'none', got 'avg'"):
        F.kl_div(x, x, reduction="avg")
    with pytest.raises(ValueError, match="KLDivLoss: reduction must be one of"):
        nn.KLDivLoss(reduction="avg")
    with pytest.raises(ValueError, match="l1_loss: weight of shape"):
        F.l1_loss(x, x, weight=mg.ones(4))
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be non-negative, got -1"):
        F.smooth_l1_loss(x, x, beta=-1)
    with pytest.raises(ValueError, match="huber_loss: delta must be positive, got 0"):
        F.huber_loss(x, x, delta=0)
    with pytest.raises(ValueError, match=r"l1_loss: target of shape \(4,\) must have the input's shape"):
        F.l1_loss(x, mg.ones(4))
