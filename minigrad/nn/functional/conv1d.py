"""1-D convolution on (batch, channels, length) tensors, run on the 2-D kernels as height-1 images."""
from .. import geometry
from .arguments import check_tensors
from .convolution import conv2d


def single(name, what, value, minimum):
    """An int or a 1-tuple/list of one int, at least ``minimum``, as PyTorch's _single."""
    item = value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value
    if not isinstance(item, int) or isinstance(item, bool):
        raise TypeError(f"{name}: {what} must be an int or a tuple of one int, got {value!r}")
    if item < minimum:
        raise ValueError(f"{name}: {what} must be at least {minimum}, got {value!r}")
    return item


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation of (N, C, L) (or unbatched (C, L)) ``x`` with ``weight`` (out_channels,
    in_channels / groups, k), as PyTorch; ``padding`` an int, "same" (stride 1) or "valid".

    Runs as conv2d on (N, C, 1, L) with a (out_channels, in_channels / groups, 1, k) weight.
    """
    name = "conv1d"
    check_tensors(name, ("input", x), ("weight", weight), ("bias", bias))
    if x.ndim == 2:  # unbatched (C, L), as PyTorch: a batch of one
        return conv1d(x.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    if x.ndim != 3:
        raise ValueError(f"{name}: expected a 2-D (unbatched) or 3-D input (batch, channels, length), "
                         f"got shape {x.shape}")
    if weight.ndim != 3:
        raise ValueError(f"{name}: expected a 3-D weight (out_channels, in_channels / groups, kernel_size), "
                         f"got shape {weight.shape}")
    labelled = [("input", x), ("weight", weight)] + ([("bias", bias)] if bias is not None else [])
    if len({t.dtype for _, t in labelled}) > 1 or x.dtype.kind != "f":
        described = ", ".join(f"{label} {t.dtype}" for label, t in labelled)
        raise TypeError(f"{name}: input, weight and bias must share one float dtype, got {described}")
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
    if weight.shape[0] % groups:
        raise ValueError(f"{name}: groups={groups} must divide the weight's out_channels, got weight {weight.shape}")
    if weight.shape[1] * groups != x.shape[1]:
        raise ValueError(f"{name}: weight {weight.shape} with groups={groups} expects {weight.shape[1] * groups} "
                         f"input channels, input {x.shape} has {x.shape[1]}")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"{name}: bias of shape {bias.shape} does not match {weight.shape[0]} output channels")
    stride = single(name, "stride", stride, 1)
    dilation = single(name, "dilation", dilation, 1)
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"{name}: padding must be an int, 'same' or 'valid', got {padding!r}")
        if padding == "same" and stride != 1:
            raise ValueError(f"{name}: padding='same' needs stride 1, got stride {stride}")
        before, after = geometry.conv_padding(name, padding, (1, weight.shape[2]), (1, dilation), (1, stride))[2:]
        pair = padding
    else:
        before = after = single(name, "padding", padding, 0)
        pair = (0, before)
    geometry.output_length(name, x.shape[2], before, after, weight.shape[2], dilation, stride, "length")
    grouped = {} if groups == 1 else {"groups": groups}
    return conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, stride), pair, (1, dilation), **grouped).squeeze(2)
