"""The Tensor API: creation, properties, devices, operators, methods, in-place updates and errors.

Forward values are compared with NumPy; gradients are tested against PyTorch in test_ops_torch.py.
"""
import re

import numpy as np
import pytest

import minigrad as mg


def assert_matches(tensor, expected, dtype=None):
    """``tensor`` holds the values (and shape) of the NumPy result ``expected``."""
    assert isinstance(tensor, mg.Tensor)
    expected = np.asarray(expected)
    assert tensor.shape == expected.shape
    np.testing.assert_allclose(tensor.numpy(), expected, rtol=1e-6, atol=1e-6)
    if dtype is not None:
        assert tensor.dtype == dtype


def sample(*shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# --- creation -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "data, dtype",
    [
        (1.5, mg.float32),
        ([1.0, 2.0], mg.float32),
        ([[1, 2], [3, 4]], mg.int64),
        (3, mg.int64),
        ([True, False], mg.bool_),
        (True, mg.bool_),
        (np.array([1.0, 2.0]), mg.float64),
        (np.array([1.0, 2.0], dtype=np.float32), mg.float32),
        (np.array([1, 2], dtype=np.int32), mg.int32),  # as torch.tensor: int32 is kept
        (np.array([1, 2], dtype=np.uint8), mg.int64),  # uint8 is not a minigrad dtype
    ],
)
def test_tensor_infers_dtype(data, dtype):
    t = mg.tensor(data)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.numpy(), np.asarray(data))


@pytest.mark.parametrize(
    "scalar, dtype", [(np.float64(1.5), mg.float64), (np.float32(1.5), mg.float32), (np.int32(3), mg.int32),
                      (np.int16(3), mg.int64)]
)
def test_tensor_of_numpy_scalar_keeps_its_float_dtype(scalar, dtype):
    # as torch.tensor(np.float64(1.5)), which is float64: a NumPy scalar is NumPy data, not a Python float
    assert mg.tensor(scalar).dtype == dtype


@pytest.mark.parametrize(
    "dtype", [mg.float32, mg.float64, mg.int64, mg.bool_, "float64", "float32", "int64", np.float64]
)
def test_tensor_explicit_dtype(dtype):
    t = mg.tensor([0, 1, 2], dtype=dtype)
    assert t.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(t.numpy(), np.array([0, 1, 2]).astype(dtype))


def test_tensor_copies_its_data():
    array = np.array([1.0, 2.0])
    t = mg.tensor(array)
    array[0] = 100.0
    assert t.tolist() == [1.0, 2.0]


def test_tensor_from_tensor_copies():
    source = mg.tensor([1.0, 2.0])
    copy = mg.tensor(source)
    source += 1
    assert copy.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.bool_])
def test_from_numpy_shares_memory(dtype):
    array = np.zeros(3, dtype=dtype)
    t = mg.from_numpy(array)
    assert t.dtype == dtype
    array[1] = 1
    assert t.numpy()[1] == 1
    assert np.shares_memory(t.numpy(), array)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float16, np.complex64])
def test_from_numpy_rejects_unsupported_dtypes(dtype):
    with pytest.raises(TypeError, match=np.dtype(dtype).name):
        mg.from_numpy(np.zeros(3, dtype=dtype))


def test_from_numpy_rejects_non_arrays():
    with pytest.raises(TypeError, match="from_numpy"):
        mg.from_numpy([1.0, 2.0])


@pytest.mark.parametrize("make, fill", [(mg.zeros, 0.0), (mg.ones, 1.0)])
@pytest.mark.parametrize("shape_args", [((2, 3),), (2, 3), ([2, 3],)])
def test_zeros_ones_shape_forms(make, fill, shape_args):
    t = make(*shape_args)
    assert t.shape == (2, 3)
    assert t.dtype == mg.float32
    assert np.all(t.numpy() == fill)


@pytest.mark.parametrize("make", [mg.zeros, mg.ones, mg.empty, mg.rand, mg.randn])
@pytest.mark.parametrize("shape_args", [((4, 1, 2),), (4, 1, 2)])
def test_creation_shape_dtype_requires_grad(make, shape_args):
    default = make(*shape_args)
    assert default.shape == (4, 1, 2)
    assert default.dtype == mg.float32
    assert not default.requires_grad and default.is_leaf
    t = make(*shape_args, dtype=mg.float64, requires_grad=True)
    assert t.dtype == mg.float64
    assert t.requires_grad and t.is_leaf


