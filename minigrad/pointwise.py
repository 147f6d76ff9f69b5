"""PyTorch's module-level functions for the Tensor operators: ``mg.remainder(x, y)`` is ``x % y``.

The math lives in the ops (minigrad/ops/arithmetic.py); these only pick the tensor operand. As in
PyTorch, remainder and floor_divide take a number first (``mg.remainder(5, x)`` is ``5 % x``), fmod
wants a tensor first.
"""
from .tensor import Tensor


def remainder(input, other):  # noqa: A002  (PyTorch's argument names)
    """input - other * floor(input / other): the sign of ``other``, as Python's % (torch.remainder)."""
    return _apply("remainder", input, other, Tensor.__mod__, Tensor.__rmod__)


def floor_divide(input, other):  # noqa: A002
    """floor(input / other), rounded toward -inf (torch.floor_divide); not differentiable."""
    return _apply("floor_divide", input, other, Tensor.__floordiv__, Tensor.__rfloordiv__)


def fmod(input, other):  # noqa: A002
    """input - other * trunc(input / other): the sign of ``input``, as C's fmod (torch.fmod)."""
    return _apply("fmod", input, other, Tensor.fmod, None)


def _apply(name, first, second, method, reflected_method):
    if isinstance(first, Tensor):
        return method(first, second)
    if isinstance(second, Tensor) and reflected_method is not None:
        return reflected_method(second, first)
    expected = "a tensor first" if reflected_method is None else "a tensor among its arguments"
    raise TypeError(f"{name}: expected {expected}, got {type(first).__name__} and {type(second).__name__}")
