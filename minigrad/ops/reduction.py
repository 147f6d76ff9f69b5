"""Reductions along axes, and the softmax family that normalizes along one."""
import numpy as np

from .. import backend
from ..autograd import Function
from .elementwise import Where
from .shape import BroadcastTo


class _Reduction(Function):
    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def expand(self, g):
        """g reshaped so it broadcasts against the input (the reduced axes back as size 1)."""
        if self.keepdims or self.axis is None:
            return g.reshape([1] * len(self.input_shape)) if self.axis is None and g.ndim == 0 else g
        return np.expand_dims(g, self.axis)

    def expand_tensor(self, g):
        """expand on a Tensor: g reshaped to the input's shape with the reduced axes of size 1."""
        reduced = range(len(self.input_shape)) if self.axis is None else self.axis
        return g.reshape(tuple(1 if axis in reduced else size for axis, size in enumerate(self.input_shape)))

    def reduced(self, array):
        """``array`` (the input's shape, reduced axes of size 1) in the output's shape: an array even
        for a full reduction, where NumPy gives a scalar."""
        return array.reshape(self.primal_output.shape)


class Sum(_Reduction):
    """sum over axis:  dx = g broadcast back over the summed axes"""

    def forward(self, x):
        self.input_shape = x.shape
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, g):
        return (np.broadcast_to(self.expand(g), self.input_shape),)

    def differentiable_backward(self, g):
        return (BroadcastTo.apply(self.expand_tensor(g), shape=self.input_shape),)

    def jvp(self, dx):
        """dout = dx summed over axis"""
        return self.reduced(dx.sum(axis=self.axis, keepdims=True))


class Mean(_Reduction):
    """mean over axis:  dx = g / n broadcast back (n = number of elements averaged)"""

    def forward(self, x):
        self.input_shape = x.shape
        self.count = x.size if self.axis is None else int(np.prod([x.shape[axis] for axis in self.axis]))
        return x.mean(axis=self.axis, keepdims=self.keepdims)

    def backward(self, g):
        return (np.broadcast_to(self.expand(g) / self.count, self.input_shape),)

    def differentiable_backward(self, g):
        return (BroadcastTo.apply(self.expand_tensor(g) / self.count, shape=self.input_shape),)

    def jvp(self, dx):
        """dout = dx averaged over axis"""
        return self.reduced(dx.sum(axis=self.axis, keepdims=True) / self.count)


class Max(_Reduction):
    """max over axis:  dx = g * (x == max) / (number of maxima), ties share the gradient

    Over all elements a NaN maximum sends the gradient to the NaN elements, as PyTorch's max()
    does; over axes (PyTorch's amax) the elements equal to a NaN are none, and the gradient is NaN.
    """

    reduce = staticmethod(np.max)

    def forward(self, x):
        name = self.name.lower()
        if self.axis is None and x.size == 0:
            raise ValueError(f"{name}: cannot reduce an empty tensor of shape {x.shape} without a dim")
        for axis in self.axis or ():
            if x.shape[axis] == 0:
                raise IndexError(f"{name}: dim {axis} of shape {x.shape} has no elements to reduce")
        self.input_shape = x.shape
        out = self.reduce(x, axis=self.axis, keepdims=self.keepdims)
        if isinstance(out, np.generic):
            out = np.asarray(out)  # NumPy's full reduction gives a scalar; saved buffers must be arrays
        self.save_for_backward(x, out)
        return out

    def backward(self, g):
        x, out = self.saved
        winners = x == self.expand(out)
        if self.axis is None:
            # PyTorch's max(): the share of g at the maxima (NaN ones included), exactly 0 elsewhere
            winners = winners | (np.isnan(x) & np.isnan(out))
            return (np.where(winners, g / winners.sum(), 0),)
        # PyTorch's amax: g times the mask, so a NaN or infinite g reaches every element
        counts = winners.sum(axis=self.axis, keepdims=True)
        return (winners * (self.expand(g) / counts),)

    def differentiable_backward(self, g):
        # The same rules as backward; which elements win is a constant (its derivative is 0 almost everywhere)
        x, out = self.saved
        winners = x == self.expand(out)
        if self.axis is None:
            winners = winners | (np.isnan(x) & np.isnan(out))
            return (Where.apply(g / self.constant(winners.sum(keepdims=True).astype(g.dtype)), mask=winners),)
        counts = self.constant(winners.sum(axis=self.axis, keepdims=True).astype(g.dtype))
        return (self.constant(winners.astype(g.dtype)) * (self.expand_tensor(g) / counts),)

    def jvp(self, dx):
        """dout = sum(dx where x == max) / (number of maxima): ties average their tangents, as backward
        shares g (and as PyTorch's forward AD for amax and max()); a NaN maximum as backward"""
        x, out = self.saved
        winners = x == self.expand(out)
        if self.axis is None:
            winners = winners | (np.isnan(x) & np.isnan(out))
        counts = winners.sum(axis=self.axis, keepdims=True)
        # A selection, not dx * winners: an infinite tangent elsewhere does not make the result NaN
        return self.reduced(np.where(winners, dx, 0).sum(axis=self.axis, keepdims=True) / counts)


class Min(Max):
    """min over axis:  dx = g * (x == min) / (number of minima)"""

    reduce = staticmethod(np.min)


