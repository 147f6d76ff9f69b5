"""exp, expm1, tanh, erf and log1p for the activation kernels: libm's on float64, and on float32 a
polynomial form that LLVM's loop vectoriser can turn into SIMD code.

Numba lowers ``math.exp`` on float32 to a call of libm's ``expf`` per element (this build has no
SVML vector library), which left SiLU at 0.6x and GELU at 0.1x PyTorch's speed (whose kernels use
SLEEF's vector functions). The float32 forms here are plain arithmetic, selections and a bit cast,
so a ``prange`` loop over them runs 8 lanes at a time on AVX2. Each is within 6 float32 ulps of
the correctly rounded value (tests/test_activations.py measures them against float64):

- ``exponential``: Cephes' ``expf``: exp(x) = 2^n * exp(r), n = round(x / ln 2), r = x - n ln 2 in
  two parts, exp(r) a degree-6 polynomial; 2^n built from its exponent bits in two factors, so
  that results down to the smallest subnormal come out (2^n alone stops at 2^-126).
- ``exp_minus_one``: a degree-8 Taylor polynomial for |x| < 0.5 (exp(x) - 1 loses digits there),
  else exp(x) - 1.
- ``hyperbolic_tangent``: Cephes' ``tanhf``: x + x^3 P(x^2) for |x| < 0.625, else
  sign(x) (1 - 2 / (exp(2|x|) + 1)), and +-1 past |x| = 8.664339742 as SLEEF's (PyTorch's).
- ``error_function``: Eigen's (and XLA's) float32 erf, x P(x^2) / Q(x^2) of degrees 13 and 8 on
  x clamped to [-4, 4]: no exp at all, within 4e-7 of erf (GELU's 1 + erf(x) in the left tail is
  as exact in absolute terms, so x Phi(x) there is within 1e-6 of PyTorch's).
- ``log_one_plus``: log1p(u) for 0 <= u <= 1 (what softplus needs, with u = exp(-|x|)):
  2 atanh(s), s = u / (2 + u) <= 1/3, as its odd series to s^17.

The float64 forms are ``math``'s, correctly rounded or nearly, as PyTorch's double kernels.
Every helper is inlined into its caller in Numba's IR, so it is compiled with the caller's
fastmath flags (those of kernels/cpu/preset.py: no ``nnan``/``ninf``, so NaN and inf are tested
for, and selections keep them as PyTorch's kernels do). ``constant(like, c)`` is c in like's type:
a float literal is float64 in Numba, which would turn float32 arithmetic into float64.
"""
import math

import numpy as np
from numba import types
from numba.extending import overload

from .preset import inlined_kernel


def constant(like, value):
    """value in the floating type of ``like`` (a Python stand-in; Numba uses the overload)."""
    return type(like)(value)


def exponential(value):
    return math.exp(value)


def exp_minus_one(value):
    return math.expm1(value)


def hyperbolic_tangent(value):
    return math.tanh(value)


def error_function(value):
    return math.erf(value)


def log_one_plus(value):
    return math.log1p(value)


def largest_exponent(like):
    """The largest x whose exp is finite in like's type."""
    return 88.72283 if isinstance(like, np.float32) else 709.782712893384


def _is_single(value):
    return value == types.float32


@overload(constant, inline="always")
def _constant(like, value):
    if _is_single(like):
        return lambda like, value: np.float32(value)
    return lambda like, value: np.float64(value)


@overload(largest_exponent, inline="always")
def _largest_exponent(like):
    if _is_single(like):
        return lambda like: np.float32(88.72283)
    return lambda like: np.float64(709.782712893384)


# --- float32 forms ---------------------------------------------------------------------------------

@inlined_kernel
def _scale_by_power_of_two(value, power):
    """value * 2^power for -160 <= power <= 128, as two factors 2^(power // 2) and 2^(power - power // 2),
    each a normal float32 made from its exponent bits."""
    # 2^128 alone overflows although value * 2^128 may not (value < 1): take one power into value.
    top = power == 128
    value = value * np.float32(2.0) if top else value
    power = np.int32(127) if top else power
    half = power >> 1
    first = np.int32((half + 127) << 23).view(np.float32)
    second = np.int32((power - half + 127) << 23).view(np.float32)
    return value * first * second


