"""The fused softmax cross-entropy: its target count and its per-row losses with their gradients."""
import numpy as np

from .routing import kernels, on_either_device


@on_either_device
def count_targets(targets, class_count, ignore_index):
    """(valid, out_of_range) as ints: rows with a class index, rows with neither one nor ``ignore_index``."""
    return kernels("softmax_xent").count_targets(targets, class_count, ignore_index)


@on_either_device
def softmax_cross_entropy(logits, targets, label_smoothing, ignore_index):
    """Per-row losses and their gradients with respect to the logits (targets already checked)."""
    losses = np.empty(logits.shape[0], dtype=logits.dtype)
    grad_logits = np.empty(logits.shape, dtype=logits.dtype)
    kernels("softmax_xent").softmax_cross_entropy(logits, targets, label_smoothing, ignore_index, losses, grad_logits)
    return losses, grad_logits
