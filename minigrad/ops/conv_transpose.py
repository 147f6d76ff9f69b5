"""Transposed 2-D convolution (NCHW) on Conv2d's three kernels, through minigrad/backend/.

A transposed convolution is the input gradient of the convolution it transposes, so it needs no
kernel of its own (see conv.py): with that convolution's geometry, its forward is T(x, w), its input
gradient conv(g, w) (Conv2d's forward) and its weight gradient R(g, x) (Conv2d's weight gradient,
the roles of input and output gradient swapped). Its weight (in_channels, out_channels, kh, kw) is
the transposed convolution's weight as it stands: (its output channels, its input channels, ...).
"""
import numpy as np

from .. import backend
from ..autograd import Function
from .conv import Conv2d, Conv2dWeightGradient, _bilinear_terms, _total


class ConvTranspose2d(Function):
    """out = bias + T(x, w), T = Conv2d's input gradient at ``geometry``:
    dx = conv(g, w) (Conv2d's forward),  dw = R(g, x) (Conv2d's weight gradient),  dbias = sum of g

    ``geometry`` = (stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w) of the convolution
    it transposes; ``output_shape`` (N, out_channels, OH, OW) includes output_padding (extra rows and
    columns at the bottom and right that no tap of that convolution reads: they get the bias alone).
    functional.conv_transpose2d computes them and checks every argument first. With ``groups`` > 1,
    input group k reaches output group k only (weight (in_channels, out_channels / groups, kh, kw), the
    grouped Conv2d's weight as it stands), on the grouped kernels.
    """

    saved_names = ("input", "weight")

    def __init__(self, geometry, output_shape, groups=1):
        self.geometry, self.output_shape, self.groups = geometry, tuple(output_shape), groups

    def forward(self, x, weight, bias=None):
        self.save_for_backward(x, weight)
        self.has_bias = bias is not None
        return backend.conv2d_backward_input(x, weight, self.geometry, self.output_shape, groups=self.groups,
                                             bias=bias)

    def backward(self, g):
        x, weight = self.saved
        needs = self.needs_input_grad
        geometry, groups = self.geometry, self.groups
        dx = backend.conv2d_forward(g, weight, None, geometry, tuple(x.shape[2:]), groups=groups) if needs[0] else None
        dw = None
        if needs[1] and isinstance(x, np.ndarray) and not np.isfinite(x).all():
            dw = weight_gradient_by_taps(x, g, geometry, weight.shape, groups)
        elif needs[1]:
            dw = backend.conv2d_backward_weight(g, x, geometry, weight.shape, groups=groups)
        if not self.has_bias:
            return dx, dw
        return dx, dw, backend.conv2d_backward_bias(g) if needs[2] else None

    def differentiable_backward(self, g):
        x, weight = self.inputs[0], self.inputs[1]
        dx = dw = None
        if self.needs_input_grad[0]:
            dx = Conv2d.apply(g, weight, geometry=self.geometry, output_size=tuple(x.shape[2:]), groups=self.groups)
        if self.needs_input_grad[1]:
            dw = Conv2dWeightGradient.apply(g, x, geometry=self.geometry, weight_shape=weight.shape, groups=self.groups)
        if not self.has_bias:
            return dx, dw
        return dx, dw, g.sum(axis=(0, 2, 3)) if self.needs_input_grad[2] else None

    def jvp(self, dx, dweight, dbias=None):
        """dout = T(dx, w) + T(x, dw) + dbias  (bilinear: the forward kernel on each tangent)"""
        x, weight = self.primal_inputs[0], self.primal_inputs[1]
        terms = _bilinear_terms(lambda a, w: backend.conv2d_backward_input(a, w, self.geometry, self.output_shape,
                                                                           groups=self.groups), x, weight, dx, dweight)
        if dbias is not None:
            bias_term = dbias.reshape(1, -1, 1, 1)
            if not terms:  # the output's shape: the bias alone does not broadcast to it
                bias_term = bias_term + backend.full_like(self.primal_output, 0)
            terms.append(bias_term)
        return _total(terms)


def weight_gradient_by_taps(x, g, geometry, weight_shape, groups):
    """dw[c, o, p, q] = sum over n, i, j of x[n, c, i, j] * g[n, o, i * s - pad + p * d, ...], with g zero outside
    the output, tap by tap in NumPy, as PyTorch (float64): an inf or NaN in x at a position whose taps land
    outside the output meets those zeros and gives NaN (Conv2d's weight-gradient kernel reads only positions
    inside). For an x holding inf or NaN (the kernels' path otherwise)."""
    stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w = geometry
    _, channels, height, width = x.shape
    kernel_h, kernel_w = weight_shape[2:]
    out_height, out_width = g.shape[2:]
    canvas_h = max(pad_top + out_height, (height - 1) * stride_h + (kernel_h - 1) * dilation_h + 1)
    canvas_w = max(pad_left + out_width, (width - 1) * stride_w + (kernel_w - 1) * dilation_w + 1)
    canvas = np.zeros(g.shape[:2] + (canvas_h, canvas_w), g.dtype)
    canvas[:, :, pad_top:pad_top + out_height, pad_left:pad_left + out_width] = g
    grad_weight = np.empty(weight_shape, g.dtype)
    inputs, outputs = channels // groups, weight_shape[1]
    for p in range(kernel_h):
        for q in range(kernel_w):
            taps = canvas[:, :, p * dilation_h:p * dilation_h + (height - 1) * stride_h + 1:stride_h,
                          q * dilation_w:q * dilation_w + (width - 1) * stride_w + 1:stride_w]
            for group in range(groups):
                grad_weight[group * inputs:(group + 1) * inputs, :, p, q] = np.einsum(
                    "ncij,noij->co", x[:, group * inputs:(group + 1) * inputs],
                    taps[:, group * outputs:(group + 1) * outputs])
    return grad_weight
