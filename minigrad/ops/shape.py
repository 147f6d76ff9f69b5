"""Shape and indexing: views of the same values (reshape, permute, basic indexing), gathers and device moves."""
import numpy as np

from .. import backend
from ..autograd import Function
from .broadcasting import unbroadcast


def broadcast_tangent(tangent, shape):
    """A broadcast input's tangent, broadcast like the input was: ``tangent`` itself when it already
    has ``shape``, else a new array (a broadcast view is read-only, and an unpacked tangent may be written to)."""
    if tangent.shape == tuple(shape):
        return tangent
    return backend.copied(np.broadcast_to(tangent, tuple(shape)), tangent.dtype)


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

    def differentiable_backward(self, g):
        return (Reshape.apply(g, shape=self.input_shape),)

    def jvp(self, dx):
        """dout = dx.reshape(shape)"""
        return dx.reshape(self.primal_output.shape)


class Permute(Function):
    """x.transpose(axes):  dx = g.transpose(inverse of axes)"""

    is_view = True

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, g):
        return (g.transpose(tuple(int(axis) for axis in np.argsort(self.axes))),)

    def differentiable_backward(self, g):
        return (Permute.apply(g, axes=tuple(int(axis) for axis in np.argsort(self.axes))),)

    def jvp(self, dx):
        """dout = dx.transpose(axes)"""
        return dx.transpose(self.axes)


class BroadcastTo(Function):
    """np.broadcast_to(x, shape), as a new array:  dx = g summed back over the broadcast axes

    The differentiable form of Sum's and Mean's gradients (create_graph).
    """

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.input_shape = x.shape
        # A copy: a broadcast view is read-only, and the result may become a .grad updated in place
        return backend.copied(np.broadcast_to(x, self.shape), x.dtype)

    def backward(self, g):
        return (unbroadcast(g, self.input_shape),)

    differentiable_backward = backward  # unbroadcast is a sum and a reshape: Tensor ops too

    def jvp(self, dx):
        """dout = np.broadcast_to(dx, shape)"""
        return backend.copied(np.broadcast_to(dx, self.primal_output.shape), dx.dtype)


class Expand(BroadcastTo):
    """x.expand(shape), a read-only view (stride 0 along the stretched axes):  dx = g summed back over them

    BroadcastTo's math without its copy, as torch's expand: a view of x's buffer.
    """

    is_view = True

    def forward(self, x):
        self.input_shape = x.shape
        return np.broadcast_to(x, self.shape)


class GetItem(Function):
    """x[index]:  dx = zeros with g added at index (repeated indices accumulate)"""

    is_view = True

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        index = self.view_index()
        self.stages = index_stages(index, x.ndim)
        try:
            out = x[index] if self.stages is None else x[self.stages[0]][self.stages[1]]
        except IndexError as error:
            raise IndexError(f"getitem: index {self.index!r} is invalid for a tensor of shape {x.shape}: {error}") from None
        self.input_shape, self.input_dtype = x.shape, x.dtype
        return out

    def view_index(self):
        """The index as forward applies it: x[0, 1] would be a NumPy scalar, a copy; x[0, 1, ...] is
        the same element as a 0-d view, so writing to it writes to x, as in PyTorch."""
        index = self.index
        if _is_basic_index(index) and not any(item is Ellipsis for item in _items(index)):
            index = _items(index) + (Ellipsis,)
        return index

    def backward(self, g):
        return (scatter(g, self.input_shape, self.input_dtype, self.index, self.stages),)

    def differentiable_backward(self, g):
        return (ScatterAdd.apply(g, shape=self.input_shape, index=self.index, stages=self.stages),)

    def jvp(self, dx):
        """dout = dx[index]"""
        return dx[self.view_index()] if self.stages is None else dx[self.stages[0]][self.stages[1]]


def scatter(g, shape, dtype, index, stages):
    """Zeros of ``shape`` with ``g`` added at ``index`` (GetItem's index and its ``stages``)."""
    dx = backend.full(shape, 0, dtype, backend.device_of(g))
    if stages is not None:
        selected = dx[stages[0]]  # a view of dx: what the integers selected
        np.add.at(selected, stages[1], g)
    elif _is_basic_index(index):
        dx[index] = g  # a basic index selects each element at most once
    else:
        np.add.at(dx, index, g)
    return dx


class ScatterAdd(Function):
    """zeros(shape) with x added at index (GetItem's gradient as an op):  dx = g[index]

    What GetItem's backward computes, recorded, so that its gradient can be differentiated again.
    """

    def __init__(self, shape, index, stages):
        self.shape, self.index, self.stages = shape, index, stages

    def forward(self, x):
        return scatter(x, self.shape, x.dtype, self.index, self.stages)

    def backward(self, g):
        selected = g[self.index] if self.stages is None else g[self.stages[0]][self.stages[1]]
        return (np.asarray(selected) if isinstance(selected, np.generic) else selected,)  # x[0, 1]: a scalar

    def differentiable_backward(self, g):
        return (GetItem.apply(g, index=self.index),)

    def jvp(self, dx):
        """dout = zeros(shape) with dx added at index"""
        return scatter(dx, self.shape, dx.dtype, self.index, self.stages)


def index_stages(index, ndim):
    """PyTorch's order for an index that mixes integers with arrays: the integers select first,
    then the arrays index what is left, as two indexes (integers, the rest); None where NumPy's one
    index means the same.

    NumPy counts an integer beside an array as one more array, so ``x[0, :, [0, 1]]`` of a (2, 3, 4)
    tensor is (2, 3) there (the broadcast array axes go first when a slice separates them) but
    (3, 2) in PyTorch, which selects row 0 first.
    """
    items = _items(index)
    integers = [isinstance(item, (int, np.integer)) and not isinstance(item, bool) for item in items]
    arrays = [not (is_integer or item is None or item is Ellipsis or isinstance(item, slice))
              for item, is_integer in zip(items, integers)]
    if not (any(integers) and any(arrays)):
        return None
    consumed = [0 if item is None or item is Ellipsis else (np.ndim(item) if array and np.asarray(item).dtype == bool
                                                             else 1) for item, array in zip(items, arrays)]
    spread = ndim - sum(consumed)  # the axes Ellipsis stands for
    first, rest = [], []
    for item, is_integer, count in zip(items, integers, consumed):
        if item is Ellipsis:
            first += [slice(None)] * spread
            rest.append(item)
        elif is_integer:
            first.append(item)
        else:
            first += [slice(None)] * count
            rest.append(item)
    return tuple(first), tuple(rest)


def _items(index):
    return index if isinstance(index, tuple) else (index,)


def _is_basic_index(index):
    return all(item is None or item is Ellipsis or isinstance(item, (int, np.integer, slice)) for item in _items(index))


class ToDevice(Function):
    """x.to(device):  dx = g.to(x's device)"""

    def __init__(self, device):
        self.output_device = device

    def forward(self, x):
        self.input_device = backend.device_of(x)
        return backend.to_device(x, self.output_device)

    def backward(self, g):
        return (backend.to_device(g, self.input_device),)

    def differentiable_backward(self, g):
        return (g.to(self.input_device),)

    def jvp(self, dx):
        """dout = dx.to(device)"""
        return backend.to_device(dx, self.output_device)
