"""PyTorch's tensor functions in minigrad (cat, stack, split, where, gather, sort, max along a dim,
norm, var...): gradients against central differences, second derivatives, forward mode, the
(values, indices) pairs, views, aliases, and the errors PyTorch gives, raised at the call naming
the function. Values and gradients against PyTorch: tests/test_tensor_functions_torch.py."""
import numpy as np
import pytest
from tensor_function_cases import CASES, flat, inputs

import minigrad as mg


def leaves(shapes, seed=0):
    return [mg.tensor(array, dtype=mg.float64, requires_grad=True) for array in inputs(shapes, seed)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_second_derivatives_and_forward_mode(name):
    function, shapes = CASES[name]

    def flattened(*tensors):
        return flat(mg, function(mg, *tensors))

    tensors = leaves(shapes)
    assert mg.gradcheck(flattened, tensors)
    assert mg.gradgradcheck(flattened, tensors)
    plain = [tensor.detach() for tensor in tensors]
    positions = tuple(range(len(plain)))
    forward = mg.func.jacfwd(flattened, argnums=positions)(*plain)
    reverse = mg.func.jacrev(flattened, argnums=positions)(*plain)
    for by_jvp, by_vjp in zip(forward, reverse):
        np.testing.assert_allclose(by_jvp.numpy(), by_vjp.numpy(), rtol=1e-10, atol=1e-12)


# --- what PyTorch refuses, refused at the call, naming the function ---------------------------------

def test_cat_names_the_mismatched_tensors_and_their_shapes():
    with pytest.raises(ValueError, match=r"cat: sizes of tensors must match except in dim 0: tensor 0 has shape "
                                         r"\(2, 3\), tensor 2 has shape \(2, 4\)"):
        mg.cat([mg.zeros(2, 3), mg.zeros(1, 3), mg.zeros(2, 4)])
    with pytest.raises(ValueError, match=r"cat: tensors must have the same number of dimensions: tensor 0 has "
                                         r"shape \(2, 3\), tensor 1 has shape \(3,\)"):
        mg.cat([mg.zeros(2, 3), mg.zeros(3)])


@pytest.mark.parametrize("call, error, message", [
    (lambda: mg.cat([]), ValueError, "cat: expected a non-empty list"),
    (lambda: mg.cat(mg.zeros(2, 3)), TypeError, "cat: argument 'tensors' must be a tuple or list"),
    (lambda: mg.cat([mg.zeros(2), 3.0]), TypeError, "cat: expected a tensor at position 1"),
    (lambda: mg.cat([mg.tensor(1.0), mg.tensor(2.0)]), ValueError, r"cat: a zero-dimensional tensor \(at position 0\)"),
    (lambda: mg.cat([mg.zeros(2, 3), mg.zeros(2, 3)], 2), IndexError, "cat: axis 2 is out of range"),
    (lambda: mg.stack([mg.zeros(2, 3), mg.zeros(2, 4)]), ValueError,
     r"stack: expects each tensor to be equal size, but got \(2, 3\) at entry 0 and \(2, 4\) at entry 1"),
    (lambda: mg.stack([mg.zeros(2)], 2), IndexError, r"stack: dim 2 is out of range .* \[-2, 1\]"),
    (lambda: mg.stack([]), ValueError, "stack: expected a non-empty list"),
])
def test_joining_refuses_what_pytorch_refuses(call, error, message):
    with pytest.raises(error, match=message):
        call()


X = mg.tensor(np.arange(6.0).reshape(2, 3), dtype=mg.float32)


@pytest.mark.parametrize("call, error, message", [
    (lambda: X.gather(1, mg.tensor([[0, 3]])), IndexError, r"gather: index 3 is out of bounds for dim 1 with size 3"),
    (lambda: X.gather(0, mg.tensor([[-1, 0]])), IndexError, r"gather: index -1 is out of bounds for dim 0 with size 2"),
    (lambda: X.gather(1, mg.tensor([[0.0, 1.0]])), TypeError, "gather: expected an int64 index tensor, got float32"),
    (lambda: X.gather(1, [[0, 1]]), TypeError, "gather: argument 'index' must be an int64 tensor"),
    (lambda: X.gather(1, mg.tensor([0, 1])), ValueError, r"gather: the index of shape \(2,\) must have as many dims"),
    (lambda: X.gather(1, mg.zeros(3, 1, dtype=mg.int64)), ValueError,
     r"gather: the index of shape \(3, 1\) must be no larger than the tensor of shape \(2, 3\) apart from dim 1"),
    (lambda: X.gather(2, mg.tensor([[0]])), IndexError, "gather: axis 2 is out of range"),
    (lambda: X.scatter_add(1, mg.tensor([[3]]), X), IndexError, "scatter_add: index 3 is out of bounds"),
    (lambda: X.scatter_add(1, mg.tensor([[0]]), X.double()), TypeError, "scatter_add: src is float64, the tensor float32"),
    (lambda: X.scatter_add(1, mg.tensor([[0, 1]]), X[:, :1]), ValueError,
     r"scatter_add: the index of shape \(1, 2\) must be no larger than src of shape \(2, 1\)"),
    (lambda: X.masked_fill(X, 0.0), TypeError, "masked_fill: expected 'mask' to be a bool tensor, got one of dtype float32"),
    (lambda: X.masked_fill(X[0] > 1, mg.tensor([1.0])), ValueError, "masked_fill: only a 0-d value tensor"),
    (lambda: X.masked_fill(mg.tensor([True, False]), 1.0), ValueError,
     r"masked_fill: shapes cannot be broadcast together: tensor \(2, 3\), mask \(2,\)"),
    (lambda: mg.where(X, X, X), TypeError, "where: expected 'condition' to be a bool tensor"),
    (lambda: mg.where(X > 1, X, mg.zeros(3, 3)), ValueError,
     r"where: shapes cannot be broadcast together: condition \(2, 3\), input \(2, 3\), other \(3, 3\)"),
    (lambda: mg.where(X > 1, X), TypeError, "where: give both input and other"),
    (lambda: X.topk(4), IndexError, r"topk: k=4 is out of range for dim -1 of size 3"),
    (lambda: (X > 1).topk(1), TypeError, "topk: bool tensors are not supported"),
    (lambda: X.clamp(mg.zeros(3), 1.0), TypeError, "clamp: min and max must both be tensors or both be numbers"),
    (lambda: X.clamp(), ValueError, "clamp: give at least one of min and max"),
    (lambda: X.max((0, 1)), TypeError, r"max: dim must be one int .* use amax\(dim=\(0, 1\)\)"),
    (lambda: X.argmin((0, 1)), TypeError, "argmin: dim must be one int or None"),
    (lambda: mg.max(X, 2.0), IndexError, "max: axis 2.0 is out of range"),
    (lambda: X.maximum(2.0), TypeError, "maximum: argument 'other' must be a tensor"),
    (lambda: mg.zeros(0, 3).max(0), IndexError, r"max: dim 0 of shape \(0, 3\) has no elements"),
    (lambda: mg.zeros(0).argmax(), IndexError, "argmax: the tensor of shape \\(0,\\) is empty"),
    (lambda: mg.tensor([1, 2]).var(), TypeError, "var: expected a floating point tensor, got int64"),
    (lambda: X.std(1, unbiased=True, correction=0), TypeError, "std: give unbiased or correction, not both"),
    (lambda: X.norm("nuc"), ValueError, "norm: p='nuc'"),
    (lambda: mg.zeros(2, 2, 2).norm("fro", (0, 1, 2)), ValueError, "norm: p='fro' takes at most two dims"),
    (lambda: mg.zeros(0).norm(float("inf")), IndexError, r"norm \(p=inf\): cannot reduce over an empty dim"),
    (lambda: X.logsumexp(()), ValueError, "logsumexp: dim must name at least one dim"),
    (lambda: X.split([1, 1], 1), ValueError, r"split: split sizes \[1, 1\] must be non-negative and add up to 3"),
    (lambda: X.split(0), ValueError, "split: split_size must be positive"),
    (lambda: mg.tensor(1.0).split(1), ValueError, "split: expects a tensor of at least one dimension"),
    (lambda: X.chunk(0), ValueError, "chunk: chunks must be positive"),
    (lambda: X.expand(4, 3), ValueError, r"expand: the expanded size 4 must match the existing size 2 at non-singleton dim 0"),
    (lambda: X.expand(3), ValueError, r"expand: the number of sizes given \(1\) must be at least"),
    (lambda: X.expand(-1, 2, 3), ValueError, "expand: size -1 is not allowed for the new leading dim 0"),
    (lambda: X.repeat(2), ValueError, r"repeat: the number of repeats \(1\) must be at least"),
    (lambda: X.squeeze((0, 0)), ValueError, "squeeze: dim .* names a dim more than once"),
    (lambda: X.unsqueeze(1.0), TypeError, "unsqueeze: argument 'dim' must be an int"),
    (lambda: X.view_as([1, 2]), TypeError, "view_as: expected a tensor"),
    (lambda: mg.pow(2, 3), TypeError, "pow: expected a tensor among its arguments"),
    (lambda: X.sum((1, 1)), ValueError, r"sum: dim \(1, 1\) names a dim more than once"),
    (lambda: X.amax(dim=0, axis=1), TypeError, "amax: got both dim=0 and its NumPy alias axis=1"),
])
def test_selection_and_reduction_refuse_what_pytorch_refuses(call, error, message):
    with pytest.raises(error, match=message):
        call()


DIM_OUT_OF_RANGE = {
    "max": lambda t: t.max(2), "min": lambda t: mg.min(t, -3), "argmax": lambda t: t.argmax(2),
    "argmin": lambda t: t.argmin(-3), "amax": lambda t: t.amax(2), "cumsum": lambda t: t.cumsum(2),
    "sort": lambda t: t.sort(2), "topk": lambda t: t.topk(1, 2), "var": lambda t: t.var(2), "std": lambda t: t.std(-3),
    "norm": lambda t: t.norm(dim=2), "logsumexp": lambda t: t.logsumexp(2), "squeeze": lambda t: t.squeeze((0, 2)),
    "unsqueeze": lambda t: t.unsqueeze(3), "split": lambda t: t.split(1, 2), "chunk": lambda t: t.chunk(1, -3),
    "gather": lambda t: t.gather(2, mg.zeros(2, 3, dtype=mg.int64)), "flatten": lambda t: mg.flatten(t, 2),
}


@pytest.mark.parametrize("name", sorted(DIM_OUT_OF_RANGE))
def test_a_dim_out_of_range_is_an_index_error_naming_the_function(name):
    with pytest.raises(IndexError, match=f"^{name}: "):
        DIM_OUT_OF_RANGE[name](X)
