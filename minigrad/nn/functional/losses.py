"""The classification losses on class indices or probabilities, PyTorch's names, arguments and reductions.

cross_entropy's common case (class indices, no class weights) is one fused kernel
(ops.SoftmaxCrossEntropy); class weights and probability targets compose log_softmax (itself a
fused op) with the weighted NLL op or a product and a sum. Inputs of shape (N, C, d1, ...) are
handled by moving the classes last and flattening the positions, so every path works on (M, C).
The regression losses are in regression_losses.py, the binary and divergence ones in
probability_losses.py; all are reached as ``F.<name>``.
"""
import numpy as np

from ... import backend, ops
from ...functions import where
from ...tensor import Tensor
from .arguments import check_reduction, check_targets, check_tensors, on_device_of
from .probability_losses import binary_cross_entropy, binary_cross_entropy_with_logits, kl_div  # noqa: F401
from .regression_losses import huber_loss, l1_loss, l2_loss, legacy_reduction, mse_loss, smooth_l1_loss  # noqa: F401


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,  # noqa: A002
                  reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy of logits (N, C) or (N, C, d1, ...) or (C,) against class indices of shape
    (N,) / (N, d1, ...) / () or class probabilities of the input's shape, as PyTorch's.

    ``weight`` (C,) weighs each class (the mean then divides by the summed weights of the targets);
    ``label_smoothing`` mixes the target with the uniform distribution; targets equal to
    ``ignore_index`` contribute nothing (class indices only). ``size_average`` and ``reduce`` are
    PyTorch's deprecated spellings of ``reduction``, refused unless None.
    """
    name = "cross_entropy"
    check_tensors(name, ("logits", input), ("weight", weight))
    if input.dtype.kind != "f":
        raise TypeError(f"{name}: logits must be float32 or float64, got {input.dtype}")
    legacy_reduction(name, size_average, reduce)
    check_reduction(name, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    if input.ndim == 0:
        raise ValueError(f"{name}: logits must have a class dimension, (C,), (N, C) or (N, C, d1, ...), got shape ()")
    class_dimension = 0 if input.ndim == 1 else 1
    classes = input.shape[class_dimension]
    class_weights = class_weight(name, weight, input, classes)
    targets = on_device_of(name, "targets", input, target.data if isinstance(target, Tensor) else np.asarray(target))
    if targets.dtype.kind == "f" and targets.shape == input.shape:
        return probability_cross_entropy(input, target, targets, class_weights, class_dimension, reduction,
                                         float(label_smoothing))
    if targets.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: targets must be integer class indices (int64), got {targets.dtype} of shape {targets.shape}; "
            f"probability targets must be float and of the logits' shape {input.shape}"
        )
    logits, targets, loss_shape = classes_last(name, "logits", input, targets)
    targets = backend.contiguous(targets.astype(np.int64, copy=False))
    if class_weights is not None:
        losses = weighted_cross_entropy(logits, targets, class_weights, int(ignore_index), reduction,
                                        float(label_smoothing))
        return losses.reshape(loss_shape) if reduction == "none" else losses
    # One pass counts the targets for the mean and finds bad ones (a kernel must not read outside a
    # row); only then does the slower check run, to name the first bad target.
    count, out_of_range = backend.count_targets(targets, classes, int(ignore_index))
    if out_of_range:
        check_targets(name, targets, classes, ignore_index)
    losses = ops.SoftmaxCrossEntropy.apply(
        logits, targets=targets, reduction=reduction, label_smoothing=float(label_smoothing),
        ignore_index=int(ignore_index), count=count,
    )
    return losses.reshape(loss_shape) if reduction == "none" and losses.shape != loss_shape else losses


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,  # noqa: A002
             reduction="mean"):
    """-w[t] input[n, t] for t = target[n], reduced over n, as PyTorch's: "mean" divides by the summed
    weights of the non-ignored targets (their count without ``weight``). Shapes as cross_entropy's."""
    name = "nll_loss"
    check_tensors(name, ("input", input), ("weight", weight))
    legacy_reduction(name, size_average, reduce)
    check_reduction(name, reduction)
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have a class dimension, (C,), (N, C) or (N, C, d1, ...), got shape ()")
    targets = on_device_of(name, "targets", input, target.data if isinstance(target, Tensor) else np.asarray(target))
    if targets.dtype.kind not in "iu":
        raise TypeError(f"{name}: targets must be integer class indices (int64), got {targets.dtype}")
    log_probabilities, targets, loss_shape = classes_last(name, "input", input, targets)
    classes = log_probabilities.shape[1]
    class_weights = class_weight(name, weight, input, classes)
    targets = targets.astype(np.int64, copy=False)
    check_targets(name, targets, classes, ignore_index)
    losses = ops.NllLoss.apply(log_probabilities, targets=targets, reduction=reduction,
                               ignore_index=int(ignore_index), weight=class_weights)
    return losses.reshape(loss_shape) if reduction == "none" else losses


