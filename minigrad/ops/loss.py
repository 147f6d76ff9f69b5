"""Losses: the fused softmax cross-entropy, binary cross-entropy (on logits and on probabilities), negative
log-likelihood with class weights."""
import math

import numpy as np

from .. import backend
from ..autograd import Function


class SoftmaxCrossEntropy(Function):
    """loss_n = -sum_c q_nc log softmax(x_n)_c, q = smoothed one-hot:  dx_n = g_n * (softmax(x_n) - q_n)

    One Numba kernel computes each row's loss and its gradient together in the forward pass, so
    backward is only a scaling. Reduction "mean" divides by the number of non-ignored targets.
    """

    def __init__(self, targets, reduction, label_smoothing, ignore_index, count):
        self.targets, self.reduction = targets, reduction
        self.label_smoothing, self.ignore_index = label_smoothing, ignore_index
        self.count = count  # the non-ignored targets (the caller counted them when it checked them)

    saved_names = ("grad_logits",)

    def forward(self, logits):
        losses, grad_logits = backend.softmax_cross_entropy(logits, self.targets, self.label_smoothing, self.ignore_index)
        self.save_for_backward(grad_logits)
        if self.reduction == "none":
            return losses
        total = losses.sum(dtype=losses.dtype)
        if self.reduction == "sum":
            return total
        return total / self.count if self.count else total * float("nan")  # no target counted: NaN, as PyTorch

    def backward(self, g):
        (grad_logits,) = self.saved
        if self.reduction == "none":
            return (grad_logits * g[:, None],)
        if self.reduction == "mean":
            if not self.count:  # every target ignored: a NaN loss, but no gradient (0 * softmax), as PyTorch
                return (grad_logits.copy(),)
            g = g / self.count
        return (grad_logits * g,)

    def differentiable_backward(self, g):
        """The kernel's gradient recomputed with Tensor ops: (softmax(x) - q) * valid, q the smoothed
        one-hot and valid 0 on ignored rows (0 * softmax, NaN where the softmax is, as the kernel)."""
        (logits,) = self.inputs
        targets, classes = backend.to_host(self.targets), logits.shape[1]
        valid = targets != self.ignore_index
        one_hot = np.zeros(logits.shape, dtype=logits.dtype)
        one_hot[np.flatnonzero(valid), targets[valid]] = 1.0
        smoothed = (1.0 - self.label_smoothing) * one_hot + self.label_smoothing / classes
        # Constants on the logits' device: the targets are not differentiable.
        q = self.constant(backend.to_device(smoothed * valid[:, None], logits.device))
        row_mask = self.constant(backend.to_device(valid[:, None].astype(logits.dtype), logits.device))
        grad_logits = (logits.softmax(dim=1) - q) * row_mask
        if self.reduction == "none":
            return (grad_logits * g.reshape(-1, 1),)
        if self.reduction == "mean":
            if not self.count:  # every row ignored: no gradient, as backward
                return (grad_logits,)
            g = g / self.count
        return (grad_logits * g,)

    def jvp(self, dx):
        """dloss_n = sum_c (softmax(x_n) - q_n)_c dx_nc  (0 on ignored rows), reduced as forward"""
        (grad_logits,) = self.saved  # the kernel's gradient rows, saved whether or not grad mode is on
        return reduce_row_tangents((grad_logits * dx).sum(axis=1), self.reduction, self.count)


