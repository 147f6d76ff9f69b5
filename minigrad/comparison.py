"""PyTorch's module-level functions for the Tensor's comparisons and tests: ``mg.eq(x, y)`` is ``x.eq(y)``.

The work is done by the methods (minigrad/tensor_comparison.py); as in PyTorch, the first argument
must be a tensor.
"""
from . import arguments


def eq(input, other):  # noqa: A002  (PyTorch's argument names)
    return _tensor("eq", input).eq(other)


def ne(input, other):  # noqa: A002
    return _tensor("ne", input).ne(other)


def lt(input, other):  # noqa: A002
    return _tensor("lt", input).lt(other)


def le(input, other):  # noqa: A002
    return _tensor("le", input).le(other)


def gt(input, other):  # noqa: A002
    return _tensor("gt", input).gt(other)


def ge(input, other):  # noqa: A002
    return _tensor("ge", input).ge(other)


not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge


def equal(input, other):  # noqa: A002
    """True if both tensors have the same shape and values: a Python bool (torch.equal)."""
    return _tensor("equal", input).equal(other)


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    return _tensor("isclose", input).isclose(other, rtol, atol, equal_nan)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """True if every element of ``input`` is close to ``other``'s: a Python bool (torch.allclose)."""
    return _tensor("allclose", input).allclose(other, rtol, atol, equal_nan)


def all(input, dim=None, keepdim=False):  # noqa: A001, A002  (PyTorch's names)
    return _tensor("all", input).all(dim, keepdim)


def any(input, dim=None, keepdim=False):  # noqa: A001, A002
    return _tensor("any", input).any(dim, keepdim)


def isnan(input):  # noqa: A002
    return _tensor("isnan", input).isnan()


def isinf(input):  # noqa: A002
    return _tensor("isinf", input).isinf()


def isfinite(input):  # noqa: A002
    return _tensor("isfinite", input).isfinite()


def logical_not(input):  # noqa: A002
    return _tensor("logical_not", input).logical_not()


def logical_and(input, other):  # noqa: A002
    return _tensor("logical_and", input).logical_and(other)


def logical_or(input, other):  # noqa: A002
    return _tensor("logical_or", input).logical_or(other)


def logical_xor(input, other):  # noqa: A002
    return _tensor("logical_xor", input).logical_xor(other)


def numel(input):  # noqa: A002
    """The number of elements of a tensor (torch.numel)."""
    return _tensor("numel", input).numel()


_tensor = arguments.tensor_argument
