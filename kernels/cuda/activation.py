"""The smooth and piecewise activations on the GPU, forward and backward, over flat contiguous arrays.

The same contracts and formulas as kernels/cpu/activation.py (PyTorch's, in its order, so inf and
NaN come out the same), one thread per element in a grid-stride loop as kernels/cuda/elementwise.py:
a warp touches neighbouring elements, so loads and stores coalesce. The transcendental functions
are CUDA's own (``math.exp`` on a float32 is ``expf``); constants are made in x's dtype
(``x.dtype.type``), because a float literal is float64 in Numba and would turn float32 arithmetic
into float64. Softplus is PyTorch's direct log1p(exp(x beta)) here (CUDA's log1p and exp are
accurate; the CPU twin rewrites it only to keep its float32 exp vectorisable). Mish clamps its
exp's argument at 20, past which its three parts are 1, 0 and 1 (see the CPU twin). The kernels
are written out in full, without device functions: tests/test_cuda_kernels.py compiles every
@cuda.jit function here as a kernel.

Performance, expected rather than measured: each kernel reads one or two arrays and writes one,
a few dozen flops per element, so all are bound by memory bandwidth: on an H100 (about 3 TB/s),
(100, 32, 28, 28) float32 moves 20 MB forward and 30 MB backward, about 10 µs each.
"""
import math

from numba import cuda, float32, float64

# The entry points the backend calls: the same names and arguments as kernels/cpu/activation.py.
__all__ = [  # noqa: RUF022 (the CPU module's order: the parity test compares the lists)
    "leaky_relu_forward", "leaky_relu_backward", "elu_forward", "elu_backward", "gelu_forward",
    "gelu_backward", "gelu_tanh_forward", "gelu_tanh_backward", "silu_forward", "silu_backward",
    "softplus_forward", "softplus_backward", "hardtanh_forward", "hardtanh_backward", "mish_forward",
    "mish_backward",
]

THREADS_PER_BLOCK = 256
MAX_BLOCKS = 1024  # as kernels/cuda/elementwise.py: past that the grid-stride loop takes over

SQRT_HALF = 0.7071067811865476
INVERSE_SQRT_TWO_PI = 0.3989422804014327
SQRT_TWO_OVER_PI = 0.7978845608028654
GELU_CUBIC = 0.044715


def blocks_for(size):
    return min(math.ceil(size / THREADS_PER_BLOCK), MAX_BLOCKS)


@cuda.jit
def leaky_relu_forward_kernel(x, negative_slope, out):
    """out = x > 0 ? x : x * negative_slope"""
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        value = x[index]
        if value > 0:
            out[index] = value
        else:
            out[index] = value * negative_slope


@cuda.jit
def leaky_relu_backward_kernel(x, grad_output, negative_slope, grad_input):
    """grad_input = x > 0 ? g : g * negative_slope"""
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        if x[index] > 0:
            grad_input[index] = grad_output[index]
        else:
            grad_input[index] = grad_output[index] * negative_slope


@cuda.jit
def elu_forward_kernel(x, alpha, out):
    """out = x <= 0 ? alpha * expm1(x) : x"""
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        value = x[index]
        if value <= 0:
            out[index] = math.expm1(value) * alpha
        else:
            out[index] = value


@cuda.jit
def elu_backward_kernel(x, grad_output, alpha, grad_input):
    """grad_input = x <= 0 ? g * alpha * exp(x) : g"""
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        value = x[index]
        if value <= 0:
            grad_input[index] = grad_output[index] * alpha * math.exp(value)
        else:
            grad_input[index] = grad_output[index]


@cuda.jit
def gelu_forward_kernel(x, out):
    """out = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2"""
    half, one, sqrt_half = x.dtype.type(0.5), x.dtype.type(1.0), x.dtype.type(SQRT_HALF)
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        value = x[index]
        out[index] = value * (half * (one + math.erf(value * sqrt_half)))


@cuda.jit
def gelu_backward_kernel(x, grad_output, grad_input):
    """grad_input = g (Phi(x) + x phi(x))"""
    half, one, sqrt_half = x.dtype.type(0.5), x.dtype.type(1.0), x.dtype.type(SQRT_HALF)
    inverse_sqrt_two_pi = x.dtype.type(INVERSE_SQRT_TWO_PI)
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        value = x[index]
        cdf = half * (one + math.erf(value * sqrt_half))
        density = math.exp(-half * value * value) * inverse_sqrt_two_pi
        grad_input[index] = grad_output[index] * (cdf + value * density)


