"""Conv1d: a 1-D convolution layer over (batch, channels, length), PyTorch's arguments, initialisation and repr."""
from . import functional
from .conv import PADDING_MODES
from .conv_transpose import initialised_parameters, positive_channels
from .functional.conv1d import single
from .geometry import conv_padding
from .module import Module


class Conv1d(Module):
    """y = conv1d(x, weight, bias), weight (out_channels, in_channels / groups, kernel_size).

    Initialised as PyTorch does: weight kaiming-uniform with a = sqrt(5), bias U(-1/sqrt(fan_in),
    +1/sqrt(fan_in)), fan_in = in_channels / groups * kernel_size. ``padding_mode`` 'reflect' or
    'replicate' pads with F.pad first, then convolves without padding (as PyTorch and Conv2d do);
    'circular' is not supported.
    """

    tensor_input = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        name = "Conv1d"
        positive_channels(name, in_channels, out_channels, groups)
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {', '.join(PADDING_MODES)}, got {padding_mode!r}")
        if padding_mode == "circular":
            raise NotImplementedError(f"{name}: padding_mode 'circular' is not supported in minigrad "
                                      "(zeros, reflect, replicate)")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        # 1-tuples, as torch keeps them (and prints them): kernel_size=(3,); a padding name stays a name
        self.kernel_size = (single(name, "kernel_size", kernel_size, 1),)
        self.stride = (single(name, "stride", stride, 1),)
        self.dilation = (single(name, "dilation", dilation, 1),)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of 'same', 'valid'")
            if padding == "same" and self.stride != (1,):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions, "
                                 f"got stride {self.stride}")
            self.padding = padding
        else:
            self.padding = (single(name, "padding", padding, 0),)
        self.padding_mode = padding_mode
        # F.pad's (left, right) for the reflect and replicate modes ('same' puts the odd one after)
        self._pad_amounts = conv_padding(name, self.padding if isinstance(self.padding, str) else (0, self.padding[0]),
                                         (1,) + self.kernel_size, (1,) + self.dilation, (1,) + self.stride)[2:]
        initialised_parameters(self, (out_channels, in_channels // groups) + self.kernel_size, bias, dtype, device)

    def forward(self, x):
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        if self.padding_mode != "zeros":
            from .functional.padding import pad  # F.pad's own file; only these modes need it

            x, padding = pad(x, self._pad_amounts, mode=self.padding_mode), 0
        return functional.conv1d(x, self.weight, self.bias, self.stride[0], padding, self.dilation[0], self.groups)

    def extra_repr(self):
        """torch's text: settings at their defaults are left out."""
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,):
            text += f", padding={self.padding}"
        if self.dilation != (1,):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        text += ", bias=False" if self.bias is None else ""
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text
