"""Convolution and pooling on NCHW tensors, with PyTorch's geometry arguments."""
from ... import ops
from .. import geometry
from .arguments import check_tensors


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of NCHW ``x`` with ``weight`` (out_channels, in_channels / groups, kh, kw), as PyTorch.

    ``padding`` is an int, a pair, "same" (output size = input size; stride 1) or "valid" (none).
    ``groups`` splits the channels: output group k sees input group k only (``groups`` = in_channels
    is the depthwise convolution, with out_channels / in_channels filters per channel).
    """
    name = "conv2d"
    check_tensors(name, ("input", x), ("weight", weight), ("bias", bias))
    geometry.check_4d(name, x)
    geometry.check_4d(name, weight, "weight", "(out_channels, in_channels / groups, kernel_height, kernel_width)")
    dtypes = {x.dtype, weight.dtype} | ({bias.dtype} if bias is not None else set())
    if len(dtypes) > 1 or x.dtype.kind != "f":
        described = ", ".join(f"{label} {t.dtype}" for label, t in (("input", x), ("weight", weight), ("bias", bias)) if t is not None)
        raise TypeError(f"{name}: input, weight and bias must share one float dtype, got {described}")
    check_groups(name, groups)
    if weight.shape[0] % groups:
        raise ValueError(f"{name}: given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                         f"but got weight of size {weight.shape}")
    if weight.shape[1] * groups != x.shape[1]:
        grouped = f"given groups={groups}, " if groups != 1 else ""
        raise ValueError(
            f"{name}: {grouped}weight {weight.shape} expects {weight.shape[1] * groups} input channels, "
            f"input {x.shape} has {x.shape[1]}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"{name}: bias of shape {bias.shape} does not match {weight.shape[0]} output channels")
    stride = geometry.pair_of(name, "stride", stride, 1)
    dilation = geometry.pair_of(name, "dilation", dilation, 1)
    kernel_size = weight.shape[2:]
    top, bottom, left, right = geometry.conv_padding(name, padding, kernel_size, dilation, stride)
    output_size = (
        geometry.output_length(name, x.shape[2], top, bottom, kernel_size[0], dilation[0], stride[0], "height"),
        geometry.output_length(name, x.shape[3], left, right, kernel_size[1], dilation[1], stride[1], "width"),
    )
    options = {"geometry": (stride[0], stride[1], top, left, dilation[0], dilation[1]), "output_size": output_size}
    if groups != 1:
        options["groups"] = groups
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ops.Conv2d.apply(*inputs, **options)


def check_groups(name, groups):
    """``groups`` must be a positive int (PyTorch: "non-positive groups is not supported")."""
    if not isinstance(groups, int) or isinstance(groups, bool):
        raise TypeError(f"{name}: groups must be an int, got {groups!r}")
    if groups < 1:
        raise ValueError(f"{name}: non-positive groups is not supported, got groups={groups}")


def _pool_geometry(name, x, kernel_size, stride, padding):
    """((kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w), (out_h, out_w)) after checking each argument."""
    check_tensors(name, ("input", x))
    geometry.check_4d(name, x)
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: input must be float32 or float64, got {x.dtype}")
    kernel = geometry.pair_of(name, "kernel_size", kernel_size, 1)
    stride = kernel if stride is None else geometry.pair_of(name, "stride", stride, 1)
    pad = geometry.pair_of(name, "padding", padding, 0)
    if pad[0] > kernel[0] // 2 or pad[1] > kernel[1] // 2:
        raise ValueError(f"{name}: padding {padding} must be at most half the kernel size {kernel_size}")
    output_size = tuple(
        geometry.output_length(name, x.shape[2 + axis], pad[axis], pad[axis], kernel[axis], 1, stride[axis], label)
        for axis, label in enumerate(("height", "width"))
    )
    return kernel + stride + pad, output_size


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Maximum over each kernel_size window of NCHW ``x`` (stride defaults to kernel_size, as PyTorch)."""
    window, output_size = _pool_geometry("max_pool2d", x, kernel_size, stride, padding)
    return ops.MaxPool2d.apply(x, geometry=window, output_size=output_size)


def avg_pool2d(x, kernel_size, stride=None, padding=0, count_include_pad=True):
    """Mean over each kernel_size window of NCHW ``x``; padding counts as zeros unless count_include_pad=False."""
    window, output_size = _pool_geometry("avg_pool2d", x, kernel_size, stride, padding)
    return ops.AvgPool2d.apply(x, geometry=window, output_size=output_size, count_include_pad=bool(count_include_pad))
