"""Elementwise math: arithmetic with NumPy broadcasting, and the functions applied to each element.

Forward is NumPy's ufunc on either device (a CudaArray answers NumPy's protocols); ReLU runs a
fused Numba kernel on large arrays, through backend.py.
"""
import numpy as np

from .. import backend
from ..autograd import Function
from .broadcasting import unbroadcast


class _Binary(Function):
    """An elementwise op of two arrays with NumPy broadcasting; remembers the shapes for unbroadcast."""

    def broadcasting(self, ufunc, a, b):
        self.shapes = (a.shape, b.shape)
        try:
            return ufunc(a, b)
        except ValueError:
            # NumPy checks shapes before computing anything; say it in the op's own words.
            raise ValueError(f"{self.name.lower()}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None


# --- arithmetic -----------------------------------------------------------------------------------

class Add(_Binary):
    """a + b:  da = g,  db = g (each summed back over broadcast axes)"""

    def forward(self, a, b):
        return self.broadcasting(np.add, a, b)

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(g, self.shapes[1])


class Sub(_Binary):
    """a - b:  da = g,  db = -g"""

    def forward(self, a, b):
        return self.broadcasting(np.subtract, a, b)

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(-g, self.shapes[1])


class Mul(_Binary):
    """a * b:  da = g * b,  db = g * a"""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return self.broadcasting(np.multiply, a, b)

    def backward(self, g):
        a, b = self.saved
        da = unbroadcast(g * b, self.shapes[0]) if self.needs_input_grad[0] else None
        db = unbroadcast(g * a, self.shapes[1]) if self.needs_input_grad[1] else None
        return da, db


class Div(_Binary):
    """a / b:  da = g / b,  db = -g * a / b**2"""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return self.broadcasting(np.divide, a, b)

    def backward(self, g):
        a, b = self.saved
        da = unbroadcast(g / b, self.shapes[0]) if self.needs_input_grad[0] else None
        db = unbroadcast(-g * a / (b * b), self.shapes[1]) if self.needs_input_grad[1] else None
        return da, db


class Neg(Function):
    """-x:  dx = -g"""

    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)


class Pow(_Binary):
    """a ** b:  da = g * b * a**(b-1),  db = g * a**b * log(a)"""

    def forward(self, a, b):
        out = self.broadcasting(np.power, a, b)
        self.save_for_backward(a, b, out)
        return out

    def backward(self, g):
        a, b, out = self.saved
        da = unbroadcast(g * b * a ** (b - 1), self.shapes[0]) if self.needs_input_grad[0] else None
        db = None
        if self.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                # d(a**b)/db is 0 where a**b is 0 (a = 0, b > 0), even though log(0) = -inf
                db = unbroadcast(g * np.where(out == 0, 0, out * np.log(a)), self.shapes[1])
        return da, db


class PowConstant(Function):
    """x ** p for a number p:  dx = g * p * x**(p-1)"""

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, x):
        self.save_for_backward(x)
        return x**self.exponent

    def backward(self, g):
        (x,) = self.saved
        if self.exponent == 0:
            return (np.zeros_like(g),)
        return (g * self.exponent * x ** (self.exponent - 1),)


# --- elementwise functions ------------------------------------------------------------------------

class Exp(Function):
    """exp(x):  dx = g * exp(x)"""

    def forward(self, x):
        out = np.exp(x)
        self.save_for_backward(out)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (g * out,)


class Log(Function):
    """log(x):  dx = g / x"""

    def forward(self, x):
        self.save_for_backward(x)
        return np.log(x)

    def backward(self, g):
        (x,) = self.saved
        return (g / x,)


class Sqrt(Function):
    """sqrt(x):  dx = g / (2 sqrt(x))"""

    def forward(self, x):
        out = np.sqrt(x)
        self.save_for_backward(out)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (g / (2 * out),)


class Abs(Function):
    """|x|:  dx = g * sign(x)  (0 at x = 0, as PyTorch)"""

    def forward(self, x):
        self.save_for_backward(x)
        return np.abs(x)

    def backward(self, g):
        (x,) = self.saved
        return (g * np.sign(x),)


class Relu(Function):
    """max(x, 0):  dx = g * (x > 0)"""

    def forward(self, x):
        self.save_for_backward(x)
        return backend.relu_forward(x)

    def backward(self, g):
        (x,) = self.saved
        return (backend.relu_backward(x, g),)


class Sigmoid(Function):
    """1 / (1 + exp(-x)):  dx = g * s * (1 - s)"""

    def forward(self, x):
        # exp of -|x| never overflows: for x < 0 use the equal form exp(x) / (1 + exp(x))
        e = np.exp(-np.abs(x))
        out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        self.save_for_backward(out)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (g * out * (1 - out),)


class Tanh(Function):
    """tanh(x):  dx = g * (1 - tanh(x)**2)"""

    def forward(self, x):
        out = np.tanh(x)
        self.save_for_backward(out)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (g * (1 - out * out),)


class Clamp(Function):
    """min(max(x, low), high):  dx = g * (low <= x <= high)"""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, x):
        self.save_for_backward(x)
        return np.clip(x, self.low, self.high)

    def backward(self, g):
        (x,) = self.saved
        inside = None
        if self.low is not None:
            inside = x >= self.low
        if self.high is not None:
            below = x <= self.high
            inside = below if inside is None else inside & below
        return (g if inside is None else g * inside,)


class Clone(Function):
    """x.copy():  dx = g"""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return (g,)


class Cast(Function):
    """x.astype(dtype):  dx = g.astype(x.dtype)"""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.input_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):
        return (g.astype(self.input_dtype),)