@cuda.jit
def gelu_tanh_forward_kernel(x, out):
    """out = x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) / 2"""
    half, one = x.dtype.type(0.5), x.dtype.type(1.0)
    scale, cubic = x.dtype.type(SQRT_TWO_OVER_PI), x.dtype.type(GELU_CUBIC)
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        value = x[index]
        inner_tanh = math.tanh(scale * (value + cubic * (value * value * value)))
        out[index] = half * value * (one + inner_tanh)


@cuda.jit
def gelu_tanh_backward_kernel(x, grad_output, grad_input):
    """grad_input = g ((1 + t) / 2 + x / 2 (1 - t^2) sqrt(2 / pi) (1 + 3 0.044715 x^2))"""
    half, one = x.dtype.type(0.5), x.dtype.type(1.0)
    scale, cubic = x.dtype.type(SQRT_TWO_OVER_PI), x.dtype.type(GELU_CUBIC)
    three_cubic = x.dtype.type(3.0 * GELU_CUBIC)
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        value = x[index]
        inner_tanh = math.tanh(scale * (value + cubic * (value * value * value)))
        inner_derivative = scale * (one + three_cubic * value * value)
        left_derivative = half * (one + inner_tanh)
        right_derivative = half * value * (one - inner_tanh * inner_tanh) * inner_derivative
        grad_input[index] = grad_output[index] * (left_derivative + right_derivative)


@cuda.jit
def silu_forward_kernel(x, out):
    """out = x / (1 + exp(-x))"""
    one = x.dtype.type(1.0)
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        value = x[index]
        out[index] = value / (one + math.exp(-value))


@cuda.jit
def silu_backward_kernel(x, grad_output, grad_input):
    """grad_input = g s (1 + x (1 - s)), s = sigmoid(x)"""
    one = x.dtype.type(1.0)
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        value = x[index]
        sigmoid = one / (one + math.exp(-value))
        grad_input[index] = grad_output[index] * sigmoid * (one + value * (one - sigmoid))


@cuda.jit
def softplus_forward_kernel(x, beta, threshold, out):
    """out = x beta > threshold ? x : log1p(exp(x beta)) / beta"""
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        value = x[index]
        scaled = value * beta
        if scaled > threshold:
            out[index] = value
        else:
            out[index] = math.log1p(math.exp(scaled)) / beta


@cuda.jit
def softplus_backward_kernel(x, grad_output, beta, threshold, grad_input):
    """grad_input = x beta > threshold ? g : g z / (z + 1), z = exp(x beta)"""
    one = x.dtype.type(1.0)
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        scaled = x[index] * beta
        if scaled > threshold:
            grad_input[index] = grad_output[index]
        else:
            z = math.exp(scaled)
            grad_input[index] = grad_output[index] * z / (z + one)


@cuda.jit
def mish_forward_kernel(x, out):
    """out = x tanh(softplus(x)) = x n / (n + 2), n = e (e + 2), e = exp(x); x tanh(...) = x past 20"""
    one, two, twenty = x.dtype.type(1.0), x.dtype.type(2.0), x.dtype.type(20.0)
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        value = x[index]
        e = math.exp(twenty if value > twenty else value)  # NaN > 20 is false: NaN goes on
        n = e * (e + two)
        if value > twenty:
            out[index] = value * one
        else:
            out[index] = value * (n / (n + two))


@cuda.jit
def mish_backward_kernel(x, grad_output, grad_input):
    """grad_input = g (t + x sigmoid(x) (1 - t^2)), t = n / (n + 2), 1 - t^2 = (4n + 4) / (n + 2)^2"""
    zero, one, two = x.dtype.type(0.0), x.dtype.type(1.0), x.dtype.type(2.0)
    four, twenty = x.dtype.type(4.0), x.dtype.type(20.0)
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        value = x[index]
        e = math.exp(twenty if value > twenty else value)
        n = e * (e + two)
        if value > twenty:
            tanh_softplus, one_minus_square, sigmoid = one, zero, one
        else:
            tanh_softplus = n / (n + two)
            one_minus_square = (four * n + four) / ((n + two) * (n + two))
            sigmoid = e / (one + e)
        grad_input[index] = grad_output[index] * (tanh_softplus + value * sigmoid * one_minus_square)


