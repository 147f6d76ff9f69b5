"""Pooling (NCHW) on the kernels of kernels/cpu/pool.py and its CUDA twin, through backend.py."""
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


class AvgPool2d(Function):
    """out = mean over each window:  dx = g / window size spread over each window"""

    def __init__(self, geometry, output_size, count_include_pad):
        self.geometry, self.output_size, self.count_include_pad = geometry, output_size, count_include_pad

    def forward(self, x):
        self.input_shape = x.shape
        return backend.avg_pool2d_forward(x, self.geometry, self.output_size, self.count_include_pad)

    def backward(self, g):
        return (backend.avg_pool2d_backward(g, self.geometry, self.input_shape, self.count_include_pad),)
