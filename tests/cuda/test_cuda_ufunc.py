"""kernels/cuda/ufunc.py against NumPy's ufuncs on the same views.

Every operand is a NumPy view of a 1-D base array; the kernels get the whole base uploaded, the
view's element offset and its element strides, exactly as a device array hands them over. The
views cover the layouts a device array produces: contiguous, sliced at an offset with a step,
transposed, broadcast (stride 0) and reversed (negative stride). Outputs are views of a base
pre-filled with a marker (NaN, a sentinel integer, the byte 2 for booleans), so an element no
thread wrote fails, and so does a write outside the view.

Small sizes throughout: the simulator runs every GPU thread as a Python thread.
"""
import numpy as np
import pytest
from minigrad.kernels.cuda import ufunc
from numba import cuda

# The simulator's threads compute on NumPy scalars, which warn where NumPy's array loops are silent.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

FLOATS = [np.float32, np.float64]
TOLERANCES = {np.dtype(np.float32): {"rtol": 1e-6, "atol": 0},
              np.dtype(np.float64): {"rtol": 1e-12, "atol": 0}}
EDGE_FLOATS = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -8.0, 1 / 3, 3.0, 100.0,
               -100.0, 1000.0, -1.5, 1e-30]
EDGE_INTEGERS = [0, 1, -1, 2, -2, 3, -3, 5, -7, 2**62, -(2**62), 2**63 - 1]

UNARY_FUNCTIONS = {
    "NEGATIVE": np.negative, "EXP": np.exp, "LOG": np.log, "LOG1P": np.log1p, "SQRT": np.sqrt,
    "ABS": np.absolute, "SIGN": np.sign, "TANH": np.tanh, "TRUNC": np.trunc,
    "LOGICAL_NOT": np.logical_not, "ISNAN": np.isnan, "ISINF": np.isinf, "ISFINITE": np.isfinite,
}
UNARY_PREDICATES = ["LOGICAL_NOT", "ISNAN", "ISINF", "ISFINITE"]
BINARY_FUNCTIONS = {
    "ADD": np.add, "SUBTRACT": np.subtract, "MULTIPLY": np.multiply, "DIVIDE": np.divide, "POWER": np.power,
    "MAXIMUM": np.maximum, "MINIMUM": np.minimum, "FMOD": np.fmod, "FLOOR_DIVIDE": np.floor_divide,
    "EQUAL": np.equal, "NOT_EQUAL": np.not_equal, "LESS": np.less, "LESS_EQUAL": np.less_equal,
    "GREATER": np.greater, "GREATER_EQUAL": np.greater_equal,
    "LOGICAL_AND": np.logical_and, "LOGICAL_OR": np.logical_or,
}
BINARY_PREDICATES = ["EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "LOGICAL_AND",
                     "LOGICAL_OR"]


# --- views in, views out ---------------------------------------------------------------------------

