"""Padding: constant padding of any dims (a negative pad crops), and the index maps of reflect and
replicate padding, which run as minigrad/ops/resample.py's Resample2d (each output position reads
one input position, so the backward is that map's transpose: the gather of every output position
that read an input position).
"""
import numpy as np

from .. import backend
from ..autograd import Function
from .resample import AxisMap


def reflect_axis(input_size, before, after):
    """Output position i reads p = i - before reflected about the edges (-p below 0, 2 (n - 1) - p past n - 1)."""
    positions = np.arange(-before, input_size + after, dtype=np.int64)
    positions = np.abs(positions)
    positions = np.where(positions > input_size - 1, 2 * (input_size - 1) - positions, positions)
    return AxisMap.gather(positions, input_size)


def replicate_axis(input_size, before, after):
    """Output position i reads i - before clamped to [0, n - 1]."""
    positions = np.arange(-before, input_size + after, dtype=np.int64)
    return AxisMap.gather(np.clip(positions, 0, input_size - 1), input_size)


def _slices(shape, pads):
    """(where x's kept part lies in x, where it goes in the output) for ``pads`` = ((before, after), ...) per dim."""
    source, destination = [], []
    for length, (before, after) in zip(shape, pads):
        start, stop = max(-before, 0), length - max(-after, 0)
        source.append(slice(start, stop))
        destination.append(slice(max(before, 0), max(before, 0) + stop - start))
    return tuple(source), tuple(destination)


def constant_pad(x, pads, value):
    """x with ``pads`` = ((before, after), ...) per dim added (value ``value``) or, where negative, cut off."""
    shape = tuple(length + before + after for length, (before, after) in zip(x.shape, pads))
    out = backend.full(shape, value, x.dtype, backend.device_of(x))
    source, destination = _slices(x.shape, pads)
    if all(part.stop > part.start for part in destination):
        out[destination] = x[source]
    return out


class ConstantPad(Function):
    """out = x with ``pads`` (before, after) per dim of ``value`` added, or cut off where negative:
    dx = g with the negated pads (the part of g where x went)"""

    def __init__(self, pads, value):
        self.pads, self.value = tuple(tuple(pair) for pair in pads), value

    def transposed_pads(self):
        return tuple((-before, -after) for before, after in self.pads)

    def forward(self, x):
        return constant_pad(x, self.pads, self.value)

    def backward(self, g):
        return (constant_pad(g, self.transposed_pads(), 0),)

    def differentiable_backward(self, g):
        return (ConstantPad.apply(g, pads=self.transposed_pads(), value=0),)

    def jvp(self, dx):
        """dout = dx padded with zeros (the constant's tangent is 0)"""
        return constant_pad(dx, self.pads, 0)
