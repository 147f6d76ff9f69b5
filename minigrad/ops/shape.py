"""Shape and indexing: views of the same values (reshape, permute, basic indexing), gathers and device moves."""
import numpy as np

from .. import backend
from ..autograd import Function


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