class BinaryCrossEntropyWithLogits(Function):
    """l = w * ((1 - y) x + (1 + (p - 1) y) softplus(-x)):  dx = g w ((1 - y) - (1 + (p - 1) y) sigmoid(-x))

    y the targets, p the positive-class weight, w the element weight. softplus(-x) is written
    max(-x, 0) + log1p(exp(-|x|)), so logits of +-100 (or +-1e4) give finite losses and gradients.
    Only x gets a gradient; targets and weights are constants, as in PyTorch's usual use.
    """

    def __init__(self, targets, weight, positive_weight, reduction):
        self.targets, self.weight, self.positive_weight, self.reduction = targets, weight, positive_weight, reduction

    def forward(self, x):
        y = self.targets
        softplus_of_negative = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))
        log_weight = 1 if self.positive_weight is None else 1 + (self.positive_weight - 1) * y
        losses = (1 - y) * x + log_weight * softplus_of_negative
        if self.weight is not None:
            losses = losses * self.weight
        self.save_for_backward(x)
        self.log_weight = log_weight
        return reduce_losses(losses, self.reduction)

    def local_gradient(self, x):
        """dl/dx = w ((1 - y) - (1 + (p - 1) y) sigmoid(-x)), elementwise."""
        # sigmoid(-x) in the stable form: exp of a non-positive number only.
        e = np.exp(-np.abs(x))
        sigmoid_of_negative = np.where(x >= 0, e, 1) / (1 + e)
        dx = (1 - self.targets) - self.log_weight * sigmoid_of_negative
        if self.weight is not None:
            dx = dx * self.weight
        return dx

    def backward(self, g):
        (x,) = self.saved
        return (_reduced_gradient(g, self.local_gradient(x), self.reduction),)

    def differentiable_backward(self, g):
        """The same formula on Tensors; targets and weights are constants."""
        (x,) = self.inputs
        sigmoid_of_negative = (-x).sigmoid()
        if self.positive_weight is not None:
            log_weight = self.constant(backend.as_array(self.log_weight, x.dtype, x.data))
            sigmoid_of_negative = log_weight * sigmoid_of_negative
        dx = self.constant(1 - self.targets) - sigmoid_of_negative
        if self.weight is not None:
            dx = dx * self.constant(backend.as_array(self.weight, x.dtype, x.data))
        return (_reduced_gradient(g, dx, self.reduction),)

    def jvp(self, dx):
        """dloss = w ((1 - y) - (1 + (p - 1) y) sigmoid(-x)) dx, reduced as forward (the targets are
        constants here, as in backward: they are not an input of the op)"""
        tangents = self.local_gradient(self.primal_inputs[0]) * dx
        return _reduced_tangent(tangents, self.reduction)


class NllLoss(Function):
    """l_n = -w_n x[n, t_n], w_n = weight[t_n] (1 without weights; 0 where t_n == ignore_index):
    dx[n, t_n] = -g_n w_n ("mean" divides by sum_n w_n, the count of targets without weights)"""

    def __init__(self, targets, reduction, ignore_index, weight=None):
        self.targets, self.reduction, self.ignore_index = targets, reduction, ignore_index
        self.weight = weight  # one value per class on the input's device, or None

    def forward(self, x):
        self.valid = self.targets != self.ignore_index
        self.rows = np.arange(x.shape[0])
        self.safe_targets = np.where(self.valid, self.targets, 0)  # any column; masked out below
        losses = np.where(self.valid, -x[self.rows, self.safe_targets], 0).astype(x.dtype, copy=False)
        self.input_shape, self.dtype = x.shape, x.dtype
        if self.weight is None:
            self.row_weights = None
            self.count = int(self.valid.sum())
        else:
            self.row_weights = np.where(self.valid, self.weight[self.safe_targets], 0).astype(x.dtype, copy=False)
            losses = losses * self.row_weights
            self.count = float(self.row_weights.sum())  # PyTorch's weighted mean divides by the targets' weights
        if self.reduction == "mean":
            return losses.sum() / self.count if self.count else losses.sum() * float("nan")
        return reduce_losses(losses, self.reduction)

    def row_factors(self):
        """-w_n on valid rows, 0 on ignored ones: the derivative of each row's loss at its target."""
        if self.row_weights is None:
            return np.where(self.valid, -1, 0).astype(self.dtype, copy=False)
        return -self.row_weights

    def backward(self, g):
        # No target counted ("mean" of nothing): every row is masked out below, so g needs no dividing.
        scaled = g / self.count if self.reduction == "mean" and self.count else g
        row_gradient = np.broadcast_to(scaled, self.targets.shape)
        dx = backend.full(self.input_shape, 0, self.dtype, backend.device_of(g))
        dx[self.rows, self.safe_targets] = np.where(self.valid, row_gradient * self.row_factors(), 0)
        return (dx,)

    def differentiable_backward(self, g):
        """dx = g times a constant one-hot of the targets holding -w_n (all zero on ignored rows)."""
        (x,) = self.inputs
        valid, safe_targets = backend.to_host(self.valid), backend.to_host(self.safe_targets)
        one_hot = np.zeros(self.input_shape, dtype=self.dtype)
        one_hot[np.flatnonzero(valid), safe_targets[valid]] = backend.to_host(self.row_factors())[valid]
        negative_one_hot = self.constant(backend.to_device(one_hot, x.device))
        if self.reduction == "none":
            return (negative_one_hot * g.reshape(-1, 1),)
        if self.reduction == "mean" and self.count:  # no target counted: the one-hot is all zero anyway
            g = g / self.count
        return (negative_one_hot * g,)

    def jvp(self, dx):
        """dloss_n = -w_n dx[n, t_n] (0 where t_n == ignore_index), reduced as forward"""
        tangents = np.where(self.valid, dx[self.rows, self.safe_targets] * self.row_factors(), 0).astype(self.dtype, copy=False)
        return reduce_row_tangents(tangents, self.reduction, self.count if self.reduction == "mean" else None)


