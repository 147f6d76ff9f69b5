"""Every differentiable primitive: one class each, forward and backward side by side.

``forward`` gets the input arrays and returns the output array, keeping what backward needs with
``save_for_backward``. ``backward`` gets the gradient of the loss with respect to the output and
returns one gradient per input, of that input's shape (None where the input needs none). Each
docstring gives the op's math in one line; ``g`` is the incoming gradient. Elementwise math is
NumPy's; matmul and the fused softmax cross-entropy run Numba kernels through backend.py.
"""
import numpy as np

from . import backend
from .autograd import Function


def unbroadcast(gradient, shape):
    """Sum ``gradient`` over the axes broadcasting added or stretched, so it has ``shape`` again."""
    if gradient.shape == shape:
        return gradient
    added = gradient.ndim - len(shape)
    stretched = tuple(added + axis for axis, size in enumerate(shape) if size == 1 and gradient.shape[added + axis] != 1)
    return gradient.sum(axis=tuple(range(added)) + stretched, keepdims=True).reshape(shape)


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


# --- reductions -----------------------------------------------------------------------------------

class _Reduction(Function):
    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def expand(self, g):
        """g reshaped so it broadcasts against the input (the reduced axes back as size 1)."""
        if self.keepdims or self.axis is None:
            return g.reshape([1] * len(self.input_shape)) if self.axis is None and g.ndim == 0 else g
        return np.expand_dims(g, self.axis)


class Sum(_Reduction):
    """sum over axis:  dx = g broadcast back over the summed axes"""

    def forward(self, x):
        self.input_shape = x.shape
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, g):
        return (np.broadcast_to(self.expand(g), self.input_shape),)


class Mean(_Reduction):
    """mean over axis:  dx = g / n broadcast back (n = number of elements averaged)"""

    def forward(self, x):
        self.input_shape = x.shape
        self.count = x.size if self.axis is None else int(np.prod([x.shape[axis] for axis in self.axis]))
        return x.mean(axis=self.axis, keepdims=self.keepdims)

    def backward(self, g):
        return (np.broadcast_to(self.expand(g) / self.count, self.input_shape),)


class Max(_Reduction):
    """max over axis:  dx = g * (x == max) / (number of maxima), ties share the gradient"""

    reduce = staticmethod(np.max)

    def forward(self, x):
        if x.size == 0:
            raise ValueError(f"{self.name.lower()}: cannot reduce an empty tensor of shape {x.shape}")
        self.input_shape = x.shape
        out = self.reduce(x, axis=self.axis, keepdims=self.keepdims)
        if isinstance(out, np.generic):
            out = np.asarray(out)  # NumPy's full reduction gives a scalar; saved buffers must be arrays
        self.save_for_backward(x, out)
        return out

    def backward(self, g):
        x, out = self.saved
        winners = x == self.expand(out)
        counts = winners.sum(axis=self.axis, keepdims=True)
        return (winners * (self.expand(g) / counts),)


class Min(Max):
    """min over axis:  dx = g * (x == min) / (number of minima)"""

    reduce = staticmethod(np.min)


# --- shape ----------------------------------------------------------------------------------------

class Reshape(Function):
    """x.reshape(shape):  dx = g.reshape(x.shape)"""

    is_view = True

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.input_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, g):
        return (g.reshape(self.input_shape),)


class Permute(Function):
    """x.transpose(axes):  dx = g.transpose(inverse of axes)"""

    is_view = True

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, g):
        return (g.transpose(tuple(int(axis) for axis in np.argsort(self.axes))),)


class GetItem(Function):
    """x[index]:  dx = zeros with g added at index (repeated indices accumulate)"""

    is_view = True

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        try:
            out = x[self.index]
        except IndexError as error:
            raise IndexError(f"getitem: index {self.index!r} is invalid for a tensor of shape {x.shape}: {error}") from None
        self.input_shape, self.input_dtype = x.shape, x.dtype
        return out

    def backward(self, g):
        dx = backend.full(self.input_shape, 0, self.input_dtype, backend.device_of(g))
        if _is_basic_index(self.index):
            dx[self.index] = g  # a basic index selects each element at most once
        else:
            np.add.at(dx, self.index, g)
        return (dx,)


