"""Comparisons, tests and logical operators as PyTorch's methods and functions: eq/ne/lt/le/gt/ge,
equal, isclose/allclose, all/any, isnan/isinf/isfinite, logical_* and ~ & | ^. Each result is
compared with PyTorch's: values, dtype and shape (skipped without torch)."""
import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")

TORCH_DTYPES = {mg.float32: torch.float32, mg.float64: torch.float64, mg.int32: torch.int32,
                mg.int64: torch.int64, mg.bool_: torch.bool}
MINIGRAD_DTYPES = {value: key for key, value in TORCH_DTYPES.items()}


def both(array):
    array = np.asarray(array)
    return mg.tensor(array), torch.tensor(array)


def assert_same(mine, theirs):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(mine, mg.Tensor) and mine.dtype == MINIGRAD_DTYPES[theirs.dtype]
        assert mine.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    else:
        assert type(mine) is type(theirs) and mine == theirs


SPECIAL = np.array([[1.0, -2.5, np.nan], [np.inf, -np.inf, 0.0]])
INTEGERS = np.array([[3, -1, 0], [7, 2, 2]])


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge", "greater", "less", "greater_equal",
                                  "less_equal", "not_equal"])
@pytest.mark.parametrize("other", [np.array([1.0, 0.0, np.nan]), np.array([[2], [0]]), 2, 0.5])
@pytest.mark.parametrize("data", [SPECIAL, INTEGERS])
def test_comparisons_match_torch_as_methods_and_functions(name, other, data):
    mine, theirs = both(data)
    if isinstance(other, np.ndarray):
        mine_other, their_other = both(other)
    else:
        mine_other, their_other = other, other
    expected = getattr(theirs, name)(their_other)
    assert_same(getattr(mine, name)(mine_other), expected)
    assert_same(getattr(mg, name)(mine, mine_other), getattr(torch, name)(theirs, their_other))


def test_comparison_functions_want_a_tensor_first():
    with pytest.raises(TypeError):
        torch.eq(1, torch.ones(1))
    with pytest.raises(TypeError, match="eq: argument 'input' must be a Tensor, not int"):
        mg.eq(1, mg.ones(1))


@pytest.mark.parametrize(
    "first, second",
    [([1.0, 2.0], [1.0, 2.0]), ([1.0, 2.0], [1.0, 2.5]), ([1.0, 2.0], [1.0, 2.0, 3.0]), ([[1.0, 2.0]], [1.0, 2.0]),
     ([np.nan], [np.nan]), ([1, 2], [1.0, 2.0])],
)
def test_equal_is_a_python_bool_like_torchs(first, second):
    (mine_first, their_first), (mine_second, their_second) = both(first), both(second)
    assert_same(mine_first.equal(mine_second), torch.equal(their_first, their_second))
    assert_same(mg.equal(mine_first, mine_second), torch.equal(their_first, their_second))


@pytest.mark.parametrize("options", [{}, {"equal_nan": True}, {"rtol": 0.0, "atol": 1e-3}, {"rtol": 0.5, "atol": 0.0}])
@pytest.mark.parametrize(
    "first, second",
    [(SPECIAL, SPECIAL), (SPECIAL, SPECIAL * (1 + 1e-6)), ([1e-9, 1.0, 100.0], [0.0, 1.00001, 100.001]),
     ([1.0, np.inf, 1.0], [np.inf, np.inf, 1.0 + 2e-5]), ([[1.0], [2.0]], [1.0, 2.0, 2.0 + 1e-4]),
     (INTEGERS, INTEGERS + 1), ([True, False], [True, True])],
)
def test_isclose_and_allclose_match_torch(first, second, options):
    (mine_first, their_first), (mine_second, their_second) = both(first), both(second)
    assert_same(mine_first.isclose(mine_second, **options), torch.isclose(their_first, their_second, **options))
    assert_same(mg.isclose(mine_first, mine_second, **options), torch.isclose(their_first, their_second, **options))
    if mine_first.shape == mine_second.shape:
        assert_same(mg.allclose(mine_first, mine_second, **options),
                    torch.allclose(their_first, their_second, **options))