class BinaryCrossEntropy(Function):
    """l = -w (y max(log x, -100) + (1 - y) max(log(1 - x), -100)):  dx = g w (x - y) / max(x (1 - x), 1e-12)

    PyTorch's clamps: the logs at -100 (so x = 0 or 1 gives a finite loss), the denominator of the
    gradient at 1e-12. y and w are constants.
    """

    EPSILON = float(np.float32(1e-12))  # PyTorch's bound is the float 1e-12 (9.99999996e-13), in every dtype

    def __init__(self, targets, weight, reduction):
        self.targets, self.weight, self.reduction = targets, weight, reduction

    def forward(self, x):
        y = self.targets
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), -100)
            log_complement = np.maximum(np.log1p(-x), -100)
        losses = -(y * log_x + (1 - y) * log_complement)
        if self.weight is not None:
            losses = losses * self.weight
        self.save_for_backward(x)
        return reduce_losses(losses, self.reduction)

    def local_gradient(self, x):
        dx = (x - self.targets) / np.maximum(x * (1 - x), self.EPSILON)
        return dx if self.weight is None else dx * self.weight

    def backward(self, g):
        (x,) = self.saved
        return (_reduced_gradient(g, self.local_gradient(x), self.reduction),)

    def differentiable_backward(self, g):
        """The same formula on Tensors (the clamp's derivative is PyTorch's too: none below 1e-12)."""
        (x,) = self.inputs
        dx = (x - self.constant(self.targets)) / (x * (1 - x)).clamp(min=self.EPSILON)
        if self.weight is not None:
            dx = dx * self.constant(backend.as_array(self.weight, x.dtype, x.data))
        return (_reduced_gradient(g, dx, self.reduction),)

    def jvp(self, dx):
        """dloss = w (x - y) / max(x (1 - x), 1e-12) dx, reduced as forward"""
        return _reduced_tangent(self.local_gradient(self.primal_inputs[0]) * dx, self.reduction)


class Huber(Function):
    """l = 0.5 d**2 where |d| < delta, else delta (|d| - 0.5 delta):  dd = g clamp(d, -delta, delta)

    PyTorch's Huber loss of the difference d = input - target, elementwise (reduced by the caller); its
    gradient is the clamp, so an infinite d gets +-delta and a NaN d a NaN, as PyTorch's.
    """

    def __init__(self, delta):
        self.delta = delta

    def forward(self, d):
        magnitude = np.abs(d)
        self.save_for_backward(d)
        return np.where(magnitude < self.delta, 0.5 * d * d, self.delta * (magnitude - 0.5 * self.delta)).astype(
            d.dtype, copy=False)

    def backward(self, g):
        (d,) = self.saved
        return (g * np.clip(d, -self.delta, self.delta),)

    def differentiable_backward(self, g):
        (d,) = self.inputs
        return (g * d.clamp(-self.delta, self.delta),)

    def jvp(self, dd):
        """dl = clamp(d, -delta, delta) dd"""
        return np.clip(self.primal_inputs[0], -self.delta, self.delta) * dd


def reduce_row_tangents(tangents, reduction, count):
    """The tangents of per-row losses reduced as the forward reduced the losses: "none" keeps them,
    "sum" adds them, "mean" divides by the counted targets (none counted: no derivative, as backward)."""
    if reduction == "none":
        return tangents
    total = tangents.sum(keepdims=True).reshape(())
    if reduction == "mean" and count:
        total = total / count
    return total


def reduce_losses(losses, reduction):
    """Per-element losses reduced by "mean", "sum" or "none" (arrays here, Tensors in nn.functional)."""
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def _reduced_gradient(g, local_gradient, reduction):
    """Chain rule through the reduction: g is a scalar for "mean"/"sum", elementwise for "none"."""
    if reduction == "mean":
        return local_gradient * (g / math.prod(local_gradient.shape))  # an array, or a Tensor (create_graph)
    return local_gradient * g


def _reduced_tangent(tangents, reduction):
    """Per-element tangents reduced as ``reduce_losses`` reduces the losses: a 0-d array for "mean"/"sum"."""
    if reduction == "none":
        return tangents
    total = tangents.sum(keepdims=True).reshape(())
    return total / tangents.size if reduction == "mean" else total
