"""Layers without parameters: the activations, Flatten and Dropout, as modules for Sequential."""
from . import functional
from .module import Module


class ReLU(Module):
    """max(x, 0). ``inplace`` is accepted for torch's signature; the result is always a new tensor."""

    tensor_input = True

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return functional.relu(x)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Sigmoid(Module):
    """1 / (1 + exp(-x))"""

    tensor_input = True

    def forward(self, x):
        return functional.sigmoid(x)


class Tanh(Module):
    """tanh(x)"""

    tensor_input = True

    def forward(self, x):
        return functional.tanh(x)


class Flatten(Module):
    """Merge axes start_dim..end_dim into one (by default everything but the batch axis)."""

    tensor_input = True

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """Inverted dropout while training (zero with probability p, scale the rest by 1/(1-p)); identity in eval().
    ``inplace`` is accepted for torch's signature; the result is always a new tensor."""

    tensor_input = True

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return functional.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
