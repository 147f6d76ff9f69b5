"""The losses of probabilities: binary cross-entropy (on probabilities and on logits) and the KL divergence,
PyTorch's names, arguments and reductions."""
from ... import ops
from ...functions import where
from ...tensor import Tensor
from .arguments import check_reduction, constant_array, same_shape_target
from .regression_losses import legacy_reduction


def constant_target(name, input, target):  # noqa: A002
    """The target as an array of the input's dtype and shape; a target that needs a gradient is refused."""
    if isinstance(target, Tensor) and target.requires_grad:
        raise NotImplementedError(f"{name}: the target's gradient is not supported (the target requires grad); "
                                  "pass target.detach()")
    return same_shape_target(name, input, target).data


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):  # noqa: A002
    """-w (y log x + (1 - y) log(1 - x)) with each log clamped at -100, as PyTorch's; x in [0, 1]."""
    name = "binary_cross_entropy"
    legacy_reduction(name, size_average, reduce)
    check_reduction(name, reduction)
    targets = constant_target(name, input, target)
    x = input.data
    if x.size and bool((~((x >= 0) & (x <= 1))).any()):
        raise ValueError(f"{name}: all elements of input should be between 0 and 1 (probabilities; for logits "
                         "use binary_cross_entropy_with_logits)")
    weight = None if weight is None else constant_array(name, "weight", weight, input)
    return ops.BinaryCrossEntropy.apply(input, targets=targets, weight=weight, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,  # noqa: A002
                                     reduction="mean", pos_weight=None):
    """Sigmoid and binary cross-entropy in one stable op: mean of -w [p y log s(x) + (1 - y) log(1 - s(x))]."""
    name = "binary_cross_entropy_with_logits"
    legacy_reduction(name, size_average, reduce)
    check_reduction(name, reduction)
    targets = same_shape_target(name, input, target).data
    weight = None if weight is None else constant_array(name, "weight", weight, input)
    pos_weight = None if pos_weight is None else constant_array(name, "pos_weight", pos_weight, input)
    return ops.BinaryCrossEntropyWithLogits.apply(
        input, targets=targets, weight=weight, positive_weight=pos_weight, reduction=reduction
    )


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):  # noqa: A002
    """KL(target || input) pointwise, input holding log-probabilities: target (log target - input), 0 where
    target is 0; with ``log_target`` the target holds log-probabilities too: exp(target) (target - input).
    "batchmean" divides the sum by the batch size (the KL divergence per sample); "mean" divides by
    every element, as PyTorch's. A target that requires grad gets its gradient too."""
    name = "kl_div"
    legacy_reduction(name, size_average, reduce)
    if reduction not in ("mean", "batchmean", "sum", "none"):
        raise ValueError(f"{name}: reduction must be 'mean', 'batchmean', 'sum' or 'none', got {reduction!r}")
    target = same_shape_target(name, input, target)
    if log_target:
        pointwise = target.exp() * (target - input)
    else:
        zero = target == 0  # xlogy(0, 0) = 0; a negative target gives NaN, as in PyTorch
        safe = where(zero, 1.0, target)
        pointwise = target * safe.log() - target * input
    if reduction == "batchmean":
        total = pointwise.sum()
        return total / input.shape[0] if input.ndim else total
    return ops.reduce_losses(pointwise, reduction)

