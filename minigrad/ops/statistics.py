"""Spread and size along axes: variance, standard deviation and the vector p-norms, with
PyTorch's gradients at the edges (a zero standard deviation or norm sends no gradient back).

Forward is NumPy on either device (a CudaArray answers NumPy's protocols).
"""
import math

import numpy as np

from .elementwise import Where, _sign
from .reduction import _Reduction


class Var(_Reduction):
    """sum((x - mean)**2) / max(0, n - correction) over axis:  dx = g * 2 (x - mean) / (n - correction)

    Where the correction leaves no freedom (n - correction <= 0) PyTorch's forward divides by 0 and
    its backward by n - correction along dims (inf at 0, a finite negative scale below), and over
    all elements gives g * inf (NaN where x == mean); so does this one.
    """

    def __init__(self, axis, keepdims, correction):
        super().__init__(axis, keepdims)
        self.correction = correction

    def forward(self, x):
        self.input_shape = x.shape
        count = x.size if self.axis is None else math.prod(x.shape[axis] for axis in self.axis)
        freedom = max(0, count - self.correction)
        self.scale = 2.0 / (count - self.correction) if count != self.correction else math.inf
        self.degenerate = self.axis is None and freedom == 0 and x.size > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = x.mean(axis=self.axis, keepdims=True)
            deviation = x - mean
            if self.degenerate:
                # PyTorch's gradient over all elements with no freedom left: g * inf, NaN where x == mean
                self.infinite = np.where(x == mean, np.nan, np.inf).astype(x.dtype)
            out = np.divide((deviation * deviation).sum(axis=self.axis, keepdims=self.keepdims), freedom)
        if isinstance(out, np.generic):
            out = np.asarray(out)
        self.save_for_backward(deviation, out)
        return out

    def backward(self, g):
        deviation, _ = self.saved
        if self.degenerate:
            return (self.expand(g) * self.infinite,)
        return (self.expand(g) * self.scale * deviation,)

    def differentiable_backward(self, g):
        x = self.inputs[0]
        if self.degenerate:
            return (self.expand_tensor(g) * self.constant(self.infinite),)
        return (self.expand_tensor(g) * self.scale * (x - x.mean(axis=self.axis, keepdims=True)),)

    def jvp(self, dx):
        """dout = 2 sum((x - mean) * dx) / max(0, n - correction)"""
        deviation, _ = self.saved
        return self.reduced((deviation * dx).sum(axis=self.axis, keepdims=True) * self.scale)


class Std(Var):
    """sqrt(var(x)) over axis:  dx = var's gradient of g / (2 std), 0 where std = 0 (as PyTorch)"""

    def forward(self, x):
        variance = super().forward(x)
        out = np.sqrt(variance)
        self.save_for_backward(self.saved[0], out)
        return out

    def backward(self, g):
        _, out = self.saved
        with np.errstate(divide="ignore", invalid="ignore"):
            return super().backward(np.where(out == 0, 0, g / (2 * out)))

    def differentiable_backward(self, g):
        _, out = self.saved
        recomputed = Std.apply(self.inputs[0], axis=self.axis, keepdims=self.keepdims, correction=self.correction)
        return super().differentiable_backward(Where.apply(g / (2 * recomputed), mask=out != 0))

    def jvp(self, dx):
        """dout = dvar / (2 std), 0 where std = 0"""
        _, out = self.saved
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(out == 0, 0, super().jvp(dx) / (2 * out))


