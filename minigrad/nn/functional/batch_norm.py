"""F.batch_norm, with PyTorch's arguments, defaults and refusals; nn.BatchNorm1d/2d call it with their name."""
import math

from ... import autograd, ops
from .arguments import check_tensors


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,  # noqa: A002
               eps=1e-05):
    """Normalize each channel (axis 1) of ``input`` (N, C, *): with the batch's statistics when ``training``
    (then ``running_mean`` and ``running_var``, if given, are updated in place:
    running = (1 - momentum) * running + momentum * batch statistic, the variance unbiased), else with
    the running statistics; then scale by ``weight`` and shift by ``bias`` (per channel, optional)."""
    return normalize("batch_norm", input, running_mean, running_var, weight, bias, training, momentum, eps)


def normalize(name, x, running_mean, running_var, weight, bias, training, momentum, eps):
    """batch_norm with ``name`` (the function's or the layer's) in every refusal."""
    check_tensors(name, ("input", x), ("running_mean", running_mean), ("running_var", running_var),
                  ("weight", weight), ("bias", bias))
    if x.ndim < 2:
        raise ValueError(f"{name}: expected an input of shape (N, C, *) with at least 2 dimensions, "
                         f"got {x.ndim}D input of shape {tuple(x.shape)}")
    if training:
        if x.shape[0] * math.prod(x.shape[2:]) == 1:  # PyTorch's count: a channel of 0 values passes
            raise ValueError(f"{name}: Expected more than 1 value per channel when training, got input size "
                             f"{tuple(x.shape)}")
        if eps <= 0.0:
            raise ValueError(f"{name}: batch_norm eps must be positive during training, but got {eps}")
    elif eps < 0.0:
        raise ValueError(f"{name}: batch_norm eps must be non-negative, but got {eps}")
    if (running_mean is None) != (running_var is None):
        raise RuntimeError(f"{name}: running_mean and running_var must be given together, got only "
                           f"{'running_mean' if running_var is None else 'running_var'}")
    if not training and running_mean is None:
        raise RuntimeError(f"{name}: running_mean must be defined in evaluation mode")
    channels = x.shape[1]
    for label, tensor in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                          ("bias", bias)):  # PyTorch's order of checks
        if tensor is not None and tensor.numel() != channels:
            raise RuntimeError(f"{name}: {label} should contain {channels} elements not {tensor.numel()}")
    present = [(label, tensor) for label, tensor in (("input", x), ("weight", weight), ("bias", bias),
               ("running_mean", running_mean), ("running_var", running_var)) if tensor is not None]
    if x.dtype.kind != "f" or len({tensor.dtype for _, tensor in present}) > 1:
        described = ", ".join(f"{label} {tensor.dtype}" for label, tensor in present)
        raise TypeError(f"{name}: input, weight, bias and the running statistics must share one float dtype, "
                        f"got {described}")
    for label, tensor in present[1:]:
        if tensor.device != x.device:
            raise RuntimeError(f"{name}: expected all tensors on one device, got input on {x.device} and "
                               f"{label} on {tensor.device}")
    parameters = [tensor.reshape(channels) for tensor in (weight, bias) if tensor is not None]
    options = {"training": bool(training), "eps": float(eps), "has_weight": weight is not None,
               "has_bias": bias is not None}
    if training:
        options["momentum"] = 0.0 if momentum is None else float(momentum)
    if running_mean is not None:
        options["running_mean"] = running_mean.data.reshape(channels)
        options["running_var"] = running_var.data.reshape(channels)
    out = ops.BatchNorm.apply(x, *parameters, **options)
    if training and running_mean is not None:
        with autograd.no_grad():  # updated in place by the kernel: tell saved copies of them so
            running_mean._version_counter.value += 1
            running_var._version_counter.value += 1
    return out
