"""Elementwise functions of one tensor: exp, log, sqrt, abs, relu, sigmoid, tanh, clamp, copies
and casts, and the constant-mask selection their gradients use. Forward is NumPy's ufunc on
either device (a CudaArray answers NumPy's protocols); ReLU runs a fused Numba kernel on large
arrays, through minigrad/backend/.
"""
import numpy as np

from .. import backend
from ..autograd import Function
from .broadcasting import unbroadcast


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

    def differentiable_backward(self, g):
        return (g * self.inputs[0].exp(),)

    def jvp(self, dx):
        """dout = dx * exp(x)"""
        (out,) = self.saved
        return dx * out


class Log(Function):
    """log(x):  dx = g / x"""

    def forward(self, x):
        self.save_for_backward(x)
        return np.log(x)

    def backward(self, g):
        (x,) = self.saved
        return (g / x,)

    def differentiable_backward(self, g):
        return (g / self.inputs[0],)

    def jvp(self, dx):
        """dout = dx / x"""
        (x,) = self.saved
        return dx / x


class Sqrt(Function):
    """sqrt(x):  dx = g / (2 sqrt(x))"""

    def forward(self, x):
        out = np.sqrt(x)
        self.save_for_backward(out)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (g / (2 * out),)

    def differentiable_backward(self, g):
        return (g / (2 * self.inputs[0].sqrt()),)

    def jvp(self, dx):
        """dout = dx / (2 sqrt(x))"""
        (out,) = self.saved
        return dx / (2 * out)


class Abs(Function):
    """|x|:  dx = g * sign(x)  (sign 0 at x = 0 and at NaN, as PyTorch)"""

    def forward(self, x):
        self.save_for_backward(x)
        return np.abs(x)

    def backward(self, g):
        (x,) = self.saved
        return (g * _sign(x),)

    def differentiable_backward(self, g):
        return (g * self.constant(_sign(self.inputs[0].data)),)

    def jvp(self, dx):
        """dout = dx * sign(x)  (0 at x = 0, as backward)"""
        (x,) = self.saved
        return dx * _sign(x)


def _sign(x):
    """sign(x) in x's dtype, 0 at NaN (np.sign gives NaN there)."""
    one = x.dtype.type(1)
    return np.where(x > 0, one, np.where(x < 0, -one, 0 * one))


class Relu(Function):
    """x < 0 ? 0 : x:  dx = g * (x > 0)"""

    def forward(self, x):
        self.save_for_backward(x)
        return backend.relu_forward(x)

    def backward(self, g):
        (x,) = self.saved
        return (backend.relu_backward(x, g),)

    def differentiable_backward(self, g):
        (x,) = self.saved
        return (ReluBackward.apply(g, x=x),)

    def jvp(self, dx):
        """dout = dx * (x > 0)  (a selection, 0 at x = 0, as backward: the same kernel)"""
        (x,) = self.saved
        return backend.relu_backward(x, dx)


class ReluBackward(Function):
    """x <= 0 ? 0 : g, for ReLU's constant input x (its create_graph gradient):  dg = x <= 0 ? 0 : h

    The fused kernel of ReLU's backward, as an op: the selection is linear in g, so its gradient is
    the same selection (x's own gradient through it is 0 almost everywhere, as in PyTorch).
    """

    def __init__(self, x):
        self.x = x

    def forward(self, g):
        return backend.relu_backward(self.x, g)

    def backward(self, h):
        return (backend.relu_backward(self.x, h),)

    def differentiable_backward(self, h):
        return (ReluBackward.apply(h, x=self.x),)

    def jvp(self, dg):
        """dout = x <= 0 ? 0 : dg"""
        return backend.relu_backward(self.x, dg)


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

    def differentiable_backward(self, g):
        out = self.inputs[0].sigmoid()
        return (g * out * (1 - out),)

    def jvp(self, dx):
        """dout = dx * s * (1 - s)"""
        (out,) = self.saved
        return dx * out * (1 - out)