def view_arguments(base, view):
    """(offset, element strides) of ``view`` inside its 1-D ``base``: what the kernels take with the buffer.

    A 0-d view goes as one axis of stride 0, as the device array passes it."""
    offset = (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // base.itemsize
    return offset, tuple(stride // base.itemsize for stride in view.strides) or (0,)


def operand(base, make_view):
    """(host view, kernel arguments) of the view ``make_view(base)`` with the whole base uploaded."""
    view = make_view(base)
    return view, (cuda.to_device(base), *view_arguments(base, view))


def planted(base, make_view, values):
    """``base`` with ``values`` written to the first elements the view reads (in the view's order),
    so that edge cases land inside the view whatever its offset, step or broadcast."""
    positions = make_view(np.arange(base.size)).ravel()
    _, first = np.unique(positions, return_index=True)
    in_view_order = positions[np.sort(first)]
    count = min(len(values), in_view_order.size)
    base[in_view_order[:count]] = np.asarray(values, base.dtype)[:count]
    return base


def edge_operand(dtype, size, make_view, seed=0, extra=()):
    """An operand of ``dtype`` over a random base of ``size`` whose view starts with the edge cases
    (then ``extra``): NaN, ±inf, ±0, ±1... for floats, wrapping values for int64."""
    generator = np.random.default_rng(seed)
    if np.dtype(dtype) == bool:
        return operand(generator.integers(0, 2, size).astype(bool), make_view)
    if np.dtype(dtype).kind == "i":
        base, edges = generator.integers(-50, 50, size).astype(dtype), EDGE_INTEGERS
    else:
        base, edges = (generator.standard_normal(size) * 3).astype(dtype), EDGE_FLOATS
    return operand(planted(base, make_view, [*edges, *extra]), make_view)


def marked_base(size, dtype):
    """An output base full of a value no kernel writes here, so unwritten elements show."""
    base = np.empty(size, dtype)
    if base.dtype == bool:
        base.view(np.uint8)[:] = 2  # neither False (0) nor True (1)
    elif base.dtype.kind == "f":
        base[:] = np.nan
    else:
        base[:] = -(2**63) + 12345
    return base


def run(entry, code, inputs, out_dtype, out_size, make_out_view):
    """Run ``entry`` on the operand arguments ``inputs``; return the output view read back.

    Also checks that every element outside the output view still holds its marker."""
    base = marked_base(out_size, out_dtype)
    device_base = cuda.to_device(base)
    out_view = make_out_view(base)
    offset, strides = view_arguments(base, out_view)
    arguments = [argument for arguments in inputs for argument in arguments]
    prefix = () if code is None else (code,)
    entry(*prefix, *arguments, device_base, offset, strides, out_view.shape or (1,))
    host = device_base.copy_to_host()
    covered = np.zeros(out_size, bool)
    make_out_view(covered)[...] = True
    np.testing.assert_array_equal(host[~covered].view(np.uint8), base[~covered].view(np.uint8))
    return make_out_view(host)


def assert_matches(got, expected):
    assert got.dtype == expected.dtype
    if got.dtype == bool:
        assert set(np.unique(got.view(np.uint8))) <= {0, 1}, "an output element was not written"
        np.testing.assert_array_equal(got, expected)
    elif got.dtype.kind == "f":
        np.testing.assert_allclose(got, expected, **TOLERANCES[got.dtype])  # NaN where NaN, inf where inf
    else:
        np.testing.assert_array_equal(got, expected)


def expected_unary(name, x, out_dtype):
    with np.errstate(all="ignore"):
        if name == "COPY":
            return x.astype(out_dtype)
        return UNARY_FUNCTIONS[name](x)


def expected_binary(name, a, b):
    with np.errstate(all="ignore"):
        return BINARY_FUNCTIONS[name](a, b)


# --- layouts ---------------------------------------------------------------------------------------
# (input base size, input view, output base size, output view); inputs are laid out as in a device array.

UNARY_LAYOUTS = {
    # 300 elements: a partial second block of 256 threads.
    "contiguous-1d": (300, lambda base: base[:300], 300, lambda base: base[:300]),
    # Offset 7, every other element of rows of 10, into a transposed output at offset 5.
    "sliced-3d-into-transposed": (130, lambda base: base[7:127].reshape(3, 4, 10)[:, :, ::2],
                                  70, lambda base: base[5:65].reshape(5, 4, 3).transpose(2, 1, 0)),
    # A (1, 4, 1, 5) block broadcast along axes 0 and 2, reversed along its last axis.
    "broadcast-reversed-4d": (25, lambda base: np.broadcast_to(base[3:23].reshape(1, 4, 1, 5)[..., ::-1], (2, 4, 3, 5)),
                              120, lambda base: base.reshape(2, 4, 3, 5)),
}


def run_unary(name, dtype, out_dtype, layout):
    input_size, make_input_view, out_size, make_out_view = UNARY_LAYOUTS[layout]
    x, arguments = edge_operand(dtype, input_size, make_input_view)
    got = run(ufunc.unary_map, getattr(ufunc, name), [arguments], out_dtype, out_size, make_out_view)
    return got, expected_unary(name, x, out_dtype)


@pytest.mark.parametrize("layout", ["sliced-3d-into-transposed", "broadcast-reversed-4d"])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(UNARY_FUNCTIONS))
def test_unary_operations_match_numpy_on_floats(name, dtype, layout):
    out_dtype = bool if name in UNARY_PREDICATES else dtype
    assert_matches(*run_unary(name, dtype, out_dtype, layout))


@pytest.mark.parametrize("name", ["NEGATIVE", "ABS", "SIGN", "TRUNC", "ISNAN", "ISINF", "ISFINITE", "LOGICAL_NOT"])
def test_unary_operations_match_numpy_on_int64(name):
    out_dtype = bool if name in UNARY_PREDICATES else np.int64
    assert_matches(*run_unary(name, np.int64, out_dtype, "sliced-3d-into-transposed"))


@pytest.mark.parametrize("name", UNARY_PREDICATES)
def test_predicates_take_booleans(name):
    assert_matches(*run_unary(name, bool, bool, "sliced-3d-into-transposed"))


DTYPE_NAMES = {"bool": bool, "int64": np.int64, "float32": np.float32, "float64": np.float64}


@pytest.mark.parametrize("target", sorted(DTYPE_NAMES))
@pytest.mark.parametrize("source", sorted(DTYPE_NAMES))
def test_copy_converts_as_astype(source, target):
    source_dtype, target_dtype = DTYPE_NAMES[source], DTYPE_NAMES[target]
    _, make_view, out_size, make_out_view = UNARY_LAYOUTS["sliced-3d-into-transposed"]
    extra = ()
    if source_dtype == np.float64:
        extra = (1e300, -1e300, 1e-300)  # overflow to ±inf and underflow to 0 when narrowed to float32
    if source_dtype == np.int64:
        extra = (2**53 + 1, -(2**40) - 3)  # rounded to the nearest float
    x, arguments = edge_operand(source_dtype, 130, make_view, seed=4, extra=extra)
    if np.dtype(source_dtype).kind == "f" and np.dtype(target_dtype).kind == "i":
        # NaN, ±inf and values past int64 convert to undefined integers (NumPy warns): finite ones only.
        base = arguments[0].copy_to_host()
        base[~np.isfinite(base) | (np.abs(base) > 1e18)] = 2.5
        x, arguments = operand(base, make_view)
    got = run(ufunc.unary_map, ufunc.COPY, [arguments], target_dtype, out_size, make_out_view)
    if target_dtype in (np.float32, np.float64):
        np.testing.assert_array_equal(got, x.astype(target_dtype))  # a conversion rounds once: the same bits
    assert_matches(got, x.astype(target_dtype))


def test_float_to_int64_truncates_toward_zero():
    _, arguments = operand(np.array([2.9, -2.9, 0.5, -0.5, 1e15 + 0.5, -7.0], np.float64), lambda base: base)
    got = run(ufunc.unary_map, ufunc.COPY, [arguments], np.int64, 6, lambda base: base)
    np.testing.assert_array_equal(got, [2, -2, 0, 0, 10**15, -7])


def test_edge_values_of_the_unary_math():
    _, arguments = operand(np.array([0.0, -0.0, -1.0, -1e-30, np.inf, -np.inf, np.nan, 710.0, 89.0], np.float32),
                           lambda base: base)
    results = {}
    for name in ("LOG", "LOG1P", "SQRT", "EXP", "SIGN"):
        results[name] = run(ufunc.unary_map, getattr(ufunc, name), [arguments], np.float32, 9, lambda base: base)
    nan, inf = np.nan, np.inf
    close = TOLERANCES[np.dtype(np.float32)]  # NaN and inf where expected, finite values within rounding
    np.testing.assert_allclose(results["LOG"], [-inf, -inf, nan, nan, inf, nan, nan, np.log(np.float32(710)),
                                                np.log(np.float32(89))], **close)
    np.testing.assert_array_equal(results["LOG1P"][:4], np.array([0, -0.0, -inf, -1e-30], np.float32))
    np.testing.assert_array_equal(results["SQRT"][:7], [0, -0.0, nan, nan, inf, nan, nan])
    assert np.signbit(results["SQRT"][1])  # sqrt(-0.0) = -0.0
    np.testing.assert_allclose(results["EXP"], [1, 1, np.exp(np.float32(-1)), 1, inf, 0, nan, inf, inf], **close)
    np.testing.assert_array_equal(results["SIGN"][:7], [0, 0, -1, -1, 1, -1, nan])
    assert not np.signbit(results["SIGN"][1])  # sign(-0.0) = +0.0, as NumPy


@pytest.mark.parametrize("dtype", FLOATS)
def test_exp_is_finite_up_to_the_largest_value_of_the_dtype(dtype):
    x, arguments = operand(np.array([88.72, 88.73, 709.78, 709.7827, 709.79, 1e5], dtype), lambda base: base)
    got = run(ufunc.unary_map, ufunc.EXP, [arguments], dtype, 6, lambda base: base)
    with np.errstate(over="ignore"):
        expected = np.exp(x)
    assert np.isfinite(expected[0]) and (dtype == np.float32 or np.isfinite(expected[3]))
    np.testing.assert_allclose(got, expected, **TOLERANCES[np.dtype(dtype)])


# --- binary ----------------------------------------------------------------------------------------

def binary_layouts(edge_count):
    """(a view, b view, out size, out view): every edge value of a meets every edge value of b."""
    square = edge_count * edge_count
    return {
        # a down the rows (stride (1, 0)), b along the columns reversed (stride (0, -1)), at offsets.
        "outer-broadcast-2d": (
            lambda base: np.broadcast_to(base[2:2 + edge_count, None], (edge_count, edge_count)),
            lambda base: np.broadcast_to(base[1 + edge_count:1:-1][None, :], (edge_count, edge_count)),
            square + 3, lambda base: base[3:].reshape(edge_count, edge_count)),
        # 3-d: a transposed, b sliced with a step at an offset, into a contiguous output.
        "transposed-sliced-3d": (
            lambda base: base[:60].reshape(5, 4, 3).transpose(2, 1, 0),
            lambda base: base[4:124].reshape(3, 4, 10)[:, :, 1::2],
            60, lambda base: base.reshape(3, 4, 5)),
        # 4-d: a broadcast along two axes, b contiguous.
        "broadcast-4d": (
            lambda base: np.broadcast_to(base[:6].reshape(2, 1, 3, 1), (2, 4, 3, 5)),
            lambda base: base[:120].reshape(2, 4, 3, 5),
            120, lambda base: base.reshape(2, 4, 3, 5)),
    }


def run_binary(name, dtype, layout, out_dtype=None, seed=0):
    edges = EDGE_INTEGERS if np.dtype(dtype).kind == "i" else EDGE_FLOATS
    make_a, make_b, out_size, make_out_view = binary_layouts(len(edges))[layout]
    size = max(300, len(edges) * len(edges))
    a, a_arguments = edge_operand(dtype, size, make_a, seed)
    b, b_arguments = edge_operand(dtype, size, make_b, seed + 1)
    if out_dtype is None:
        out_dtype = bool if name in BINARY_PREDICATES else dtype
    got = run(ufunc.binary_map, getattr(ufunc, name), [a_arguments, b_arguments], out_dtype, out_size, make_out_view)
    return got, a, b


@pytest.mark.parametrize("layout", ["outer-broadcast-2d", "transposed-sliced-3d", "broadcast-4d"])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(set(BINARY_FUNCTIONS) - set(BINARY_PREDICATES)))
def test_binary_arithmetic_matches_numpy_on_floats(name, dtype, layout):
    got, a, b = run_binary(name, dtype, layout)
    assert_matches(got, expected_binary(name, a, b))


