"""nn.Embedding and F.embedding against PyTorch 2.13 (values, the weight's gradient, padding_idx,
scale_grad_by_freq, max_norm's in-place renormalisation, second derivatives), gradcheck and
gradgradcheck in float64, the module's initialisation, repr and refusals, and the CPU kernels'
bounds-checked serial twins against NumPy."""
import numpy as np
import pytest
from minigrad.kernels.cpu import embedding as kernels
from minigrad.kernels.cpu.preset import checked_twin

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F

torch = pytest.importorskip("torch")
torch_functional = torch.nn.functional

DTYPES = {"float32": (mg.float32, torch.float32, 1e-6), "float64": (mg.float64, torch.float64, 1e-13)}
ROWS, WIDTH = 11, 19  # 19 columns: a full 16-column block and a partial one
INDEX_SHAPES = {
    "scalar": np.array(4),
    "vector": np.array([3, 3, 0, 10, 3]),
    "matrix": np.array([[1, 2, 1, 7], [10, 0, 1, 1]]),
    "3d": np.array([[[5, 5], [2, 9]], [[9, 9], [0, 5]], [[1, 3], [3, 1]]]),
}


def table(seed=0, rows=ROWS, width=WIDTH):
    return np.random.default_rng(seed).standard_normal((rows, width))


def both(indices, weight_array, dtype_name, **options):
    """(output, weight gradient) from minigrad and from PyTorch for one random cotangent."""
    mg_dtype, torch_dtype, _ = DTYPES[dtype_name]
    weight = mg.tensor(weight_array, dtype=mg_dtype, requires_grad=True)
    reference = torch.tensor(weight_array, dtype=torch_dtype, requires_grad=True)
    out = F.embedding(mg.tensor(indices), weight, **options)
    expected = torch_functional.embedding(torch.tensor(indices), reference, **options)
    cotangent = np.random.default_rng(5).standard_normal(out.shape)
    (out * mg.tensor(cotangent, dtype=mg_dtype)).sum().backward()
    (expected * torch.tensor(cotangent, dtype=torch_dtype)).sum().backward()
    return (out, weight), (expected, reference)


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("options", [{}, {"padding_idx": 3}, {"padding_idx": -1}, {"scale_grad_by_freq": True},
                                     {"padding_idx": 1, "scale_grad_by_freq": True}], ids=repr)
