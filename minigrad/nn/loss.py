"""The losses as modules (PyTorch's names); each holds its options and calls the functional form."""
from . import functional
from .module import Module


class _Loss(Module):
    tensor_input = True  # the prediction; Module.__call__ refuses anything else with the loss's name
    array_arguments = (1,)  # the target may be a NumPy array, as the loss functions accept

    def __init__(self, reduction="mean"):
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of (N, C) logits against N class indices (one fused kernel)."""

    def __init__(self, reduction="mean", label_smoothing=0.0, ignore_index=-100):
        super().__init__(reduction)
        self.label_smoothing, self.ignore_index = label_smoothing, ignore_index

    def forward(self, logits, target):
        return functional.cross_entropy(logits, target, self.reduction, self.label_smoothing, self.ignore_index)


class NLLLoss(_Loss):
    """Negative log-likelihood of (N, C) log-probabilities against N class indices."""

    def __init__(self, reduction="mean", ignore_index=-100):
        super().__init__(reduction)
        self.ignore_index = ignore_index

    def forward(self, log_probabilities, target):
        return functional.nll_loss(log_probabilities, target, self.reduction, self.ignore_index)


class MSELoss(_Loss):
    """Mean squared error; input and target must have the same shape."""

    def forward(self, x, target):
        return functional.mse_loss(x, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one numerically stable op (finite at logits of +-100)."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.weight, self.pos_weight = weight, pos_weight

    def forward(self, logits, target):
        return functional.binary_cross_entropy_with_logits(
            logits, target, self.weight, self.reduction, self.pos_weight
        )