# The comparisons share one kernel, whose index arithmetic the two layouts cover (offsets, a step,
# a transpose, broadcast and a negative stride); the outer layout meets every edge value with every other.
@pytest.mark.parametrize("layout", ["outer-broadcast-2d", "transposed-sliced-3d"])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", BINARY_PREDICATES)
def test_comparisons_match_numpy_on_floats(name, dtype, layout):
    got, a, b = run_binary(name, dtype, layout)
    assert_matches(got, expected_binary(name, a, b))


@pytest.mark.parametrize("name", sorted(set(BINARY_FUNCTIONS) - {"DIVIDE", "POWER"}))
def test_binary_operations_match_numpy_on_int64(name):
    # Wrapping included: the edge values hold 2**62 and 2**63 - 1.
    got, a, b = run_binary(name, np.int64, "outer-broadcast-2d")
    assert_matches(got, expected_binary(name, a, b))


def test_integer_power_is_numpys_integer_loop():
    bases = np.arange(-3, 4, dtype=np.int64)
    exponents = np.array([0, 1, 2, 3, 5, 39, 62, -1, -2, -3], np.int64)
    a, a_arguments = operand(bases, lambda base: np.broadcast_to(base[:, None], (7, 10)))
    b, b_arguments = operand(exponents, lambda base: np.broadcast_to(base[None, :], (7, 10)))
    got = run(ufunc.binary_map, ufunc.POWER, [a_arguments, b_arguments], np.int64, 70, lambda base: base.reshape(7, 10))
    non_negative = b >= 0
    np.testing.assert_array_equal(got[non_negative], np.power(a, np.where(non_negative, b, 0))[non_negative])
    # NumPy refuses negative integer exponents; here C's truncated 1 / a**n.
    negative = got[:, 7:]
    np.testing.assert_array_equal(negative[bases == 1], 1)
    np.testing.assert_array_equal(negative[bases == -1], [[-1, 1, -1]])
    np.testing.assert_array_equal(negative[np.abs(bases) != 1], 0)


