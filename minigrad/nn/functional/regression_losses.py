"""The regression losses (prediction and target of one shape), PyTorch's names, arguments and reductions.

Each is composed of recorded Tensor ops, so every derivative order and forward mode come with them.
Unlike PyTorch, a target of another shape is refused rather than broadcast (PyTorch warns: a (N, 1)
prediction against (N,) targets is almost always a bug).
"""
from ... import ops
from .arguments import check_reduction, check_tensors, same_shape_target


def legacy_reduction(name, size_average, reduce):
    """PyTorch's deprecated size_average / reduce: accepted as arguments, refused unless None."""
    if size_average is not None or reduce is not None:
        raise ValueError(f"{name}: size_average and reduce are deprecated in PyTorch and not supported here, got "
                         f"size_average={size_average!r}, reduce={reduce!r}; use reduction='mean', 'sum' or 'none'")


def element_weight(name, weight, x):
    """The optional elementwise weight of l1_loss, mse_loss and huber_loss: exactly the input's shape."""
    if weight is None:
        return None
    check_tensors(name, ("weight", weight))
    if weight.shape != x.shape:
        raise ValueError(f"{name}: weight of shape {weight.shape} must have the input's shape {x.shape}")
    return weight


def reduce_weighted(name, losses, weight, reduction, divide_by_weight):
    """losses * weight reduced as PyTorch's weighted l1/mse (the mean divides by sum(weight)) or huber (a plain mean)."""
    if weight is None:
        return ops.reduce_losses(losses, reduction)
    weighted = losses * weight
    if reduction == "mean" and divide_by_weight:
        return weighted.sum() / weight.sum()
    return ops.reduce_losses(weighted, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):  # noqa: A002
    """(input - target)**2, reduced by mean (default), sum or none; with ``weight``, "mean" is
    sum(w (x - y)**2) / sum(w) as PyTorch's. Shapes must match: broadcasting a (N, 1) prediction against
    (N,) targets is almost always a bug, so it is refused."""
    name = "mse_loss"
    legacy_reduction(name, size_average, reduce)
    check_reduction(name, reduction)
    target = same_shape_target(name, input, target)
    difference = input - target
    return reduce_weighted(name, difference * difference, element_weight(name, weight, input), reduction, True)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):  # noqa: A002
    """|input - target| reduced; with ``weight``, "mean" is sum(w |x - y|) / sum(w) as PyTorch's."""
    name = "l1_loss"
    legacy_reduction(name, size_average, reduce)
    check_reduction(name, reduction)
    target = same_shape_target(name, input, target)
    return reduce_weighted(name, (input - target).abs(), element_weight(name, weight, input), reduction, True)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):  # noqa: A002
    """0.5 d**2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target); beta = 0 is l1_loss."""
    name = "smooth_l1_loss"
    legacy_reduction(name, size_average, reduce)
    check_reduction(name, reduction)
    if beta < 0:
        raise ValueError(f"{name}: beta must be non-negative, got {beta}")
    target = same_shape_target(name, input, target)
    difference = input - target
    if beta == 0:
        return ops.reduce_losses(difference.abs(), reduction)
    return ops.reduce_losses(huber(difference, beta) / beta, reduction)  # PyTorch's 0.5 d**2 / beta


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):  # noqa: A002
    """0.5 d**2 where |d| < delta, else delta (|d| - 0.5 delta) (d = input - target); with ``weight``,
    "mean" is the plain mean of w times the losses, as PyTorch's."""
    name = "huber_loss"
    check_reduction(name, reduction)
    if not delta > 0:
        raise ValueError(f"{name}: delta must be positive, got {delta}")
    target = same_shape_target(name, input, target)
    losses = huber(input - target, delta)
    return reduce_weighted(name, losses, element_weight(name, weight, input), reduction, False)


def huber(difference, delta):
    """0.5 d**2 inside [-delta, delta], delta (|d| - 0.5 delta) outside: the Huber op (its gradient the clamp)."""
    return ops.Huber.apply(difference, delta=float(delta))


def l2_loss(x):
    """sum(x**2) / 2, as tf.nn.l2_loss (the usual weight-decay term)."""
    check_tensors("l2_loss", ("input", x))
    return (x * x).sum() * 0.5
