"""The smooth and piecewise activations, forward and backward, one parallel pass each.

Every kernel reads a flat contiguous array (the backend ravels it) and writes each element once:
forward ``out = f(x)``, backward ``grad_input = grad_output * f'(x)`` from x and the incoming
gradient, so a training step makes one pass per direction where NumPy would make several. The
scalar formulas are PyTorch's CPU kernels' (aten/src/ATen/native/cpu/Activation.cpp), in the same
order, so inf and NaN come out as there: a NaN input gives NaN, except where PyTorch's selection
passes the gradient through it (LeakyReLU, ELU, Hardtanh: ``NaN > 0`` and ``NaN <= 0`` are both
false), and an infinite input gives NaN where PyTorch's formula makes inf * 0 (GELU, SiLU and Mish
at -inf). float32 runs in float32 with activation_math.py's vectorisable exp, tanh and erf;
float64 with libm's.

Scalar arguments (slopes, bounds, beta) arrive in x's dtype (the backend converts them).
"""
import math

from numba import prange

from .activation_math import (constant, error_function, exp_minus_one, exponential, hyperbolic_tangent,
                              largest_exponent, log_one_plus)
from .preset import cpu_kernel, inlined_kernel

# The entry points the backend calls; kernels/cuda/activation.py has the same names and arguments.
__all__ = [
    "leaky_relu_forward", "leaky_relu_backward", "elu_forward", "elu_backward", "gelu_forward",
    "gelu_backward", "gelu_tanh_forward", "gelu_tanh_backward", "silu_forward", "silu_backward",
    "softplus_forward", "softplus_backward", "hardtanh_forward", "hardtanh_backward", "mish_forward",
    "mish_backward",
]

SQRT_HALF = 0.7071067811865476  # 1 / sqrt(2)
INVERSE_SQRT_TWO_PI = 0.3989422804014327  # 1 / sqrt(2 pi), the normal density at 0
SQRT_TWO_OVER_PI = 0.7978845608028654  # GELU's tanh form: tanh(sqrt(2 / pi) (x + 0.044715 x^3))
GELU_CUBIC = 0.044715


# --- LeakyReLU and ELU: selections -----------------------------------------------------------------

@cpu_kernel
def leaky_relu_forward(x, negative_slope, out):
    """out = x > 0 ? x : x * negative_slope"""
    for index in prange(x.size):
        value = x[index]
        out[index] = value if value > 0 else value * negative_slope


@cpu_kernel
def leaky_relu_backward(x, grad_output, negative_slope, grad_input):
    """grad_input = x > 0 ? g : g * negative_slope"""
    for index in prange(x.size):
        g = grad_output[index]
        grad_input[index] = g if x[index] > 0 else g * negative_slope


@cpu_kernel
def elu_forward(x, alpha, out):
    """out = x <= 0 ? alpha * expm1(x) : x"""
    for index in prange(x.size):
        value = x[index]
        out[index] = exp_minus_one(value) * alpha if value <= 0 else value


@cpu_kernel
def elu_backward(x, grad_output, alpha, grad_input):
    """grad_input = x <= 0 ? g * alpha * exp(x) : g"""
    for index in prange(x.size):
        value, g = x[index], grad_output[index]
        grad_input[index] = g * alpha * exponential(value) if value <= 0 else g


# --- GELU ------------------------------------------------------------------------------------------