@pytest.mark.parametrize("name", ["LOGICAL_AND", "LOGICAL_OR", "EQUAL", "NOT_EQUAL", "LESS", "GREATER_EQUAL"])
def test_binary_predicates_on_booleans(name):
    got, a, b = run_binary(name, bool, "transposed-sliced-3d")
    assert_matches(got, expected_binary(name, a, b))


def test_edge_values_of_the_binary_math():
    nan, inf = np.nan, np.inf
    a, a_arguments = operand(np.array([1.0, -1.0, 0.0, 0.0, -8.0, 0.0, -0.0, nan, 1.0, nan, -0.0, 0.0], np.float32),
                             lambda base: base)
    b, b_arguments = operand(np.array([0.0, 0.0, 0.0, -1.0, 1 / 3, 0.0, -1.0, 0.0, nan, 2.0, 0.0, -0.0], np.float32),
                             lambda base: base)
    divide = run(ufunc.binary_map, ufunc.DIVIDE, [a_arguments, b_arguments], np.float32, 12, lambda base: base)
    np.testing.assert_array_equal(divide[:4], [inf, -inf, nan, -0.0])
    power = run(ufunc.binary_map, ufunc.POWER, [a_arguments, b_arguments], np.float32, 12, lambda base: base)
    np.testing.assert_array_equal(power[:10], [1, 1, 1, inf, nan, 1, -inf, 1, 1, nan])
    maximum = run(ufunc.binary_map, ufunc.MAXIMUM, [a_arguments, b_arguments], np.float32, 12, lambda base: base)
    minimum = run(ufunc.binary_map, ufunc.MINIMUM, [a_arguments, b_arguments], np.float32, 12, lambda base: base)
    np.testing.assert_array_equal(maximum[7:10], [nan, nan, nan])
    np.testing.assert_array_equal(minimum[7:10], [nan, nan, nan])
    # On a tie NumPy returns the second operand, which shows in the sign of a zero.
    np.testing.assert_array_equal(np.signbit(maximum[10:]), np.signbit(np.maximum(a[10:], b[10:])))
    np.testing.assert_array_equal(np.signbit(minimum[10:]), np.signbit(np.minimum(a[10:], b[10:])))
    not_equal = run(ufunc.binary_map, ufunc.NOT_EQUAL, [a_arguments, b_arguments], bool, 12, lambda base: base)
    less_equal = run(ufunc.binary_map, ufunc.LESS_EQUAL, [a_arguments, b_arguments], bool, 12, lambda base: base)
    assert not_equal[7] and not_equal[8] and not less_equal[7] and not less_equal[8]


