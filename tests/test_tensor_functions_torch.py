"""PyTorch's tensor functions in minigrad against PyTorch itself: the same call (tests/tensor_function_cases.py)
on both, values, dtypes and gradients equal in float64 and float32; the named pairs as torch.return_types."""
import numpy as np
import pytest
from tensor_function_cases import CASES, flat, inputs

import minigrad as mg

torch = pytest.importorskip("torch")

TOLERANCES = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-6)}
# PyTorch's own backward refuses these: compared on values (and gradcheck checks minigrad's gradients)
VALUES_ONLY = {"scatter_add src larger": "ScatterAddBackward0 refuses a src larger than the index"}


def run(library, function, arrays, dtype, backward=True):
    """The function's flattened output and its inputs' gradients for one fixed upstream gradient."""
    make = (lambda array: mg.tensor(array, dtype=dtype, requires_grad=True)) if library is mg else (
        lambda array: torch.tensor(array, dtype=getattr(torch, np.dtype(dtype).name), requires_grad=True))
    tensors = [make(array) for array in arrays]
    output = function(library, *tensors)
    joined = flat(library, output)
    weights = np.cos(np.arange(joined.numel() if library is torch else joined.data.size) + 1.0)
    if backward:
        (joined * library.tensor(weights.astype(dtype))).sum().backward()
    gradients = [np.zeros(array.shape) if tensor.grad is None else tensor.grad.numpy() for tensor, array in
                 zip(tensors, arrays)]
    return output, joined.detach().numpy(), gradients


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_equal_pytorch(name, dtype):
    function, shapes = CASES[name]
    arrays = inputs(shapes)
    backward = name not in VALUES_ONLY
    mine, mine_values, mine_gradients = run(mg, function, arrays, dtype, backward)
    theirs, their_values, their_gradients = run(torch, function, arrays, dtype, backward)
    assert type(mine).__name__ == type(theirs).__name__  # Tensor, tuple, or the named pairs max, sort, topk
    parts = zip(mine, theirs) if isinstance(theirs, tuple) else [(mine, theirs)]
    for mine_part, their_part in parts:
        assert tuple(mine_part.shape) == tuple(their_part.shape)
        assert str(mine_part.dtype) == str(their_part.dtype).replace("torch.", "")
        if not their_part.dtype.is_floating_point:  # indices: exactly PyTorch's
            np.testing.assert_array_equal(mine_part.numpy(), their_part.numpy())
    np.testing.assert_allclose(mine_values, their_values, **TOLERANCES[dtype])
    for mine_gradient, their_gradient in zip(mine_gradients, their_gradients):
        np.testing.assert_allclose(mine_gradient, their_gradient, **TOLERANCES[dtype])


@pytest.mark.parametrize("name", ["max", "min", "sort", "topk"])
def test_named_pairs_read_like_torch_return_types(name):
    x = np.array([[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]])
    call = {"max": lambda t: t.max(1), "min": lambda t: t.min(1), "sort": lambda t: t.sort(), "topk": lambda t: t.topk(2)}
    mine, theirs = call[name](mg.tensor(x)), call[name](torch.tensor(x))
    assert type(mine).__name__ == type(theirs).__name__ == name
    assert type(mine) is getattr(mg.return_types, name)
    assert mine._fields == ("values", "indices")
    values, indices = mine
    np.testing.assert_array_equal(values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(mine.indices.numpy(), theirs[1].numpy())
    assert repr(mine).startswith(f"minigrad.return_types.{name}(\nvalues=tensor(")


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")  # no freedom left: both warn
@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("values, correction", [([1.0, 2.0, 3.0], 3), ([1.0, 2.0, 3.0], 4), ([5.0], 1),
                                                ([np.nan], 1), ([-np.inf], 1), ([np.inf, 1.0], 2), ([1.0, 2.0, 3.0], 2),
                                                ([2.0, 2.0], 1)])
@pytest.mark.parametrize("dim", [None, 0])
@pytest.mark.parametrize("upstream", [1.0, -2.0])
def test_var_and_std_where_the_correction_leaves_no_freedom_as_pytorch(name, values, correction, dim, upstream):
    gradients = []
    for library in (mg, torch):
        x = library.tensor(values, dtype=library.float64, requires_grad=True)
        out = getattr(x, name)(dim, correction=correction)
        out.backward(library.tensor(upstream, dtype=library.float64))
        gradients.append((out.detach().numpy(), x.grad.numpy()))
    (mine_value, mine_gradient), (their_value, their_gradient) = gradients
    np.testing.assert_array_equal(mine_value, their_value)
    np.testing.assert_array_equal(mine_gradient, their_gradient)


@pytest.mark.parametrize("p", [2, "fro", 1, 3, 0.5, float("inf")])
@pytest.mark.parametrize("upstream", [np.nan, np.inf, 1.0])
def test_norm_gradient_at_zero_with_any_upstream_as_pytorch(p, upstream):
    gradients = []
    for library in (mg, torch):
        x = library.tensor([-0.0, 0.0], dtype=library.float64, requires_grad=True)
        x.norm(p).backward(library.tensor(upstream, dtype=library.float64))
        gradients.append(x.grad.numpy())
    np.testing.assert_array_equal(gradients[0], gradients[1])


@pytest.mark.parametrize("p", [3, 2, 0.5])
def test_a_norm_over_one_element_is_its_magnitude_without_overflow(p):
    x = np.array([[1e15], [-2e15]], dtype=np.float32)  # x**3 overflows float32, |x| does not
    mine, theirs = mg.tensor(x).norm(p, dim=1), torch.tensor(x).norm(p, dim=1)
    np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    assert np.isfinite(mine.numpy()).all()
