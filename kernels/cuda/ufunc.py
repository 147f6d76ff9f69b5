"""NumPy's elementwise ufuncs on the GPU, over strided views of whole device buffers.

An operand is a 1-D device buffer (a whole allocation) read through a view: an element offset and
per-axis element strides, stride 0 along a broadcast axis, as NumPy's view model has it. The
logical element (i_0, ..., i_k) of an operand sits at ``buffer[offset + sum_d i_d * strides_d]``.
The caller (minigrad/cuda/numpy_api.py) has already broadcast the operands to the output's shape,
cast them to one dtype and merged axes that every operand walks as one, so ``shape`` usually has
one or two axes.

Scheme: one thread per logical element in row-major order, in a grid-stride loop
(``THREADS_PER_BLOCK`` threads a block, at most ``MAX_BLOCKS`` blocks, as in elementwise.py).
A thread peels its element's index along each axis off its row-major number, last axis first
(one division per axis but the first), and steps every operand by its own strides. Each output
element is written by exactly one thread, so an output that is also an input, element for
element (``np.add(x, y, out=x)``), is safe; an output with a stride-0 axis (several elements at one
address) is not. The operation is a run-time code (``ADD``, ``EXP``...): the branch on it is the
same for every thread, so it costs a few instructions per element in kernels that are bound by
memory traffic, and one compiled kernel serves all its operations. The operations are spread over
kernels by their result's kind (a converted copy; arithmetic in the operands' dtype; a boolean),
so each compiles only code that types for its dtypes.

NumPy's values at the edges: log(0) = -inf, log(x < 0) = nan, sqrt(x < 0) = nan, log1p(-1) = -inf,
exp overflow = inf, x / 0 = ±inf or nan, 0 ** negative = inf, negative ** non-integer = nan,
fmod(x, 0) = fmod(±inf, y) = nan, x // 0 = x / 0, trunc keeps the sign of a zero,
sign(nan) = nan, NaN wins in maximum / minimum, comparisons with NaN are false (``!=`` true).
On the GPU most of these come from IEEE arithmetic and libdevice; under the simulator
(NUMBA_ENABLE_CUDASIM=1) the body runs as Python, where ``math.log(-1)``, ``math.sqrt(-1)`` and
``math.exp(1000)`` raise, hence the explicit branches, which both give NumPy's answer. Float32 stays
float32: constants that take part in arithmetic are made in the operand's dtype
(``x.dtype.type(...)``), since a bare Python float is a float64 to Numba and would promote the math.

Integers: int64 arithmetic wraps around as NumPy's does. ``POWER`` on int64 runs NumPy's integer
loop (repeated squaring); NumPy refuses negative integer exponents, here they give C's truncated
1 / a**n (1 for a = 1, ±1 for a = -1, else 0). ``FMOD`` on int64 is C's % (the sign of a),
``FLOOR_DIVIDE`` floors as NumPy's; both give 0 for a divisor of 0, as NumPy's loops. Conversions
(``COPY``) follow Numba's casts, which agree with NumPy's for every value that fits the target
(float to int truncates toward zero, NaN to bool is True); NaN or out-of-range floats to int64 are
undefined in both.

Performance: memory-bound for the contiguous case (float32 add: 12 bytes per element, 10 M
elements in about 40 µs on an H100's 3 TB/s). The index arithmetic is int64 division (a few dozen
instructions per axis), which is why merging axes before the launch matters: a 4-axis walk over
a transposed operand can become bound by those instructions instead of by memory.
"""
import math
import sys

from numba import boolean, cuda, float32, float64, int64, types

__all__ = ["unary_map", "binary_map", "where_map"]  # noqa: RUF022 (unary, binary, ternary)

# Operation codes: unique across both maps, so a code passed to the wrong map is an error.
COPY = 0  # convert to out's dtype: also astype
NEGATIVE = 1
EXP = 2
LOG = 3
LOG1P = 4
SQRT = 5
ABS = 6
SIGN = 7
TANH = 8
LOGICAL_NOT = 9  # out bool from here to ISFINITE
ISNAN = 10
ISINF = 11
ISFINITE = 12
TRUNC = 13  # arithmetic again (added after the predicates, which keep their codes)