class Norm(_Reduction):
    """(sum |x|**p)**(1/p) over axis (max |x| for p = inf, min for -inf, the count of nonzeros for 0):
    dx = g * sign(x) * |x|**(p-1) / norm**(p-1)  (PyTorch's special cases for p = 0, 1, 2, +-inf, norm = 0)"""

    def __init__(self, p, axis, keepdims):
        super().__init__(axis, keepdims)
        self.p = p

    def forward(self, x):
        self.input_shape = x.shape
        p, axis, keepdims = self.p, self.axis, self.keepdims
        count = x.size if axis is None else math.prod(x.shape[dimension] for dimension in axis)
        if count == 1 and p != 0:  # one element: |x| itself, as PyTorch (no x**p to overflow)
            out = np.abs(x).sum(axis=axis, keepdims=keepdims)
        elif p == 2:
            out = np.sqrt((x * x).sum(axis=axis, keepdims=keepdims))
        elif p == 0:
            out = (x != 0).sum(axis=axis, keepdims=keepdims).astype(x.dtype)
        elif p == 1:
            out = np.abs(x).sum(axis=axis, keepdims=keepdims)
        elif p == math.inf:
            out = np.abs(x).max(axis=axis, keepdims=keepdims)
        elif p == -math.inf:
            out = np.abs(x).min(axis=axis, keepdims=keepdims)
        else:
            out = (np.abs(x) ** p).sum(axis=axis, keepdims=keepdims) ** (1 / p)
        out = np.asarray(out) if isinstance(out, np.generic) else out
        self.save_for_backward(x, out)
        return out

    def backward(self, g):
        x, out = self.saved
        return (self._gradient(x, self.expand(g), self.expand(out)),)

    def _gradient(self, x, g, norm):
        """PyTorch's linalg_vector_norm_backward on arrays (g and norm shaped to broadcast against x)."""
        p = self.p
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 0:
                return np.zeros_like(x)
            if p == 1:
                return _sign(x) * g
            if p == 2:  # g times the selection: an infinite or NaN g gives NaN at a zero norm, as PyTorch
                return g * np.where(norm == 0, 0, x / norm)
            if math.isinf(p):
                winners = (np.abs(x) == norm) | np.isnan(x)
                return _sign(x) * ((g / winners.sum(axis=self.axis, keepdims=True)) * winners)
            if p < 1:
                scaled = np.where(x == 0, 0, _sign(x) * np.abs(x) ** (p - 1))
                return scaled * g * norm ** (1 - p)
            scaled = _sign(x) * np.abs(x) ** (p - 1) if p < 2 else x * np.abs(x) ** (p - 2)
            return scaled * np.where(norm == 0, 0, g / norm ** (p - 1))

    def differentiable_backward(self, g):
        x_tensor = self.inputs[0]
        x, out = self.saved
        p, g = self.p, self.expand_tensor(g)
        if p == 0:
            return (None,)
        if p == 1:
            return (g * self.constant(_sign(x)),)
        if math.isinf(p):
            winners = (np.abs(x) == self.expand(out)) | np.isnan(x)
            counts = winners.sum(axis=self.axis, keepdims=True)
            return (g * self.constant((_sign(x) * winners / counts).astype(x.dtype)),)
        norm = self.expand_tensor(Norm.apply(x_tensor, p=p, axis=self.axis, keepdims=self.keepdims))
        nonzero = self.expand(out) != 0
        if p == 2:
            return (g * Where.apply(x_tensor / norm, mask=nonzero),)
        sign = self.constant(_sign(x))
        if p < 1:
            scaled = Where.apply(sign * x_tensor.abs() ** (p - 1), mask=x != 0)
            return (scaled * g * norm ** (1 - p),)
        scaled = sign * x_tensor.abs() ** (p - 1) if p < 2 else x_tensor * x_tensor.abs() ** (p - 2)
        return (scaled * Where.apply(g / norm ** (p - 1), mask=nonzero),)

    def jvp(self, dx):
        """dout = sum(d norm / dx * dx) over axis (the gradient of a unit g, as backward)"""
        x, out = self.saved
        if self.p == 0:
            return None
        ones = np.ones_like(self.expand(out))
        local = self._gradient(x, ones, self.expand(out))
        # A selection where the local derivative is 0: an infinite dx elsewhere does not make it NaN
        return self.reduced(np.where(local == 0, 0, local * dx).sum(axis=self.axis, keepdims=True))
