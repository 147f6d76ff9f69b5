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


class LeakyReLU(Module):
    """x > 0 ? x : negative_slope * x. ``inplace`` is accepted for torch's signature; the result is always a
    new tensor."""

    tensor_input = True

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, x):
        return functional.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """x > 0 ? x : alpha (exp(x) - 1). ``inplace`` is accepted; the result is always a new tensor."""

    tensor_input = True

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, x):
        return functional.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """x Phi(x) (approximate='none', erf) or its tanh approximation (approximate='tanh'); any other value is
    refused when called, as PyTorch does."""

    tensor_input = True

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return functional.gelu(x, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x sigmoid(x) (swish). ``inplace`` is accepted; the result is always a new tensor."""

    tensor_input = True

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return functional.silu(x)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Mish(SiLU):
    """x tanh(softplus(x)). ``inplace`` is accepted; the result is always a new tensor."""

    def forward(self, x):
        return functional.mish(x)


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, x itself where beta x > threshold."""

    tensor_input = True

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, x):
        return functional.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """x clamped to [min_val, max_val] (max_val must exceed min_val). ``inplace`` is accepted; the result
    is always a new tensor."""

    tensor_input = True

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace
        if self.max_val <= self.min_val:
            raise AssertionError(f"Hardtanh: max_val ({self.max_val}) must be greater than min_val ({self.min_val})")

    def forward(self, x):
        return functional.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    """min(max(x, 0), 6): Hardtanh(0.0, 6.0). ``inplace`` is accepted; the result is always a new tensor."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Softmax(Module):
    """exp(x) / sum of exp(x) along dim; dim=None takes PyTorch's legacy choice (0 for 0-, 1- and 3-d
    inputs, else 1) with its deprecation warning."""

    tensor_input = True

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return functional.softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """x - logsumexp(x) along dim; dim=None as Softmax."""

    def forward(self, x):
        return functional.log_softmax(x, self.dim)
