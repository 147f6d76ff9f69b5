"""The argument checks the transforms share, with torchvision's rules and messages naming the transform."""
import numbers
from collections.abc import Sequence


def check_sequence(value, name, where, lengths):
    """``value`` must be a sequence of one of ``lengths``."""
    wanted = " or ".join(str(length) for length in lengths)
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise TypeError(f"{where}: {name} should be a sequence of length {wanted}, got {value!r}")
    if len(value) not in lengths:
        raise ValueError(f"{where}: {name} should be a sequence of length {wanted}, got {value!r}")
    if not all(isinstance(item, numbers.Real) for item in value):
        raise TypeError(f"{where}: {name} should hold numbers, got {value!r}")


def angle_range(value, name, where, lengths):
    """A number d as [-d, d] (d must not be negative), or a checked sequence, as a list of floats."""
    if isinstance(value, numbers.Real):
        if value < 0:
            raise ValueError(f"{where}: if {name} is a single number, it must be positive, got {value}")
        return [-float(value), float(value)]
    check_sequence(value, name, where, lengths)
    return [float(item) for item in value]


def crop_size(size, where):
    """(height, width) from a number or a sequence of one or two positive integers."""
    sizes = (size, size) if isinstance(size, numbers.Number) else tuple(size) if isinstance(size, Sequence) else None
    if sizes is not None and len(sizes) == 1:
        sizes = sizes * 2
    if sizes is None or len(sizes) != 2:
        raise ValueError(f"{where}: size should be a number or (h, w), got {size!r}")
    if not all(isinstance(item, numbers.Integral) and item > 0 for item in sizes):
        raise ValueError(f"{where}: size should hold positive integers, got {size!r}")
    return int(sizes[0]), int(sizes[1])


def padding_sides(padding, where):
    """(left, top, right, bottom) from None, a number, (left/right, top/bottom) or (left, top, right, bottom)."""
    if padding is None:
        return 0, 0, 0, 0
    if isinstance(padding, numbers.Number):
        padding = [padding]
    if not isinstance(padding, Sequence) or len(padding) not in (1, 2, 4):
        raise ValueError(f"{where}: padding must be a number or a 1, 2 or 4 element sequence, got {padding!r}")
    if not all(isinstance(item, numbers.Integral) and item >= 0 for item in padding):
        raise ValueError(f"{where}: padding must hold non-negative integers, got {padding!r}")
    sides = {1: lambda p: p * 4, 2: lambda p: p * 2, 4: lambda p: p}[len(padding)](list(padding))
    return tuple(int(side) for side in sides)
