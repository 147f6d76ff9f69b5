"""The Tensor's comparisons and tests as PyTorch's methods: ``eq ne lt le gt ge``, ``equal``, ``isclose``,
``allclose``, ``all``/``any``, ``isnan isinf isfinite`` and the logical and bitwise operators
(``~ & | ^``, ``logical_not/and/or/xor``).

None of them is differentiable: they record nothing and give bool tensors (or Python bools, for
``equal`` and ``allclose``). The operators ``== != < <= > >=`` themselves live in tensor.py.
"""
import numpy as np

from . import arguments, backend, dtypes
from . import tensor as tensor_module  # a cycle: Tensor is only looked up when a function runs


class TensorComparison:
    __slots__ = ()

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge

    def equal(self, other):
        """True if ``other`` has this shape and these values (torch.equal): a Python bool."""
        _require_tensor("equal", other)
        return self.shape == other.shape and bool((self == other).all())

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """|self - other| <= atol + rtol * |other|, elementwise (equal infinities are close)."""
        _require_tensor("isclose", other)
        if other.dtype != self.dtype:
            raise RuntimeError(f"isclose: the tensors must have the same dtype, got {self.dtype} and {other.dtype}")
        if rtol < 0 or atol < 0:
            raise RuntimeError(f"isclose: rtol and atol must be non-negative, got rtol={rtol} and atol={atol}")
        first, second = self.data, backend.as_array(other.data, other.dtype, self.data)
        close = first == second
        if self.dtype != dtypes.bool_:
            if not dtypes.is_floating(self.dtype):
                first, second = first.astype(np.float64), second.astype(np.float64)
            with np.errstate(invalid="ignore", over="ignore"):
                difference = np.abs(first - second)
                close = close | (np.isfinite(difference) & (difference <= atol + rtol * np.abs(second)))
            if equal_nan:
                close = close | (np.isnan(first) & np.isnan(second))
        return self._wrap(_array(close), self.device)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """True if every element is close (``isclose``) to ``other``'s: a Python bool."""
        return bool(self.isclose(other, rtol, atol, equal_nan).all())

    def all(self, dim=None, keepdim=False):
        """True where every element along ``dim`` (an int, a tuple, or None for all) is nonzero."""
        return self._boolean_reduction("all", dim, keepdim)

    def any(self, dim=None, keepdim=False):
        """True where some element along ``dim`` (an int, a tuple, or None for all) is nonzero."""
        return self._boolean_reduction("any", dim, keepdim)

    def _boolean_reduction(self, name, dim, keepdim):
        if isinstance(dim, (tuple, list)) and not dim:  # torch.all/any over no dims: each element's truth
            return self._wrap(_array(self.data != 0), self.device)
        options = arguments.reduction(self, name, None, False, dim, keepdim)
        reduce = self.data.all if name == "all" else self.data.any
        return self._wrap(_array(reduce(axis=options["axis"], keepdims=options["keepdims"])), self.device)

    def isnan(self):
        return self._wrap(_array(np.isnan(self.data)), self.device)

    def isinf(self):
        return self._wrap(_array(np.isinf(self.data)), self.device)

    def isfinite(self):
        return self._wrap(_array(np.isfinite(self.data)), self.device)

    # --- logical and bitwise ---------------------------------------------------------------------

    def logical_not(self):
        return self._wrap(_array(np.logical_not(self.data)), self.device)

    def logical_and(self, other):
        return self._logical("logical_and", np.logical_and, other)

    def logical_or(self, other):
        return self._logical("logical_or", np.logical_or, other)

    def logical_xor(self, other):
        return self._logical("logical_xor", np.not_equal, other)  # on truth values, xor is !=

    def _logical(self, name, ufunc, other):
        _require_tensor(name, other)
        first = self.data if self.dtype == dtypes.bool_ else self.data != 0
        second = backend.as_array(other.data, other.dtype, self.data)
        second = second if other.dtype == dtypes.bool_ else second != 0
        return self._wrap(_array(ufunc(first, second)), self.device)

    def __invert__(self):
        """Logical not of a bool tensor, bitwise not of an integer one (``~``)."""
        if self.dtype == dtypes.bool_:
            return self.logical_not()
        if dtypes.is_floating(self.dtype):
            raise TypeError(f"bitwise_not (~): only implemented on integer and bool tensors, got {self.dtype}")
        return self._wrap(_array(np.invert(self.data)), self.device)

    def __and__(self, other):
        return self._bitwise("bitwise_and (&)", np.bitwise_and, other)

    def __or__(self, other):
        return self._bitwise("bitwise_or (|)", np.bitwise_or, other)

    def __xor__(self, other):
        return self._bitwise("bitwise_xor (^)", np.bitwise_xor, other)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__  # commutative
    bitwise_not, bitwise_and, bitwise_or, bitwise_xor = __invert__, __and__, __or__, __xor__

    def _bitwise(self, name, ufunc, other):
        if not (isinstance(other, (bool, int, float, np.generic)) or hasattr(other, "dtype")):
            return NotImplemented
        dtype = dtypes.result_type(self, other)
        if dtypes.is_floating(dtype):
            other_dtype = getattr(other, "dtype", type(other).__name__)
            raise TypeError(f"{name}: only implemented on integer and bool tensors, got {self.dtype} and {other_dtype}")
        first = self.data if self.dtype == dtype else self.data.astype(dtype)
        second = backend.as_array(other.data if isinstance(other, tensor_module.Tensor) else other, dtype, self.data)
        return self._wrap(_array(ufunc(first, second)), self.device)


def _array(result):
    """A ufunc's or reduction's result as an array (NumPy gives a scalar for a 0-d result)."""
    return result if backend.device_of(result) == "cuda" else np.asarray(result)


def _require_tensor(name, other):
    if not isinstance(other, tensor_module.Tensor):
        raise TypeError(f"{name}: argument 'other' must be a Tensor, not {type(other).__name__}")