ADD = 20
SUBTRACT = 21
MULTIPLY = 22
DIVIDE = 23
POWER = 24
MAXIMUM = 25
MINIMUM = 26
EQUAL = 27  # out bool from here to LOGICAL_OR
NOT_EQUAL = 28
LESS = 29
LESS_EQUAL = 30
GREATER = 31
GREATER_EQUAL = 32
LOGICAL_AND = 33
LOGICAL_OR = 34
# Not for callers: binary_map runs POWER on integer operands as this (NumPy's integer loop).
INTEGER_POWER = 35
# where_map takes no code; this one names it for callers that look every operation up by name.
WHERE = 36
FMOD = 37
FLOOR_DIVIDE = 38
# Not for callers: binary_map runs FMOD on integer operands as this (C's %, NumPy's integer loop).
INTEGER_FMOD = 39

UNARY_ARITHMETIC = (NEGATIVE, EXP, LOG, LOG1P, SQRT, ABS, SIGN, TANH, TRUNC)
UNARY_PREDICATES = (LOGICAL_NOT, ISNAN, ISINF, ISFINITE)
BINARY_ARITHMETIC = (ADD, SUBTRACT, MULTIPLY, DIVIDE, POWER, MAXIMUM, MINIMUM, FMOD, FLOOR_DIVIDE)
BINARY_PREDICATES = (EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER, GREATER_EQUAL, LOGICAL_AND, LOGICAL_OR)

# exp overflows float64 above log(DBL_MAX): the simulator's math.exp raises there, the GPU returns
# inf. Below it, a float32 exp that overflows float32 (x > 88.72) rounds to inf when it is stored.
EXP_OVERFLOW = math.log(sys.float_info.max)  # 709.782712893384

THREADS_PER_BLOCK = 256
# About what an H100 keeps resident at once (132 multiprocessors, 8 blocks of 256 threads each).
MAX_BLOCKS = 1024


def blocks_for(size):
    """Enough blocks for one thread per element, at most MAX_BLOCKS (the loops stride past that)."""
    return min(math.ceil(size / THREADS_PER_BLOCK), MAX_BLOCKS)


# Every kernel starts the same way, written out in each because a kernel that calls a device
# function cannot be compiled to PTX without a GPU: peel the index along each axis off the
# element's row-major number, last axis first; what is left is the index along axis 0.

@cuda.jit
def copy_kernel(x, x_offset, x_strides, out, out_offset, out_strides, shape, size):
    """out = x converted to out's dtype"""
    for linear in range(cuda.grid(1), size, cuda.gridsize(1)):
        remaining = linear
        x_position = x_offset
        out_position = out_offset
        for axis in range(len(shape) - 1, 0, -1):
            index = remaining % shape[axis]
            remaining //= shape[axis]
            x_position += index * x_strides[axis]
            out_position += index * out_strides[axis]
        x_position += remaining * x_strides[0]
        out_position += remaining * out_strides[0]
        out[out_position] = x[x_position]  # the store converts, as Numba casts (bool -> 0 / 1, NaN -> True)


@cuda.jit
def unary_arithmetic_kernel(operation, x, x_offset, x_strides, out, out_offset, out_strides, shape, size):
    """out = f(x), f in -x, exp, log, log1p, sqrt, abs, sign, tanh, trunc"""
    zero = x.dtype.type(0)
    one = x.dtype.type(1)
    for linear in range(cuda.grid(1), size, cuda.gridsize(1)):
        remaining = linear
        x_position = x_offset
        out_position = out_offset
        for axis in range(len(shape) - 1, 0, -1):
            index = remaining % shape[axis]
            remaining //= shape[axis]
            x_position += index * x_strides[axis]
            out_position += index * out_strides[axis]
        x_position += remaining * x_strides[0]
        out_position += remaining * out_strides[0]
        value = x[x_position]
        # One store per branch rather than a shared result variable, whose type would be unified
        # across branches (float32 with a float64 constant is float64).
        if operation == NEGATIVE:
            out[out_position] = -value
        elif operation == EXP:
            # Compared in float64, exactly: in float32 the threshold would round up past it, and
            # the simulator's math.exp would raise on that one value (float(): NumPy would compare
            # a float32 with a Python float in float32).
            if float(value) > EXP_OVERFLOW:
                out[out_position] = math.inf
            else:
                out[out_position] = math.exp(value)  # exp(nan) = nan, exp(-inf) = 0
        elif operation == LOG:
            if value < zero:
                out[out_position] = math.nan
            elif value == zero:  # -0.0 too
                out[out_position] = -math.inf
            else:
                out[out_position] = math.log(value)
        elif operation == LOG1P:
            if value < -one:
                out[out_position] = math.nan
            elif value == -one:
                out[out_position] = -math.inf
            else:
                out[out_position] = math.log1p(value)
        elif operation == SQRT:
            if value < zero:  # sqrt(-0.0) = -0.0 goes to math.sqrt, as in IEEE
                out[out_position] = math.nan
            else:
                out[out_position] = math.sqrt(value)
        elif operation == ABS:
            out[out_position] = abs(value)
        elif operation == SIGN:
            if value > zero:
                out[out_position] = 1
            elif value < zero:
                out[out_position] = -1
            elif value == zero:  # both zeros give +0, as in NumPy
                out[out_position] = 0
            else:
                out[out_position] = value  # NaN
        elif operation == TANH:
            out[out_position] = math.tanh(value)
        elif operation == TRUNC:  # floats only: unary_map copies integers
            # The simulator's math.trunc raises at NaN and infinities, returns an int (a zero without
            # its sign) and takes no NumPy float32: those values and (-1, 1) are answered here, and the
            # rest goes through float64, where a float32's integer part is exact too.
            if value != value or value == math.inf or value == -math.inf:  # noqa: PLR0124
                out[out_position] = value
            elif -one < value < one:
                out[out_position] = value * zero  # a zero with x's sign
            else:
                out[out_position] = math.trunc(float(value))


