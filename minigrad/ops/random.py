"""Random ops: dropout, whose mask is a counter-based hash of (seed, element) on either device."""
from .. import backend
from ..autograd import Function


class Dropout(Function):
    """y = x * m / (1 - p), m ~ Bernoulli(1 - p) per element:  dx = g * m / (1 - p)"""

    def __init__(self, probability, generator):
        self.probability, self.generator = probability, generator

    saved_names = ("scaled_mask",)

    def forward(self, x):
        # The generator gives a seed; a counter-based hash of (seed, element) then decides each
        # element on either device, identically. The mask is stored already scaled, so forward and
        # backward are one multiplication each.
        seed = int(self.generator.integers(0, 2**63 - 1))
        scaled_mask = backend.dropout_mask(seed, 1.0 - self.probability, x.shape, x.dtype, backend.device_of(x))
        self.save_for_backward(scaled_mask)
        return x * scaled_mask

    def backward(self, g):
        (scaled_mask,) = self.saved
        return (g * scaled_mask,)

    def differentiable_backward(self, g):
        (scaled_mask,) = self.saved
        return (g * self.constant(scaled_mask),)  # the mask is drawn, not differentiated: a constant

    def jvp(self, dx):
        """dout = dx * m / (1 - p), with forward's mask"""
        (scaled_mask,) = self.saved
        return dx * scaled_mask
