"""Pooling (NCHW) on the kernels of kernels/cpu/pool.py and its CUDA twin, through minigrad/backend/.

Both pools are linear in what they route (max-pool once its window maxima are chosen), so their
gradients are ops too, for ``backward(create_graph=True)``: max-pool's backward is a scatter to
the argmax positions (MaxPool2dBackward) whose own backward is the gather at the same positions
(MaxPool2dGather), and back; avg-pool's backward spreads each value over its window
(AvgPool2dBackward), whose own backward is the average pool again.
"""
import numpy as np

from .. import backend
from ..autograd import Function


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

    def differentiable_backward(self, g):
        (indices,) = self.saved  # where the maxima were: a constant of the gradient, as in PyTorch
        return (MaxPool2dBackward.apply(g, indices=indices, input_shape=self.input_shape),)

    def jvp(self, dx):
        """dout = dx gathered at each window's maximum (the one position backward routes g to)"""
        (indices,) = self.saved  # forward saves them whether or not grad mode is on
        return gather_planes(dx, indices)


class MaxPool2dBackward(Function):
    """dx = g scattered (added) to ``indices``, the in-plane positions of the window maxima:  dg = h gathered there"""

    def __init__(self, indices, input_shape):
        self.indices, self.input_shape = indices, tuple(input_shape)

    def forward(self, g):
        return backend.max_pool2d_backward(g, self.indices, self.input_shape)

    def backward(self, h):
        return (gather_planes(h, self.indices),)

    def differentiable_backward(self, h):
        return (MaxPool2dGather.apply(h, indices=self.indices, input_shape=self.input_shape),)

    def jvp(self, dg):
        """dout = dg scattered (added) to ``indices``  (linear: the op itself on the tangent)"""
        return backend.max_pool2d_backward(dg, self.indices, self.input_shape)


class MaxPool2dGather(Function):
    """out[n, c, i, j] = h[n, c].flat[indices[n, c, i, j]]:  dh = g scattered (added) back to ``indices``"""

    def __init__(self, indices, input_shape):
        self.indices, self.input_shape = indices, tuple(input_shape)  # the shape of h

    def forward(self, h):
        return gather_planes(h, self.indices)

    def backward(self, g):
        return (backend.max_pool2d_backward(g, self.indices, self.input_shape),)

    def differentiable_backward(self, g):
        return (MaxPool2dBackward.apply(g, indices=self.indices, input_shape=self.input_shape),)

    def jvp(self, dh):
        """dout = dh gathered at ``indices``  (linear: the op itself on the tangent)"""
        return gather_planes(dh, self.indices)


def gather_planes(h, indices):
    """h[n, c].flat[indices[n, c, i, j]] for every (n, c, i, j): advanced indexing, on either device
    (a CudaArray resolves the index on the host and gathers with kernels/cuda/gather.py)."""
    planes = indices.shape[0] * indices.shape[1]
    rows = np.arange(planes).reshape(planes, 1)
    flat = backend.contiguous(h).reshape(planes, h.shape[2] * h.shape[3])
    return flat[rows, indices.reshape(planes, -1)].reshape(indices.shape)


class AvgPool2d(Function):
    """out = mean over each window:  dx = g / window size spread over each window"""

    def __init__(self, geometry, output_size, count_include_pad):
        self.geometry, self.output_size, self.count_include_pad = geometry, output_size, count_include_pad

    def forward(self, x):
        self.input_shape = x.shape
        return backend.avg_pool2d_forward(x, self.geometry, self.output_size, self.count_include_pad)

    def backward(self, g):
        return (backend.avg_pool2d_backward(g, self.geometry, self.input_shape, self.count_include_pad),)

    def differentiable_backward(self, g):
        return (AvgPool2dBackward.apply(g, geometry=self.geometry, input_shape=self.input_shape,
                                        count_include_pad=self.count_include_pad),)

    def jvp(self, dx):
        """dout = the average pool of dx  (linear: the op itself on the tangent)"""
        return backend.avg_pool2d_forward(dx, self.geometry, self.output_size, self.count_include_pad)


class AvgPool2dBackward(Function):
    """dx = g / window size spread over each window (the transpose of the average pool):
    dg = the average pool of h (same windows, same divisors)
    """

    def __init__(self, geometry, input_shape, count_include_pad):
        self.geometry, self.input_shape, self.count_include_pad = geometry, tuple(input_shape), count_include_pad

    def forward(self, g):
        self.output_size = tuple(g.shape[2:])
        return backend.avg_pool2d_backward(g, self.geometry, self.input_shape, self.count_include_pad)

    def backward(self, h):
        return (backend.avg_pool2d_forward(h, self.geometry, self.output_size, self.count_include_pad),)

    def differentiable_backward(self, h):
        return (AvgPool2d.apply(h, geometry=self.geometry, output_size=self.output_size,
                                count_include_pad=self.count_include_pad),)

    def jvp(self, dg):
        """dout = dg / window size spread over each window  (linear: the op itself on the tangent)"""
        return backend.avg_pool2d_backward(dg, self.geometry, self.input_shape, self.count_include_pad)