def test_zeros_scalar_shape():
    assert mg.zeros(()).shape == ()
    assert mg.ones(3).shape == (3,)


def test_creation_int_dtype():
    t = mg.zeros(2, dtype=mg.int64)
    assert t.dtype == mg.int64
    with pytest.raises(TypeError):
        mg.zeros(2, dtype=mg.int64, requires_grad=True)


@pytest.mark.parametrize("bad_shape", [(-1, 2), (2.5,)])
def test_creation_rejects_bad_shapes(bad_shape):
    with pytest.raises(ValueError, match="shape"):
        mg.zeros(*bad_shape)


@pytest.mark.parametrize(
    "shape, value, dtype, expected_dtype",
    [
        ((2, 3), 7, None, mg.int64),
        ((2, 3), 1.5, None, mg.float32),  # a Python float fills float32, as torch.full
        ((2, 3), True, None, mg.bool_),
        ((2, 3), 2, mg.float64, mg.float64),
        (4, 0.5, mg.float64, mg.float64),
    ],
)
def test_full(shape, value, dtype, expected_dtype):
    t = mg.full(shape, value, dtype=dtype)
    expected_shape = shape if isinstance(shape, tuple) else (shape,)
    assert t.shape == expected_shape
    assert t.dtype == expected_dtype
    assert np.all(t.numpy() == value)


def test_full_requires_grad():
    t = mg.full((2,), 3.0, requires_grad=True)
    assert t.requires_grad


@pytest.mark.parametrize(
    "args, kwargs, expected, expected_dtype",
    [
        ((5,), {}, np.arange(5), mg.int64),
        ((2, 7, 2), {}, np.arange(2, 7, 2), mg.int64),
        ((5, 0, -1), {}, np.arange(5, 0, -1), mg.int64),
        ((0, 1, 0.25), {}, np.arange(0, 1, 0.25), mg.float32),  # floats give float32, as torch.arange
        ((4,), {"dtype": mg.float64}, np.arange(4.0), mg.float64),
        ((3,), {"dtype": mg.float32, "requires_grad": True}, np.arange(3.0), mg.float32),
    ],
)
def test_arange(args, kwargs, expected, expected_dtype):
    t = mg.arange(*args, **kwargs)
    assert t.dtype == expected_dtype
    np.testing.assert_allclose(t.numpy(), expected)
    assert t.requires_grad == kwargs.get("requires_grad", False)


@pytest.mark.parametrize("make", [mg.rand, mg.randn])
def test_manual_seed_makes_draws_repeatable(make):
    mg.manual_seed(1234)
    first = make(3, 4).numpy().copy()
    second = make(3, 4).numpy().copy()
    mg.manual_seed(1234)
    assert np.array_equal(make(3, 4).numpy(), first)
    assert np.array_equal(make(3, 4).numpy(), second)
    assert not np.array_equal(first, second)


def test_rand_is_in_unit_interval_and_randn_is_normal():
    mg.manual_seed(0)
    uniform = mg.rand(10_000).numpy()
    assert uniform.min() >= 0 and uniform.max() < 1
    normal = mg.randn(10_000).numpy()
    assert abs(normal.mean()) < 0.05 and abs(normal.std() - 1) < 0.05


# --- properties and conversions ------------------------------------------------------------------

def test_basic_properties():
    t = mg.tensor(np.arange(24.0).reshape(2, 3, 4))
    assert t.shape == (2, 3, 4)
    assert t.ndim == 3
    assert t.size() == (2, 3, 4) and t.numel() == 24
    assert t.dtype == mg.float64
    assert t.device == "cpu"
    assert isinstance(t.data, np.ndarray)
    assert t.grad is None
    assert not t.requires_grad
    assert t.is_leaf
    assert len(t) == 2


def test_len_of_scalar_raises():
    with pytest.raises(TypeError):
        len(mg.tensor(1.0))


def test_grad_is_assignable():
    w = mg.zeros(2, 3, requires_grad=True)
    w.grad = np.ones((2, 3))
    assert isinstance(w.grad, mg.Tensor)
    assert w.grad.dtype == w.dtype
    np.testing.assert_array_equal(w.grad.numpy(), np.ones((2, 3)))
    w.grad = mg.full((2, 3), 2.0)
    assert w.grad.tolist() == [[2.0] * 3] * 2
    w.grad = None
    assert w.grad is None