# --- where, in place, grid, sizes --------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS + [np.int64])
def test_where_selects_like_numpy(dtype):
    condition, condition_arguments = edge_operand(
        bool, 40, lambda base: np.broadcast_to(base[3:23].reshape(4, 5)[:, None, :], (4, 3, 5)), seed=5)
    a, a_arguments = edge_operand(dtype, 60, lambda base: base.reshape(5, 3, 4).transpose(2, 1, 0), seed=6)
    b, b_arguments = edge_operand(dtype, 5, lambda base: np.broadcast_to(base, (4, 3, 5)), seed=7)
    got = run(ufunc.where_map, None, [condition_arguments, a_arguments, b_arguments], dtype, 61,
              lambda base: base[1:].reshape(4, 3, 5))
    np.testing.assert_array_equal(got, np.where(condition, a, b))


def test_in_place_output_aliasing_an_input():
    # np.add(x, y, out=x) on a sliced view: out and a are the same elements of the same buffer.
    def make_view(values):
        return values[10:90].reshape(8, 10)[:, ::2]

    view, (device_base, offset, strides) = edge_operand(np.float64, 100, make_view, seed=8)
    base = device_base.copy_to_host()
    y_view, y_arguments = edge_operand(np.float64, 40, lambda values: values.reshape(8, 5), seed=9)
    ufunc.binary_map(ufunc.ADD, device_base, offset, strides, *y_arguments, device_base, offset, strides, view.shape)
    expected = base.copy()
    expected[10:90].reshape(8, 10)[:, ::2] += y_view
    np.testing.assert_array_equal(device_base.copy_to_host(), expected)