def test_isclose_errors_like_torch():
    with pytest.raises(RuntimeError):
        torch.isclose(torch.ones(1), torch.ones(1, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="isclose: the tensors must have the same dtype, got float32 and float64"):
        mg.ones(1).isclose(mg.ones(1, dtype=mg.float64))
    with pytest.raises(RuntimeError, match="rtol and atol must be non-negative"):
        mg.allclose(mg.ones(1), mg.ones(1), rtol=-1)
    with pytest.raises(TypeError, match="isclose: argument 'other' must be a Tensor"):
        mg.ones(1).isclose(1.0)


@pytest.mark.parametrize("name", ["all", "any"])
@pytest.mark.parametrize("dim, keepdim", [(None, False), (0, False), (1, True), (-1, False), ((0, 1), False),
                                          ((0, -1), True), ((), False)])
@pytest.mark.parametrize("data", [[[1.0, 0.0, 2.0], [3.0, 4.0, np.nan]], [[0, 0, 1], [2, 0, 3]],
                                  [[True, True, False], [True, True, True]], np.zeros((2, 0))])
def test_all_and_any_match_torch(name, dim, keepdim, data):
    mine, theirs = both(data)
    options = {} if dim is None else {"dim": dim, "keepdim": keepdim}
    expected = getattr(theirs, name)(**options)
    assert_same(getattr(mine, name)(**options), expected)
    assert_same(getattr(mg, name)(mine, **options), getattr(torch, name)(theirs, **options))
    if dim is not None and not isinstance(dim, tuple):
        assert_same(getattr(mine, name)(dim, keepdim), expected)  # dim and keepdim by position


def test_all_and_any_of_a_0d_tensor_and_bad_dims():
    mine, theirs = both(np.array(2.0))
    assert_same(mine.all(0), theirs.all(0))
    assert_same(mine.any(dim=-1, keepdim=True), theirs.any(dim=-1, keepdim=True))
    with pytest.raises(IndexError):
        torch.zeros(2, 3).all(dim=2)
    with pytest.raises(IndexError, match="all: axis 2 is out of range"):
        mg.zeros(2, 3).all(dim=2)


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite"])
@pytest.mark.parametrize("data", [SPECIAL, SPECIAL.astype(np.float32), INTEGERS, np.array([True, False])])
def test_special_value_tests_match_torch(name, data):
    mine, theirs = both(data)
    assert_same(getattr(mine, name)(), getattr(theirs, name)())
    assert_same(getattr(mg, name)(mine), getattr(torch, name)(theirs))


LOGICAL_OPERANDS = [np.array([1.5, 0.0, -2.0, 0.0]), np.array([0, 3, 1, 0]), np.array([True, True, False, False])]


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
@pytest.mark.parametrize("first", LOGICAL_OPERANDS)
@pytest.mark.parametrize("second", LOGICAL_OPERANDS + [np.array([[1], [0]])])
def test_logical_functions_match_torch(name, first, second):
    (mine_first, their_first), (mine_second, their_second) = both(first), both(second)
    assert_same(getattr(mine_first, name)(mine_second), getattr(their_first, name)(their_second))
    assert_same(getattr(mg, name)(mine_first, mine_second), getattr(torch, name)(their_first, their_second))


@pytest.mark.parametrize("data", LOGICAL_OPERANDS)
def test_logical_not_matches_torch(data):
    mine, theirs = both(data)
    assert_same(mine.logical_not(), theirs.logical_not())
    assert_same(mg.logical_not(mine), torch.logical_not(theirs))


BITWISE = {"and": lambda a, b: a & b, "or": lambda a, b: a | b, "xor": lambda a, b: a ^ b}


@pytest.mark.parametrize("operator", list(BITWISE))
@pytest.mark.parametrize(
    "first, second",
    [([True, False, True], [True, True, False]), ([5, 3, -8], [6, 1, 3]),
     (np.array([5, 3, 12], dtype=np.int32), [True, False, True]), ([5, 3, 12], 6), ([True, False], True),
     (np.array([5, 3], dtype=np.int32), 6), (6, [5, 3])],
)
def test_bitwise_operators_match_torch(operator, first, second):
    def operand(value, library):
        return value if isinstance(value, (int, bool)) else library(np.asarray(value))

    expected = BITWISE[operator](operand(first, torch.tensor), operand(second, torch.tensor))
    assert_same(BITWISE[operator](operand(first, mg.tensor), operand(second, mg.tensor)), expected)


@pytest.mark.parametrize("data", [[True, False], [5, -3, 0], np.array([5, -3], dtype=np.int32)])
def test_invert_matches_torch(data):
    mine, theirs = both(data)
    assert_same(~mine, ~theirs)
    assert_same(mine.bitwise_not(), theirs.bitwise_not())


def test_bitwise_operators_refuse_floats_like_torch():
    with pytest.raises(TypeError):
        ~torch.ones(2)
    with pytest.raises(TypeError, match=r"bitwise_not \(~\): only implemented on integer and bool tensors"):
        ~mg.ones(2)
    with pytest.raises(TypeError, match=r"bitwise_and \(&\): only implemented on integer and bool"):
        mg.tensor([1, 2]) & 1.5
    with pytest.raises(TypeError, match=r"bitwise_or \(\|\)"):
        mg.ones(2) | mg.tensor([True, False])


def test_masks_combine_as_in_pytorch_code():
    x = mg.tensor([-2.0, 0.5, 3.0, np.nan])
    mask = (x > 0) & ~x.isnan() | (x == -2)
    assert mask.tolist() == [True, True, True, False]
    assert (x[mask]).tolist() == [-2.0, 0.5, 3.0]
    assert ((x > 0).sum().item(), (x.eq(0.5)).any().item()) == (2, True)
