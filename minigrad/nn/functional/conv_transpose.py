"""Transposed 2-D convolution on NCHW tensors, with PyTorch's arguments and output size."""
from ... import ops
from .. import geometry
from .arguments import check_tensors


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The transposed convolution of NCHW (or unbatched CHW) ``x`` with ``weight`` (in_channels,
    out_channels / groups, kh, kw), as PyTorch: the input gradient of the convolution with the same
    stride, padding and dilation, output size (H - 1) * stride - 2 * padding + dilation * (kh - 1)
    + output_padding + 1; output_padding adds rows and columns at the bottom and right.
    """
    name = "conv_transpose2d"
    check_tensors(name, ("input", x), ("weight", weight), ("bias", bias))
    if x.ndim == 3:  # unbatched (C, H, W), as PyTorch: a batch of one
        return conv_transpose2d(x.unsqueeze(0), weight, bias, stride, padding, output_padding, groups,
                                dilation).squeeze(0)
    if x.ndim != 4:
        raise ValueError(f"{name}: expected a 3-D (unbatched) or 4-D input (batch, channels, height, width), "
                         f"got shape {x.shape}")
    geometry.check_4d(name, weight, "weight", "(in_channels, out_channels / groups, kernel_height, kernel_width)")
    labelled = [("input", x), ("weight", weight)] + ([("bias", bias)] if bias is not None else [])
    if len({t.dtype for _, t in labelled}) > 1 or x.dtype.kind != "f":
        described = ", ".join(f"{label} {t.dtype}" for label, t in labelled)
        raise TypeError(f"{name}: input, weight and bias must share one float dtype, got {described}")
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
    if weight.shape[0] % groups:
        raise ValueError(f"{name}: groups={groups} must divide the weight's first dimension (in_channels), "
                         f"got weight of shape {weight.shape}")
    if weight.shape[0] != x.shape[1]:
        raise ValueError(f"{name}: weight {weight.shape} expects {weight.shape[0]} input channels, "
                         f"input {x.shape} has {x.shape[1]}")
    out_channels = weight.shape[1] * groups
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"{name}: bias of shape {bias.shape} does not match {out_channels} output channels")
    # PyTorch skips the output_padding check for an empty batch, and lets its output size be 0
    geometry_tuple, output_size = transposed_geometry(name, x.shape[2:], weight.shape[2:], stride, padding,
                                                      output_padding, dilation, x.shape[0] > 0)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    output_shape = (x.shape[0], out_channels) + output_size
    return ops.ConvTranspose2d.apply(*inputs, geometry=geometry_tuple, output_shape=output_shape, groups=groups)


def transposed_geometry(name, input_size, kernel_size, stride, padding, output_padding, dilation,
                        check_output_padding=True):
    """((stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w), (out_h, out_w)) of a transposed
    convolution, after checking each argument as PyTorch does."""
    if isinstance(padding, str):
        raise TypeError(f"{name}: padding must be an int or a pair of ints, got {padding!r} "
                        "(a transposed convolution has no 'same' or 'valid')")
    stride = geometry.pair_of(name, "stride", stride, 1)
    padding = geometry.pair_of(name, "padding", padding, 0)
    output_padding = geometry.pair_of(name, "output_padding", output_padding, 0)
    dilation = geometry.pair_of(name, "dilation", dilation, 1)
    for axis in range(2):
        if check_output_padding and output_padding[axis] >= max(stride[axis], dilation[axis]):
            raise ValueError(f"{name}: output_padding {output_padding} must be smaller than either stride {stride} "
                             f"or dilation {dilation}")
    output_size = tuple(
        (input_size[axis] - 1) * stride[axis] - 2 * padding[axis] + dilation[axis] * (kernel_size[axis] - 1)
        + output_padding[axis] + 1
        for axis in range(2))
    if min(output_size) < (1 if check_output_padding else 0):
        raise ValueError(f"{name}: output size {output_size} is too small for input size {tuple(input_size)}, "
                         f"kernel {tuple(kernel_size)}, stride {stride}, padding {padding}, dilation {dilation}")
    return stride + padding + dilation, output_size
