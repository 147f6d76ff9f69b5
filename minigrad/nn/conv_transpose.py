"""ConvTranspose2d: the transposed 2-D convolution layer (a decoder's upsampling), PyTorch's arguments,
initialisation and repr."""
import math

from .. import creation
from . import functional, init
from .geometry import pair_of
from .module import Module
from .parameter import Parameter


def positive_channels(name, in_channels, out_channels, groups):
    """Checks channel counts and groups as PyTorch's _ConvNd does, with the layer's name."""
    for label, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{name}: {label} must be a positive int, got {value!r}")
    if in_channels % groups:
        raise ValueError(f"{name}: in_channels must be divisible by groups, got in_channels={in_channels}, "
                         f"groups={groups}")
    if out_channels % groups:
        raise ValueError(f"{name}: out_channels must be divisible by groups, got out_channels={out_channels}, "
                         f"groups={groups}")


def initialised_parameters(module, weight_shape, bias, dtype, device):
    """weight and bias initialised as PyTorch's _ConvNd.reset_parameters: weight kaiming-uniform with
    a = sqrt(5), bias U(-1/sqrt(fan_in), +1/sqrt(fan_in)), fan_in = weight.shape[1] * kernel taps."""
    module.weight = Parameter(init.kaiming_uniform_(creation.empty(weight_shape, dtype=dtype), a=math.sqrt(5)))
    if bias:
        bound = 1 / math.sqrt(init.fans(module.weight)[0])
        module.bias = Parameter(init.uniform_(creation.empty(module.out_channels, dtype=dtype), -bound, bound))
    else:
        module.bias = None
    if device is not None:
        module.to(device)


class ConvTranspose2d(Module):
    """y = conv_transpose2d(x, weight, bias), weight (in_channels, out_channels / groups, kh, kw).

    ``forward(x, output_size=None)``: as PyTorch, ``output_size`` ((h, w), or with the batch and
    channel sizes in front) picks the output_padding that gives that size.
    """

    tensor_input = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        name = "ConvTranspose2d"
        positive_channels(name, in_channels, out_channels, groups)
        if padding_mode != "zeros":
            raise ValueError(f'{name}: only "zeros" padding mode is supported, got padding_mode={padding_mode!r}')
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair_of(name, "kernel_size", kernel_size, 1)
        self.stride = pair_of(name, "stride", stride, 1)
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int or a pair of ints, got {padding!r} "
                             "(a transposed convolution has no 'same' or 'valid')")
        self.padding = pair_of(name, "padding", padding, 0)
        self.output_padding = pair_of(name, "output_padding", output_padding, 0)
        self.dilation = pair_of(name, "dilation", dilation, 1)
        self.padding_mode = padding_mode
        initialised_parameters(self, (in_channels, out_channels // groups) + self.kernel_size, bias, dtype, device)

    def forward(self, x, output_size=None):
        output_padding = self.output_padding if output_size is None else self._output_padding(x, output_size)
        return functional.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding, output_padding,
                                           self.groups, self.dilation)

    def _output_padding(self, x, output_size):
        """The output_padding that makes the output ``output_size``, which must lie in the sizes stride allows."""
        spatial = tuple(output_size)[-2:] if len(output_size) == x.ndim else tuple(output_size)
        if len(spatial) != 2 or len(output_size) not in (2, x.ndim):
            raise ValueError(f"ConvTranspose2d: for {x.ndim}D input, output_size must have 2 or {x.ndim} elements "
                             f"(got {len(output_size)})")
        smallest = [(x.shape[axis - 2] - 1) * self.stride[axis] - 2 * self.padding[axis]
                    + self.dilation[axis] * (self.kernel_size[axis] - 1) + 1 for axis in range(2)]
        largest = [size + self.stride[axis] - 1 for axis, size in enumerate(smallest)]
        if any(not low <= size <= high for size, low, high in zip(spatial, smallest, largest)):
            raise ValueError(f"ConvTranspose2d: requested an output size of {list(output_size)}, but valid sizes "
                             f"range from {smallest} to {largest} (for an input of {tuple(x.shape[-2:])})")
        return tuple(size - low for size, low in zip(spatial, smallest))

    def extra_repr(self):
        """torch's text: settings at their defaults are left out."""
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.output_padding != (0, 0):
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + (", bias=False" if self.bias is None else "")