@pytest.mark.parametrize("value", [np.ones(3), np.ones((3, 2)), mg.ones(2)])
def test_assigning_grad_of_wrong_shape_raises(value):
    w = mg.zeros(2, 3, requires_grad=True)
    with pytest.raises(ValueError, match=re.escape("(2, 3)")):
        w.grad = value


def test_numpy_shares_buffer():
    t = mg.tensor([1.0, 2.0])
    t.numpy()[0] = 5.0
    assert t.tolist() == [5.0, 2.0]


@pytest.mark.parametrize("data, expected", [(2.5, 2.5), ([[3]], 3), ([True], True)])
def test_item(data, expected):
    value = mg.tensor(data).item()
    assert value == expected
    assert type(value) is type(expected)


def test_item_of_many_elements_raises_naming_shape():
    with pytest.raises(ValueError, match=re.escape("(2, 2)")):
        mg.zeros(2, 2).item()


def test_tolist():
    assert mg.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert mg.tensor(1.5).tolist() == 1.5


def test_detach_shares_data_and_needs_no_grad():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.numpy(), y.numpy())
    assert np.array_equal(d.numpy(), y.numpy())


def test_requires_grad_():
    t = mg.zeros(3)
    assert t.requires_grad_() is t
    assert t.requires_grad
    t.requires_grad_(False)
    assert not t.requires_grad


def test_zero_grad_clears_grad():
    w = mg.ones(3, requires_grad=True)
    (w * w).sum().backward()
    assert w.grad is not None
    w.zero_grad()
    assert w.grad is None


@pytest.mark.parametrize(
    "convert, dtype",
    [
        (lambda t: t.float(), mg.float32),
        (lambda t: t.double(), mg.float64),
        (lambda t: t.long(), mg.int64),
        (lambda t: t.to(mg.float64), mg.float64),
        (lambda t: t.to("float64"), mg.float64),
        (lambda t: t.to(mg.int64), mg.int64),
    ],
)
def test_dtype_conversions(convert, dtype):
    t = mg.tensor([1.5, -2.5, 3.0])
    converted = convert(t)
    assert converted.dtype == dtype
    np.testing.assert_array_equal(converted.numpy(), np.array([1.5, -2.5, 3.0]).astype(dtype))


def test_cast_is_differentiable():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.double()
    assert y.dtype == mg.float64 and y.grad_fn is not None
    (y * y).sum().backward()
    assert x.grad.dtype == mg.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])


def test_cast_to_int_does_not_require_grad():
    # As in PyTorch: an integer result cannot carry a gradient.
    x = mg.tensor([1.5, 2.5], requires_grad=True)
    assert not x.long().requires_grad


def test_to_same_dtype_and_cpu_is_identity():
    t = mg.tensor([1.0])
    assert t.to(mg.float32) is t
    assert t.to("cpu") is t
    assert t.cpu() is t


def test_bool_of_one_element():
    assert bool(mg.tensor([1.0]))
    assert not bool(mg.tensor(0))
    with pytest.raises(ValueError):
        bool(mg.tensor([1.0, 2.0]))


def test_repr_shows_values_and_grad_fn():
    x = mg.tensor([1.25, 2.5], requires_grad=True)
    assert "1.25" in repr(x) and "2.5" in repr(x)
    assert "requires_grad=True" in repr(x)
    y = x * 3
    assert "3.75" in repr(y)
    assert "Mul" in repr(y)
    assert "float64" in repr(mg.tensor([1.0], dtype=mg.float64))


def test_requires_grad_on_int_tensor_raises():
    with pytest.raises(TypeError):
        mg.tensor([1, 2], requires_grad=True)
    t = mg.tensor([1, 2])
    with pytest.raises(TypeError):
        t.requires_grad = True
    with pytest.raises(TypeError):
        t.requires_grad_()


def test_setting_requires_grad_on_non_leaf_raises():
    x = mg.tensor([1.0], requires_grad=True)
    y = x * 2
    assert not y.is_leaf
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False


# --- devices --------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "action",
    [
        lambda: mg.tensor([1.0], device="cuda"),
        lambda: mg.tensor([1.0], device="cuda:0"),
        lambda: mg.zeros(2, device="cuda"),
        lambda: mg.tensor([1.0]).cuda(),
        lambda: mg.tensor([1.0]).to("cuda"),
    ],
)
def test_cuda_is_not_available(action):
    with pytest.raises(RuntimeError, match=r"(?i)cuda.*not available|not available.*cuda"):
        action()


