"""LayerNorm and GroupNorm with PyTorch's arguments, initialisation (weight ones, bias zeros) and repr."""
import numbers

from .. import creation
from . import init
from .functional.normalization import group_norm_checked, layer_norm_checked, normalized_shape_of
from .module import Module
from .parameter import Parameter


def _affine_parameter(shape, fill, device, dtype):
    tensor = creation.empty(shape, dtype=dtype, device="cpu" if device is None else device)
    return Parameter(init.ones_(tensor) if fill == 1 else init.zeros_(tensor))


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the trailing ``normalized_shape`` axes.

    weight (ones) and bias (zeros) of ``normalized_shape`` when ``elementwise_affine``; no bias when
    ``bias=False``. Statistics come from the input in training and evaluation alike.
    """

    tensor_input = True

    def __init__(self, normalized_shape, eps=1e-05, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = normalized_shape_of("LayerNorm", normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = _affine_parameter(self.normalized_shape, 1, device, dtype)
            self.bias = _affine_parameter(self.normalized_shape, 0, device, dtype) if bias else None
        else:
            self.weight = None
            self.bias = None

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x):
        return layer_norm_checked("LayerNorm", x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, statistics over each group of
    num_channels / num_groups channels of one sample; weight (ones) and bias (zeros) per channel."""

    tensor_input = True

    def __init__(self, num_groups, num_channels, eps=1e-05, affine=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        for label, value in (("num_groups", num_groups), ("num_channels", num_channels)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"GroupNorm: {label} must be a positive int, got {value!r}")
        if num_channels % num_groups != 0:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = _affine_parameter((self.num_channels,), 1, device, dtype)
            self.bias = _affine_parameter((self.num_channels,), 0, device, dtype) if bias else None
        else:
            self.weight = None
            self.bias = None

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x):
        return group_norm_checked("GroupNorm", x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