class Tanh(Function):
    """tanh(x):  dx = g * (1 - tanh(x)**2)"""

    def forward(self, x):
        out = np.tanh(x)
        self.save_for_backward(out)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (g * (1 - out * out),)

    def differentiable_backward(self, g):
        out = self.inputs[0].tanh()
        return (g * (1 - out * out),)

    def jvp(self, dx):
        """dout = dx * (1 - tanh(x)**2)"""
        (out,) = self.saved
        return dx * (1 - out * out)


class Clamp(Function):
    """min(max(x, low), high):  dx = g * (low <= x <= high)"""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, x):
        self.save_for_backward(x)
        # x < low ? low : x, then > high, as PyTorch: x itself wherever it is within the bounds
        # (np.clip's maximum turns a -0.0 at a bound of 0 into 0.0, whose reciprocal is +inf).
        out = x
        if self.low is not None:
            out = np.where(out < self.low, self.low, out)
        if self.high is not None:
            out = np.where(out > self.high, self.high, out)
        return x.copy() if out is x else out

    def backward(self, g):
        (x,) = self.saved
        inside = self._inside(x)
        # A selection, not g * inside: an infinite g outside the range gives 0, not NaN.
        return (g if inside is None else np.where(inside, g, 0),)

    def differentiable_backward(self, g):
        inside = self._inside(self.inputs[0].data)
        return (g if inside is None else Where.apply(g, mask=inside),)

    def jvp(self, dx):
        """dout = dx * (low <= x <= high)  (a selection, as backward: the bounds themselves pass dx)"""
        (x,) = self.saved
        inside = self._inside(x)
        return dx if inside is None else np.where(inside, dx, 0)

    def _inside(self, x):
        inside = None
        if self.low is not None:
            inside = x >= self.low
        if self.high is not None:
            below = x <= self.high
            inside = below if inside is None else inside & below
        return inside


class Clone(Function):
    """x.copy():  dx = g"""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return (g,)

    differentiable_backward = backward

    def jvp(self, dx):
        """dout = dx.copy()"""
        return dx.copy()


class Cast(Function):
    """x.astype(dtype):  dx = g.astype(x.dtype)"""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.input_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):
        return (g.astype(self.input_dtype),)

    def differentiable_backward(self, g):
        return (g.to(self.input_dtype),)

    def jvp(self, dx):
        """dout = dx.astype(dtype)  (none for a cast to integers or booleans)"""
        return dx.astype(self.dtype) if self.primal_output.dtype.kind == "f" else None


class Where(Function):
    """where(mask, x, y) for a constant boolean mask (y = 0 when only x is given):
    dx = where(mask, g, 0),  dy = where(mask, 0, g) (each summed back to its input's shape)

    torch.where with two tensors, and with one the selections in Relu's, Clamp's, Pow's and Max's
    gradients with create_graph (g * mask would make an infinite g NaN where the mask is 0).
    """

    def __init__(self, mask):
        self.mask = mask

    def forward(self, x, y=None):
        self.shapes = (x.shape,) if y is None else (x.shape, y.shape)
        return np.where(self.mask, x, 0 if y is None else y)

    def backward(self, g):
        dx = unbroadcast(np.where(self.mask, g, 0), self.shapes[0])
        if len(self.shapes) == 1:
            return (dx,)
        return dx, unbroadcast(np.where(self.mask, 0, g), self.shapes[1])

    def differentiable_backward(self, g):
        dx = unbroadcast(Where.apply(g, mask=self.mask), self.shapes[0])
        if len(self.shapes) == 1:
            return (dx,)
        return dx, unbroadcast(Where.apply(g, mask=np.logical_not(self.mask)), self.shapes[1])

    def jvp(self, dx, dy=None):
        """dout = where(mask, dx, dy)  (0 for a missing tangent)"""
        output = self.primal_output
        if dx is None and dy is None:
            return None
        chosen = np.where(self.mask, 0 if dx is None else dx, 0 if dy is None else dy)
        if chosen.shape != output.shape:
            chosen = backend.copied(np.broadcast_to(chosen, output.shape), output.dtype)
        return chosen
