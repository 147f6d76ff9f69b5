"""Every op's gradient checked numerically in float64, and its forward result against NumPy."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
import minigrad.nn.functional as F


def leaf(shape, seed=0, low=None, high=None):
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(shape) if low is None else rng.uniform(low, high, shape)
    return mg.tensor(values, dtype=mg.float64, requires_grad=True)


# (name, function of the inputs, input shapes, input value range or None for normal draws, NumPy forward)
UNARY = [
    ("neg", lambda x: -x, None, lambda a: -a),
    ("exp", lambda x: x.exp(), None, np.exp),
    ("log", lambda x: x.log(), (0.5, 3.0), np.log),
    ("sqrt", lambda x: x.sqrt(), (0.5, 3.0), np.sqrt),
    ("abs", lambda x: x.abs(), (0.1, 2.0), np.abs),
    ("abs negative", lambda x: x.abs(), (-2.0, -0.1), np.abs),
    ("relu", lambda x: x.relu(), None, lambda a: np.maximum(a, 0)),
    ("sigmoid", lambda x: x.sigmoid(), None, lambda a: 1 / (1 + np.exp(-a))),
    ("tanh", lambda x: x.tanh(), None, np.tanh),
    ("clamp", lambda x: x.clamp(-0.5, 0.7), None, lambda a: np.clip(a, -0.5, 0.7)),
    ("clamp min", lambda x: x.clamp(min=0.1), None, lambda a: np.maximum(a, 0.1)),
    ("clamp max", lambda x: x.clamp(max=0.1), None, lambda a: np.minimum(a, 0.1)),
    ("pow 3", lambda x: x**3, None, lambda a: a**3),
    ("pow -1.5", lambda x: x**-1.5, (0.5, 2.0), lambda a: a**-1.5),
    ("pow 0.5", lambda x: x**0.5, (0.5, 2.0), np.sqrt),
    ("pow 0", lambda x: x**0, None, lambda a: a**0),
    ("rpow", lambda x: 2.0**x, None, lambda a: 2.0**a),
    ("scalar ops", lambda x: (3 - x) * 2 / (x * x + 1) + 1, None, lambda a: (3 - a) * 2 / (a * a + 1) + 1),
    ("sum", lambda x: x.sum(), None, np.sum),
    ("sum axis 1", lambda x: x.sum(axis=1), None, lambda a: a.sum(axis=1)),
    ("sum axes keepdims", lambda x: x.sum(dim=(0, 2), keepdim=True), None, lambda a: a.sum(axis=(0, 2), keepdims=True)),
    ("mean", lambda x: x.mean(), None, np.mean),
    ("mean axis -1", lambda x: x.mean(axis=-1, keepdims=True), None, lambda a: a.mean(axis=-1, keepdims=True)),
    ("max", lambda x: x.max(), None, np.max),
    ("amax axis 0", lambda x: x.amax(axis=0), None, lambda a: a.max(axis=0)),
    ("amin axis 2 keepdims", lambda x: x.amin(axis=2, keepdims=True), None, lambda a: a.min(axis=2, keepdims=True)),
    ("reshape", lambda x: x.reshape(4, -1), None, lambda a: a.reshape(4, -1)),
    ("view", lambda x: x.view((3, 8)), None, lambda a: a.reshape(3, 8)),
    ("flatten", lambda x: x.flatten(1), None, lambda a: a.reshape(2, -1)),
    ("transpose", lambda x: x.transpose(0, 2), None, lambda a: a.swapaxes(0, 2)),
    ("T", lambda x: x.T, None, lambda a: a.T),
    ("permute", lambda x: x.permute(1, 2, 0), None, lambda a: a.transpose(1, 2, 0)),
    ("unsqueeze", lambda x: x.unsqueeze(1), None, lambda a: a[:, None]),
    ("squeeze", lambda x: x.unsqueeze(0).squeeze(0), None, lambda a: a),
    ("getitem int", lambda x: x[1], None, lambda a: a[1]),
    ("getitem slices", lambda x: x[:, 1:3, ::2], None, lambda a: a[:, 1:3, ::2]),
    ("getitem negative step", lambda x: x[::-1, :, -1], None, lambda a: a[::-1, :, -1]),
    ("getitem repeated indices", lambda x: x[[0, 1, 0, 0]], None, lambda a: a[[0, 1, 0, 0]]),
    ("getitem mixed", lambda x: x[1, [2, 0, 2], 1:], None, lambda a: a[1, [2, 0, 2], 1:]),
    ("getitem mask", lambda x: x[x.data > 0], None, lambda a: a[a > 0]),
    ("softmax", lambda x: x.softmax(axis=-1), None, lambda a: np.exp(a) / np.exp(a).sum(-1, keepdims=True)),
    ("softmax axis 0", lambda x: x.softmax(dim=0), None, lambda a: np.exp(a) / np.exp(a).sum(0, keepdims=True)),
    ("log_softmax", lambda x: x.log_softmax(-1), None, lambda a: a - np.log(np.exp(a).sum(-1, keepdims=True))),
    ("log_softmax axis 1", lambda x: x.log_softmax(1), None, lambda a: a - np.log(np.exp(a).sum(1, keepdims=True))),
    ("clone", lambda x: x.clone() * 1, None, lambda a: a),
    ("cast float32 round trip", lambda x: x.float().double() * 1, None, lambda a: a.astype(np.float32).astype(np.float64)),
]


@pytest.mark.parametrize("name, function, value_range, reference", UNARY, ids=[case[0] for case in UNARY])
def test_unary_ops(name, function, value_range, reference):
    low, high = value_range if value_range else (None, None)
    x = leaf((2, 3, 4), seed=len(name), low=low, high=high)
    np.testing.assert_allclose(function(x).data, reference(x.data), rtol=1e-12, atol=1e-12)
    if name == "cast float32 round trip":
        return  # a float32 step: central differences at eps=1e-6 cannot see through it
    assert mg.gradcheck(function, (x,))


BINARY_SHAPES = [((2, 3), (2, 3)), ((3, 1, 4), (2, 1)), ((4,), (3, 4)), ((1,), (3, 1)), ((), (2, 2)), ((2, 3), ())]

BINARY = [
    ("add", lambda a, b: a + b, None, np.add),
    ("sub", lambda a, b: a - b, None, np.subtract),
    ("mul", lambda a, b: a * b, None, np.multiply),
    ("div", lambda a, b: a / b, (0.5, 2.0), np.divide),
    ("pow", lambda a, b: a**b, (0.5, 2.0), np.power),
]


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
@pytest.mark.parametrize("name, function, value_range, reference", BINARY, ids=[case[0] for case in BINARY])
def test_binary_ops_with_broadcasting(name, function, value_range, reference, shapes):
    low, high = value_range if value_range else (None, None)
    a = leaf(shapes[0], seed=1, low=low, high=high)
    b = leaf(shapes[1], seed=2, low=low, high=high)
    np.testing.assert_allclose(function(a, b).data, reference(a.data, b.data), rtol=1e-12)
    assert mg.gradcheck(function, (a, b))


# remainder and fmod jump where a / b crosses an integer: the ranges keep every quotient inside one
# interval between integers (2.09..2.8 in size, each sign), where floor and trunc part ways for negatives.
QUOTIENT_RANGES = {"a > 0, b > 0": ((2.3, 2.8), (1.0, 1.1)), "a < 0, b > 0": ((-2.8, -2.3), (1.0, 1.1)),
                   "a > 0, b < 0": ((2.3, 2.8), (-1.1, -1.0)), "a < 0, b < 0": ((-2.8, -2.3), (-1.1, -1.0))}


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
@pytest.mark.parametrize("signs", QUOTIENT_RANGES)
@pytest.mark.parametrize("name, function, reference", [
    ("remainder", lambda a, b: a % b, np.remainder), ("fmod", lambda a, b: a.fmod(b), np.fmod),
], ids=["remainder", "fmod"])
def test_remainder_and_fmod_away_from_their_jumps(name, function, reference, signs, shapes):
    a_range, b_range = QUOTIENT_RANGES[signs]
    a = leaf(shapes[0], seed=1, low=a_range[0], high=a_range[1])
    b = leaf(shapes[1], seed=2, low=b_range[0], high=b_range[1])
    np.testing.assert_allclose(function(a, b).data, reference(a.data, b.data), rtol=1e-12)
    assert mg.gradcheck(function, (a, b))


def test_floor_divide_has_no_gradient_as_in_pytorch():
    a, b = leaf((2, 3), seed=1), leaf((3,), seed=2, low=0.5, high=2.0)
    quotient = a // b
    np.testing.assert_array_equal(quotient.data, np.floor_divide(a.data, b.data))
    assert quotient.requires_grad  # recorded, as PyTorch records it, so that backward can refuse
    with pytest.raises(RuntimeError, match="floor_divide: not differentiable"):
        quotient.sum().backward()


@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=3),
    operation=st.sampled_from(["add", "sub", "mul", "div"]),
    seed=st.integers(0, 1000),
)
@settings(deadline=None, max_examples=40)
def test_binary_ops_on_drawn_broadcast_shapes(shapes, operation, seed):
    name, function, value_range, reference = next(case for case in BINARY if case[0] == operation)
    low, high = value_range if value_range else (None, None)
    a = leaf(shapes.input_shapes[0], seed=seed, low=low, high=high)
    b = leaf(shapes.input_shapes[1], seed=seed + 1, low=low, high=high)
    out = function(a, b)
    assert out.shape == shapes.result_shape
    np.testing.assert_allclose(out.data, reference(a.data, b.data), rtol=1e-12)
    assert mg.gradcheck(function, (a, b))


@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
    reduction=st.sampled_from(["sum", "mean", "amax", "amin"]),
    keepdims=st.booleans(),
    data=st.data(),
)
@settings(deadline=None, max_examples=40)
def test_reductions_on_drawn_shapes_and_axes(shape, reduction, keepdims, data):
    axes = data.draw(st.lists(st.integers(0, len(shape) - 1), min_size=0, max_size=len(shape), unique=True))
    axis = tuple(axes) if axes else None
    x = leaf(shape, seed=len(shape))
    function = lambda t: getattr(t, reduction)(axis=axis, keepdims=keepdims)  # noqa: E731
    np.testing.assert_allclose(function(x).data, getattr(np, reduction)(x.data, axis=axis, keepdims=keepdims), rtol=1e-12)
    assert mg.gradcheck(function, (x,))


def test_max_splits_the_gradient_between_ties():
    x = mg.tensor([1.0, 3.0, 3.0], dtype=mg.float64, requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 0.5, 0.5])


MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((1, 1), (1, 1)),
    ((4,), (4, 3)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (2, 4, 5)),
    ((5, 3, 4), (4, 2)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((4,), (2, 4, 3)),
    ((17, 33), (33, 9)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(shapes):
    a, b = leaf(shapes[0], seed=3), leaf(shapes[1], seed=4)
    np.testing.assert_allclose((a @ b).data, np.matmul(a.data, b.data), rtol=1e-12, atol=1e-12)
    assert mg.gradcheck(lambda p, q: p @ q, (a, b))


def test_matmul_of_transposed_views():
    a, b = leaf((4, 3), seed=3), leaf((5, 4), seed=4)
    assert mg.gradcheck(lambda p, q: p.T @ q.T, (a, b))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("ignored", [False, True])
def test_cross_entropy(reduction, label_smoothing, ignored):
    logits = leaf((6, 5), seed=5)
    targets = mg.tensor([0, 4, 2, 2, 1, 3])
    if ignored:
        targets.data[[1, 4]] = -100
    function = lambda x: F.cross_entropy(x, targets, reduction=reduction, label_smoothing=label_smoothing)  # noqa: E731
    assert mg.gradcheck(function, (logits,))
    # forward against NumPy: -sum(q * log_softmax), q the smoothed one-hot
    log_p = logits.data - np.log(np.exp(logits.data).sum(1, keepdims=True))
    kept = targets.data != -100
    q = np.full((6, 5), label_smoothing / 5)
    q[np.arange(6)[kept], targets.data[kept]] += 1 - label_smoothing
    losses = -(q * log_p).sum(1) * kept
    expected = {"none": losses, "sum": losses.sum(), "mean": losses.sum() / kept.sum()}[reduction]
    np.testing.assert_allclose(function(logits).data, expected, rtol=1e-12)


def test_a_small_model_end_to_end():
    """Linear -> tanh -> linear -> softmax cross-entropy + an L2 term, every parameter at once."""
    x = mg.tensor(np.random.default_rng(0).standard_normal((5, 4)), dtype=mg.float64)
    targets = mg.tensor([0, 2, 1, 2, 0])
    w1, b1, w2 = leaf((4, 3), seed=6), leaf((3,), seed=7), leaf((3, 3), seed=8)

    def loss(w1, b1, w2):
        hidden = (x @ w1 + b1).tanh()
        return F.cross_entropy(hidden @ w2, targets) + 0.01 * (w2**2).sum() / 2

    assert mg.gradcheck(loss, (w1, b1, w2))
