"""Conv2d: a 2-D convolution layer with PyTorch's arguments, default initialisation and repr."""
import math

from .. import creation
from . import functional, init
from .functional.convolution import check_groups
from .geometry import conv_padding, pair_of
from .module import Module
from .parameter import Parameter

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class Conv2d(Module):
    """y = conv2d(x, weight, bias, groups=groups), weight (out_channels, in_channels / groups, kh, kw).

    Initialised as PyTorch does: weight kaiming-uniform with a = sqrt(5) (so U(-1/sqrt(fan_in),
    +1/sqrt(fan_in)), fan_in = in_channels / groups * kh * kw), bias U(-1/sqrt(fan_in), +1/sqrt(fan_in)).
    ``padding_mode`` 'reflect' or 'replicate' pads with F.pad first, then convolves without padding
    (as PyTorch does); 'circular' is not supported.
    """

    tensor_input = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", dtype=None):
        super().__init__()
        name = "Conv2d"
        check_groups(name, groups)
        for label, count in (("in_channels", in_channels), ("out_channels", out_channels)):
            if count % groups:
                raise ValueError(f"{name}: {label} must be divisible by groups, got {label}={count}, groups={groups}")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {', '.join(PADDING_MODES)}, got {padding_mode!r}")
        if padding_mode == "circular":
            raise NotImplementedError(f"{name}: padding_mode 'circular' is not supported in minigrad "
                                      "(zeros, reflect, replicate)")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair_of(name, "kernel_size", kernel_size, 1)
        # pairs, as torch keeps them (and prints them): stride=(1, 1); a padding name stays a name
        self.stride = pair_of(name, "stride", stride, 1)
        self.padding = padding if isinstance(padding, str) else pair_of(name, "padding", padding, 0)
        self.dilation = pair_of(name, "dilation", dilation, 1)
        self.padding_mode = padding_mode
        # Checks the padding (a name must be 'same' or 'valid'; 'same' needs stride 1) and, for the
        # reflect and replicate modes, gives F.pad's (left, right, top, bottom).
        top, bottom, left, right = conv_padding(name, self.padding, self.kernel_size, self.dilation, self.stride)
        self._pad_amounts = (left, right, top, bottom)
        shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(init.kaiming_uniform_(creation.empty(shape, dtype=dtype), a=math.sqrt(5)))
        if bias:
            bound = 1 / math.sqrt(init.fans(self.weight)[0])
            self.bias = Parameter(init.uniform_(creation.empty(out_channels, dtype=dtype), -bound, bound))
        else:
            self.bias = None

    def forward(self, x):
        if self.padding_mode != "zeros":
            from .functional.padding import pad  # F.pad's own file; only these modes need it

            padded = pad(x, self._pad_amounts, mode=self.padding_mode)
            return functional.conv2d(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return functional.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        """torch's text: settings at their defaults (no padding, no dilation, one group, a bias, zeros) are left out."""
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        text += ", bias=False" if self.bias is None else ""
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text