@cuda.jit
def unary_predicate_kernel(operation, x, x_offset, x_strides, out, out_offset, out_strides, shape, size):
    """out = p(x) as bool, p in not x, isnan, isinf, isfinite"""
    for linear in range(cuda.grid(1), size, cuda.gridsize(1)):
        remaining = linear
        x_position = x_offset
        out_position = out_offset
        for axis in range(len(shape) - 1, 0, -1):
            index = remaining % shape[axis]
            remaining //= shape[axis]
            x_position += index * x_strides[axis]
            out_position += index * out_strides[axis]
        x_position += remaining * x_strides[0]
        out_position += remaining * out_strides[0]
        value = x[x_position]
        # Comparisons rather than math.isnan / isinf, which Numba types for numbers but not booleans
        # (NumPy has boolean and integer loops for all four).
        if operation == LOGICAL_NOT:
            out[out_position] = value == 0  # NaN is true, so not NaN is false
        elif operation == ISNAN:
            out[out_position] = value != value  # noqa: PLR0124 (only NaN differs from itself)
        elif operation == ISINF:
            out[out_position] = value == math.inf or value == -math.inf
        elif operation == ISFINITE:
            out[out_position] = value == value and value != math.inf and value != -math.inf  # noqa: PLR0124


@cuda.jit
def binary_arithmetic_kernel(operation, a, a_offset, a_strides, b, b_offset, b_strides, out, out_offset, out_strides,
                             shape, size):
    """out = a op b, op in + - * / ** maximum minimum fmod //"""
    zero = a.dtype.type(0)
    one = a.dtype.type(1)
    two = a.dtype.type(2)
    for linear in range(cuda.grid(1), size, cuda.gridsize(1)):
        remaining = linear
        a_position = a_offset
        b_position = b_offset
        out_position = out_offset
        for axis in range(len(shape) - 1, 0, -1):
            index = remaining % shape[axis]
            remaining //= shape[axis]
            a_position += index * a_strides[axis]
            b_position += index * b_strides[axis]
            out_position += index * out_strides[axis]
        a_position += remaining * a_strides[0]
        b_position += remaining * b_strides[0]
        out_position += remaining * out_strides[0]
        left = a[a_position]
        right = b[b_position]
        if operation == ADD:
            out[out_position] = left + right
        elif operation == SUBTRACT:
            out[out_position] = left - right
        elif operation == MULTIPLY:
            out[out_position] = left * right
        elif operation == DIVIDE:
            out[out_position] = left / right  # IEEE: x / 0 = ±inf, 0 / 0 = nan
        elif operation == POWER:
            out[out_position] = left ** right  # C's pow, as NumPy's float loop
        elif operation == MAXIMUM:
            # A NaN left is kept by `left != left`, a NaN right by the failed comparison; on a tie
            # the right operand, as NumPy (which shows in the sign of max(-0.0, 0.0)).
            if left > right or left != left:  # noqa: PLR0124
                out[out_position] = left
            else:
                out[out_position] = right
        elif operation == MINIMUM:
            if left < right or left != left:  # noqa: PLR0124
                out[out_position] = left
            else:
                out[out_position] = right
        elif operation == FMOD:  # floats only: binary_map sends integers to INTEGER_FMOD
            # C's fmod, exact in float64 for float32 values too (float() lets the branch type for
            # int64). NaN where the simulator's math.fmod would raise: b = 0 or an infinite a.
            if right == zero or left == math.inf or left == -math.inf:
                out[out_position] = math.nan
            else:
                out[out_position] = math.fmod(float(left), float(right))
        elif operation == FLOOR_DIVIDE:
            # Numba's // is Python's, which is NumPy's floor_divide: floored for integers (0 for
            # b = 0), and for floats fmod-based with the quotient snapped to an integer, a / b at b = 0.
            out[out_position] = left // right
        elif operation == INTEGER_FMOD:
            # C's % (the sign of a, 0 for b = 0 as NumPy's loop): Python's floored %, moved back by b
            # where its sign differs from a's.
            if right == zero:
                out[out_position] = zero
            else:
                modulus = left % right
                if modulus != zero and (modulus < zero) != (left < zero):
                    modulus -= right
                out[out_position] = modulus
        elif operation == INTEGER_POWER:
            # NumPy's integer loop, repeated squaring (wrapping on overflow); typed for floats too,
            # but binary_map sends only integers here.
            base = left
            exponent = right
            result = one
            if exponent < zero:
                if base == one:
                    result = one
                elif base == -one and exponent % two != zero:
                    result = -one
                elif base != -one:
                    result = zero
                exponent = zero
            while exponent > zero:
                if exponent % two != zero:
                    result *= base
                base *= base
                exponent //= two
            out[out_position] = result


