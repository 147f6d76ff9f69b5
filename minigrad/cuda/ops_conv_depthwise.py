"""Grouped 2-D convolution on the GPU: depthwise convolutions (groups = in_channels) on the kernels of
minigrad.kernels.cuda.conv_depthwise, other groupings as one groups=1 convolution per group.

minigrad/cuda/ops.py's conv2d_* functions send every call with groups != 1 here, handing over their own
groups=1 function (``single``) and the output they allocated.
"""
from .array import CudaArray
from .runtime import kernels


def _contiguous(array):
    """A Numba view of ``array``, copied first if it has gaps or another order (the kernels need row-major)."""
    return (array if array.is_contiguous else array.copy()).numba_array()


def _groups():
    # Imported on first use: minigrad.backend imports minigrad.cuda.ops, which imports this module.
    from ..backend import conv_groups
    return conv_groups


def conv2d_forward_grouped(single, x, weight, bias, geometry, output_size, groups, out):
    conv_groups = _groups()
    if not conv_groups.is_depthwise(x.shape[1], groups):
        return conv_groups.forward_by_groups(single, x, weight, bias, geometry, output_size, groups, out)
    if bias is None:
        bias = CudaArray.full((weight.shape[0],), 0, x.dtype)
    kernels("conv_depthwise").depthwise_forward(_contiguous(x), _contiguous(weight), _contiguous(bias), *geometry,
                                                out.numba_array())
    return out


def conv2d_backward_input_grouped(single, grad_out, weight, geometry, groups, grad_x):
    conv_groups = _groups()
    if not conv_groups.is_depthwise(grad_x.shape[1], groups):
        return conv_groups.backward_input_by_groups(single, grad_out, weight, geometry, groups, grad_x)
    kernels("conv_depthwise").depthwise_backward_input(_contiguous(grad_out), _contiguous(weight), *geometry,
                                                       grad_x.numba_array())
    return grad_x


def conv2d_backward_weight_grouped(single, x, grad_out, geometry, groups, grad_weight):
    conv_groups = _groups()
    if not conv_groups.is_depthwise(x.shape[1], groups):
        return conv_groups.backward_weight_by_groups(single, x, grad_out, geometry, groups, grad_weight)
    kernels("conv_depthwise").depthwise_backward_weight(_contiguous(x), _contiguous(grad_out), *geometry,
                                                        grad_weight.numba_array())
    return grad_weight