@pytest.mark.parametrize(
    "action",
    [lambda: mg.tensor([1.0], device="tpu"), lambda: mg.ones(2, device="gpu"), lambda: mg.randn(2, device="")],
)
def test_unknown_device_raises_value_error(action):
    with pytest.raises(ValueError, match="device"):
        action()


# --- operators ------------------------------------------------------------------------------------

BINARY_OPERATORS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}

BROADCAST_SHAPES = [((2, 3), (2, 3)), ((3, 1, 4), (2, 1)), ((4,), (3, 4)), ((1,), (3, 1)), ((), (2, 2)), ((2, 1), ())]


@pytest.mark.parametrize("name", BINARY_OPERATORS)
@pytest.mark.parametrize("shape_a, shape_b", BROADCAST_SHAPES)
def test_binary_operators_broadcast_like_numpy(name, shape_a, shape_b):
    op = BINARY_OPERATORS[name]
    a, b = sample(*shape_a, seed=1), sample(*shape_b, seed=2) + 3.0
    assert_matches(op(mg.tensor(a), mg.tensor(b)), op(a, b), mg.float64)


def test_power_and_negation():
    a, b = np.abs(sample(3, 4)) + 0.5, sample(4)
    assert_matches(mg.tensor(a) ** mg.tensor(b), a**b)
    assert_matches(mg.tensor(a) ** 2, a**2)
    assert_matches(mg.tensor(a) ** -1.5, a**-1.5)
    assert_matches(2.0 ** mg.tensor(b), 2.0**b)
    assert_matches(-mg.tensor(a), -a)


@pytest.mark.parametrize(
    "expression, dtype",
    [
        (lambda x: 2 + x, mg.float32), (lambda x: 2 - x, mg.float32), (lambda x: 2 * x, mg.float32),
        (lambda x: 2 / x, mg.float32), (lambda x: 2**x, mg.float32), (lambda x: x + 2, mg.float32),
        (lambda x: x - 2, mg.float32), (lambda x: x * 2, mg.float32), (lambda x: x / 2, mg.float32),
        (lambda x: x**2, mg.float32),
        # A float64 array is a float64 tensor to PyTorch, and promotes a float32 one.
        (lambda x: np.ones(3) * x, mg.float64), (lambda x: np.full(3, 5.0) - x, mg.float64),
        (lambda x: np.arange(3.0) + x, mg.float64), (lambda x: np.full((2, 3), 2.0) / x, mg.float64),
        (lambda x: np.ones(3, np.float32) * x, mg.float32),
    ],
)
def test_scalar_and_array_operands_on_either_side(expression, dtype):
    data = np.array([1.0, 2.0, 4.0], dtype=np.float32)
    result = expression(mg.tensor(data))
    assert isinstance(result, mg.Tensor)
    assert_matches(result, expression(data.astype(np.float64)), dtype)


def test_python_scalar_keeps_float32():
    x = mg.ones(3)
    for result in (x * 2, x * 2.5, 2.5 * x, x + 1, x / 3, x - 0.5, x**2):
        assert result.dtype == mg.float32


def test_int_tensor_times_float_gives_float32():
    n = mg.tensor([1, 2, 3])
    assert (n * 2).dtype == mg.int64
    result = n * 2.5
    assert result.dtype == mg.float32
    np.testing.assert_allclose(result.numpy(), [2.5, 5.0, 7.5])
    assert (2.5 * n).dtype == mg.float32


def test_int_tensor_with_float_tensor_promotes_to_float():
    n, x = mg.tensor([1, 2]), mg.tensor([0.5, 0.5], dtype=mg.float64)
    assert (n + x).dtype == mg.float64
    assert (x * n).dtype == mg.float64
    np.testing.assert_allclose((n + x).numpy(), [1.5, 2.5])


