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


# --- PyTorch's meaning at the edges -----------------------------------------------------------------

def test_max_along_a_dim_sends_the_gradient_to_the_first_maximum_and_amax_shares_it():
    x = mg.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], dtype=mg.float64, requires_grad=True)
    values, indices = x.max(1)
    assert indices.tolist() == [1, 0] and indices.dtype == mg.int64 and not indices.requires_grad
    values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [1, 0, 0]])
    x.grad = None
    x.amax(1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0.5, 0.5], [0.5, 0.5, 0]])
    assert x.max().ndim == 0 and x.max(axis=1, keepdims=True).values.shape == (2, 1)  # NumPy's spellings too


def test_max_and_min_of_a_0d_tensor_along_its_dim():
    values, indices = mg.tensor(2.5).max(0)
    assert values.shape == () and values.item() == 2.5 and indices.item() == 0
    assert mg.tensor(2.5).min(-1, keepdim=True).indices.shape == ()


def test_sort_and_topk_count_nan_as_largest_and_keep_ties_in_order():
    x = mg.tensor([3.0, 1.0, 2.0, 3.0, np.nan, 0.0])
    assert x.sort().indices.tolist() == [5, 1, 2, 0, 3, 4]
    assert x.sort(descending=True).indices.tolist() == [4, 0, 3, 2, 1, 5]
    assert x.topk(3).indices.tolist() == [4, 0, 3]
    assert x.topk(2, largest=False).values.tolist() == [0.0, 1.0]
    assert mg.tensor([3, 1, 2]).sort().values.tolist() == [1, 2, 3]  # integers sort too, without gradient


def test_cat_skips_legacy_empty_tensors_and_promotes_dtypes():
    a = mg.zeros(2, 3, dtype=mg.float32)
    assert mg.cat([a, mg.zeros(0), a.double()]).shape == (4, 3)
    assert mg.cat([a, a.double()]).dtype == mg.float64
    assert mg.cat([mg.tensor([1, 2]), mg.tensor([0.5])]).dtype == mg.float32
    assert mg.stack([mg.tensor([True]), mg.tensor([2])]).dtype == mg.int64
    assert mg.cat([mg.zeros(0)], 1).shape == (0,)  # nothing to join, no dim to check, as PyTorch


def test_split_chunk_and_expand_are_views_of_the_tensor():
    x = mg.tensor(np.arange(10.0))
    first, second = x.split([4, 6])
    with mg.no_grad():
        second += 100
    assert x.tolist()[4] == 104.0 and second._version == x._version
    assert [piece.shape for piece in x.chunk(4)] == [(3,), (3,), (3,), (1,)]
    assert len(mg.zeros(6).chunk(4)) == 3 and len(mg.zeros(0).chunk(3)) == 3
    assert [piece.shape for piece in mg.zeros(0).split(2)] == [(0,)]
    wide = x[:2].reshape(2, 1).expand(2, 5)
    assert np.shares_memory(wide.numpy(), x.numpy()) and wide.shape == (2, 5)


def test_where_with_the_condition_alone_gives_the_indices():
    rows, columns = mg.where(mg.tensor([[True, False], [False, True]]))
    assert rows.tolist() == [0, 1] and columns.tolist() == [0, 1] and rows.dtype == mg.int64


def test_where_and_masked_fill_dtypes():
    x = mg.tensor([1.0, -2.0])
    assert mg.where(x > 0, 1.0, 0.0).dtype == mg.float32
    assert mg.where(x > 0, 1, 0).dtype == mg.int64
    assert mg.where(x > 0, x, x.double()).dtype == mg.float64
    assert mg.tensor([1, 5]).masked_fill(mg.tensor([True, False]), 2.7).tolist() == [2, 5]  # cast, as PyTorch
    value = mg.tensor(0.5, dtype=mg.float64, requires_grad=True)
    x.masked_fill(mg.tensor([[True], [False]]), value).sum().backward()  # the mask broadcasts the result to (2, 2)
    assert value.grad.item() == 2.0


def test_cumsum_of_integers_and_booleans_is_int64():
    assert mg.tensor([True, True, False]).cumsum(0).tolist() == [1, 2, 2]
    assert mg.tensor([[1, 2], [3, 4]]).cumsum(dim=1).dtype == mg.int64
    assert mg.tensor([1, 2]).cumsum(0, dtype=mg.float64).dtype == mg.float64
    assert mg.tensor(2.0).cumsum(0).shape == ()


def test_std_and_norm_send_no_gradient_where_they_are_zero():
    x = mg.ones(3, dtype=mg.float64, requires_grad=True)
    (x.std() + (x - 1).norm() + (x - 1).norm(3)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 0])