@inlined_kernel
def normal_cdf(value):
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2"""
    half = constant(value, 0.5)
    return half * (constant(value, 1.0) + error_function(value * constant(value, SQRT_HALF)))


@cpu_kernel
def gelu_forward(x, out):
    """out = x Phi(x)"""
    for index in prange(x.size):
        value = x[index]
        out[index] = value * normal_cdf(value)


@cpu_kernel
def gelu_backward(x, grad_output, grad_input):
    """grad_input = g (Phi(x) + x phi(x))"""
    for index in prange(x.size):
        value = x[index]
        density = exponential(constant(value, -0.5) * value * value) * constant(value, INVERSE_SQRT_TWO_PI)
        grad_input[index] = grad_output[index] * (normal_cdf(value) + value * density)


@inlined_kernel
def gelu_tanh_inner(value):
    """tanh(sqrt(2 / pi) (x + 0.044715 x^3))"""
    cube = value * value * value
    return hyperbolic_tangent(constant(value, SQRT_TWO_OVER_PI) * (value + constant(value, GELU_CUBIC) * cube))


@cpu_kernel
def gelu_tanh_forward(x, out):
    """out = x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) / 2"""
    for index in prange(x.size):
        value = x[index]
        out[index] = constant(value, 0.5) * value * (constant(value, 1.0) + gelu_tanh_inner(value))


@cpu_kernel
def gelu_tanh_backward(x, grad_output, grad_input):
    """grad_input = g ((1 + t) / 2 + x / 2 (1 - t^2) sqrt(2 / pi) (1 + 3 0.044715 x^2)), t the inner tanh"""
    for index in prange(x.size):
        value = x[index]
        one = constant(value, 1.0)
        inner_tanh = gelu_tanh_inner(value)
        inner_derivative = constant(value, SQRT_TWO_OVER_PI) * (
            one + constant(value, 3.0 * GELU_CUBIC) * value * value)
        left_derivative = constant(value, 0.5) * (one + inner_tanh)
        half_x_tanh_derivative = constant(value, 0.5) * value * (one - inner_tanh * inner_tanh)
        # PyTorch multiplies in this order: a huge finite x (x^2 large, tanh' = 0) gives 0, not the
        # NaN of x * inner_derivative = inf times 0 that fastmath's reassociation could make.
        right_derivative = (half_x_tanh_derivative if inner_tanh * inner_tanh == one
                            else half_x_tanh_derivative * inner_derivative)
        grad_input[index] = grad_output[index] * (left_derivative + right_derivative)


# --- SiLU, Softplus, Mish: built on exp -------------------------------------------------------------

@cpu_kernel
def silu_forward(x, out):
    """out = x / (1 + exp(-x))"""
    for index in prange(x.size):
        value = x[index]
        out[index] = value / (constant(value, 1.0) + exponential(-value))


@cpu_kernel
def silu_backward(x, grad_output, grad_input):
    """grad_input = g s (1 + x (1 - s)), s = sigmoid(x)"""
    for index in prange(x.size):
        value = x[index]
        one = constant(value, 1.0)
        sigmoid = one / (one + exponential(-value))
        grad_input[index] = grad_output[index] * sigmoid * (one + value * (one - sigmoid))


@cpu_kernel
def softplus_forward(x, beta, threshold, out):
    """out = x beta > threshold ? x : log1p(exp(x beta)) / beta"""
    for index in prange(x.size):
        value = x[index]
        scaled = value * beta
        # log1p(exp(v)) as max(v, 0) + log1p(exp(-|v|)): the same number, and exp never overflows
        # (a NaN takes the 0 branch of max and comes back through exp).
        positive = scaled if scaled > 0 else constant(value, 0.0)
        result = (positive + log_one_plus(exponential(-abs(scaled)))) / beta
        if scaled > largest_exponent(value):
            result = constant(value, math.inf)  # PyTorch's exp(v) overflows to inf
        out[index] = value if scaled > threshold else result


@cpu_kernel
def softplus_backward(x, grad_output, beta, threshold, grad_input):
    """grad_input = x beta > threshold ? g : g z / (z + 1), z = exp(x beta)"""
    for index in prange(x.size):
        g = grad_output[index]
        scaled = x[index] * beta
        z = exponential(scaled)
        grad_input[index] = g if scaled > threshold else g * z / (z + constant(scaled, 1.0))


@inlined_kernel
def mish_parts(value):
    """(tanh(softplus(x)), 1 - tanh(softplus(x))^2, sigmoid(x)) from one exp.

    With e = exp(x) and n = e (e + 2): tanh(log1p(e)) = n / (n + 2) and 1 - tanh^2 = (4n + 4) / (n + 2)^2,
    without tanh's cancellation. Above x = 20 the three are 1, 0 and 1 in either type (and n would
    overflow, so exp's argument stops at 20): set so, as PyTorch's own formula rounds them.
    """
    one, two = constant(value, 1.0), constant(value, 2.0)
    twenty = constant(value, 20.0)
    e = exponential(twenty if value > twenty else value)  # never overflows; NaN > 20 is false: NaN goes on
    n = e * (e + two)
    tanh_softplus = n / (n + two)
    one_minus_square = (constant(value, 4.0) * n + constant(value, 4.0)) / ((n + two) * (n + two))
    sigmoid = e / (one + e)
    large = value > twenty
    return ((one if large else tanh_softplus), (constant(value, 0.0) if large else one_minus_square),
            (one if large else sigmoid))


@cpu_kernel
def mish_forward(x, out):
    """out = x tanh(softplus(x))"""
    for index in prange(x.size):
        value = x[index]
        tanh_softplus, _, _ = mish_parts(value)
        out[index] = value * tanh_softplus


@cpu_kernel
def mish_backward(x, grad_output, grad_input):
    """grad_input = g (t + x sigmoid(x) (1 - t^2)), t = tanh(softplus(x))"""
    for index in prange(x.size):
        value = x[index]
        tanh_softplus, one_minus_square, sigmoid = mish_parts(value)
        grad_input[index] = grad_output[index] * (tanh_softplus + value * sigmoid * one_minus_square)


# --- Hardtanh (and ReLU6): a clamp -------------------------------------------------------------------

@cpu_kernel
def hardtanh_forward(x, min_val, max_val, out):
    """out = x < min_val ? min_val : x > max_val ? max_val : x (NaN stays NaN, -0.0 stays -0.0)"""
    for index in prange(x.size):
        value = x[index]
        value = min_val if value < min_val else value
        out[index] = max_val if value > max_val else value


@cpu_kernel
def hardtanh_backward(x, grad_output, min_val, max_val, grad_input):
    """grad_input = x <= min_val or x >= max_val ? 0 : g (0 at the bounds themselves, as PyTorch)"""
    for index in prange(x.size):
        value = x[index]
        grad_input[index] = 0 if (value <= min_val or value >= max_val) else grad_output[index]
