"""The activations of modern CNNs as one op parametrised by its kind: LeakyReLU, ELU, GELU (erf and
tanh forms), SiLU, Softplus, Hardtanh (ReLU6 is Hardtanh(0, 6)) and Mish.

Forward and backward are one fused kernel pass each (minigrad/backend/activation.py). The double
backward composes existing Tensor ops for f'(x) (so it differentiates again, to any order), and
forward mode is the backward kernel applied to the tangent: both are g * f'(x).
"""
import math

import numpy as np

from .. import backend
from ..autograd import Function


class Activation(Function):
    """f(x) elementwise for ``kind`` with its ``parameters`` (backend.ACTIVATION_PARAMETERS):  dx = g * f'(x)"""

    def __init__(self, kind, parameters=()):
        self.kind, self.parameters = kind, tuple(parameters)

    def forward(self, x):
        self.save_for_backward(x)
        return backend.activation_forward(x, self.kind, self.parameters)

    def backward(self, g):
        (x,) = self.saved
        return (backend.activation_backward(x, g, self.kind, self.parameters),)

    def differentiable_backward(self, g):
        return (g * DERIVATIVES[self.kind](self, self.inputs[0], *self.parameters),)

    def jvp(self, dx):
        """dout = dx * f'(x): the backward kernel on the tangent"""
        (x,) = self.saved
        return backend.activation_backward(x, dx, self.kind, self.parameters)


class GeluDerivative(Function):
    """Phi(x) + x phi(x), GELU's derivative, for its double backward:  dx = g * phi(x) (2 - x^2)

    Phi needs erf, which no Tensor op has: this op computes it with GELU's backward kernel (on a
    gradient of ones), and its own derivative is plain exp and products.
    """

    def forward(self, x):
        self.save_for_backward(x)
        return backend.activation_backward(x, np.ones_like(x), "gelu", ())

    def backward(self, g):
        (x,) = self.saved
        density = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return (g * density * (2 - x * x),)

    def differentiable_backward(self, g):
        x = self.inputs[0]
        density = (x * x * -0.5).exp() * (1 / math.sqrt(2 * math.pi))
        return (g * density * (2 - x * x),)

    def jvp(self, dx):
        """dout = dx * phi(x) (2 - x^2)"""
        return self.backward(dx)[0]


# --- f'(x) as Tensor ops, for the double backward -------------------------------------------------

def _mask(function, x, condition):
    """``condition`` (an array of x's values) as a constant Tensor of 0 and 1 in x's dtype."""
    return function.constant(condition.astype(x.dtype))


def _leaky_relu_derivative(function, x, negative_slope):
    above = _mask(function, x, x.data > 0)
    return above + (1 - above) * negative_slope  # NaN takes the slope, as the kernel


def _elu_derivative(function, x, alpha):
    below = _mask(function, x, x.data <= 0)
    # exp of min(x, 0): the branch not taken stays finite, so 0 * it is 0.
    return below * (x.clamp(max=0).exp() * alpha) + (1 - below)


def _gelu_derivative(function, x):
    return GeluDerivative.apply(x)


def _gelu_tanh_derivative(function, x):
    scale, cubic = math.sqrt(2 / math.pi), 0.044715
    inner_tanh = ((x + x * x * x * cubic) * scale).tanh()
    return (1 + inner_tanh) * 0.5 + x * 0.5 * (1 - inner_tanh * inner_tanh) * ((1 + x * x * (3 * cubic)) * scale)


def _silu_derivative(function, x):
    sigmoid = x.sigmoid()
    return sigmoid * (1 + x * (1 - sigmoid))


def _softplus_derivative(function, x, beta, threshold):
    above = _mask(function, x, x.data * beta > threshold)
    return above + (1 - above) * (x * beta).sigmoid()


def _hardtanh_derivative(function, x, min_val, max_val):
    return _mask(function, x, (x.data > min_val) & (x.data < max_val))


def _mish_derivative(function, x):
    tanh_softplus = Activation.apply(x, kind="softplus", parameters=(1.0, 20.0)).tanh()
    return tanh_softplus + x * x.sigmoid() * (1 - tanh_softplus * tanh_softplus)


DERIVATIVES = {
    "leaky_relu": _leaky_relu_derivative, "elu": _elu_derivative, "gelu": _gelu_derivative,
    "gelu_tanh": _gelu_tanh_derivative, "silu": _silu_derivative, "softplus": _softplus_derivative,
    "hardtanh": _hardtanh_derivative, "mish": _mish_derivative,
}