def test_var_and_std_spellings():
    x = mg.tensor([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]], dtype=mg.float64)
    np.testing.assert_allclose(x.var().item(), np.var(x.numpy(), ddof=1))
    np.testing.assert_allclose(x.var(False).item(), np.var(x.numpy()))
    np.testing.assert_allclose(x.var(1, unbiased=False).numpy(), np.var(x.numpy(), axis=1))
    np.testing.assert_allclose(x.std(axis=0, keepdims=True).numpy(), np.std(x.numpy(), axis=0, ddof=1, keepdims=True))
    np.testing.assert_allclose(mg.var(x, 1, correction=2).numpy(), np.var(x.numpy(), axis=1, ddof=2))


def test_logsumexp_at_infinities():
    x = mg.tensor([[-np.inf, -np.inf], [np.inf, 1.0], [1000.0, 1000.0]], dtype=mg.float64)
    np.testing.assert_array_equal(x.logsumexp(1).numpy(), [-np.inf, np.inf, 1000.0 + np.log(2.0)])


def test_clamp_with_tensor_bounds_follows_pytorch_where_min_exceeds_max():
    x = mg.tensor([1.0, 2.0, 5.0], requires_grad=True)
    low, high = mg.tensor(3.0, requires_grad=True), mg.tensor(2.0, requires_grad=True)
    out = x.clamp(low, high)
    assert out.tolist() == [2.0, 2.0, 2.0]
    out.sum().backward()
    assert x.grad.tolist() == [0, 0, 0] and low.grad.item() == 0 and high.grad.item() == 3
    assert mg.tensor([1, 5]).clamp(2.5).dtype == mg.float32  # an integer tensor with a float bound: float
    assert np.isnan(mg.tensor([1.0]).clamp(min=float("nan")).item())


def test_functions_and_methods_agree():
    x = mg.tensor(np.arange(12.0).reshape(3, 4))
    assert mg.flatten(x, 0).shape == (12,) and mg.squeeze(x.reshape(1, 3, 4)).shape == (3, 4)
    assert mg.sum(x, 1).tolist() == x.sum(1).tolist() and mg.mean(x).item() == x.mean().item()
    assert mg.concatenate([x, x], axis=1).shape == (3, 8) and mg.concat([x, x]).shape == (6, 4)
    assert mg.clip(x, 2.0, 3.0).tolist() == x.clamp(2.0, 3.0).tolist()
    assert mg.pow(x, 2).tolist() == (x ** 2).tolist() and mg.pow(2.0, x).tolist() == (2.0 ** x).tolist()
    assert mg.argmin(x, 1, keepdim=True).shape == (3, 1) and x.argmax(keepdim=True).shape == (1, 1)
    assert x.repeat(2, 1).shape == (6, 4) and x[:1].expand_as(x).shape == (3, 4)


def test_ties_share_the_gradient_in_maximum_and_pass_it_to_x_at_a_clamp_bound():
    a = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = mg.tensor([1.0, 5.0, 0.0], requires_grad=True)
    mg.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 0.0, 1.0] and b.grad.tolist() == [0.5, 1.0, 0.0]
    x, low = mg.tensor([1.0, 0.0], requires_grad=True), mg.tensor([1.0, 1.0], requires_grad=True)
    x.clamp(min=low).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0] and low.grad.tolist() == [0.0, 1.0]


def test_ties_in_the_inf_norm_share_the_gradient_and_integer_scatter_add_adds_repeats():
    x = mg.tensor([2.0, 1.0, -2.0], requires_grad=True)
    x.norm(float("inf")).backward()
    assert x.grad.tolist() == [0.5, 0.0, -0.5]  # as PyTorch: sign(x) * g / (number of maxima)
    counts = mg.zeros(4, dtype=mg.int64).scatter_add(0, mg.tensor([1, 3, 1, 1]), mg.ones(4, dtype=mg.int64))
    assert counts.tolist() == [0, 3, 0, 1]


def test_a_clamp_bound_equal_to_x_passes_the_gradient_to_x():
    x = mg.tensor([1.0, 2.0, 0.0, 3.0], requires_grad=True)
    low = mg.tensor([1.0, 0.0, 0.5, 0.0], requires_grad=True)
    high = mg.tensor([2.0, 2.0, 2.0, 2.5], requires_grad=True)
    x.clamp(low, high).sum().backward()
    assert x.grad.tolist() == [1, 1, 0, 0] and low.grad.tolist() == [0, 0, 1, 0] and high.grad.tolist() == [0, 0, 0, 1]


@pytest.mark.parametrize("largest", [True, False])
def test_topk_by_partition_picks_what_sort_picks_among_ties_and_nan(largest):
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.choice([np.nan, np.inf, -np.inf, 0.0, 1.0, 2.0], (20, 64)))  # ties everywhere
    for k in (1, 3, 8):  # 8 * k <= 64: the linear-time path
        top = x.topk(k, dim=1, largest=largest)
        ordered = x.sort(dim=1, descending=largest)
        np.testing.assert_array_equal(top.indices.numpy(), ordered.indices.numpy()[:, :k])
        np.testing.assert_array_equal(top.values.numpy(), ordered.values.numpy()[:, :k])
