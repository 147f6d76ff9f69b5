"""Convolution (NCHW) on the kernels of kernels/cpu/conv2d.py and its CUDA twin, through backend.py."""
from .. import backend
from ..autograd import Function


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