@pytest.mark.parametrize(
    "compare",
    [
        lambda a, b: a == b, lambda a, b: a != b, lambda a, b: a < b,
        lambda a, b: a <= b, lambda a, b: a > b, lambda a, b: a >= b,
    ],
)
@pytest.mark.parametrize("other", ["tensor", "scalar", "array"])
def test_comparisons_give_bool_tensors_without_grad(compare, other):
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    b = {"tensor": np.array([2.0, 2.0, 2.0]), "scalar": 2.0, "array": np.array([2.0, 2.0, 2.0])}[other]
    x = mg.tensor(a, requires_grad=True)
    operand = mg.tensor(b) if other == "tensor" else b
    result = compare(x, operand)
    assert isinstance(result, mg.Tensor)
    assert result.dtype == mg.bool_
    assert result.grad_fn is None and not result.requires_grad
    np.testing.assert_array_equal(result.numpy(), compare(a, b))


@pytest.mark.parametrize("name", BINARY_OPERATORS)
def test_broadcast_failure_names_op_and_shapes(name):
    with pytest.raises(ValueError, match=re.escape(f"{name}: shapes (2, 3) and (4,)")):
        BINARY_OPERATORS[name](mg.zeros(2, 3), mg.zeros(4))


def test_pow_broadcast_failure_names_op():
    with pytest.raises(ValueError, match=re.escape("pow: shapes (2, 3) and (4,)")):
        mg.ones(2, 3) ** mg.ones(4)


@pytest.mark.parametrize(
    "shape_a, shape_b",
    [
        ((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,)),
        ((5, 2, 3), (5, 3, 4)), ((5, 2, 3), (3, 4)), ((2, 1, 2, 3), (5, 3, 4)),
    ],
)
def test_matmul_matches_numpy(shape_a, shape_b):
    a, b = sample(*shape_a, seed=3), sample(*shape_b, seed=4)
    assert_matches(mg.tensor(a) @ mg.tensor(b), a @ b, mg.float64)
    assert_matches(mg.tensor(a).matmul(mg.tensor(b)), a @ b)


def test_matmul_with_numpy_array_on_the_left():
    a, b = sample(2, 3), sample(3, 4)
    assert_matches(a @ mg.tensor(b), a @ b)


def test_matmul_shape_error_message():
    with pytest.raises(ValueError) as error:
        mg.zeros(64, 1568) @ mg.zeros(6272, 10)
    assert str(error.value) == "matmul: shapes (64, 1568) and (6272, 10) cannot be multiplied"


def test_matmul_scalar_operand_raises():
    with pytest.raises(ValueError, match="matmul"):
        mg.tensor(2.0) @ mg.zeros(2, 2)


# --- methods --------------------------------------------------------------------------------------

REDUCTIONS = ["sum", "mean", "amax", "amin"]  # max/min along a dim: (values, indices)
REDUCTION_AXES = [None, 0, 1, -1, -3, (0, 2), (-1, 0)]


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", REDUCTION_AXES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_numpy(name, axis, keepdims):
    data = sample(2, 3, 4)
    expected = getattr(np, name)(data, axis=axis, keepdims=keepdims)
    x = mg.tensor(data)
    assert_matches(getattr(x, name)(axis, keepdims), expected)
    assert_matches(getattr(x, name)(axis=axis, keepdims=keepdims), expected)
    assert_matches(getattr(x, name)(dim=axis, keepdim=keepdims), expected)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_matches_numpy(axis, keepdims):
    data = sample(3, 5)
    x = mg.tensor(data)
    expected = np.argmax(data, axis=axis, keepdims=keepdims)
    assert_matches(x.argmax(axis, keepdims=keepdims), expected, mg.int64)
    assert_matches(x.argmax(dim=axis, keepdim=keepdims), expected, mg.int64)


def test_argmax_has_no_grad():
    x = mg.randn(3, 4, requires_grad=True)
    assert x.argmax(1).grad_fn is None and not x.argmax(1).requires_grad


@pytest.mark.parametrize(
    "method, reference, positive",
    [
        ("exp", np.exp, False), ("log", np.log, True), ("sqrt", np.sqrt, True), ("abs", np.abs, False),
        ("relu", lambda a: np.maximum(a, 0), False), ("sigmoid", lambda a: 1 / (1 + np.exp(-a)), False),
        ("tanh", np.tanh, False),
    ],
)
def test_elementwise_methods_match_numpy(method, reference, positive):
    data = sample(3, 4)
    if positive:
        data = np.abs(data) + 0.1
    assert_matches(getattr(mg.tensor(data), method)(), reference(data), mg.float64)


