"""Elementwise extremes of tensors, with NumPy broadcasting: maximum, minimum (torch.max(a, b)) and
clamp between tensor bounds. Their gradients are selections (np.where), never g * mask, so an
infinite g where an input was not chosen gives 0, not NaN; ties and NaN follow PyTorch's rules.
"""
import numpy as np

from .. import backend
from ..autograd import Function
from .arithmetic import _Binary
from .broadcasting import unbroadcast
from .elementwise import Where


class Maximum(_Binary):
    """max(a, b) elementwise (NaN if either is):  da = g where a > b (g / 2 where a == b), db likewise

    Where one is NaN neither comparison holds and both get g, as in PyTorch.
    """

    ufunc = staticmethod(np.maximum)
    losing = staticmethod(np.less)  # where ``a`` loses: its gradient there is 0

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return self.broadcasting(self.ufunc, a, b)

    def masks(self):
        """(a's share, b's share) of g as selections: (ties, a loses, b loses)."""
        a, b = self.saved
        return a == b, self.losing(a, b), self.losing(b, a)

    def backward(self, g):
        ties, a_loses, b_loses = self.masks()
        shared = np.where(ties, g / 2, g)
        return (unbroadcast(np.where(a_loses, 0, shared), self.shapes[0]),
                unbroadcast(np.where(b_loses, 0, shared), self.shapes[1]))

    def differentiable_backward(self, g):
        ties, a_loses, b_loses = self.masks()
        half = self.constant(np.where(ties, 0.5, 1.0).astype(g.dtype))
        shared = g * half
        return (unbroadcast(Where.apply(shared, mask=np.logical_not(a_loses)), self.shapes[0]),
                unbroadcast(Where.apply(shared, mask=np.logical_not(b_loses)), self.shapes[1]))

    def jvp(self, da, db):
        """dout = da where a wins, db where b wins, (da + db) / 2 at ties (and da + db where one is NaN,
        as backward gives both g there)"""
        ties, a_loses, b_loses = self.masks()
        da = zeros_like(self.primal_output) if da is None else self.broadcast(da)
        db = zeros_like(self.primal_output) if db is None else self.broadcast(db)
        both = np.where(ties, (da + db) / 2, da + db)
        return np.where(a_loses, db, np.where(b_loses, da, both))


class Minimum(Maximum):
    """min(a, b) elementwise (NaN if either is):  da = g where a < b (g / 2 where a == b), db likewise"""

    ufunc = staticmethod(np.minimum)
    losing = staticmethod(np.greater)


class ClampTensors(Function):
    """min(max(x, low), high) with tensor bounds (NaN if any is):
    dx = g where low <= x <= high,  dlow = g where x < low < high,  dhigh = g where x > high or high < low

    PyTorch's rules: a bound that equals x passes g to x; where low > high the result is high.
    ``bounds`` says which of low and high are given (the inputs are x and those, in that order).
    """

    def __init__(self, bounds):
        self.bounds = bounds  # ("low",), ("high",) or ("low", "high")

    def forward(self, x, *limits):
        self.shapes = (x.shape,) + tuple(limit.shape for limit in limits)
        named = dict(zip(self.bounds, limits))
        low, high = named.get("low"), named.get("high")
        out = x
        # x < low ? low : x (x itself at the bound, as PyTorch), then NaN from a NaN bound
        if low is not None:
            out = np.where(x < low, low, out)
            out = np.where(low != low, low, out)
        if high is not None:
            out = np.where(out > high, high, out)
            out = np.where(high != high, high, out)
        self.save_for_backward(x, *limits)
        return out

    def masks(self):
        """Where each input receives g: x first, then the given bounds in order."""
        x, *limits = self.saved
        named = dict(zip(self.bounds, limits))
        low, high = named.get("low"), named.get("high")
        if low is None:
            return x <= high, x > high
        if high is None:
            return x >= low, x < low
        return (x >= low) & (x <= high), (x < low) & (low < high), (x > high) | (high < low)

    def backward(self, g):
        return tuple(unbroadcast(np.where(mask, g, 0), shape) for mask, shape in zip(self.masks(), self.shapes))

    def differentiable_backward(self, g):
        return tuple(unbroadcast(Where.apply(g, mask=mask), shape) for mask, shape in zip(self.masks(), self.shapes))

    def jvp(self, *tangents):
        """dout = the tangent of whichever input the output is (0 where none is, as backward)"""
        out = zeros_like(self.primal_output)
        for mask, tangent in zip(self.masks(), tangents):
            if tangent is not None:
                out = np.where(mask, tangent, out)
        return out


def zeros_like(array):
    return backend.full(array.shape, 0, array.dtype, backend.device_of(array))