@cuda.jit
def binary_predicate_kernel(operation, a, a_offset, a_strides, b, b_offset, b_strides, out, out_offset, out_strides,
                            shape, size):
    """out = a cmp b as bool, cmp in == != < <= > >= and or"""
    for linear in range(cuda.grid(1), size, cuda.gridsize(1)):
        remaining = linear
        a_position = a_offset
        b_position = b_offset
        out_position = out_offset
        for axis in range(len(shape) - 1, 0, -1):
            index = remaining % shape[axis]
            remaining //= shape[axis]
            a_position += index * a_strides[axis]
            b_position += index * b_strides[axis]
            out_position += index * out_strides[axis]
        a_position += remaining * a_strides[0]
        b_position += remaining * b_strides[0]
        out_position += remaining * out_strides[0]
        left = a[a_position]
        right = b[b_position]
        # Ordered comparisons are false with a NaN, `!=` is true: IEEE, as in NumPy.
        if operation == EQUAL:
            out[out_position] = left == right
        elif operation == NOT_EQUAL:
            out[out_position] = left != right
        elif operation == LESS:
            out[out_position] = left < right
        elif operation == LESS_EQUAL:
            out[out_position] = left <= right
        elif operation == GREATER:
            out[out_position] = left > right
        elif operation == GREATER_EQUAL:
            out[out_position] = left >= right
        elif operation == LOGICAL_AND:
            out[out_position] = left != 0 and right != 0  # NaN counts as true, as in NumPy
        elif operation == LOGICAL_OR:
            out[out_position] = left != 0 or right != 0


@cuda.jit
def where_kernel(condition, condition_offset, condition_strides, a, a_offset, a_strides, b, b_offset, b_strides,
                 out, out_offset, out_strides, shape, size):
    """out = a where condition else b"""
    for linear in range(cuda.grid(1), size, cuda.gridsize(1)):
        remaining = linear
        condition_position = condition_offset
        a_position = a_offset
        b_position = b_offset
        out_position = out_offset
        for axis in range(len(shape) - 1, 0, -1):
            index = remaining % shape[axis]
            remaining //= shape[axis]
            condition_position += index * condition_strides[axis]
            a_position += index * a_strides[axis]
            b_position += index * b_strides[axis]
            out_position += index * out_strides[axis]
        condition_position += remaining * condition_strides[0]
        a_position += remaining * a_strides[0]
        b_position += remaining * b_strides[0]
        out_position += remaining * out_strides[0]
        # Only the chosen operand is read.
        if condition[condition_position]:
            out[out_position] = a[a_position]
        else:
            out[out_position] = b[b_position]


