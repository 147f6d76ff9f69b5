"""Every differentiable op against PyTorch: the forward value and the gradient of every input.

Each case builds the same computation in minigrad and in torch from the same data, weights the
output with a fixed random upstream gradient (``(out * weight).sum().backward()``) and compares
the outputs and the gradients of all inputs, which must come back in each input's own shape.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

torch = pytest.importorskip("torch")
torch_functional = torch.nn.functional

RELATIVE_TOLERANCE = {np.float64: 1e-10, np.float32: 1e-5}


def random_array(shape, seed, positive=False):
    array = np.asarray(np.random.default_rng(seed).standard_normal(shape))  # 0-d stays an array
    return np.asarray(np.abs(array) + 0.5) if positive else array


def assert_close(actual, expected, dtype, what):
    """Equal to ``rtol`` relative error; near-cancelling sums get the same error relative to the
    largest element (float32 rounding of a K-term dot product is about K * eps * magnitude)."""
    assert actual.shape == tuple(expected.shape), f"{what}: shape {actual.shape} != torch's {tuple(expected.shape)}"
    rtol = RELATIVE_TOLERANCE[dtype]
    scale = float(np.max(np.abs(expected), initial=1.0)) if dtype == np.float32 else 1.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def compare_with_torch(mg_function, torch_function, arrays, dtype=np.float64, seed=0):
    """Run both functions on the same ``arrays`` (all differentiable inputs); compare out and grads."""
    mg_inputs = [mg.tensor(array.astype(dtype), requires_grad=True) for array in arrays]
    torch_inputs = [torch.tensor(array.astype(dtype), requires_grad=True) for array in arrays]
    mg_out = mg_function(*mg_inputs)
    torch_out = torch_function(*torch_inputs)
    assert mg_out.dtype == dtype
    assert np.all(np.isfinite(mg_out.numpy())), "forward is not finite"
    assert_close(mg_out.numpy(), torch_out.detach().numpy(), dtype, "forward")

    weight = np.random.default_rng(seed + 1000).standard_normal(torch_out.shape).astype(dtype)
    (mg_out * mg.tensor(weight)).sum().backward()
    (torch_out * torch.tensor(weight)).sum().backward()
    for index, (mg_input, torch_input) in enumerate(zip(mg_inputs, torch_inputs)):
        assert mg_input.grad is not None, f"input {index} got no gradient"
        assert mg_input.grad.dtype == dtype
        assert np.all(np.isfinite(mg_input.grad.numpy())), f"gradient of input {index} is not finite"
        assert_close(mg_input.grad.numpy(), torch_input.grad.numpy(), dtype, f"gradient of input {index}")


def inputs_for(shapes, positive=False):
    return [random_array(shape, seed, positive) for seed, shape in enumerate(shapes)]


# --- binary arithmetic with broadcasting ---------------------------------------------------------

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}

BROADCAST_SHAPES = [
    ((3, 4), (3, 4)), ((3, 1, 4), (2, 1)), ((4,), (3, 4)), ((1,), (3, 1)), ((3, 4), ()), ((), (2, 3)),
    ((2, 1, 3), (1, 4, 1)), ((5, 1), (1,)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
@pytest.mark.parametrize("name", BINARY)
def test_binary_ops_broadcast(name, shapes, dtype):
    op = BINARY[name]
    # the divisor stays away from zero so float32 relative errors stay small
    compare_with_torch(op, op, [random_array(shapes[0], 1), random_array(shapes[1], 2, positive=True)], dtype)


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((1,), (2, 3))], ids=str)
def test_pow_with_tensor_exponent(shapes):
    arrays = [random_array(shapes[0], 3, positive=True), random_array(shapes[1], 4)]
    compare_with_torch(lambda a, b: a**b, lambda a, b: a**b, arrays)


@pytest.mark.parametrize("exponent", [2, 3, 1, 0, -1, -2.5, 0.5, 1.5, 2.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pow_with_scalar_exponent(exponent, dtype):
    compare_with_torch(lambda x: x**exponent, lambda x: x**exponent, [random_array((3, 4), 5, positive=True)], dtype)


@pytest.mark.parametrize(
    "mg_function, torch_function",
    [
        (lambda x: 2.0 - x, lambda x: 2.0 - x),
        (lambda x: 3.0 / x, lambda x: 3.0 / x),
        (lambda x: 2.0**x, lambda x: 2.0**x),
        (lambda x: 1.5 * x + 0.5, lambda x: 1.5 * x + 0.5),
        (lambda x: np.arange(4.0) * x, lambda x: torch.arange(4.0, dtype=torch.float64) * x),
    ],
)
def test_scalar_and_array_operands(mg_function, torch_function):
    compare_with_torch(mg_function, torch_function, [random_array((3, 4), 6, positive=True)])


# --- remainder, floor division, fmod ------------------------------------------------------------

DIVISIONS = {  # name: (minigrad, torch, differentiable)
    "%": (lambda a, b: a % b, lambda a, b: a % b, True),
    "//": (lambda a, b: a // b, lambda a, b: a // b, False),
    "fmod": (lambda a, b: a.fmod(b), torch.fmod, True),
    "mg.remainder": (mg.remainder, torch.remainder, True),
    "mg.floor_divide": (mg.floor_divide, torch.floor_divide, False),
    "mg.fmod": (mg.fmod, torch.fmod, True),
}
# Every edge value against every other. Not 1e30 / 1e-30: PyTorch's vectorised float32 fmod (SLEEF)
# answers NaN wherever the quotient overflows float32, its scalar loop the exact remainder.
DIVISION_EDGES = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 6.0, -6.0, 0.1, 1e-15, -1e15, np.inf, -np.inf, np.nan]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
@pytest.mark.parametrize("name", ["%", "fmod", "mg.remainder"])
def test_remainder_and_fmod_broadcast(name, shapes, dtype):
    mg_function, torch_function, _ = DIVISIONS[name]
    compare_with_torch(mg_function, torch_function, [random_array(shapes[0], 1) * 3, random_array(shapes[1], 2)], dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", DIVISIONS)
def test_division_ops_at_the_edges(name, dtype):
    """NaN where PyTorch has NaN, the same infinities and signs of zeros, and the same gradients."""
    mg_function, torch_function, differentiable = DIVISIONS[name]
    a, b = (grid.ravel().astype(dtype) for grid in np.meshgrid(DIVISION_EDGES, DIVISION_EDGES))
    mine_a, mine_b = mg.tensor(a, requires_grad=True), mg.tensor(b, requires_grad=True)
    their_a, their_b = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    mine, theirs = mg_function(mine_a, mine_b), torch_function(their_a, their_b)
    expected = theirs.detach().numpy()
    np.testing.assert_array_equal(mine.numpy(), expected)
    numbers = ~np.isnan(expected)  # (a NaN's sign bit is no part of its value)
    np.testing.assert_array_equal(np.signbit(mine.numpy()[numbers]), np.signbit(expected[numbers]))
    if differentiable:
        weight = np.random.default_rng(0).standard_normal(a.shape).astype(dtype)
        (mine * mg.tensor(weight)).sum().backward()
        (theirs * torch.tensor(weight)).sum().backward()
        np.testing.assert_array_equal(mine_a.grad.numpy(), their_a.grad.numpy())
        np.testing.assert_array_equal(mine_b.grad.numpy(), their_b.grad.numpy())


@pytest.mark.parametrize("name", DIVISIONS)
def test_division_ops_on_integers(name):
    mg_function, torch_function, _ = DIVISIONS[name]
    a, b = (grid.ravel() for grid in np.meshgrid(np.arange(-7, 8), [-3, -2, -1, 1, 2, 3]))
    mine, theirs = mg_function(mg.tensor(a), mg.tensor(b)), torch_function(torch.tensor(a), torch.tensor(b))
    assert mine.dtype == mg.int64
    np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    with pytest.raises(ZeroDivisionError, match=name.removeprefix("mg.").replace("%", "remainder").replace(
            "//", "floor_divide")):
        mg_function(mg.tensor(a), mg.tensor(np.where(b == 3, 0, b)))
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):  # PyTorch's way of saying it
        torch_function(torch.tensor(a), torch.tensor(np.where(b == 3, 0, b)))


NUMBER_OPERANDS = {  # a number on either side of a tensor, as in PyTorch
    "x % 2.5": (lambda x: x % 2.5, True), "x % -2": (lambda x: x % -2, True), "7 % x": (lambda x: 7 % x, False),
    "x // -1.5": (lambda x: x // -1.5, False), "7.5 // x": (lambda x: 7.5 // x, False),
    "x.remainder(3)": (lambda x: x.remainder(3), True), "x.floor_divide(3)": (lambda x: x.floor_divide(3), False),
    "fmod(x, -1.5)": (lambda x: x.fmod(-1.5), True), "remainder(7, x)": (lambda x: x.remainder(7), True),
}


@pytest.mark.parametrize("name", NUMBER_OPERANDS)
def test_division_ops_with_a_number(name):
    function, differentiable = NUMBER_OPERANDS[name]
    x = random_array((3, 4), 10) * 4
    if differentiable:  # (PyTorch has no derivative for a number first: 7 % x's backward raises there)
        compare_with_torch(function, function, [x])
    else:
        np.testing.assert_array_equal(function(mg.tensor(x)).numpy(), function(torch.tensor(x)).numpy())


# (left, right): lists become tensors of the default dtypes on both sides, NumPy float arrays float64 ones
PROMOTIONS = [([5, -7], 2), ([5, -7], 2.5), ([5.0, -7.0], 2), ([5.0, -7.0], np.array(2.0)), ([5, -7], [2.0, 3.0]),
              ([True, False], 2), (np.array([5.0, -7.0]), [2.0, 3.0]), (np.array([5.0, -7.0]), np.float32(2.0))]


@pytest.mark.parametrize("symbol", ["%", "//", "fmod"])
def test_division_ops_promote_types_as_torch(symbol):
    mg_function, torch_function, _ = DIVISIONS[symbol]
    for left, right in PROMOTIONS:
        number = isinstance(right, (int, float))
        mine = mg_function(mg.tensor(left), right if number else mg.tensor(right))
        theirs = torch_function(torch.tensor(left), right if number else torch.tensor(right))
        assert str(mine.dtype) == str(theirs.dtype).removeprefix("torch."), (left, right)
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    for right in (True, "tensor"):  # bool with bool: neither library has the op
        with pytest.raises(TypeError, match=" not implemented for bool"):
            mg_function(mg.tensor([True]), mg.tensor([True]) if right == "tensor" else right)
        with pytest.raises(NotImplementedError):
            torch_function(torch.tensor([True]), torch.tensor([True]) if right == "tensor" else right)


def test_floor_divide_records_and_refuses_backward_as_torch():
    x = random_array((3,), 11)
    mine, theirs = mg.tensor(x, requires_grad=True) // 0.7, torch.tensor(x, requires_grad=True) // 0.7
    assert mine.requires_grad and theirs.requires_grad
    with pytest.raises(RuntimeError, match="floor_divide"):
        mine.sum().backward()
    with pytest.raises(RuntimeError, match="floor_divide"):
        theirs.sum().backward()


@pytest.mark.parametrize("update", ["%=", "//=", "remainder_", "floor_divide_"])
@pytest.mark.parametrize("dtype", [np.int64, np.float32])
def test_division_in_place_as_torch(update, dtype):
    apply = {"%=": lambda x, v: x.__imod__(v), "//=": lambda x, v: x.__ifloordiv__(v),
             "remainder_": lambda x, v: x.remainder_(v), "floor_divide_": lambda x, v: x.floor_divide_(v)}[update]
    values = np.array([5, -5, 7, 0, -1], dtype)
    mine, theirs = mg.tensor(values), torch.tensor(values)
    for value in (3, -2, mg.tensor(np.array([2, 3, -4, 5, 1], dtype))):
        assert apply(mine, value) is mine
        apply(theirs, torch.tensor(value.numpy()) if isinstance(value, mg.Tensor) else value)
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    if dtype == np.int64:  # a float result does not fit an integer tensor: both refuse
        with pytest.raises(TypeError, match=update):
            apply(mine, 2.5)
        with pytest.raises(RuntimeError):
            apply(theirs, 2.5)
        with pytest.raises(ZeroDivisionError):
            apply(mine, 0)


def test_division_ops_refuse_what_is_not_a_number_or_tensor():
    for bad in ("2", None, [1.0, 2.0]):
        with pytest.raises(TypeError, match="remainder: unsupported operand type"):
            mg.tensor([1.0, 2.0]) % bad
        with pytest.raises(TypeError, match="floor_divide: unsupported operand type"):
            mg.tensor([1.0, 2.0]) // bad
        with pytest.raises(TypeError):
            torch.tensor([1.0, 2.0]) % bad
    with pytest.raises(TypeError, match="fmod: expected a tensor first"):
        mg.fmod(5, mg.tensor([1.0]))


def test_the_readme_snippet():
    np.testing.assert_array_equal((mg.tensor(range(100)) % 10).numpy(), (torch.tensor(range(100)) % 10).numpy())


# --- unary functions -----------------------------------------------------------------------------

UNARY = {
    "neg": (lambda x: -x, lambda x: -x, False),
    "exp": (lambda x: x.exp(), torch.exp, False),
    "log": (lambda x: x.log(), torch.log, True),
    "sqrt": (lambda x: x.sqrt(), torch.sqrt, True),
    "abs": (lambda x: x.abs(), torch.abs, False),
    "relu": (lambda x: x.relu(), torch.relu, False),
    "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid, False),
    "tanh": (lambda x: x.tanh(), torch.tanh, False),
    "F.relu": (F.relu, torch_functional.relu, False),
    "F.sigmoid": (F.sigmoid, torch.sigmoid, False),
    "F.tanh": (F.tanh, torch.tanh, False),
    "clamp_min": (lambda x: x.clamp(min=-0.3), lambda x: x.clamp(min=-0.3), False),
    "clamp_max": (lambda x: x.clamp(max=0.4), lambda x: x.clamp(max=0.4), False),
    "clamp_both": (lambda x: x.clamp(-0.3, 0.4), lambda x: x.clamp(-0.3, 0.4), False),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", UNARY)
def test_unary_ops(name, dtype):
    mg_function, torch_function, positive = UNARY[name]
    compare_with_torch(mg_function, torch_function, [random_array((4, 5), 7, positive)], dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_gradient_at_extremes_is_finite(dtype):
    data = np.array([-100.0, -40.0, -1.0, 0.0, 1.0, 40.0, 100.0])
    compare_with_torch(lambda x: x.sigmoid(), torch.sigmoid, [data], dtype)


def test_reused_input_accumulates_gradient():
    compare_with_torch(
        lambda x, y: (x * x + x.exp() * y - x / y).tanh(),
        lambda x, y: (x * x + x.exp() * y - x / y).tanh(),
        [random_array((3, 4), 8), random_array((4,), 9, positive=True)],
    )


# --- reductions ----------------------------------------------------------------------------------

def torch_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    return axis


REDUCTIONS = {
    "sum": torch.sum,
    "mean": torch.mean,
    "amax": torch.amax,  # inputs have no ties
    "amin": torch.amin,
}


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (-1, 1), (0, 1, 2)], ids=str)
@pytest.mark.parametrize("name", REDUCTIONS)
def test_reductions(name, axis, keepdims):
    compare_with_torch(
        lambda x: getattr(x, name)(axis=axis, keepdims=keepdims),
        lambda x: REDUCTIONS[name](x, dim=torch_axes(axis, x.ndim), keepdim=keepdims),
        [random_array((2, 3, 4), 10)],
    )


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reductions_with_torch_aliases_and_float32(name):
    compare_with_torch(
        lambda x: getattr(x, name)(dim=1, keepdim=True),
        lambda x: REDUCTIONS[name](x, dim=1, keepdim=True),
        [random_array((3, 5), 11)],
        np.float32,
    )


# --- shapes and indexing -------------------------------------------------------------------------

SHAPE_OPS = {
    "reshape": (lambda x: x.reshape(4, 6), lambda x: x.reshape(4, 6)),
    "reshape_-1": (lambda x: x.reshape(-1, 3), lambda x: x.reshape(-1, 3)),
    "view": (lambda x: x.view(6, 4), lambda x: x.view(6, 4)),
    "flatten": (lambda x: x.flatten(), lambda x: x.flatten()),
    "flatten_1": (lambda x: x.flatten(1), lambda x: x.flatten(1)),
    "flatten_0_1": (lambda x: x.flatten(0, 1), lambda x: x.flatten(0, 1)),
    "transpose": (lambda x: x.transpose(0, 2), lambda x: x.transpose(0, 2)),
    "transpose_all": (lambda x: x.transpose(), lambda x: x.permute(2, 1, 0)),
    "T": (lambda x: x.T, lambda x: x.permute(2, 1, 0)),
    "permute": (lambda x: x.permute(1, 2, 0), lambda x: x.permute(1, 2, 0)),
    "unsqueeze": (lambda x: x.unsqueeze(1), lambda x: x.unsqueeze(1)),
    "unsqueeze_-1": (lambda x: x.unsqueeze(-1), lambda x: x.unsqueeze(-1)),
    "squeeze": (lambda x: x.unsqueeze(0).unsqueeze(2).squeeze(), lambda x: x.unsqueeze(0).unsqueeze(2).squeeze()),
    "squeeze_axis": (lambda x: x.unsqueeze(1).squeeze(1), lambda x: x.unsqueeze(1).squeeze(1)),
    "chain": (lambda x: x.permute(2, 0, 1).reshape(4, 6).T * 2, lambda x: x.permute(2, 0, 1).reshape(4, 6).T * 2),
}


@pytest.mark.parametrize("name", SHAPE_OPS)
def test_shape_ops(name):
    mg_function, torch_function = SHAPE_OPS[name]
    compare_with_torch(mg_function, torch_function, [random_array((2, 3, 4), 12)])


INDICES = [
    1, -1, (0, 2), (1, -1, 0), slice(1, None), slice(None, None, -1), (slice(None), slice(3, 0, -2)),
    (slice(None), 1), (Ellipsis, 2), (slice(None), slice(None, None, -1), slice(1, 3)), (None, 0),
    np.array([0, 0, 1, 0]), (slice(None), np.array([2, 0, 2, 2])), (np.array([0, 1, 1]), np.array([2, 0, 2])),
    (np.array([[0, 1], [1, 1]]), slice(None), 3), np.array([True, False]), "mask",
]


@pytest.mark.parametrize("index", INDICES, ids=repr)
def test_getitem(index):
    """torch's reference gathers the same elements by flat position, so repeats accumulate there too."""
    shape = (2, 3, 4)
    if isinstance(index, str):  # a boolean mask over the whole tensor
        index = random_array(shape, 13) > 0
    positions = np.array(np.arange(np.prod(shape)).reshape(shape)[index])  # a copy: torch refuses negative strides
    compare_with_torch(
        lambda x: x[index],
        lambda x: x.reshape(-1)[torch.as_tensor(positions)],
        [random_array(shape, 14)],
    )


