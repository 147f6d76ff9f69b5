"""2-D convolution and pooling (NCHW): the output arrays, then the kernels that fill them."""
import numpy as np

from .conv_groups import backward_input_by_groups, backward_weight_by_groups, forward_by_groups, is_depthwise
from .routing import kernels, on_either_device

# ``groups`` (a keyword, 1 unless given): depthwise convolutions (groups = in_channels) take the kernels of
# kernels/cpu/conv_depthwise.py; other groupings run the groups=1 kernels on each group's channels.


@on_either_device
def conv2d_forward(x, weight, bias, geometry, output_size, groups=1):
    """Allocates (N, O, OH, OW); ``geometry`` = (stride_h, stride_w, pad_top, pad_left, dilation_h, dilation_w)."""
    out = np.empty((x.shape[0], weight.shape[0]) + output_size, dtype=x.dtype)
    if x.shape[0] == 0:
        return out  # an empty batch (the kernels split the batch into tasks; there are none)
    if groups != 1 and not is_depthwise(x.shape[1], groups):
        return forward_by_groups(conv2d_forward, x, weight, bias, geometry, output_size, groups, out)
    if bias is None:
        bias = np.zeros(weight.shape[0], dtype=x.dtype)  # the kernel always adds one: O values are free
    if groups == 1:
        kernels("conv2d").conv2d_forward(x, weight, bias, *geometry, out)
    else:
        kernels("conv_depthwise").depthwise_forward(
            np.ascontiguousarray(x), np.ascontiguousarray(weight), np.ascontiguousarray(bias), *geometry, out)
    return out


@on_either_device
def conv2d_backward_input(grad_out, weight, geometry, input_shape, groups=1, bias=None):
    """``bias`` (C values, a transposed convolution's) is added at every position; the groups=1
    kernels add it in their own pass over grad_x."""
    grad_x = np.empty(input_shape, dtype=grad_out.dtype)
    if grad_out.shape[0] == 0:
        return grad_x
    if groups == 1:
        kernels("conv2d").conv2d_backward_input(grad_out, weight, *geometry, grad_x, bias=bias)
        return grad_x
    if is_depthwise(input_shape[1], groups):
        kernels("conv_depthwise").depthwise_backward_input(
            np.ascontiguousarray(grad_out), np.ascontiguousarray(weight), *geometry, grad_x)
    else:
        backward_input_by_groups(conv2d_backward_input, grad_out, weight, geometry, groups, grad_x)
    if bias is not None:
        grad_x += bias.reshape(1, -1, 1, 1)
    return grad_x


@on_either_device
def conv2d_backward_weight(x, grad_out, geometry, weight_shape, groups=1):
    if x.shape[0] == 0:
        return np.zeros(weight_shape, dtype=grad_out.dtype)  # a sum over no images
    grad_weight = np.empty(weight_shape, dtype=grad_out.dtype)
    if groups == 1:
        kernels("conv2d").conv2d_backward_weight(x, grad_out, *geometry, grad_weight)
    elif is_depthwise(x.shape[1], groups):
        kernels("conv_depthwise").depthwise_backward_weight(
            np.ascontiguousarray(x), np.ascontiguousarray(grad_out), *geometry, grad_weight)
    else:
        backward_weight_by_groups(conv2d_backward_weight, x, grad_out, geometry, groups, grad_weight)
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