def numpy_softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_and_log_softmax_match_numpy(axis):
    data = sample(3, 4) * 5
    x = mg.tensor(data)
    assert_matches(x.softmax(axis), numpy_softmax(data, axis))
    assert_matches(x.softmax(dim=axis), numpy_softmax(data, axis))
    assert_matches(x.log_softmax(axis), np.log(numpy_softmax(data, axis)))
    assert_matches(x.log_softmax(dim=axis), np.log(numpy_softmax(data, axis)))


def test_softmax_default_axis_is_last():
    data = sample(3, 4)
    assert_matches(mg.tensor(data).softmax(), numpy_softmax(data, -1))


@pytest.mark.parametrize("low, high", [(-0.5, None), (None, 0.5), (-0.5, 0.5)])
def test_clamp_matches_numpy(low, high):
    data = sample(4, 5)
    assert_matches(mg.tensor(data).clamp(low, high), np.clip(data, low, high))
    assert_matches(mg.tensor(data).clamp(min=low, max=high), np.clip(data, low, high))


def test_clamp_needs_a_bound():
    with pytest.raises(ValueError, match="clamp"):
        mg.zeros(3).clamp()


SHAPE_METHODS = [
    (lambda t: t.reshape(4, 6), lambda a: a.reshape(4, 6)),
    (lambda t: t.reshape((4, 6)), lambda a: a.reshape(4, 6)),
    (lambda t: t.reshape(-1), lambda a: a.reshape(-1)),
    (lambda t: t.reshape(2, -1, 3), lambda a: a.reshape(2, -1, 3)),
    (lambda t: t.view(6, -1), lambda a: a.reshape(6, -1)),
    (lambda t: t.view((3, 8)), lambda a: a.reshape(3, 8)),
    (lambda t: t.flatten(), lambda a: a.reshape(-1)),
    (lambda t: t.flatten(1), lambda a: a.reshape(2, 12)),
    (lambda t: t.flatten(0, 1), lambda a: a.reshape(6, 4)),
    (lambda t: t.flatten(start_dim=-2, end_dim=-1), lambda a: a.reshape(2, 12)),
    (lambda t: t.transpose(0, 2), lambda a: a.swapaxes(0, 2)),
    (lambda t: t.transpose(-1, 1), lambda a: a.swapaxes(-1, 1)),
    (lambda t: t.transpose(), lambda a: a.transpose()),
    (lambda t: t.T, lambda a: a.T),
    (lambda t: t.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1)),
    (lambda t: t.permute((1, 2, 0)), lambda a: a.transpose(1, 2, 0)),
    (lambda t: t.permute(-1, 0, 1), lambda a: a.transpose(2, 0, 1)),
    (lambda t: t.unsqueeze(0), lambda a: a[None]),
    (lambda t: t.unsqueeze(1), lambda a: a[:, None]),
    (lambda t: t.unsqueeze(-1), lambda a: a[..., None]),
    (lambda t: t.unsqueeze(3), lambda a: a[..., None]),
    (lambda t: t.reshape(2, 1, 3, 1, 4).squeeze(), lambda a: a),
    (lambda t: t.reshape(2, 1, 3, 1, 4).squeeze(1), lambda a: a.reshape(2, 3, 1, 4)),
    (lambda t: t.reshape(2, 1, 3, 1, 4).squeeze(-2), lambda a: a.reshape(2, 1, 3, 4)),
    (lambda t: t.reshape(2, 1, 3, 1, 4).squeeze((1, 3)), lambda a: a),
    (lambda t: t.squeeze(0), lambda a: a),  # a size-2 axis is left alone, as PyTorch
]


@pytest.mark.parametrize("method, reference", SHAPE_METHODS)
def test_shape_methods_match_numpy(method, reference):
    data = np.arange(24.0).reshape(2, 3, 4)
    assert_matches(method(mg.tensor(data)), reference(data))


def test_transpose_of_matrix():
    data = sample(3, 5)
    assert_matches(mg.tensor(data).T, data.T)
    assert_matches(mg.tensor(data).transpose(0, 1), data.T)


def test_flatten_of_scalar():
    assert mg.tensor(3.0).flatten().shape == (1,)


INDICES = [
    1, -1, (0, 2), (1, -1, 0), slice(1, None), slice(None, None, -1), slice(3, 0, -2),
    (slice(None), 1), (Ellipsis, 2), (slice(None), slice(None, None, -1), slice(1, 3)),
    (None, 0), [0, 0, 1], np.array([1, 0, 1]), (slice(None), [2, 0, 2]), ([0, 1], [2, 0]),
    (np.array([[0, 1], [1, 0]]), slice(None), 3),
]


