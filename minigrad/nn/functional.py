"""Functions on tensors, PyTorch's ``torch.nn.functional`` names. Each checks its arguments, then
applies an op from minigrad/ops.py."""
import numpy as np

from .. import ops
from ..tensor import Tensor
from . import geometry


def relu(x):
    return x.relu()


def sigmoid(x):
    return x.sigmoid()


def tanh(x):
    return x.tanh()


def softmax(x, dim=-1):
    return x.softmax(dim)


def log_softmax(x, dim=-1):
    return x.log_softmax(dim)


def cross_entropy(logits, target, reduction="mean", label_smoothing=0.0, ignore_index=-100):
    """Softmax cross-entropy of (N, C) logits against N integer class indices, in one fused kernel.

    ``reduction`` is "mean" (over non-ignored targets), "sum" or "none"; ``label_smoothing`` mixes
    the one-hot target with the uniform distribution, as PyTorch does; rows whose target equals
    ``ignore_index`` contribute nothing.
    """
    name = "cross_entropy"
    if not isinstance(logits, Tensor):
        raise TypeError(f"{name}: logits must be a Tensor, got {type(logits).__name__}")
    if logits.dtype.kind != "f":
        raise TypeError(f"{name}: logits must be float32 or float64, got {logits.dtype}")
    if logits.ndim != 2:
        raise ValueError(f"{name}: logits must have shape (batch, classes), got {logits.shape}")
    targets = target.data if isinstance(target, Tensor) else np.asarray(target)
    if targets.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: targets must be integer class indices (int64), got {targets.dtype}; "
            "probability targets are not supported"
        )
    if targets.shape != logits.shape[:1]:
        raise ValueError(f"{name}: targets of shape {targets.shape} do not match logits of shape {logits.shape}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    classes = logits.shape[1]
    targets = targets.astype(np.int64, copy=False)
    # min and max first: two cheap reductions; the elementwise mask only when something is outside.
    if targets.size and (targets.min() < 0 or targets.max() >= classes):
        _check_targets(name, targets, classes, ignore_index)
    return ops.SoftmaxCrossEntropy.apply(
        logits, targets=np.ascontiguousarray(targets), reduction=reduction,
        label_smoothing=float(label_smoothing), ignore_index=int(ignore_index),
    )


def _check_targets(name, targets, classes, ignore_index):
    """Raise for the first target that is neither a class index nor ``ignore_index``."""
    out_of_range = (targets != ignore_index) & ((targets < 0) | (targets >= classes))
    if out_of_range.any():
        index = int(np.argmax(out_of_range))
        raise IndexError(
            f"{name}: target {targets[index]} at index {index} is out of range for {classes} classes "
            f"(valid: 0 to {classes - 1}, or ignore_index={ignore_index})"
        )


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """2-D cross-correlation of NCHW ``x`` with ``weight`` (out_channels, in_channels, kh, kw), as PyTorch.

    ``padding`` is an int, a pair, "same" (output size = input size; stride 1) or "valid" (none).
    """
    name = "conv2d"
    for label, tensor in (("input", x), ("weight", weight), ("bias", bias)):
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"{name}: {label} must be a Tensor, got {type(tensor).__name__}")
    geometry.check_4d(name, x)
    geometry.check_4d(name, weight, "weight", "(out_channels, in_channels, kernel_height, kernel_width)")
    dtypes = {x.dtype, weight.dtype} | ({bias.dtype} if bias is not None else set())
    if len(dtypes) > 1 or x.dtype.kind != "f":
        described = ", ".join(f"{label} {t.dtype}" for label, t in (("input", x), ("weight", weight), ("bias", bias)) if t is not None)
        raise TypeError(f"{name}: input, weight and bias must share one float dtype, got {described}")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"{name}: weight {weight.shape} expects {weight.shape[1]} input channels, input {x.shape} has {x.shape[1]}"
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
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ops.Conv2d.apply(*inputs, **options)


def _pool_geometry(name, x, kernel_size, stride, padding):
    """((kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w), (out_h, out_w)) after checking each argument."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(x).__name__}")
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