class LogSumExp(_Reduction):
    """y = m + log(sum(exp(x - m))) over axis (m the largest x, 0 where infinite):  dx = g * exp(x - y)"""

    def forward(self, x):
        self.input_shape = x.shape
        reduced = range(x.ndim) if self.axis is None else self.axis
        if any(x.shape[axis] == 0 for axis in reduced):
            shift = backend.full(tuple(1 if axis in reduced else size for axis, size in enumerate(x.shape)), 0,
                                 x.dtype, backend.device_of(x))
        else:
            shift = np.max(x, axis=self.axis, keepdims=True)
            shift = np.where(np.isinf(shift), 0, shift)  # all -inf (or an inf): no shift, as PyTorch
        with np.errstate(divide="ignore"):  # log(0) is -inf: an empty sum, or all of x -inf
            out = np.log(np.exp(x - shift).sum(axis=self.axis, keepdims=True)) + shift
        self.save_for_backward(x, out)
        return out if self.keepdims else self.reduced_shape(out)

    def reduced_shape(self, array):
        reduced = range(len(self.input_shape)) if self.axis is None else self.axis
        return array.reshape(tuple(size for axis, size in enumerate(self.input_shape) if axis not in reduced))

    def backward(self, g):
        x, out = self.saved
        return (self.expand(g) * np.exp(x - out),)

    def differentiable_backward(self, g):
        x = self.inputs[0]
        out = LogSumExp.apply(x, axis=self.axis, keepdims=True)
        return (self.expand_tensor(g) * (x - out).exp(),)

    def jvp(self, dx):
        """dy = sum(exp(x - y) * dx)  (a softmax-weighted sum of the tangents)"""
        x, out = self.saved
        weighted = (np.exp(x - out) * dx).sum(axis=self.axis, keepdims=True)
        return weighted if self.keepdims else self.reduced_shape(weighted)


class Cumsum(Function):
    """running sum along axis:  dx = reversed running sum of g along axis"""

    def __init__(self, axis):
        self.axis = axis

    def reversed(self, array):
        """``array`` reversed along the axis (a view; GetItem on a Tensor)."""
        return array[(slice(None),) * self.axis + (slice(None, None, -1),)]

    def forward(self, x):
        return running_sum(x, self.axis)

    def backward(self, g):
        return (self.reversed(running_sum(self.reversed(g), self.axis)),)

    def differentiable_backward(self, g):
        return (self.reversed(Cumsum.apply(self.reversed(g), axis=self.axis)),)

    def jvp(self, dx):
        """dout = running sum of dx along axis"""
        return running_sum(dx, self.axis)


def running_sum(array, axis):
    """np.cumsum along ``axis``, in the array's dtype (integers and booleans in int64, as PyTorch).
    On a CudaArray it runs on the host: a copy each way (no GPU scan kernel yet)."""
    dtype = array.dtype if array.dtype.kind == "f" else np.dtype(np.int64)
    if backend.device_of(array) == "cuda":
        return backend.to_device(np.cumsum(array.get(), axis=axis, dtype=dtype), "cuda")
    return np.cumsum(array, axis=axis, dtype=dtype)


# --- softmax: a reduction and a broadcast back ----------------------------------------------------

class Softmax(Function):
    """s = exp(x - max) / sum(exp(x - max)):  dx = s * (g - sum(g * s))"""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        if x.size == 0:
            out = x.copy()  # nothing to normalise (a zero-length axis has no maximum to shift by)
        else:
            shifted = np.exp(x - x.max(axis=self.axis, keepdims=True))
            out = shifted / shifted.sum(axis=self.axis, keepdims=True)
        self.save_for_backward(out)
        return out

    def backward(self, g):
        (out,) = self.saved
        return self._gradient(g, out)

    def differentiable_backward(self, g):
        return self._gradient(g, self.inputs[0].softmax(self.axis))

    def _gradient(self, g, out):
        """The same formula on arrays (backward) or on Tensors (create_graph: s recomputed from x)."""
        return (out * (g - (g * out).sum(axis=self.axis, keepdims=True)),)

    def jvp(self, dx):
        """ds = s * (dx - sum(dx * s))  (the Jacobian is symmetric: backward's formula)"""
        (out,) = self.saved
        return self._gradient(dx, out)[0]


class LogSoftmax(Function):
    """y = x - max - log(sum(exp(x - max))):  dx = g - exp(y) * sum(g)"""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        if x.size == 0:
            out = x.copy()  # nothing to normalise (a zero-length axis has no maximum to shift by)
        else:
            shifted = x - x.max(axis=self.axis, keepdims=True)  # exp never overflows: the largest term is 1
            out = shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))
        self.save_for_backward(out)
        return out

    def backward(self, g):
        (out,) = self.saved
        return self._gradient(g, np.exp(out))

    def differentiable_backward(self, g):
        return self._gradient(g, self.inputs[0].softmax(self.axis))

    def _gradient(self, g, probabilities):
        """The same formula on arrays (backward) or on Tensors (create_graph: exp(y) recomputed from x)."""
        return (g - probabilities * g.sum(axis=self.axis, keepdims=True),)

    def jvp(self, dx):
        """dy = dx - sum(exp(y) * dx)"""
        (out,) = self.saved
        return dx - (np.exp(out) * dx).sum(axis=self.axis, keepdims=True)