def test_getitem_with_int_tensor_accumulates_repeats():
    index = mg.tensor([3, 0, 3, 3])
    compare_with_torch(lambda x: x[:, index], lambda x: x[:, torch.tensor([3, 0, 3, 3])], [random_array((2, 4), 15)])


# --- matmul --------------------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((6, 3, 4), (6, 4, 2)),
    ((5, 3, 4), (4, 2)), ((3, 4), (5, 4, 2)), ((2, 1, 3, 4), (5, 4, 2)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,)),
    ((17, 33), (33, 9)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(shapes):
    compare_with_torch(lambda a, b: a @ b, lambda a, b: a @ b, inputs_for(shapes))


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((64, 100), (100, 10)), ((5, 3, 4), (4, 2))], ids=str)
def test_matmul_float32(shapes):
    compare_with_torch(lambda a, b: a @ b, lambda a, b: a @ b, inputs_for(shapes), np.float32)


def test_matmul_of_transposed_operands():
    compare_with_torch(lambda a, b: a.T @ b.T, lambda a, b: a.T @ b.T, inputs_for([(4, 3), (5, 4)]))


# --- softmax, log_softmax, cross-entropy ---------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_and_log_softmax(name, axis, shape, dtype):
    compare_with_torch(
        lambda x: getattr(x, name)(axis),
        lambda x: getattr(torch, name)(x, dim=axis),
        [random_array(shape, 16) * 3],
        dtype,
    )


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_functional_softmax(name):
    compare_with_torch(
        lambda x: getattr(F, name)(x, dim=0),
        lambda x: getattr(torch_functional, name)(x, dim=0),
        [random_array((4, 3), 17)],
    )


