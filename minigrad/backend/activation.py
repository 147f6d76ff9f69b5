"""The activations' fused kernels: f(x) and g * f'(x), one parallel pass each (kernels/cpu/activation.py).

``kind`` names the activation (a key of ACTIVATION_PARAMETERS) and ``parameters`` holds its scalars
in that order; they are converted to x's dtype, so float32 stays float32 in the kernels. The kernels
take flat contiguous arrays: any other layout is copied first.
"""
import numpy as np

from ..cuda import ops_activation
from .routing import kernels, routed_to

# Each activation's scalar arguments, in the kernels' order.
ACTIVATION_PARAMETERS = {
    "leaky_relu": ("negative_slope",), "elu": ("alpha",), "gelu": (), "gelu_tanh": (), "silu": (),
    "softplus": ("beta", "threshold"), "hardtanh": ("min_val", "max_val"), "mish": (),
}


def _scalars(kind, parameters, dtype):
    if len(parameters) != len(ACTIVATION_PARAMETERS[kind]):
        raise TypeError(f"{kind}: expected the parameters {ACTIVATION_PARAMETERS[kind]}, got {parameters}")
    return [dtype.type(value) for value in parameters]


def _flat(array):
    return np.ascontiguousarray(array).reshape(-1)


@routed_to(ops_activation)
def activation_forward(x, kind, parameters):
    """f(x) elementwise, a new array of x's shape and (floating) dtype."""
    out = np.empty(x.shape, dtype=x.dtype)
    if x.size:
        getattr(kernels("activation"), f"{kind}_forward")(_flat(x), *_scalars(kind, parameters, x.dtype),
                                                           out.reshape(-1))
    return out


@routed_to(ops_activation)
def activation_backward(x, grad_output, kind, parameters):
    """grad_output * f'(x) elementwise (PyTorch's selections where f is piecewise)."""
    grad_output = np.broadcast_to(grad_output, x.shape).astype(x.dtype, copy=False)
    grad_input = np.empty(x.shape, dtype=x.dtype)
    if x.size:
        getattr(kernels("activation"), f"{kind}_backward")(
            _flat(x), _flat(grad_output), *_scalars(kind, parameters, x.dtype), grad_input.reshape(-1))
    return grad_input
