"""Functions on tensors, PyTorch's ``torch.nn.functional`` names. Each checks its arguments, then
applies an op from minigrad/ops.py."""
import numpy as np

from .. import ops
from ..tensor import Tensor


def relu(x):
    return x.relu()


def sigmoid(x):
    return x.sigmoid()


def tanh(x):
    return x.tanh()


def softmax(x, dim=-1):
    return x.softmax(dim)


def log_softmax(x, dim=-1):
    return x.log_softmax(dim)


def cross_entropy(logits, target, reduction="mean", label_smoothing=0.0, ignore_index=-100):
    """Softmax cross-entropy of (N, C) logits against N integer class indices, in one fused kernel.

    ``reduction`` is "mean" (over non-ignored targets), "sum" or "none"; ``label_smoothing`` mixes
    the one-hot target with the uniform distribution, as PyTorch does; rows whose target equals
    ``ignore_index`` contribute nothing.
    """
    name = "cross_entropy"
    if not isinstance(logits, Tensor):
        raise TypeError(f"{name}: logits must be a Tensor, got {type(logits).__name__}")
    if logits.dtype.kind != "f":
        raise TypeError(f"{name}: logits must be float32 or float64, got {logits.dtype}")
    if logits.ndim != 2:
        raise ValueError(f"{name}: logits must have shape (batch, classes), got {logits.shape}")
    targets = target.data if isinstance(target, Tensor) else np.asarray(target)
    if targets.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: targets must be integer class indices (int64), got {targets.dtype}; "
            "probability targets are not supported"
        )
    if targets.shape != logits.shape[:1]:
        raise ValueError(f"{name}: targets of shape {targets.shape} do not match logits of shape {logits.shape}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    classes = logits.shape[1]
    targets = targets.astype(np.int64, copy=False)
    # min and max first: two cheap reductions; the elementwise mask only when something is outside.
    if targets.size and (targets.min() < 0 or targets.max() >= classes):
        _check_targets(name, targets, classes, ignore_index)
    return ops.SoftmaxCrossEntropy.apply(
        logits, targets=np.ascontiguousarray(targets), reduction=reduction,
        label_smoothing=float(label_smoothing), ignore_index=int(ignore_index),
    )


def _check_targets(name, targets, classes, ignore_index):
    """Raise for the first target that is neither a class index nor ``ignore_index``."""
    out_of_range = (targets != ignore_index) & ((targets < 0) | (targets >= classes))
    if out_of_range.any():
        index = int(np.argmax(out_of_range))
        raise IndexError(
            f"{name}: target {targets[index]} at index {index} is out of range for {classes} classes "
            f"(valid: 0 to {classes - 1}, or ignore_index={ignore_index})"
        )