def _exponential_single(value):
    # NaN is set aside before the conversion to an integer (NaN to int is undefined), put back at the end.
    x = np.float32(0.0) if value != value else value
    x = np.float32(89.0) if x > np.float32(89.0) else x  # exp(89) overflows: inf, as expf
    x = np.float32(-110.0) if x < np.float32(-110.0) else x  # far under half the smallest subnormal: 0
    n = np.floor(x * np.float32(1.44269504088896341) + np.float32(0.5))
    r = x - n * np.float32(0.693359375)
    r = r - n * np.float32(-2.12194440e-4)
    p = np.float32(1.9875691500e-4)
    p = p * r + np.float32(1.3981999507e-3)
    p = p * r + np.float32(8.3334519073e-3)
    p = p * r + np.float32(4.1665795894e-2)
    p = p * r + np.float32(1.6666665459e-1)
    p = p * r + np.float32(5.0000001201e-1)
    p = p * r * r + r + np.float32(1.0)
    result = _scale_by_power_of_two(p, np.int32(n))
    return value if value != value else result


def _exp_minus_one_single(value):
    p = np.float32(1.0 / 40320.0)
    for coefficient in (1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0):
        p = p * value + np.float32(coefficient)
    small = p * value
    large = exponential(value) - np.float32(1.0)
    return small if abs(value) < np.float32(0.5) else large


def _hyperbolic_tangent_single(value):
    z = value * value
    p = np.float32(-5.70498872745e-3)
    p = p * z + np.float32(2.06390887954e-2)
    p = p * z - np.float32(5.37397155531e-2)
    p = p * z + np.float32(1.33314422036e-1)
    p = p * z - np.float32(3.33332819422e-1)
    small = value + value * z * p
    magnitude = abs(value)
    large = np.float32(1.0) - np.float32(2.0) / (exponential(magnitude + magnitude) + np.float32(1.0))
    # SLEEF's tanhf (PyTorch's) is exactly 1 from here on, although 1 - 2 exp(-2|x|) would round
    # to the float32 below 1 up to |x| = 9.01: the same 1, so that 1 - tanh^2 is 0 at the same x.
    large = np.float32(1.0) if magnitude > np.float32(8.664339742) else large
    large = -large if value < np.float32(0.0) else large
    return small if magnitude < np.float32(0.625) else large


def _error_function_single(value):
    # Clamped to [-4, 4], past which erf is +-1 in float32 (NaN compares false and stays NaN).
    x = np.float32(4.0) if value > np.float32(4.0) else value
    x = np.float32(-4.0) if x < np.float32(-4.0) else x
    z = x * x
    p = np.float32(-2.72614225801306e-10)
    for coefficient in (2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
                        -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02):
        p = p * z + np.float32(coefficient)
    q = np.float32(-1.45660718464996e-05)
    for coefficient in (-2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
                        -1.42647390514189e-02):
        q = q * z + np.float32(coefficient)
    return x * p / q


def _log_one_plus_single(value):
    s = value / (np.float32(2.0) + value)
    z = s * s
    p = np.float32(1.0 / 17.0)
    for denominator in (15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0, 1.0):
        p = p * z + np.float32(1.0 / denominator)
    return np.float32(2.0) * s * p


def _overload_single(function, single_form, double_form):
    @overload(function, inline="always")
    def choose(value):
        return single_form if _is_single(value) else double_form

    return choose


_overload_single(exponential, _exponential_single, lambda value: math.exp(value))
_overload_single(exp_minus_one, _exp_minus_one_single, lambda value: math.expm1(value))
_overload_single(hyperbolic_tangent, _hyperbolic_tangent_single, lambda value: math.tanh(value))
_overload_single(error_function, _error_function_single, lambda value: math.erf(value))
_overload_single(log_one_plus, _log_one_plus_single, lambda value: math.log1p(value))