def unary_map(operation, x, x_offset, x_strides, out, out_offset, out_strides, shape):
    """out[view] = operation(x[view]) over ``shape``; views are (buffer, offset, element strides)."""
    size = math.prod(shape)
    if size == 0:
        return  # a grid of zero blocks is an error, and there is nothing to do
    arguments = (x, x_offset, tuple(x_strides), out, out_offset, tuple(out_strides), tuple(shape), size)
    launch = (blocks_for(size), THREADS_PER_BLOCK)
    if operation == COPY or (operation == TRUNC and x.dtype.kind in "iub"):  # an integer is its own trunc
        copy_kernel[launch](*arguments)
    elif operation in UNARY_ARITHMETIC:
        unary_arithmetic_kernel[launch](operation, *arguments)
    elif operation in UNARY_PREDICATES:
        unary_predicate_kernel[launch](operation, *arguments)
    else:
        raise ValueError(f"unary_map: unknown operation code {operation}")


def binary_map(operation, a, a_offset, a_strides, b, b_offset, b_strides, out, out_offset, out_strides, shape):
    """out[view] = a[view] operation b[view] over ``shape``; views are (buffer, offset, element strides)."""
    size = math.prod(shape)
    if size == 0:
        return
    arguments = (a, a_offset, tuple(a_strides), b, b_offset, tuple(b_strides), out, out_offset, tuple(out_strides),
                 tuple(shape), size)
    launch = (blocks_for(size), THREADS_PER_BLOCK)
    if operation in BINARY_ARITHMETIC:
        if operation == POWER and a.dtype.kind in "iub":
            operation = INTEGER_POWER
        elif operation == FMOD and a.dtype.kind in "iub":
            operation = INTEGER_FMOD
        binary_arithmetic_kernel[launch](operation, *arguments)
    elif operation in BINARY_PREDICATES:
        binary_predicate_kernel[launch](operation, *arguments)
    else:
        raise ValueError(f"binary_map: unknown operation code {operation}")


def where_map(condition, condition_offset, condition_strides, a, a_offset, a_strides, b, b_offset, b_strides,
              out, out_offset, out_strides, shape):
    """out[view] = a[view] where condition[view] else b[view] over ``shape``."""
    size = math.prod(shape)
    if size == 0:
        return
    where_kernel[blocks_for(size), THREADS_PER_BLOCK](
        condition, condition_offset, tuple(condition_strides), a, a_offset, tuple(a_strides), b, b_offset,
        tuple(b_strides), out, out_offset, tuple(out_strides), tuple(shape), size)


# The argument types tests/test_cuda_kernels.py compiles every kernel for (nothing compiles at import):
# each dtype once, with one, two or three axes (what merged views leave), two compute capabilities.
def _view(dtype, axes):
    """(buffer, offset, strides) of an operand."""
    return (dtype[:], int64, types.UniTuple(int64, axes))


def _unary(in_dtype, out_dtype, axes, operation=()):
    return (*operation, *_view(in_dtype, axes), *_view(out_dtype, axes), types.UniTuple(int64, axes), int64)


def _binary(in_dtype, out_dtype, axes):
    return (int64, *_view(in_dtype, axes), *_view(in_dtype, axes), *_view(out_dtype, axes),
            types.UniTuple(int64, axes), int64)


DTYPE_AXES = [(float32, 2), (float64, 3), (int64, 1)]
PTX_SIGNATURES = {
    "copy_kernel": [_unary(source, target, axes) for source, target, axes in (
        (float32, float64, 2), (float64, float32, 3), (boolean, float32, 1), (int64, float32, 2), (float32, int64, 2),
        (float32, boolean, 2))],
    "unary_arithmetic_kernel": [_unary(dtype, dtype, axes, (int64,)) for dtype, axes in DTYPE_AXES],
    "unary_predicate_kernel": [_unary(dtype, boolean, axes, (int64,)) for dtype, axes in [*DTYPE_AXES, (boolean, 2)]],
    "binary_arithmetic_kernel": [_binary(dtype, dtype, axes) for dtype, axes in DTYPE_AXES],
    "binary_predicate_kernel": [_binary(dtype, boolean, axes) for dtype, axes in [*DTYPE_AXES, (boolean, 2)]],
    "where_kernel": [(*_view(boolean, axes), *_view(dtype, axes), *_view(dtype, axes), *_view(dtype, axes),
                      types.UniTuple(int64, axes), int64) for dtype, axes in DTYPE_AXES],
}