EXTREME_LOGITS = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4], [0.5, -0.5, 0.0]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("axis", [0, -1])
def test_log_softmax_of_extreme_logits_is_finite(axis, dtype):
    compare_with_torch(lambda x: x.log_softmax(axis), lambda x: torch.log_softmax(x, dim=axis), [EXTREME_LOGITS], dtype)


def cross_entropy_pair(targets, **options):
    """The same cross-entropy call in minigrad and torch, as functions of the logits alone."""
    torch_targets = torch.tensor(targets)
    return (
        lambda logits: F.cross_entropy(logits, targets, **options),
        lambda logits: torch_functional.cross_entropy(logits, torch_targets, **options),
    )


CROSS_ENTROPY_TARGETS = {
    "all": np.array([0, 3, 1, 4, 2, 2, 0]),
    "ignored": np.array([0, -100, 1, 4, -100, 2, 0]),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("targets", CROSS_ENTROPY_TARGETS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy(reduction, label_smoothing, targets, dtype):
    mg_function, torch_function = cross_entropy_pair(
        CROSS_ENTROPY_TARGETS[targets], reduction=reduction, label_smoothing=label_smoothing
    )
    compare_with_torch(mg_function, torch_function, [random_array((7, 5), 18) * 2], dtype)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_custom_ignore_index(reduction, label_smoothing):
    mg_function, torch_function = cross_entropy_pair(
        np.array([0, 2, 1, 2, 3]), reduction=reduction, label_smoothing=label_smoothing, ignore_index=2
    )
    compare_with_torch(mg_function, torch_function, [random_array((5, 4), 19)])


def test_cross_entropy_with_target_tensor():
    targets = np.array([1, 0, 2])
    torch_targets = torch.tensor(targets)
    compare_with_torch(
        lambda logits: F.cross_entropy(logits, mg.tensor(targets)),
        lambda logits: torch_functional.cross_entropy(logits, torch_targets),
        [random_array((3, 3), 20)],
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy_of_extreme_logits_is_finite(reduction, label_smoothing, dtype):
    mg_function, torch_function = cross_entropy_pair(
        np.array([1, 0, 2, 1]), reduction=reduction, label_smoothing=label_smoothing
    )
    compare_with_torch(mg_function, torch_function, [EXTREME_LOGITS], dtype)


def test_softmax_regression_step_matches_torch():
    """The reference workload's graph: logits = x @ W + b, then mean cross-entropy."""
    targets = np.array([3, 1, 0, 9, 4, 4, 7, 2])
    torch_targets = torch.tensor(targets)
    x = random_array((8, 20), 21)
    compare_with_torch(
        lambda w, b: F.cross_entropy(mg.tensor(x) @ w + b, targets),
        lambda w, b: torch_functional.cross_entropy(torch.tensor(x) @ w + b, torch_targets),
        inputs_for([(20, 10), (10,)]),
    )