@pytest.mark.parametrize("index", INDICES, ids=repr)
def test_getitem_matches_numpy(index):
    data = np.arange(24.0).reshape(2, 3, 4)
    expected = data[np.asarray(index) if isinstance(index, list) else index]
    assert_matches(mg.tensor(data)[index], expected)


def test_getitem_with_int_tensor_index():
    data = np.arange(12.0).reshape(3, 4)
    index = mg.tensor([2, 0, 2])
    assert_matches(mg.tensor(data)[index], data[[2, 0, 2]])
    assert_matches(mg.tensor(data)[:, index], data[:, [2, 0, 2]])


@pytest.mark.parametrize("as_tensor", [False, True])
def test_getitem_with_boolean_mask(as_tensor):
    data = sample(3, 4)
    mask = data > 0
    x = mg.tensor(data)
    index = mg.tensor(mask) if as_tensor else mask
    assert_matches(x[index], data[mask])
    assert_matches(x[x > 0], data[mask])
    rows = np.array([True, False, True])
    assert_matches(x[mg.tensor(rows) if as_tensor else rows], data[rows])


def test_getitem_out_of_range_raises_index_error():
    with pytest.raises(IndexError, match="getitem"):
        mg.zeros(2, 3)[5]


AXIS_ERRORS = [
    ("sum", lambda t: t.sum(3)),
    ("mean", lambda t: t.mean(axis=-4)),
    ("max", lambda t: t.max(dim=5)),
    ("min", lambda t: t.min(3)),
    ("amin", lambda t: t.amin((0, 3))),
    ("argmax", lambda t: t.argmax(3)),
    ("softmax", lambda t: t.softmax(3)),
    ("log_softmax", lambda t: t.log_softmax(-4)),
    ("transpose", lambda t: t.transpose(0, 3)),
    ("permute", lambda t: t.permute(0, 1, 3)),
    ("flatten", lambda t: t.flatten(0, 3)),
    ("unsqueeze", lambda t: t.unsqueeze(5)),
    ("squeeze", lambda t: t.squeeze(3)),
]


@pytest.mark.parametrize("name, action", AXIS_ERRORS, ids=[name for name, _ in AXIS_ERRORS])
def test_bad_axis_raises_index_error_naming_op(name, action):
    with pytest.raises(IndexError, match=f"^{name}:"):
        action(mg.zeros(2, 3, 4))


@pytest.mark.parametrize("shape", [(5, 5), (7, -1), (-1, -1), (5, -1, 0), (-2, 12)])
def test_bad_reshape_raises_value_error_naming_shapes(shape):
    with pytest.raises(ValueError, match="reshape") as error:
        mg.zeros(2, 3, 4).reshape(shape)
    assert str(shape) in str(error.value)


def test_reshape_error_names_the_tensor_shape():
    with pytest.raises(ValueError, match=re.escape("(2, 3, 4)")):
        mg.zeros(2, 3, 4).view(5, 5)


def test_permute_rejects_non_permutations():
    with pytest.raises(ValueError, match="permute"):
        mg.zeros(2, 3, 4).permute(0, 0, 1)


def test_argmax_takes_one_axis():
    with pytest.raises(TypeError, match="argmax"):
        mg.zeros(2, 3).argmax((0, 1))


# --- in-place updates -----------------------------------------------------------------------------

def test_in_place_update_under_no_grad():
    w = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    g = mg.tensor([10.0, 20.0, 30.0])
    buffer = w.numpy()
    version = w._version
    with mg.no_grad():
        w -= 0.1 * g
    assert w.numpy() is buffer  # updated in place, the same array
    np.testing.assert_allclose(w.numpy(), [0.0, 0.0, 0.0], atol=1e-6)
    assert w._version == version + 1
    assert w.requires_grad and w.is_leaf


@pytest.mark.parametrize(
    "update",
    [
        lambda w: w.__iadd__(1.0), lambda w: w.__isub__(1.0), lambda w: w.__imul__(2.0), lambda w: w.__itruediv__(2.0),
        lambda w: w.add_(1.0), lambda w: w.zero_(), lambda w: w.__setitem__(0, 5.0),
    ],
)
def test_in_place_on_requires_grad_leaf_outside_no_grad_raises(update):
    w = mg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        update(w)
    np.testing.assert_array_equal(w.numpy(), np.ones(3))
    assert w._version == 0