@pytest.mark.parametrize("name", ["EXP", "LOG", "ISNAN"])
def test_a_partial_second_block(name):
    # 300 elements: two blocks of 256 threads, 212 of them without an element.
    out_dtype = bool if name in UNARY_PREDICATES else np.float32
    assert_matches(*run_unary(name, np.float32, out_dtype, "contiguous-1d"))


def test_the_grid_stride_loop_covers_arrays_larger_than_the_grid(monkeypatch):
    monkeypatch.setattr(ufunc, "MAX_BLOCKS", 1)  # one block of 256 threads for 300 elements
    got, expected = run_unary("SQRT", np.float32, np.float32, "contiguous-1d")
    assert_matches(got, expected)
    monkeypatch.setattr(ufunc, "THREADS_PER_BLOCK", 32)  # 32 threads for 120 elements
    got, a, b = run_binary("MULTIPLY", np.float64, "broadcast-4d")
    assert_matches(got, expected_binary("MULTIPLY", a, b))


def test_a_zero_dimensional_operand_goes_as_shape_one():
    _, arguments = operand(np.array([-2.5, 4.0], np.float64), lambda base: base[1:2].reshape(()))
    got = run(ufunc.unary_map, ufunc.SQRT, [arguments], np.float64, 1, lambda base: base[0:1].reshape(()))
    assert got == 2.0


def test_empty_shapes_launch_nothing():
    x = cuda.to_device(np.ones(4, np.float32))
    out = cuda.to_device(np.full(4, np.nan, np.float32))
    ufunc.unary_map(ufunc.EXP, x, 0, (1,), out, 0, (1,), (0,))
    ufunc.binary_map(ufunc.ADD, x, 0, (4, 1), x, 0, (4, 1), out, 0, (4, 1), (3, 0))
    ufunc.where_map(x, 0, (1,), x, 0, (1,), x, 0, (1,), out, 0, (1,), (0,))
    assert np.isnan(out.copy_to_host()).all()


def test_unknown_operation_codes_are_refused():
    x = cuda.to_device(np.ones(4, np.float32))
    with pytest.raises(ValueError, match="unary_map"):
        ufunc.unary_map(ufunc.ADD, x, 0, (1,), x, 0, (1,), (4,))
    with pytest.raises(ValueError, match="binary_map"):
        ufunc.binary_map(ufunc.EXP, x, 0, (1,), x, 0, (1,), x, 0, (1,), (4,))


def test_operation_codes_are_distinct_ints():
    names = ["COPY", *UNARY_FUNCTIONS, *BINARY_FUNCTIONS, "INTEGER_POWER", "INTEGER_FMOD", "WHERE"]
    codes = [getattr(ufunc, name) for name in names]
    assert all(isinstance(code, int) for code in codes)
    assert len(set(codes)) == len(codes)


def test_fmod_floor_divide_and_trunc_keep_numpys_signs_of_zeros():
    a, a_arguments = operand(np.array([-0.0, 0.0, -4.0, 4.0, -0.5, 0.5, -6.0, 1.0], np.float64), lambda base: base)
    b, b_arguments = operand(np.array([3.0, -3.0, 2.0, -2.0, 1.0, -np.inf, -3.0, -np.inf], np.float64),
                             lambda base: base)
    for name in ("FMOD", "FLOOR_DIVIDE"):
        got = run(ufunc.binary_map, getattr(ufunc, name), [a_arguments, b_arguments], np.float64, 8, lambda base: base)
        expected = BINARY_FUNCTIONS[name](a, b)
        np.testing.assert_array_equal(got, expected, err_msg=name)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(expected), err_msg=name)
    got = run(ufunc.unary_map, ufunc.TRUNC, [a_arguments], np.float64, 8, lambda base: base)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(np.trunc(a)))
