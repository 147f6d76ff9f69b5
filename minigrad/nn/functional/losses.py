"""The losses, PyTorch's names and reductions."""
import numpy as np

from ... import backend, ops
from ...tensor import Tensor
from .arguments import (
    check_reduction, check_targets, check_tensors, class_targets, constant_array, on_device_of, same_shape_target,
)


def cross_entropy(logits, target, reduction="mean", label_smoothing=0.0, ignore_index=-100):
    """Softmax cross-entropy of (N, C) logits against N integer class indices, in one fused kernel.

    ``reduction`` is "mean" (over non-ignored targets), "sum" or "none"; ``label_smoothing`` mixes
    the one-hot target with the uniform distribution, as PyTorch does; rows whose target equals
    ``ignore_index`` contribute nothing.
    """
    name = "cross_entropy"
    check_tensors(name, ("logits", logits))
    if logits.dtype.kind != "f":
        raise TypeError(f"{name}: logits must be float32 or float64, got {logits.dtype}")
    if logits.ndim != 2:
        raise ValueError(f"{name}: logits must have shape (batch, classes), got {logits.shape}")
    targets = on_device_of(name, "targets", logits, target.data if isinstance(target, Tensor) else np.asarray(target))
    if targets.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: targets must be integer class indices (int64), got {targets.dtype}; "
            "probability targets are not supported"
        )
    if targets.shape != logits.shape[:1]:
        raise ValueError(f"{name}: targets of shape {targets.shape} do not match logits of shape {logits.shape}")
    check_reduction(name, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    classes = logits.shape[1]
    targets = backend.contiguous(targets.astype(np.int64, copy=False))
    # One pass counts the targets for the mean and finds bad ones (a kernel must not read outside a
    # row); only then does the slower check run, to name the first bad target.
    count, out_of_range = backend.count_targets(targets, classes, int(ignore_index))
    if out_of_range:
        check_targets(name, targets, classes, ignore_index)
    return ops.SoftmaxCrossEntropy.apply(
        logits, targets=targets, reduction=reduction, label_smoothing=float(label_smoothing),
        ignore_index=int(ignore_index), count=count,
    )


def nll_loss(log_probabilities, target, reduction="mean", ignore_index=-100):
    """-log_probabilities[n, target[n]], reduced over n (mean over non-ignored targets), as PyTorch."""
    name = "nll_loss"
    check_tensors(name, ("input", log_probabilities))
    if log_probabilities.ndim != 2:
        raise ValueError(f"{name}: input must have shape (batch, classes), got {log_probabilities.shape}")
    check_reduction(name, reduction)
    targets = class_targets(name, target, log_probabilities)
    check_targets(name, targets, log_probabilities.shape[1], ignore_index)
    return ops.NllLoss.apply(log_probabilities, targets=targets, reduction=reduction, ignore_index=int(ignore_index))


def mse_loss(x, target, reduction="mean"):
    """(x - target)**2, reduced by mean (default), sum or none. Shapes must match: broadcasting a
    (N, 1) prediction against (N,) targets is almost always a bug, so it is refused."""
    name = "mse_loss"
    check_reduction(name, reduction)
    target = same_shape_target(name, x, target)
    difference = x - target
    return ops.reduce_losses(difference * difference, reduction)


def binary_cross_entropy_with_logits(logits, target, weight=None, reduction="mean", pos_weight=None):
    """Sigmoid and binary cross-entropy in one stable op: mean of -w [p y log s(x) + (1 - y) log(1 - s(x))]."""
    name = "binary_cross_entropy_with_logits"
    check_reduction(name, reduction)
    targets = same_shape_target(name, logits, target).data
    weight = None if weight is None else constant_array(name, "weight", weight, logits)
    pos_weight = None if pos_weight is None else constant_array(name, "pos_weight", pos_weight, logits)
    return ops.BinaryCrossEntropyWithLogits.apply(
        logits, targets=targets, weight=weight, positive_weight=pos_weight, reduction=reduction
    )


def l2_loss(x):
    """sum(x**2) / 2, as tf.nn.l2_loss (the usual weight-decay term)."""
    check_tensors("l2_loss", ("input", x))
    return (x * x).sum() * 0.5