@pytest.mark.parametrize(
    "update, expected",
    [
        (lambda x: x.__iadd__(mg.tensor([1.0, 2.0, 3.0])), [2.0, 3.0, 4.0]),
        (lambda x: x.__isub__(np.array([1.0, 1.0, 1.0])), [0.0, 0.0, 0.0]),
        (lambda x: x.__imul__(3), [3.0, 3.0, 3.0]),
        (lambda x: x.__itruediv__(2.0), [0.5, 0.5, 0.5]),
        (lambda x: x.add_(1.0), [2.0, 2.0, 2.0]),
        (lambda x: x.sub_(1.0), [0.0, 0.0, 0.0]),
        (lambda x: x.mul_(mg.tensor(4.0)), [4.0, 4.0, 4.0]),
        (lambda x: x.div_(4.0), [0.25, 0.25, 0.25]),
    ],
)
def test_in_place_on_plain_tensor(update, expected):
    x = mg.ones(3)
    result = update(x)
    assert result is x
    np.testing.assert_allclose(x.numpy(), expected)
    assert x._version == 1


def test_augmented_assignment_keeps_the_same_tensor():
    x = mg.ones(2)
    alias = x
    x += 1
    assert x is alias
    assert alias.tolist() == [2.0, 2.0]


def test_zero_():
    x = mg.full((2, 2), 3.0)
    assert x.zero_() is x
    assert x.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    w = mg.ones(2, requires_grad=True)
    with mg.no_grad():
        w.zero_()
    assert w.tolist() == [0.0, 0.0] and w._version == 1


def test_setitem():
    x = mg.zeros(3, 4)
    x[0] = 1.0
    x[1, 1:3] = mg.tensor([2.0, 3.0])
    x[mg.tensor([2]), -1] = np.array([4.0])
    x[x > 3.5] = 9.0
    expected = np.zeros((3, 4))
    expected[0] = 1.0
    expected[1, 1:3] = [2.0, 3.0]
    expected[2, -1] = 9.0
    np.testing.assert_array_equal(x.numpy(), expected)
    assert x._version == 4


def test_setitem_on_requires_grad_leaf_under_no_grad():
    w = mg.zeros(3, requires_grad=True)
    with mg.no_grad():
        w[1] = 2.0
    assert w.tolist() == [0.0, 2.0, 0.0]


@pytest.mark.parametrize(
    "name, update, value_shape",
    [
        ("add_", lambda x, v: x.__iadd__(v), (4,)),
        ("sub_", lambda x, v: x.__isub__(v), (2, 3)),
        ("mul_", lambda x, v: x.mul_(v), (4,)),
        ("div_", lambda x, v: x.div_(v), (2, 1, 3)),
    ],
)
def test_in_place_with_non_broadcastable_shape_raises(name, update, value_shape):
    x = mg.ones(3)
    with pytest.raises(ValueError, match=re.escape(name)) as error:
        update(x, mg.ones(*value_shape))
    assert str(value_shape) in str(error.value) and "(3,)" in str(error.value)
    np.testing.assert_array_equal(x.numpy(), np.ones(3))
    assert x._version == 0


def test_in_place_float_into_int_tensor_raises_naming_op():
    n = mg.tensor([1, 2])
    with pytest.raises(TypeError, match="add_"):
        n += 0.5


def test_in_place_after_save_breaks_backward_with_a_clear_error():
    x = mg.ones(3, requires_grad=True)
    y = x * 1.0
    z = y * y  # saves y
    with mg.no_grad():
        y += 1
    with pytest.raises(RuntimeError, match="modified in place"):
        z.sum().backward()


def test_in_place_on_an_advanced_index_copy_leaves_the_source_alone():
    # x[[0, 1]] is a copy (as in NumPy and PyTorch): changing it changes neither x nor x's version
    x = mg.ones(3, requires_grad=True)
    z = x * x  # saves x
    with mg.no_grad():
        copy = x[[0, 1]]
        copy += 1
    assert x.tolist() == [1.0, 1.0, 1.0]
    assert x._version == 0
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_in_place_on_a_basic_index_view_changes_the_source():
    x = mg.zeros(2, 3)
    row = x[1]
    row += 1
    assert x.tolist() == [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]
    assert x._version == 1
