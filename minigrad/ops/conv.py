"""Convolution (NCHW) on the kernels of kernels/cpu/conv2d.py and its CUDA twin, through minigrad/backend/.

Conv2d's two gradients are ops of their own as well (Conv2dInputGradient, Conv2dWeightGradient),
so that ``backward(create_graph=True)`` records them and a gradient can be differentiated again.
All three are bilinear, and each one's gradients are the other two kernels, with the same
geometry: forward c = conv(x, w), input gradient t = T(g, w), weight gradient r = R(x, g), where
<conv(x, w), g> = <x, T(g, w)> = <w, R(x, g)>. The three ops' backward passes close over each other,
so a derivative of any order is these three kernels again.
"""
from .. import backend
from ..autograd import Function


class Conv2d(Function):
    """out = bias + sum over (c, p, q) of w[o, c, p, q] * x[n, c, i*s - pad + p*d, j*s - pad + q*d]:
    dx = the transposed convolution of g with w,  dw = correlation of x with g,  dbias = sum of g

    ``geometry`` = (stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w) and the output
    size; functional.conv2d computes them and checks every argument first. With ``groups`` > 1 the
    channels split into that many groups, output group k reading input group k only (weight
    (out_channels, in_channels / groups, kh, kw)); the two gradient ops carry it too.
    """

    def __init__(self, geometry, output_size, groups=1):
        self.geometry, self.output_size, self.groups = geometry, output_size, groups

    def forward(self, x, weight, bias=None):
        self.save_for_backward(x, weight)
        self.has_bias = bias is not None
        return backend.conv2d_forward(x, weight, bias, self.geometry, self.output_size, groups=self.groups)

    def backward(self, g):
        x, weight = self.saved
        dx = backend.conv2d_backward_input(g, weight, self.geometry, x.shape, groups=self.groups) if self.needs_input_grad[0] else None
        dw = backend.conv2d_backward_weight(x, g, self.geometry, weight.shape, groups=self.groups) if self.needs_input_grad[1] else None
        if not self.has_bias:
            return dx, dw
        return dx, dw, backend.conv2d_backward_bias(g) if self.needs_input_grad[2] else None

    def differentiable_backward(self, g):
        x, weight = self.inputs[0], self.inputs[1]
        dx = dw = None
        if self.needs_input_grad[0]:
            dx = Conv2dInputGradient.apply(g, weight, geometry=self.geometry, input_shape=x.shape, groups=self.groups)
        if self.needs_input_grad[1]:
            dw = Conv2dWeightGradient.apply(x, g, geometry=self.geometry, weight_shape=weight.shape, groups=self.groups)
        if not self.has_bias:
            return dx, dw
        return dx, dw, g.sum(axis=(0, 2, 3)) if self.needs_input_grad[2] else None

    def jvp(self, dx, dweight, dbias=None):
        """dout = conv(dx, w) + conv(x, dw) + dbias  (bilinear: the forward kernel on each tangent)"""
        x, weight = self.primal_inputs[0], self.primal_inputs[1]
        terms = _bilinear_terms(
            lambda a, w: backend.conv2d_forward(a, w, None, self.geometry, self.output_size, groups=self.groups), x, weight, dx, dweight)
        if dbias is not None:
            bias_term = dbias.reshape(1, -1, 1, 1)
            if not terms:  # the output's shape: the bias alone does not broadcast to it
                bias_term = bias_term + backend.full_like(self.primal_output, 0)
            terms.append(bias_term)
        return _total(terms)


class Conv2dInputGradient(Function):
    """t = T(g, w), Conv2d's input gradient (the transposed convolution):
    dg = conv(h, w) (Conv2d's forward of the incoming gradient h),  dw = R(h, g) (Conv2d's weight gradient)
    """

    saved_names = ("grad_output", "weight")

    def __init__(self, geometry, input_shape, groups=1):
        self.geometry, self.input_shape, self.groups = geometry, tuple(input_shape), groups

    def forward(self, g, weight):
        self.save_for_backward(g, weight)
        return backend.conv2d_backward_input(g, weight, self.geometry, self.input_shape, groups=self.groups)

    def backward(self, h):
        g, weight = self.saved
        dg = backend.conv2d_forward(h, weight, None, self.geometry, g.shape[2:], groups=self.groups) if self.needs_input_grad[0] else None
        dw = backend.conv2d_backward_weight(h, g, self.geometry, weight.shape, groups=self.groups) if self.needs_input_grad[1] else None
        return dg, dw

    def differentiable_backward(self, h):
        g, weight = self.inputs
        dg = dw = None
        if self.needs_input_grad[0]:
            dg = Conv2d.apply(h, weight, geometry=self.geometry, output_size=tuple(g.shape[2:]), groups=self.groups)
        if self.needs_input_grad[1]:
            dw = Conv2dWeightGradient.apply(h, g, geometry=self.geometry, weight_shape=weight.shape, groups=self.groups)
        return dg, dw

    def jvp(self, dg, dweight):
        """dt = T(dg, w) + T(g, dw)  (bilinear: the same kernel on each tangent)"""
        g, weight = self.primal_inputs
        return _total(_bilinear_terms(
            lambda a, w: backend.conv2d_backward_input(a, w, self.geometry, self.input_shape, groups=self.groups), g, weight, dg, dweight))


class Conv2dWeightGradient(Function):
    """r = R(x, g), Conv2d's weight gradient (the correlation of x with g):
    dx = T(g, v) (Conv2d's input gradient of g with the incoming gradient v as the weight),  dg = conv(x, v)
    """

    saved_names = ("input", "grad_output")

    def __init__(self, geometry, weight_shape, groups=1):
        self.geometry, self.weight_shape, self.groups = geometry, tuple(weight_shape), groups

    def forward(self, x, g):
        self.save_for_backward(x, g)
        return backend.conv2d_backward_weight(x, g, self.geometry, self.weight_shape, groups=self.groups)

    def backward(self, v):
        x, g = self.saved
        dx = backend.conv2d_backward_input(g, v, self.geometry, x.shape, groups=self.groups) if self.needs_input_grad[0] else None
        dg = backend.conv2d_forward(x, v, None, self.geometry, g.shape[2:], groups=self.groups) if self.needs_input_grad[1] else None
        return dx, dg

    def differentiable_backward(self, v):
        x, g = self.inputs
        dx = dg = None
        if self.needs_input_grad[0]:
            dx = Conv2dInputGradient.apply(g, v, geometry=self.geometry, input_shape=x.shape, groups=self.groups)
        if self.needs_input_grad[1]:
            dg = Conv2d.apply(x, v, geometry=self.geometry, output_size=tuple(g.shape[2:]), groups=self.groups)
        return dx, dg

    def jvp(self, dx, dg):
        """dr = R(dx, g) + R(x, dg)  (bilinear: the same kernel on each tangent)"""
        x, g = self.primal_inputs
        return _total(_bilinear_terms(
            lambda a, b: backend.conv2d_backward_weight(a, b, self.geometry, self.weight_shape, groups=self.groups), x, g, dx, dg))


def _bilinear_terms(product, a, b, da, db):
    """The terms of the tangent of a bilinear product(a, b): product(da, b) and product(a, db), each
    only where that tangent is not zero (None)."""
    terms = []
    if da is not None:
        terms.append(product(da, b))
    if db is not None:
        terms.append(product(a, db))
    return terms


def _total(terms):
    """The sum of a jvp's terms (None when every tangent was zero); never adds into a tangent in place."""
    if not terms:
        return None
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total
