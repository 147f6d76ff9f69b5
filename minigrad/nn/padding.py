"""The 2-D padding layers: F.pad with a fixed mode, padding given as an int or (left, right, top, bottom)."""
from . import functional
from .module import Module


def _four(name, padding):
    if isinstance(padding, int) and not isinstance(padding, bool):
        return (padding,) * 4
    if isinstance(padding, (tuple, list)) and len(padding) == 4 and all(isinstance(p, int) for p in padding):
        return tuple(padding)
    raise TypeError(f"{name}: padding must be an int or 4 ints (left, right, top, bottom), got {padding!r}")


class _Pad2d(Module):
    tensor_input = True
    mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _four(type(self).__name__, padding)

    def forward(self, x):
        if self.mode == "constant":
            return functional.pad(x, self.padding, "constant", self.value)
        return functional.pad(x, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(_Pad2d):
    """Pads the last two dims with zeros (a negative pad crops)."""

    value = 0.0


class ConstantPad2d(_Pad2d):
    """Pads the last two dims with ``value`` (a negative pad crops)."""

    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ReflectionPad2d(_Pad2d):
    """Pads the last two dims with their reflection about the edge (the edge not repeated)."""

    mode = "reflect"


class ReplicationPad2d(_Pad2d):
    """Pads the last two dims by repeating the edge values."""

    mode = "replicate"
