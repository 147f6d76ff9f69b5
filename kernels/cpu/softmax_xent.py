"""Fused softmax cross-entropy: per-row loss and its gradient with respect to the logits.

Each row takes three passes while it sits in cache: its max; the exponentials, summed and parked in
the gradient row; their scaling into the gradient. The softmax is never stored on its own.
"""
import math

from numba import prange

from .preset import cpu_kernel, serial_kernel

# The entry points the backend calls; kernels/cuda/softmax_xent.py has the same names and arguments.
__all__ = ["count_targets", "softmax_cross_entropy"]


@cpu_kernel
def softmax_cross_entropy(logits, targets, label_smoothing, ignore_index, losses, grad_logits):
    """loss = (1-s) * -log_p[t] + s * mean_c(-log_p[c]),  grad = softmax - ((1-s) * onehot(t) + s/C).

    Rows whose target equals ``ignore_index`` get a zero loss and the gradient 0 * softmax: zero,
    or NaN where the softmax is NaN (a NaN or +inf logit), as PyTorch's log_softmax backward gives
    them. Sums are accumulated in float64 whatever the logits' dtype; outputs take the logits' dtype.
    """
    row_count, class_count = logits.shape
    smoothing_per_class = label_smoothing / class_count
    for n in prange(row_count):
        target = targets[n]
        # The largest logit, subtracted before exp so that exp never overflows. A NaN logit does
        # not need to win here: it turns the sum below, and so the whole row, into NaN.
        row_max = logits[n, 0]
        for c in range(1, class_count):
            if logits[n, c] > row_max:
                row_max = logits[n, c]
        # Park the unnormalised softmax in the gradient row; it is scaled in the last pass.
        exp_sum = 0.0
        shifted_sum = 0.0
        shifted_target = 0.0
        for c in range(class_count):
            shifted = logits[n, c] - row_max
            shifted_sum += shifted
            if c == target:
                # Taken from the loop, not recomputed below: fastmath's reassociation would turn
                # log_exp_sum - (logit - row_max) into (log_exp_sum - logit) + row_max, which
                # cancels to 0 for logits of -1e30.
                shifted_target = shifted
            exponential = math.exp(shifted)
            exp_sum += exponential
            grad_logits[n, c] = exponential
        inverse_sum = 1.0 / exp_sum
        if target == ignore_index:
            losses[n] = 0.0
            for c in range(class_count):
                grad_logits[n, c] = grad_logits[n, c] * inverse_sum * 0.0
            continue
        # -log_p[c] = log_exp_sum - shifted[c], so no logit-sized term is ever cancelled.
        log_exp_sum = math.log(exp_sum)
        loss = (1.0 - label_smoothing) * (log_exp_sum - shifted_target)
        # Skipped at s = 0 as PyTorch does: a -inf logit would otherwise give 0 * inf = NaN.
        if label_smoothing != 0.0:
            loss += label_smoothing * (log_exp_sum - shifted_sum / class_count)
        losses[n] = loss
        for c in range(class_count):
            grad_logits[n, c] = grad_logits[n, c] * inverse_sum - smoothing_per_class
        grad_logits[n, target] -= 1.0 - label_smoothing


@serial_kernel
def count_targets(targets, class_count, ignore_index):
    """(valid, out_of_range): rows whose target is a class index, and rows whose target is neither a
    class index nor ``ignore_index``. The first is the divisor of the mean loss; the second must be 0.

    Serial: a batch's targets are a few hundred integers, which one core counts in well under a
    microsecond each; a parallel reduction cost a fork and join per step, and 0.6 s of the first
    run's compile against 0.13."""
    valid = 0
    out_of_range = 0
    for n in range(targets.shape[0]):
        target = targets[n]
        if target != ignore_index:
            if 0 <= target < class_count:
                valid += 1
            else:
                out_of_range += 1
    return valid, out_of_range