@pytest.mark.parametrize("shape", sorted(INDEX_SHAPES))
def test_lookup_and_weight_gradient_match_torch(shape, options, dtype):
    (out, weight), (expected, reference) = both(INDEX_SHAPES[shape], table(), dtype, **options)
    tolerance = DTYPES[dtype][2]
    assert out.shape == tuple(expected.shape) and out.dtype == DTYPES[dtype][0]
    np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
    np.testing.assert_allclose(weight.grad.numpy(), reference.grad.numpy(), rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("options", [{}, {"padding_idx": 7, "scale_grad_by_freq": True}], ids=repr)
def test_the_parallel_kernels_match_torch_above_the_numpy_size(options):
    """Above PARALLEL_EMBEDDING_SIZE elements the Numba kernels run (below it, NumPy's take and add.at)."""
    indices = np.random.default_rng(8).integers(0, 50, (64, 50))  # many repeats of every row
    (out, weight), (expected, reference) = both(indices, table(9, 50, 37), "float64", **options)
    np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
    np.testing.assert_allclose(weight.grad.numpy(), reference.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_int32_indices_and_an_empty_batch():
    (out, weight), (expected, reference) = both(np.array([[2, 2, 5]], dtype=np.int32), table(), "float64")
    np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
    np.testing.assert_allclose(weight.grad.numpy(), reference.grad.numpy())
    empty = F.embedding(mg.tensor(np.zeros((0, 3), dtype=np.int64)), mg.tensor(table(), requires_grad=True))
    assert empty.shape == (0, 3, WIDTH)


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
def test_max_norm_renormalizes_the_looked_up_rows_in_place_as_torch(norm_type, dtype):
    weight_array = table(1) * 2
    indices = np.array([[0, 4, 4], [7, 0, 2]])  # repeated rows are scaled once
    (out, weight), (expected, reference) = both(indices, weight_array, dtype, max_norm=1.5, norm_type=norm_type)
    tolerance = 1e-6 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(weight.numpy(), reference.detach().numpy(), rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(weight.grad.numpy(), reference.grad.numpy(), rtol=tolerance, atol=tolerance)
    untouched = [row for row in range(ROWS) if row not in indices]
    np.testing.assert_array_equal(weight.numpy()[untouched], weight_array[untouched].astype(weight.numpy().dtype))


def test_max_norm_through_the_module_bumps_the_weight_version():
    layer = nn.Embedding(6, 4, max_norm=0.5)
    version = layer.weight._version
    layer(mg.tensor([1, 2]))
    assert layer.weight._version == version + 1
    norms = np.linalg.norm(layer.weight.numpy()[[1, 2]], axis=1)
    assert (norms <= 0.5 + 1e-6).all()


def test_gradcheck_and_gradgradcheck():
    weight = mg.tensor(table(2, 6, 3), dtype=mg.float64, requires_grad=True)
    indices = mg.tensor([[1, 4, 1], [0, 5, 1]])
    assert mg.gradcheck(lambda w: F.embedding(indices, w), [weight])
    assert mg.gradgradcheck(lambda w: F.embedding(indices, w) ** 2, [weight])


@pytest.mark.parametrize("options", [{}, {"padding_idx": 1, "scale_grad_by_freq": True}], ids=repr)
def test_second_derivatives_match_torch(options):
    """The gradient of a weight-gradient through the scatter and the gather, padding and scaling included."""
    array, indices = table(3, 6, 3), np.array([[1, 4, 1], [0, 5, 1]])
    weight = mg.tensor(array, dtype=mg.float64, requires_grad=True)
    reference = torch.tensor(array, requires_grad=True)
    (first,) = mg.autograd.grad((F.embedding(mg.tensor(indices), weight, **options) ** 3).sum(), weight,
                                create_graph=True)
    (expected_first,) = torch.autograd.grad(
        (torch_functional.embedding(torch.tensor(indices), reference, **options) ** 3).sum(), reference,
        create_graph=True)
    np.testing.assert_allclose(first.numpy(), expected_first.detach().numpy(), rtol=1e-13)
    (second,) = mg.autograd.grad((first * first).sum(), weight)
    (expected_second,) = torch.autograd.grad((expected_first * expected_first).sum(), reference)
    np.testing.assert_allclose(second.numpy(), expected_second.numpy(), rtol=1e-12)


# --- the module ----------------------------------------------------------------------------------------------

def test_initialisation_is_standard_normal_with_the_padding_row_zero():
    mg.manual_seed(0)
    layer = nn.Embedding(400, 50, padding_idx=-2)
    values = layer.weight.numpy()
    assert layer.padding_idx == 398 and values.dtype == np.float32
    np.testing.assert_array_equal(values[398], 0)
    others = np.delete(values, 398, axis=0)
    assert abs(others.mean()) < 0.02 and abs(others.std() - 1) < 0.02
    assert list(layer.state_dict()) == ["weight"] and layer.weight.requires_grad


@pytest.mark.parametrize("arguments", [
    (10, 3), (10, 3, 0), (10, 3, -1, 1.0), (10, 3, None, 2.0, 1.0), (10, 3, None, None, 2.0, True),
], ids=repr)
def test_repr_is_torch(arguments):
    assert repr(nn.Embedding(*arguments)) == repr(torch.nn.Embedding(*arguments))


def test_from_pretrained_keeps_the_table_and_freezes_it():
    pretrained = mg.tensor(table(4, 5, 3), dtype=mg.float32)
    frozen = nn.Embedding.from_pretrained(pretrained, padding_idx=2)
    np.testing.assert_array_equal(frozen.weight.numpy(), pretrained.numpy())  # the padding row is not zeroed
    assert not frozen.weight.requires_grad and frozen.padding_idx == 2
    assert nn.Embedding.from_pretrained(pretrained, freeze=False).weight.requires_grad
    assert repr(frozen) == repr(torch.nn.Embedding.from_pretrained(torch.tensor(pretrained.numpy()), padding_idx=2))
    with pytest.raises(ValueError, match="from_pretrained: embeddings must be 2-dimensional"):
        nn.Embedding.from_pretrained(mg.zeros(3))
    with pytest.raises(ValueError, match="Embedding: shape of weight"):
        nn.Embedding(4, 3, _weight=mg.zeros(3, 3))
    assert nn.Embedding(5, 3, _weight=pretrained, _freeze=True).weight.requires_grad is False
    assert nn.Embedding(5, 3, _weight=pretrained, dtype=mg.float64).weight.dtype == mg.float32  # as torch
    assert nn.Embedding(5, 3, dtype=mg.float64).weight.dtype == mg.float64


def test_refusals_name_the_offending_value():
    weight = mg.tensor(table(), requires_grad=True)
    with pytest.raises(IndexError, match=r"embedding: index 11 at position \(1, 2\) is out of range for 11 embeddings"):
        F.embedding(mg.tensor([[0, 1, 2], [3, 4, 11]]), weight)
    with pytest.raises(IndexError, match=r"index -1 at position \(0,\)"):
        F.embedding(mg.tensor([-1, 0]), weight)
    with pytest.raises(TypeError, match="embedding: indices must be an integer tensor.*float32"):
        F.embedding(mg.tensor([0.0, 1.0]), weight)
    with pytest.raises(NotImplementedError, match="sparse=True"):
        F.embedding(mg.tensor([0]), weight, sparse=True)
    with pytest.raises(NotImplementedError, match="Embedding: sparse=True"):
        nn.Embedding(4, 2, sparse=True)
    with pytest.raises(ValueError, match=r"embedding: padding_idx must be within weight.size\(0\) \(11\), got 11"):
        F.embedding(mg.tensor([0]), weight, padding_idx=11)
    with pytest.raises(ValueError, match=r"Embedding: padding_idx must be within num_embeddings \(4\), got -5"):
        nn.Embedding(4, 2, padding_idx=-5)
    with pytest.raises(ValueError, match="embedding: weight must be 2-D"):
        F.embedding(mg.tensor([0]), mg.zeros(3))
    with pytest.raises(ValueError, match="Embedding: embedding_dim must be a non-negative int, got 2.5"):
        nn.Embedding(4, 2.5)
    with pytest.raises(TypeError, match="Embedding: expected a Tensor as input"):
        nn.Embedding(4, 2)(np.array([0, 1]))


# --- the CPU kernels, bounds-checked and serial -----------------------------------------------------------------

_twins = {}


def twin(name):
    """The bounds-checked serial twin of a kernel, compiled once for the module (twins are not cached)."""
    if name not in _twins:
        _twins[name] = checked_twin(getattr(kernels, name))
    return _twins[name]


@pytest.mark.parametrize("padding_idx", [-1, 2])
@pytest.mark.parametrize("scale", [False, True])
def test_checked_twins_match_numpy(scale, padding_idx):
    rng = np.random.default_rng(6)
    weight = rng.standard_normal((7, 37))
    indices = rng.integers(0, 7, 23)
    out = np.empty((23, 37))
    twin("embedding_forward")(weight, indices, out)
    np.testing.assert_array_equal(out, weight[indices])
    grad_out = rng.standard_normal((23, 37))
    grad_weight = np.zeros_like(weight)
    twin("embedding_backward")(grad_out, indices, padding_idx, scale, grad_weight)
    expected = np.zeros_like(weight)
    np.add.at(expected, indices, grad_out)
    if scale:
        counts = np.bincount(indices, minlength=7)
        expected /= np.maximum(counts, 1)[:, None]
    if padding_idx >= 0:
        expected[padding_idx] = 0
    np.testing.assert_allclose(grad_weight, expected, rtol=1e-14, atol=1e-14)
    renormed, marks = weight.copy(), np.zeros(7, dtype=np.int8)
    twin("embedding_renorm")(renormed, indices[:5], 1.0, 2.0, marks)
    norms = np.linalg.norm(weight, axis=1, keepdims=True)
    chosen = np.isin(np.arange(7), indices[:5])[:, None] & (norms > 1.0)
    np.testing.assert_allclose(renormed, np.where(chosen, weight / (norms + 1e-7), weight), rtol=1e-14)


def test_checked_twins_refuse_an_index_out_of_range():
    weight, out = np.zeros((3, 2)), np.empty((2, 2))
    with pytest.raises(IndexError):
        twin("embedding_forward")(weight, np.array([0, 3]), out)
    with pytest.raises(IndexError):  # the frequency count indexes by the index
        twin("embedding_backward")(np.ones((2, 2)), np.array([0, 3]), -1, True, np.zeros((3, 2)))
    # Without it each task adds only the positions naming its own rows: an index out of range is never
    # written anywhere (F.embedding refuses it before any kernel runs).
    grad_weight = np.zeros((3, 2))
    twin("embedding_backward")(np.ones((2, 2)), np.array([0, 3]), -1, False, grad_weight)
    np.testing.assert_array_equal(grad_weight, [[1, 1], [0, 0], [0, 0]])
