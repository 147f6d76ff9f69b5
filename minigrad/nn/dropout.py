"""Dropout as a module: random zeros while training, the identity in eval()."""
from . import functional
from .module import Module


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


class Dropout2d(Module):
    """Channel dropout while training: each (sample, channel) plane zeroed with probability p, the rest
    scaled by 1/(1-p); identity in eval(). A 3-D input is (N, C, L), as in PyTorch 2.13 (which warns).
    ``inplace`` is accepted for torch's signature; the result is always a new tensor."""

    tensor_input = True

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout2d: dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return functional.dropout2d(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
