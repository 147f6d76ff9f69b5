"""The activations as modules, for Sequential."""
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
