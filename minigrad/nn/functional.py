"""Functions on tensors, PyTorch's ``torch.nn.functional`` names. Each checks its arguments, then
applies an op from minigrad/ops/."""
import numpy as np

from .. import backend, ops, random_state
from ..tensor import Tensor
from . import geometry
from .checks import not_a_tensor


def relu(x):
    _check_tensors("relu", ("input", x))
    return x.relu()


def sigmoid(x):
    _check_tensors("sigmoid", ("input", x))
    return x.sigmoid()


def tanh(x):
    _check_tensors("tanh", ("input", x))
    return x.tanh()


def softmax(x, dim=-1):
    _check_tensors("softmax", ("input", x))
    return x.softmax(dim)


def log_softmax(x, dim=-1):
    _check_tensors("log_softmax", ("input", x))
    return x.log_softmax(dim)


def cross_entropy(logits, target, reduction="mean", label_smoothing=0.0, ignore_index=-100):
    """Softmax cross-entropy of (N, C) logits against N integer class indices, in one fused kernel.

    ``reduction`` is "mean" (over non-ignored targets), "sum" or "none"; ``label_smoothing`` mixes
    the one-hot target with the uniform distribution, as PyTorch does; rows whose target equals
    ``ignore_index`` contribute nothing.
    """
    name = "cross_entropy"
    _check_tensors(name, ("logits", logits))
    if logits.dtype.kind != "f":
        raise TypeError(f"{name}: logits must be float32 or float64, got {logits.dtype}")
    if logits.ndim != 2:
        raise ValueError(f"{name}: logits must have shape (batch, classes), got {logits.shape}")
    targets = _on_device_of(name, "targets", logits, target.data if isinstance(target, Tensor) else np.asarray(target))
    if targets.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: targets must be integer class indices (int64), got {targets.dtype}; "
            "probability targets are not supported"
        )
    if targets.shape != logits.shape[:1]:
        raise ValueError(f"{name}: targets of shape {targets.shape} do not match logits of shape {logits.shape}")
    _check_reduction(name, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    classes = logits.shape[1]
    targets = backend.contiguous(targets.astype(np.int64, copy=False))
    # One pass counts the targets for the mean and finds bad ones (a kernel must not read outside a
    # row); only then does the slower check run, to name the first bad target.
    count, out_of_range = backend.count_targets(targets, classes, int(ignore_index))
    if out_of_range:
        _check_targets(name, targets, classes, ignore_index)
    return ops.SoftmaxCrossEntropy.apply(
        logits, targets=targets, reduction=reduction, label_smoothing=float(label_smoothing),
        ignore_index=int(ignore_index), count=count,
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
    _check_tensors(name, ("input", x), ("weight", weight), ("bias", bias))
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
    _check_tensors(name, ("input", x))
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


# --- layers ---------------------------------------------------------------------------------------

def linear(x, weight, bias=None):
    """x @ weight.T + bias, weight (out_features, in_features) as PyTorch stores it; x (..., in_features)."""
    name = "linear"
    _check_tensors(name, ("input", x), ("weight", weight), ("bias", bias))
    if weight.ndim != 2:
        raise ValueError(f"{name}: weight must be 2-D (out_features, in_features), got shape {weight.shape}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"{name}: input of shape {x.shape} does not end in the weight's {weight.shape[1]} input features "
            f"(weight {weight.shape})"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"{name}: bias of shape {bias.shape} does not match {weight.shape[0]} output features")
    _check_one_float_dtype(name, ("input", x), ("weight", weight), ("bias", bias))
    return ops.Linear.apply(x, weight) if bias is None else ops.Linear.apply(x, weight, bias)


def dropout(x, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout); identity
    when not training or p == 0. The mask is drawn from minigrad's generator (``mg.manual_seed``)."""
    _check_tensors("dropout", ("input", x))
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0  # every element dropped; 1/(1-p) would divide by zero
    return ops.Dropout.apply(x, probability=float(p), generator=random_state.generator())


# --- losses ---------------------------------------------------------------------------------------

def nll_loss(log_probabilities, target, reduction="mean", ignore_index=-100):
    """-log_probabilities[n, target[n]], reduced over n (mean over non-ignored targets), as PyTorch."""
    name = "nll_loss"
    _check_tensors(name, ("input", log_probabilities))
    if log_probabilities.ndim != 2:
        raise ValueError(f"{name}: input must have shape (batch, classes), got {log_probabilities.shape}")
    _check_reduction(name, reduction)
    targets = _class_targets(name, target, log_probabilities)
    _check_targets(name, targets, log_probabilities.shape[1], ignore_index)
    return ops.NllLoss.apply(log_probabilities, targets=targets, reduction=reduction, ignore_index=int(ignore_index))


def mse_loss(x, target, reduction="mean"):
    """(x - target)**2, reduced by mean (default), sum or none. Shapes must match: broadcasting a
    (N, 1) prediction against (N,) targets is almost always a bug, so it is refused."""
    name = "mse_loss"
    _check_reduction(name, reduction)
    target = _same_shape_target(name, x, target)
    difference = x - target
    return ops.reduce_losses(difference * difference, reduction)


def binary_cross_entropy_with_logits(logits, target, weight=None, reduction="mean", pos_weight=None):
    """Sigmoid and binary cross-entropy in one stable op: mean of -w [p y log s(x) + (1 - y) log(1 - s(x))]."""
    name = "binary_cross_entropy_with_logits"
    _check_reduction(name, reduction)
    targets = _same_shape_target(name, logits, target).data
    weight = None if weight is None else _constant_array(name, "weight", weight, logits)
    pos_weight = None if pos_weight is None else _constant_array(name, "pos_weight", pos_weight, logits)
    return ops.BinaryCrossEntropyWithLogits.apply(
        logits, targets=targets, weight=weight, positive_weight=pos_weight, reduction=reduction
    )


def l2_loss(x):
    """sum(x**2) / 2, as tf.nn.l2_loss (the usual weight-decay term)."""
    _check_tensors("l2_loss", ("input", x))
    return (x * x).sum() * 0.5


# --- argument checks shared by the functions above ------------------------------------------------

def _check_tensors(name, *labelled):
    for label, tensor in labelled:
        if tensor is not None and not isinstance(tensor, Tensor):
            raise not_a_tensor(name, label, tensor)


def _check_one_float_dtype(name, *labelled):
    present = [(label, tensor) for label, tensor in labelled if tensor is not None]
    if len({tensor.dtype for _, tensor in present}) > 1 or present[0][1].dtype.kind != "f":
        described = ", ".join(f"{label} {tensor.dtype}" for label, tensor in present)
        raise TypeError(f"{name}: {' and '.join(label for label, _ in present)} must share one float dtype, got {described}")


def _check_reduction(name, reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _on_device_of(name, label, x, array):
    """``array`` after checking it lives where the tensor ``x`` does: an op never mixes devices."""
    device = backend.device_of(array)
    if device != x.device:
        raise RuntimeError(f"{name}: expected all tensors on one device, got {x.device} (input) and {device} "
                           f"({label}); move the {label} with .to('{x.device}')")
    return array


def _class_targets(name, target, x):
    input_shape = x.shape
    targets = _on_device_of(name, "targets", x, target.data if isinstance(target, Tensor) else np.asarray(target))
    if targets.dtype.kind not in "iu":
        raise TypeError(f"{name}: targets must be integer class indices (int64), got {targets.dtype}")
    if targets.shape != input_shape[:1]:
        raise ValueError(f"{name}: targets of shape {targets.shape} do not match input of shape {input_shape}")
    return targets.astype(np.int64, copy=False)


def _same_shape_target(name, x, target):
    """The target as a constant tensor of x's dtype, after checking it has exactly x's shape."""
    _check_tensors(name, ("input", x))
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: input must be float32 or float64, got {x.dtype}")
    array = _on_device_of(name, "target", x, target.data if isinstance(target, Tensor) else np.asarray(target))
    if array.shape != x.shape:
        raise ValueError(
            f"{name}: target of shape {array.shape} must have the input's shape {x.shape} "
            "(reshape one of them; broadcasting here is almost always a bug)"
        )
    if isinstance(target, Tensor) and target.dtype == x.dtype:
        return target
    return Tensor._wrap(array.astype(x.dtype), x.device)


def _constant_array(name, label, value, x):
    array = value.data if isinstance(value, Tensor) else np.asarray(value)
    if array.ndim:
        _on_device_of(name, label, x, array)
    try:
        np.broadcast_shapes(array.shape, x.shape)
    except ValueError:
        raise ValueError(f"{name}: {label} of shape {array.shape} cannot broadcast to the input's {x.shape}") from None
    return array.astype(x.dtype, copy=False)