@cuda.jit
def hardtanh_forward_kernel(x, min_val, max_val, out):
    """out = x < min_val ? min_val : x > max_val ? max_val : x"""
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        value = x[index]
        if value < min_val:
            out[index] = min_val
        elif value > max_val:
            out[index] = max_val
        else:
            out[index] = value


@cuda.jit
def hardtanh_backward_kernel(x, grad_output, min_val, max_val, grad_input):
    """grad_input = x <= min_val or x >= max_val ? 0 : g"""
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        value = x[index]
        if value <= min_val or value >= max_val:
            grad_input[index] = 0
        else:
            grad_input[index] = grad_output[index]


def _launch(kernel, x, *arguments):
    if x.size == 0:
        return  # a grid of zero blocks is an error, and there is nothing to do
    kernel[blocks_for(x.size), THREADS_PER_BLOCK](x, *arguments)


def leaky_relu_forward(x, negative_slope, out):
    _launch(leaky_relu_forward_kernel, x, negative_slope, out)


def leaky_relu_backward(x, grad_output, negative_slope, grad_input):
    _launch(leaky_relu_backward_kernel, x, grad_output, negative_slope, grad_input)


def elu_forward(x, alpha, out):
    _launch(elu_forward_kernel, x, alpha, out)


def elu_backward(x, grad_output, alpha, grad_input):
    _launch(elu_backward_kernel, x, grad_output, alpha, grad_input)


def gelu_forward(x, out):
    _launch(gelu_forward_kernel, x, out)


def gelu_backward(x, grad_output, grad_input):
    _launch(gelu_backward_kernel, x, grad_output, grad_input)


def gelu_tanh_forward(x, out):
    _launch(gelu_tanh_forward_kernel, x, out)


def gelu_tanh_backward(x, grad_output, grad_input):
    _launch(gelu_tanh_backward_kernel, x, grad_output, grad_input)


def silu_forward(x, out):
    _launch(silu_forward_kernel, x, out)


def silu_backward(x, grad_output, grad_input):
    _launch(silu_backward_kernel, x, grad_output, grad_input)


def softplus_forward(x, beta, threshold, out):
    _launch(softplus_forward_kernel, x, beta, threshold, out)


def softplus_backward(x, grad_output, beta, threshold, grad_input):
    _launch(softplus_backward_kernel, x, grad_output, beta, threshold, grad_input)


def hardtanh_forward(x, min_val, max_val, out):
    _launch(hardtanh_forward_kernel, x, min_val, max_val, out)


def hardtanh_backward(x, grad_output, min_val, max_val, grad_input):
    _launch(hardtanh_backward_kernel, x, grad_output, min_val, max_val, grad_input)


def mish_forward(x, out):
    _launch(mish_forward_kernel, x, out)


def mish_backward(x, grad_output, grad_input):
    _launch(mish_backward_kernel, x, grad_output, grad_input)


def _signatures(inputs, scalars):
    """Both dtypes' signatures: ``inputs`` flat arrays, then ``scalars`` scalars, then the output array."""
    return [tuple([dtype[:]] * inputs + [dtype] * scalars + [dtype[:]]) for dtype in (float32, float64)]


# The argument types tests/test_cuda_kernels.py compiles every kernel for (nothing compiles at import).
PTX_SIGNATURES = {
    "leaky_relu_forward_kernel": _signatures(1, 1), "leaky_relu_backward_kernel": _signatures(2, 1),
    "elu_forward_kernel": _signatures(1, 1), "elu_backward_kernel": _signatures(2, 1),
    "gelu_forward_kernel": _signatures(1, 0), "gelu_backward_kernel": _signatures(2, 0),
    "gelu_tanh_forward_kernel": _signatures(1, 0), "gelu_tanh_backward_kernel": _signatures(2, 0),
    "silu_forward_kernel": _signatures(1, 0), "silu_backward_kernel": _signatures(2, 0),
    "softplus_forward_kernel": _signatures(1, 2), "softplus_backward_kernel": _signatures(2, 2),
    "hardtanh_forward_kernel": _signatures(1, 2), "hardtanh_backward_kernel": _signatures(2, 2),
    "mish_forward_kernel": _signatures(1, 0), "mish_backward_kernel": _signatures(2, 0),
}
