"""MaxPool2d and AvgPool2d: the pooling functions as layers."""
from . import functional
from .module import Module


class MaxPool2d(Module):
    """Maximum over each kernel_size window (stride defaults to kernel_size)."""

    tensor_input = True
    dilation, ceil_mode = 1, False  # what minigrad's pooling does (torch's options, shown by repr)

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride  # as torch stores (and prints) it

    def forward(self, x):
        return functional.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Mean over each kernel_size window (padding counts as zeros unless count_include_pad=False)."""

    tensor_input = True

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad=True):
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride  # as torch stores (and prints) it
        self.count_include_pad = count_include_pad

    def forward(self, x):
        return functional.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
