"""The activations: functions of each element (or of a row, for softmax).

``inplace`` is accepted where PyTorch has it, for its signatures; the result is always a new tensor
and the input is left as it was (as ``relu`` here).
"""
import warnings

from ...ops.activation import Activation
from .arguments import check_tensors


def relu(x):
    check_tensors("relu", ("input", x))
    return x.relu()


def sigmoid(x):
    check_tensors("sigmoid", ("input", x))
    return x.sigmoid()


def tanh(x):
    check_tensors("tanh", ("input", x))
    return x.tanh()


def _activation(name, x, kind, parameters=()):
    """The fused activation op ``kind`` on x, after the checks PyTorch makes (a tensor, a float dtype)."""
    check_tensors(name, ("input", x))
    if x.dtype.kind != "f":
        raise RuntimeError(f"{name}: expected a floating point input, got {x.dtype}")
    return Activation.apply(x, kind=kind, parameters=tuple(float(value) for value in parameters))


def leaky_relu(input, negative_slope=0.01, inplace=False):  # noqa: A002  (PyTorch's argument names)
    """x > 0 ? x : negative_slope * x"""
    return _activation("leaky_relu", input, "leaky_relu", (negative_slope,))


def elu(input, alpha=1.0, inplace=False):  # noqa: A002
    """x > 0 ? x : alpha (exp(x) - 1)"""
    return _activation("elu", input, "elu", (alpha,))


def gelu(input, approximate="none"):  # noqa: A002
    """x Phi(x), Phi the standard normal CDF (approximate='none'), or its tanh approximation
    x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) / 2 (approximate='tanh')."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu: approximate argument must be either none or tanh, got {approximate!r}")
    return _activation("gelu", input, "gelu" if approximate == "none" else "gelu_tanh")


def silu(input, inplace=False):  # noqa: A002
    """x sigmoid(x)"""
    return _activation("silu", input, "silu")


def softplus(input, beta=1.0, threshold=20.0):  # noqa: A002
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold"""
    return _activation("softplus", input, "softplus", (beta, threshold))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):  # noqa: A002
    """x clamped to [min_val, max_val]; its gradient is 0 at the bounds themselves"""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got min_val={min_val} and "
                         f"max_val={max_val}")
    return _activation("hardtanh", input, "hardtanh", (min_val, max_val))


def relu6(input, inplace=False):  # noqa: A002
    """min(max(x, 0), 6): hardtanh(x, 0, 6)"""
    return _activation("relu6", input, "hardtanh", (0.0, 6.0))


def mish(input, inplace=False):  # noqa: A002
    """x tanh(softplus(x))"""
    return _activation("mish", input, "mish")


def legacy_softmax_dim(name, ndim):
    """PyTorch's implicit dim (deprecated there, with this warning): 0 for 0-, 1- and 3-d inputs, else 1."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
                  "dim=X as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(x, dim=None, dtype=None):
    """exp(x) / sum of exp(x) along dim (dtype: cast the input first, as PyTorch)"""
    check_tensors("softmax", ("input", x))
    if dim is None:
        dim = legacy_softmax_dim("softmax", x.ndim)
    return (x if dtype is None else x.to(dtype)).softmax(dim)


def log_softmax(x, dim=None, dtype=None):
    """x - logsumexp(x) along dim (dtype: cast the input first, as PyTorch)"""
    check_tensors("log_softmax", ("input", x))
    if dim is None:
        dim = legacy_softmax_dim("log_softmax", x.ndim)
    return (x if dtype is None else x.to(dtype)).log_softmax(dim)
