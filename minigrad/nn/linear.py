"""Linear: a fully connected layer with PyTorch's default initialisation."""
import math

from .. import creation
from . import functional, init
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """y = x @ weight.T + bias, weight (out_features, in_features).

    Initialised as PyTorch does: weight kaiming-uniform with a = sqrt(5) (so U(-1/sqrt(in_features),
    +1/sqrt(in_features))), bias U(-1/sqrt(in_features), +1/sqrt(in_features)).
    """

    tensor_input = True

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        for label, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"Linear: {label} must be a positive int, got {value!r}")
        self.in_features, self.out_features = in_features, out_features
        weight = creation.empty((out_features, in_features), dtype=dtype)
        self.weight = Parameter(init.kaiming_uniform_(weight, a=math.sqrt(5)))
        if bias:
            bound = 1 / math.sqrt(in_features)
            self.bias = Parameter(init.uniform_(creation.empty(out_features, dtype=dtype), -bound, bound))
        else:
            self.bias = None

    def forward(self, x):
        return functional.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
