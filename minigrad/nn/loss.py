"""The losses as modules, PyTorch's names and constructor arguments; each holds its options and calls the
functional form. Class and element weights are buffers (in the state_dict, moved by ``to()``), as in
PyTorch; ``size_average`` and ``reduce`` are PyTorch's deprecated arguments, refused unless None."""
from . import functional
from .functional.regression_losses import legacy_reduction
from .module import Module

REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    tensor_input = True  # the prediction; Module.__call__ refuses anything else with the loss's name
    array_arguments = (1,)  # the target may be a NumPy array, as the loss functions accept

    def __init__(self, size_average=None, reduce=None, reduction="mean", reductions=REDUCTIONS):
        super().__init__()
        legacy_reduction(type(self).__name__, size_average, reduce)
        if reduction not in reductions:
            allowed = ", ".join(repr(name) for name in reductions)
            raise ValueError(f"{type(self).__name__}: reduction must be one of {allowed}, got {reduction!r}")
        self.reduction = reduction


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy of logits against class indices (one fused kernel without class weights) or
    class probabilities; ``weight`` per class, ``ignore_index``, ``label_smoothing`` as PyTorch's."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):  # noqa: A002  (PyTorch's names)
        return functional.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                                        reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities against class indices, ``weight`` per class."""

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):  # noqa: A002
        return functional.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                                   reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error; input and target must have the same shape."""

    def forward(self, input, target):  # noqa: A002
        return functional.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error; input and target must have the same shape."""

    def forward(self, input, target):  # noqa: A002
        return functional.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """0.5 d**2 / beta below ``beta``, |d| - 0.5 beta above (d = input - target)."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):  # noqa: A002
        return functional.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """0.5 d**2 below ``delta``, delta (|d| - 0.5 delta) above (d = input - target)."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):  # noqa: A002
        return functional.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities in [0, 1] (logs clamped at -100, as PyTorch's)."""

    def forward(self, input, target):  # noqa: A002
        return functional.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one numerically stable op (finite at logits of +-100)."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):  # noqa: A002
        return functional.binary_cross_entropy_with_logits(
            input, target, weight=self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )


class KLDivLoss(_Loss):
    """KL(target || input), input holding log-probabilities; ``log_target`` for a target of log-probabilities;
    reduction "batchmean" gives the divergence per sample."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction, REDUCTIONS + ("batchmean",))
        self.log_target = log_target

    def forward(self, input, target):  # noqa: A002
        return functional.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)