def classes_last(name, label, input, targets):  # noqa: A002
    """(input as (M, C), targets as (M,), the shape of the per-position losses): (N, C, d1, ...) has its
    classes moved last and its positions flattened; (C,) is one row."""
    if input.ndim == 1:
        if targets.shape != ():
            raise ValueError(f"{name}: targets of shape {targets.shape} do not match {label} of shape {input.shape} "
                             "(one sample of C classes takes a 0-d target)")
        return input.reshape(1, -1), targets.reshape(1), ()
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if targets.shape != expected:
        raise ValueError(f"{name}: targets of shape {targets.shape} do not match {label} of shape {input.shape} "
                         f"(expected {expected})")
    if input.ndim == 2:
        return input, targets, expected
    moved = input.permute(0, *range(2, input.ndim), 1).reshape(-1, input.shape[1])
    return moved, targets.reshape(-1), expected


def class_weight(name, weight, input, classes):  # noqa: A002
    """The class weights as a (C,) array of the input's dtype on its device, or None."""
    if weight is None:
        return None
    array = on_device_of(name, "weight", input, weight.data)
    if array.shape != (classes,):
        raise ValueError(f"{name}: weight must have one value per class, shape ({classes},), got {array.shape}")
    return array.astype(input.dtype, copy=False)


def weighted_cross_entropy(logits, targets, class_weights, ignore_index, reduction, label_smoothing):
    """PyTorch's weighted cross-entropy on (M, C) logits: the weighted NLL of log_softmax, plus, with label
    smoothing, s/C times -sum_c w_c log p_c per row, divided for "mean" by the targets' summed weights."""
    name = "cross_entropy"
    classes = logits.shape[1]
    check_targets(name, targets, classes, ignore_index)
    log_probabilities = logits.log_softmax(dim=1)
    loss = ops.NllLoss.apply(log_probabilities, targets=targets, reduction=reduction, ignore_index=ignore_index,
                             weight=class_weights)
    if label_smoothing == 0.0:
        return loss
    valid = targets != ignore_index
    weight_row = Tensor._wrap(class_weights.reshape(1, classes), logits.device)
    # Ignored rows masked by a where, as PyTorch's masked_fill: they get neither a loss nor a gradient,
    # even where a log-probability is infinite.
    smooth = where(Tensor._wrap(valid, logits.device), -(log_probabilities * weight_row).sum(dim=1), 0.0)
    if reduction == "mean":
        total_weight = float(np.where(valid, class_weights[np.where(valid, targets, 0)], 0).sum())
        # No weight counted: a NaN loss with a zero gradient, as PyTorch's
        smooth = smooth.sum() / total_weight if total_weight else smooth.sum() * 0.0 + float("nan")
    elif reduction == "sum":
        smooth = smooth.sum()
    return loss * (1.0 - label_smoothing) + smooth * (label_smoothing / classes)


def probability_cross_entropy(input, target, targets, class_weights, class_dimension, reduction,  # noqa: A002
                              label_smoothing):
    """-sum_c w_c q_c log_softmax(x)_c per position, q the (smoothed) target probabilities; "mean" divides by
    the positions (PyTorch's: not by the weights). A target that requires grad gets its gradient too."""
    classes = input.shape[class_dimension]
    if isinstance(target, Tensor) and target.dtype == input.dtype:
        q = target
    else:
        q = Tensor._wrap(targets.astype(input.dtype), input.device)
    if label_smoothing:
        q = q * (1.0 - label_smoothing) + label_smoothing / classes
    log_probabilities = input.log_softmax(dim=class_dimension)
    products = log_probabilities * q
    if class_weights is not None:
        shape = [1] * input.ndim
        shape[class_dimension] = classes
        products = products * Tensor._wrap(class_weights.reshape(shape), input.device)
    if reduction == "none":
        return -products.sum(dim=class_dimension)
    total = -products.sum()
    if reduction == "sum":
        return total
    positions = input.numel() // classes if classes else 0
    return total / positions if positions else total * float("nan")
