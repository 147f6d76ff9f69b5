"""2-D convolution and pooling (NCHW): the output arrays, then the kernels that fill them."""
import numpy as np

from .routing import kernels, on_either_device


@on_either_device
def conv2d_forward(x, weight, bias, geometry, output_size):
    """Allocates (N, O, OH, OW); ``geometry`` = (stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w)."""
    out = np.empty((x.shape[0], weight.shape[0]) + output_size, dtype=x.dtype)
    if bias is None:
        bias = np.zeros(weight.shape[0], dtype=x.dtype)  # the kernel always adds one: O values are free
    if x.shape[0] == 0:
        return out  # an empty batch (the kernels split the batch into tasks; there are none)
    kernels("conv2d").conv2d_forward(x, weight, bias, *geometry, out)
    return out


@on_either_device
def conv2d_backward_input(grad_out, weight, geometry, input_shape):
    grad_x = np.empty(input_shape, dtype=grad_out.dtype)
    if grad_out.shape[0] == 0:
        return grad_x
    kernels("conv2d").conv2d_backward_input(grad_out, weight, *geometry, grad_x)
    return grad_x


@on_either_device
def conv2d_backward_weight(x, grad_out, geometry, weight_shape):
    if x.shape[0] == 0:
        return np.zeros(weight_shape, dtype=grad_out.dtype)  # a sum over no images
    grad_weight = np.empty(weight_shape, dtype=grad_out.dtype)
    kernels("conv2d").conv2d_backward_weight(x, grad_out, *geometry, grad_weight)
    return grad_weight


@on_either_device
def conv2d_backward_bias(grad_out):
    """The sum of grad_out over images and positions, one value per output channel."""
    if grad_out.size == 0:
        return np.zeros(grad_out.shape[1], dtype=grad_out.dtype)
    grad_planes = np.ascontiguousarray(grad_out).reshape(grad_out.shape[0], grad_out.shape[1], -1)
    grad_bias = np.empty(grad_out.shape[1], dtype=grad_out.dtype)
    kernels("conv2d").conv2d_backward_bias(grad_planes, grad_bias)
    return grad_bias


@on_either_device
def max_pool2d_forward(x, geometry, output_size):
    """The pooled values and, for backward, the flat in-plane index each one came from.

    ``geometry`` = (kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w).
    """
    shape = x.shape[:2] + output_size
    out = np.empty(shape, dtype=x.dtype)
    indices = np.empty(shape, dtype=np.int64)
    kernels("pool").max_pool2d_forward(x, *geometry, out, indices)
    return out, indices


@on_either_device
def max_pool2d_backward(grad_out, indices, input_shape):
    grad_x = np.empty(input_shape, dtype=grad_out.dtype)
    kernels("pool").max_pool2d_backward(grad_out, indices, grad_x)
    return grad_x


@on_either_device
def avg_pool2d_forward(x, geometry, output_size, count_include_pad):
    out = np.empty(x.shape[:2] + output_size, dtype=x.dtype)
    kernels("pool").avg_pool2d_forward(x, *geometry, count_include_pad, out)
    return out


@on_either_device
def avg_pool2d_backward(grad_out, geometry, input_shape, count_include_pad):
    grad_x = np.empty(input_shape, dtype=grad_out.dtype)
    kernels("pool").avg_pool2d_backward(grad_out, *geometry, count_include_pad, grad_x)
    return grad_x