def _is_basic_index(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(item is None or item is Ellipsis or isinstance(item, (int, np.integer, slice)) for item in items)


class ToDevice(Function):
    """x.to(device):  dx = g.to(x's device)"""

    def __init__(self, device):
        self.output_device = device

    def forward(self, x):
        self.input_device = backend.device_of(x)
        return backend.to_device(x, self.output_device)

    def backward(self, g):
        return (backend.to_device(g, self.input_device),)


# --- linear algebra -------------------------------------------------------------------------------

class MatMul(Function):
    """a @ b:  da = g @ b.T,  db = a.T @ g  (batch axes broadcast and summed back, as NumPy)"""

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: both operands need at least one dimension, got shapes {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied")
        self.shapes = (a.shape, b.shape)
        # A vector is a one-row (left) or one-column (right) matrix for the duration of the product.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        try:
            batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        except ValueError:
            raise ValueError(f"matmul: batch shapes of {a.shape} and {b.shape} cannot be broadcast together") from None
        self.save_for_backward(a, b)
        self.matrix_shapes = (a2.shape, b2.shape)
        out = backend.matmul(a2, b2, batch)
        if a.ndim == 1:
            out = out[..., 0, :]
        if b.ndim == 1:
            out = out[..., 0]
        return out

    def backward(self, g):
        a, b = self.saved
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g.reshape(g.shape[:-1] + (1,) + g.shape[-1:]) if a.ndim == 1 else g
        g2 = g2[..., None] if b.ndim == 1 else g2
        batch = g2.shape[:-2]
        da = db = None
        if self.needs_input_grad[0]:
            da = unbroadcast(backend.matmul(g2, np.swapaxes(b2, -1, -2), batch), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            db = unbroadcast(backend.matmul(np.swapaxes(a2, -1, -2), g2, batch), b2.shape).reshape(b.shape)
        return da, db


# --- softmax and the fused loss -------------------------------------------------------------------

class Softmax(Function):
    """s = exp(x - max) / sum(exp(x - max)):  dx = s * (g - sum(g * s))"""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        shifted = np.exp(x - x.max(axis=self.axis, keepdims=True))
        out = shifted / shifted.sum(axis=self.axis, keepdims=True)
        self.save_for_backward(out)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (out * (g - (g * out).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """y = x - max - log(sum(exp(x - max))):  dx = g - exp(y) * sum(g)"""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        shifted = x - x.max(axis=self.axis, keepdims=True)  # exp never overflows: the largest term is 1
        out = shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))
        self.save_for_backward(out)
        return out

    def backward(self, g):
        (out,) = self.saved
        return (g - np.exp(out) * g.sum(axis=self.axis, keepdims=True),)


class SoftmaxCrossEntropy(Function):
    """loss_n = -sum_c q_nc log softmax(x_n)_c, q = smoothed one-hot:  dx_n = g_n * (softmax(x_n) - q_n)

    One Numba kernel computes each row's loss and its gradient together in the forward pass, so
    backward is only a scaling. Reduction "mean" divides by the number of non-ignored targets.
    """

    def __init__(self, targets, reduction, label_smoothing, ignore_index, count):
        self.targets, self.reduction = targets, reduction
        self.label_smoothing, self.ignore_index = label_smoothing, ignore_index
        self.count = count  # the non-ignored targets (the caller counted them when it checked them)

    saved_names = ("grad_logits",)

    def forward(self, logits):
        losses, grad_logits = backend.softmax_cross_entropy(logits, self.targets, self.label_smoothing, self.ignore_index)
        self.save_for_backward(grad_logits)
        if self.reduction == "none":
            return losses
        total = losses.sum(dtype=losses.dtype)
        if self.reduction == "sum":
            return total
        return total / self.count if self.count else total * float("nan")  # no target counted: NaN, as PyTorch

    def backward(self, g):
        (grad_logits,) = self.saved
        if self.reduction == "none":
            return (grad_logits * g[:, None],)
        if self.reduction == "mean":
            g = g / self.count
        return (grad_logits * g,)


# --- convolution and pooling (NCHW) ---------------------------------------------------------------

class Conv2d(Function):
    """out = bias + sum over (c, p, q) of w[o, c, p, q] * x[n, c, i*s - pad + p*d, j*s - pad + q*d]:
    dx = the transposed convolution of g with w,  dw = correlation of x with g,  dbias = sum of g

    ``geometry`` = (stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w) and the output
    size; functional.conv2d computes them and checks every argument first.
    """

    def __init__(self, geometry, output_size):
        self.geometry, self.output_size = geometry, output_size

    def forward(self, x, weight, bias=None):
        self.save_for_backward(x, weight)
        self.has_bias = bias is not None
        return backend.conv2d_forward(x, weight, bias, self.geometry, self.output_size)

    def backward(self, g):
        x, weight = self.saved
        dx = backend.conv2d_backward_input(g, weight, self.geometry, x.shape) if self.needs_input_grad[0] else None
        dw = backend.conv2d_backward_weight(x, g, self.geometry, weight.shape) if self.needs_input_grad[1] else None
        if not self.has_bias:
            return dx, dw
        return dx, dw, backend.conv2d_backward_bias(g) if self.needs_input_grad[2] else None


class MaxPool2d(Function):
    """out = max over each window:  dx = g added at the position of each window's maximum (one per window)"""

    def __init__(self, geometry, output_size):
        self.geometry, self.output_size = geometry, output_size

    saved_names = ("indices",)

    def forward(self, x):
        out, indices = backend.max_pool2d_forward(x, self.geometry, self.output_size)
        self.save_for_backward(indices)  # freed after backward, like any saved buffer
        self.input_shape = x.shape
        return out

    def backward(self, g):
        (indices,) = self.saved
        return (backend.max_pool2d_backward(g, indices, self.input_shape),)


class AvgPool2d(Function):
    """out = mean over each window:  dx = g / window size spread over each window"""

    def __init__(self, geometry, output_size, count_include_pad):
        self.geometry, self.output_size, self.count_include_pad = geometry, output_size, count_include_pad

    def forward(self, x):
        self.input_shape = x.shape
        return backend.avg_pool2d_forward(x, self.geometry, self.output_size, self.count_include_pad)

    def backward(self, g):
        return (backend.avg_pool2d_backward(g, self.geometry, self.input_shape, self.count_include_pad),)


# --- layers and losses ----------------------------------------------------------------------------

class Linear(Function):
    """y = x @ w.T + b:  dx = g @ w,  dw = g.T @ x,  db = sum of g over rows

    One node instead of matmul + transpose + add: the layer's three gradients come from two matrix
    products on the kernels (the transposes are strided views the kernel packs without copying).
    Leading axes of x are flattened into rows for the duration.
    """

    def forward(self, x, weight, bias=None):
        self.save_for_backward(x, weight)
        self.has_bias = bias is not None
        rows = x.reshape(-1, x.shape[-1])
        out = backend.matmul(rows, weight.T, ())
        if bias is not None:
            out += bias
        return out.reshape(x.shape[:-1] + (weight.shape[0],))

    def backward(self, g):
        x, weight = self.saved
        g_rows = g.reshape(-1, g.shape[-1])
        dx = dw = db = None
        if self.needs_input_grad[0]:
            dx = backend.matmul(g_rows, weight, ()).reshape(x.shape)
        if self.needs_input_grad[1]:
            dw = backend.matmul(g_rows.T, x.reshape(-1, x.shape[-1]), ())
        if self.has_bias and self.needs_input_grad[2]:
            db = g_rows.sum(axis=0)
        return (dx, dw, db) if self.has_bias else (dx, dw)


class Dropout(Function):
    """y = x * m / (1 - p), m ~ Bernoulli(1 - p) per element:  dx = g * m / (1 - p)"""

    def __init__(self, probability, generator):
        self.probability, self.generator = probability, generator

    saved_names = ("scaled_mask",)

    def forward(self, x):
        # The generator gives a seed; a counter-based hash of (seed, element) then decides each
        # element on either device, identically. The mask is stored already scaled, so forward and
        # backward are one multiplication each.
        seed = int(self.generator.integers(0, 2**63 - 1))
        scaled_mask = backend.dropout_mask(seed, 1.0 - self.probability, x.shape, x.dtype, backend.device_of(x))
        self.save_for_backward(scaled_mask)
        return x * scaled_mask

    def backward(self, g):
        (scaled_mask,) = self.saved
        return (g * scaled_mask,)


class BinaryCrossEntropyWithLogits(Function):
    """l = w * ((1 - y) x + (1 + (p - 1) y) softplus(-x)):  dx = g w ((1 - y) - (1 + (p - 1) y) sigmoid(-x))

    y the targets, p the positive-class weight, w the element weight. softplus(-x) is written
    max(-x, 0) + log1p(exp(-|x|)), so logits of +-100 (or +-1e4) give finite losses and gradients.
    Only x gets a gradient; targets and weights are constants, as in PyTorch's usual use.
    """

    def __init__(self, targets, weight, positive_weight, reduction):
        self.targets, self.weight, self.positive_weight, self.reduction = targets, weight, positive_weight, reduction

    def forward(self, x):
        y = self.targets
        softplus_of_negative = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))
        log_weight = 1 if self.positive_weight is None else 1 + (self.positive_weight - 1) * y
        losses = (1 - y) * x + log_weight * softplus_of_negative
        if self.weight is not None:
            losses = losses * self.weight
        self.save_for_backward(x)
        self.log_weight = log_weight
        return reduce_losses(losses, self.reduction)

    def backward(self, g):
        (x,) = self.saved
        # sigmoid(-x) in the stable form: exp of a non-positive number only.
        e = np.exp(-np.abs(x))
        sigmoid_of_negative = np.where(x >= 0, e, 1) / (1 + e)
        dx = (1 - self.targets) - self.log_weight * sigmoid_of_negative
        if self.weight is not None:
            dx = dx * self.weight
        return (_reduced_gradient(g, dx, self.reduction),)


class NllLoss(Function):
    """l_n = -x[n, t_n] (0 where t_n == ignore_index):  dx[n, t_n] = -g_n (divided by the count for "mean")"""

    def __init__(self, targets, reduction, ignore_index):
        self.targets, self.reduction, self.ignore_index = targets, reduction, ignore_index

    def forward(self, x):
        self.valid = self.targets != self.ignore_index
        self.rows = np.arange(x.shape[0])
        self.safe_targets = np.where(self.valid, self.targets, 0)  # any column; masked out below
        losses = np.where(self.valid, -x[self.rows, self.safe_targets], 0).astype(x.dtype, copy=False)
        self.input_shape, self.dtype = x.shape, x.dtype
        if self.reduction == "mean":
            self.count = int(self.valid.sum())
            return losses.sum() / self.count if self.count else losses.sum() * float("nan")
        return reduce_losses(losses, self.reduction)

    def backward(self, g):
        row_gradient = np.broadcast_to(g / self.count if self.reduction == "mean" else g, self.targets.shape)
        dx = backend.full(self.input_shape, 0, self.dtype, backend.device_of(g))
        dx[self.rows, self.safe_targets] = np.where(self.valid, -row_gradient, 0)
        return (dx,)


def reduce_losses(losses, reduction):
    """Per-element losses reduced by "mean", "sum" or "none" (arrays here, Tensors in nn.functional)."""
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def _reduced_gradient(g, local_gradient, reduction):
    """Chain rule through the reduction: g is a scalar for "mean"/"sum", elementwise for "none"."""
    if reduction == "mean":
        return local_gradient * (g / local_gradient.size)
    return local_gradient * g
