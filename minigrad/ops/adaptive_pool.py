"""Adaptive pooling (NCHW) on kernels/cpu/adaptive_pool.py and its CUDA twin, through minigrad/backend/.

Both pools are linear in what they route, so their gradients are ops too, for
``backward(create_graph=True)``. The average pool's backward spreads each value over its bin
(AdaptiveAvgPool2dBackward), whose own backward is the adaptive average pool again. The max
pool's backward is max pooling's scatter to the recorded in-plane indices, so its gradient ops
are ops/pool.py's MaxPool2dBackward and MaxPool2dGather, which take only those indices.
"""
from .. import backend
from ..autograd import Function
from .pool import MaxPool2dBackward, gather_planes


class AdaptiveAvgPool2d(Function):
    """out[oh, ow] = mean of x over bin [floor(oh*H/OH), ceil((oh+1)*H/OH)) x (columns likewise):  dx = g / bin size spread over each bin"""

    def __init__(self, output_size):
        self.output_size = tuple(output_size)

    def forward(self, x):
        self.input_shape = x.shape
        return backend.adaptive_avg_pool2d_forward(x, self.output_size)

    def backward(self, g):
        return (backend.adaptive_avg_pool2d_backward(g, self.input_shape),)

    def differentiable_backward(self, g):
        return (AdaptiveAvgPool2dBackward.apply(g, input_shape=self.input_shape),)

    def jvp(self, dx):
        """dout = the adaptive average pool of dx  (linear: the op itself on the tangent)"""
        return backend.adaptive_avg_pool2d_forward(dx, self.output_size)


class AdaptiveAvgPool2dBackward(Function):
    """dx = g / bin size spread over each bin (the transpose of the adaptive average pool):  dg = the adaptive average pool of h"""

    def __init__(self, input_shape):
        self.input_shape = tuple(input_shape)

    def forward(self, g):
        self.output_size = tuple(g.shape[2:])
        return backend.adaptive_avg_pool2d_backward(g, self.input_shape)

    def backward(self, h):
        return (backend.adaptive_avg_pool2d_forward(h, self.output_size),)

    def differentiable_backward(self, h):
        return (AdaptiveAvgPool2d.apply(h, output_size=self.output_size),)

    def jvp(self, dg):
        """dout = dg / bin size spread over each bin  (linear: the op itself on the tangent)"""
        return backend.adaptive_avg_pool2d_backward(dg, self.input_shape)


class AdaptiveMaxPool2d(Function):
    """out[oh, ow] = max of x over adaptive bin (oh, ow):  dx = g added at the position of each bin's maximum"""

    saved_names = ("indices",)

    def __init__(self, output_size, indices_sink=None):
        # indices_sink: a list that receives the indices array (F.adaptive_max_pool2d's
        # return_indices), since apply returns the one output tensor.
        self.output_size, self.indices_sink = tuple(output_size), indices_sink

    def forward(self, x):
        out, indices = backend.adaptive_max_pool2d_forward(x, self.output_size)
        if self.indices_sink is not None:
            self.indices_sink.append(indices)
            self.indices_sink = None  # the node must not keep them past the release of its saved buffers
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
        """dout = dx gathered at each bin's maximum (the one position backward routes g to)"""
        (indices,) = self.saved
        return gather_planes(dx, indices)
