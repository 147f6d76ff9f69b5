"""Conv2d: a 2-D convolution layer with PyTorch's default initialisation."""
import math

from .. import creation
from . import functional, init
from .geometry import pair_of
from .module import Module
from .parameter import Parameter


class Conv2d(Module):
    """y = conv2d(x, weight, bias), weight (out_channels, in_channels, kh, kw).

    Initialised as PyTorch does: weight kaiming-uniform with a = sqrt(5) (so U(-1/sqrt(fan_in),
    +1/sqrt(fan_in))), bias U(-1/sqrt(fan_in), +1/sqrt(fan_in)).
    """

    tensor_input = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, bias=True,
                 dtype=None):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair_of("Conv2d", "kernel_size", kernel_size, 1)
        # pairs, as torch keeps them (and prints them): stride=(1, 1); a padding name stays a name
        self.stride = pair_of("Conv2d", "stride", stride, 1)
        self.padding = padding if isinstance(padding, str) else pair_of("Conv2d", "padding", padding, 0)
        self.dilation = pair_of("Conv2d", "dilation", dilation, 1)
        shape = (out_channels, in_channels) + self.kernel_size
        self.weight = Parameter(init.kaiming_uniform_(creation.empty(shape, dtype=dtype), a=math.sqrt(5)))
        if bias:
            bound = 1 / math.sqrt(init.fans(self.weight)[0])
            self.bias = Parameter(init.uniform_(creation.empty(out_channels, dtype=dtype), -bound, bound))
        else:
            self.bias = None

    def forward(self, x):
        return functional.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self):
        """torch's text: settings at their defaults (no padding, no dilation, a bias) are left out."""
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        return text + (", bias=False" if self.bias is None else "")
