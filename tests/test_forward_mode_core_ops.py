"""Forward mode through the core ops (arithmetic, elementwise, reduction, shape, linalg, join): each
op's jvp rule.

For every op, in float64 with inputs away from kinks and discontinuities: the forward-mode Jacobian
(mg.func.jacfwd, one jvp per input element) must equal the reverse-mode one (mg.func.jacrev, one
backward per output element); where torch is installed, mg.func.jvp must equal torch.func.jvp for
random tangents. Then the edge cases, where the jvp keeps its backward's conventions (ties of max
and min, subgradients at kinks, 0 ** 0), and the forward_ad API itself.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import ops
from smooth_values import away_from_zero, distinct, normal, positive, remainder_pair
from minigrad.autograd import forward_ad
from minigrad.ops.shape import index_stages

try:
    import torch
    import torch.func
except ImportError:  # the comparisons with PyTorch skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def every_axis(x, axis):
    """torch's dim for a reduction over ``axis`` (None: all axes, which keepdim then keeps)."""
    return tuple(range(x.ndim)) if axis is None else axis


def tensors(*arrays):
    return [mg.tensor(np.array(array, dtype=np.float64), dtype=mg.float64) for array in arrays]


def scatter_case(label, shape, index, source_shape):
    """ScatterAdd applied directly (it is GetItem's gradient as an op), with its torch twin where simple."""
    stages = index_stages(index, len(shape))

    def mg_function(x):
        return ops.ScatterAdd.apply(x, shape=shape, index=index, stages=stages)

    def torch_function(x):
        zeros = torch.zeros(shape, dtype=x.dtype)
        if isinstance(index, slice):
            return zeros.slice_scatter(x, 0, index.start, index.stop)
        return zeros.index_put((torch.tensor(index),), x, accumulate=True)  # one integer array along axis 0

    simple = isinstance(index, (slice, np.ndarray))
    return (f"scatter-add-{label}", mg_function, torch_function if simple else None, (normal(source_shape, 1),))


# --- the cases: (name, minigrad function, torch function (None: no torch twin), input arrays) ------

def binary(name, function, make):
    return [(f"{name}-{shape_a}-{shape_b}", function, function, make(shape_a, shape_b))
            for shape_a, shape_b in [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((), (2, 3)),
                                     ((2, 3), ())]]


CASES = (
    binary("add", lambda a, b: a + b, lambda s, t: (normal(s, 1), normal(t, 2)))
    + binary("sub", lambda a, b: a - b, lambda s, t: (normal(s, 1), normal(t, 2)))
    + binary("mul", lambda a, b: a * b, lambda s, t: (normal(s, 1), normal(t, 2)))
    + binary("div", lambda a, b: a / b, lambda s, t: (normal(s, 1), away_from_zero(t, 2)))
    + binary("pow", lambda a, b: a**b, lambda s, t: (positive(s, 1), normal(t, 2)))
    + binary("remainder", lambda a, b: a % b, lambda s, t: remainder_pair(s, t, 3))
    + binary("fmod", lambda a, b: a.fmod(b), lambda s, t: remainder_pair(s, t, 4))
    + [
        ("add-same-tensor", lambda a: a + a, lambda a: a + a, (normal((3,), 1),)),
        ("mul-same-tensor", lambda a: a * a, lambda a: a * a, (normal((3,), 1),)),
        ("mul-by-number", lambda a: 2.5 * a, lambda a: 2.5 * a, (normal((3, 2), 1),)),
        ("pow-number-base", lambda b: 2.5**b, lambda b: 2.5**b, (normal((3, 4), 1),)),
        ("neg", lambda x: -x, lambda x: -x, (normal((3, 4), 1),)),
    ]
    + [(f"pow-constant-{p}", lambda x, p=p: x**p, lambda x, p=p: x**p, (positive((3, 4), 5),))
       for p in (2, 3, 0.5, -0.5, -1, -2, 2.5, 1, 0)]
    + [
        ("exp", lambda x: x.exp(), lambda x: x.exp(), (normal((3, 4), 1),)),
        ("log", lambda x: x.log(), lambda x: x.log(), (positive((3, 4), 1),)),
        ("sqrt", lambda x: x.sqrt(), lambda x: x.sqrt(), (positive((3, 4), 1),)),
        ("abs", lambda x: x.abs(), lambda x: x.abs(), (away_from_zero((3, 4), 1),)),
        ("relu", lambda x: x.relu(), lambda x: x.relu(), (away_from_zero((3, 4), 1),)),
        ("sigmoid", lambda x: x.sigmoid(), lambda x: x.sigmoid(), (normal((3, 4), 1) * 3,)),
        ("tanh", lambda x: x.tanh(), lambda x: x.tanh(), (normal((3, 4), 1),)),
        ("clamp", lambda x: x.clamp(-0.5, 0.6), lambda x: x.clamp(-0.5, 0.6),
         (away_from_zero((4, 5), 1) * np.where(np.arange(20).reshape(4, 5) % 2, 1, 0.3),)),
        ("clamp-min", lambda x: x.clamp(min=0.1), lambda x: x.clamp(min=0.1), (away_from_zero((3, 4), 2),)),
        ("clamp-max", lambda x: x.clamp(max=-0.1), lambda x: x.clamp(max=-0.1), (away_from_zero((3, 4), 3),)),
        ("clone", lambda x: x.clone() * x, lambda x: x.clone() * x, (normal((3, 4), 1),)),
        ("cast-same", lambda x: ops.Cast.apply(x, dtype=np.dtype(np.float64)) ** 3,
         lambda x: x.to(x.dtype) ** 3, (normal((3, 4), 1),)),
        ("to-device", lambda x: ops.ToDevice.apply(x, device="cpu") ** 3, lambda x: x.to("cpu") ** 3,
         (normal((3, 4), 1),)),
        ("where", lambda x: ops.Where.apply(x, mask=np.array([True, False, True])),
         lambda x: torch.where(torch.tensor([True, False, True]), x, 0.0), (normal((2, 3), 1),)),
        ("where-broadcast-mask", lambda x: ops.Where.apply(x, mask=np.array([[True], [False]])),
         lambda x: torch.where(torch.tensor([[True], [False]]), x, 0.0), (normal((3,), 1),)),
    ]
    + [
        (f"sum-{axis}-{keepdims}", lambda x, a=axis, k=keepdims: x.sum(dim=a, keepdim=k),
         lambda x, a=axis, k=keepdims: x.sum(dim=every_axis(x, a), keepdim=k), (normal((2, 3, 4), 1),))
        for axis, keepdims in [(None, False), (None, True), (1, False), (-1, True), ((0, 2), False), ((0, 2), True)]
    ]
    + [
        (f"mean-{axis}-{keepdims}", lambda x, a=axis, k=keepdims: x.mean(dim=a, keepdim=k),
         lambda x, a=axis, k=keepdims: x.mean(dim=every_axis(x, a), keepdim=k), (normal((2, 3, 4), 1),))
        for axis, keepdims in [(None, False), (None, True), (1, False), (-1, True), ((0, 2), False)]
    ]
    + [
        (f"{name}-{axis}-{keepdims}", lambda x, n=name, a=axis, k=keepdims: getattr(x, "a" + n)(dim=a, keepdim=k),
         lambda x, n=name, a=axis, k=keepdims: getattr(x, "a" + n)(dim=every_axis(x, a), keepdim=k),
         (distinct((2, 3, 4), 1),))
        for name in ("max", "min")
        for axis, keepdims in [(None, False), (None, True), (1, False), (-1, True), ((0, 2), False)]
    ]
    + [
        (f"{name}-{shape}-{axis}", lambda x, n=name, a=axis: getattr(x, n)(dim=a),
         lambda x, n=name, a=axis: getattr(x, n)(dim=a), (normal(shape, 1),))
        for name in ("softmax", "log_softmax")
        for shape, axis in [((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1), ((5,), 0)]
    ]
    + [
        ("reshape", lambda x: x.reshape(4, 3), lambda x: x.reshape(4, 3), (normal((3, 4), 1),)),
        ("reshape-inferred", lambda x: x.reshape(-1, 2), lambda x: x.reshape(-1, 2), (normal((3, 4), 1),)),
        ("reshape-to-0d", lambda x: x.reshape(()), lambda x: x.reshape(()), (normal((1, 1), 1),)),
        ("flatten-unsqueeze", lambda x: x.flatten().unsqueeze(0), lambda x: x.flatten().unsqueeze(0),
         (normal((2, 3, 2), 1),)),
        ("permute", lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1), (normal((2, 3, 4), 1),)),
        ("transpose-then-reshape", lambda x: x.transpose(0, 1).reshape(12), lambda x: x.transpose(0, 1).reshape(12),
         (normal((3, 4), 1),)),
    ]
    + [
        (f"getitem-{label}", lambda x, i=index: x[i],
         torch_index if isinstance(torch_index, str) else lambda x, i=torch_index: x[i], (normal((4, 3, 5), 1),))
        for label, index, torch_index in [
            ("int", 1, 1),
            ("negative-int", -1, -1),
            ("int-int", (1, 2), (1, 2)),
            ("element", (1, 2, 3), (1, 2, 3)),
            ("slice", (slice(1, 3), slice(None), slice(0, 5, 2)), (slice(1, 3), slice(None), slice(0, 5, 2))),
            ("negative-step", (slice(None, None, -1), Ellipsis, slice(4, 0, -2)), "negative-step"),
            ("ellipsis-none", (Ellipsis, None, 2), (Ellipsis, None, 2)),
            ("integer-array-repeats", np.array([0, 2, 2, 3, 0]), [0, 2, 2, 3, 0]),
            ("integer-arrays", (np.array([0, 3, 3]), slice(None), np.array([4, 0, 4])),
             ([0, 3, 3], slice(None), [4, 0, 4])),
            ("int-and-array", (1, slice(None), np.array([0, 4, 4])), (1, slice(None), [0, 4, 4])),
            ("boolean-mask", np.array([True, False, True, True]), [True, False, True, True]),
            ("boolean-mask-2d", np.arange(12).reshape(4, 3) % 3 != 1, "boolean-mask-2d"),
        ]
    ]
    + [
        ("broadcast-to", lambda x: ops.BroadcastTo.apply(x, shape=(2, 3, 4)),
         lambda x: x.broadcast_to((2, 3, 4)), (normal((3, 1), 1),)),
        ("broadcast-to-from-0d", lambda x: ops.BroadcastTo.apply(x, shape=(2, 3)),
         lambda x: x.broadcast_to((2, 3)), (normal((), 1),)),
        scatter_case("integer-array", (4, 3), np.array([0, 2, 0]), (3, 3)),
        scatter_case("slice", (4, 3), slice(1, 3), (2, 3)),
        scatter_case("int-and-array", (2, 3, 4), (1, slice(None), np.array([0, 2, 2])), (3, 3)),
        ("stack", lambda a, b, c: ops.Stack.apply(a, b, c), lambda a, b, c: torch.stack((a, b, c)),
         (normal((2, 3), 1), normal((2, 3), 2), normal((2, 3), 3))),
    ]
    + [
        (f"matmul-{shape_a}-{shape_b}", lambda a, b: a @ b, lambda a, b: a @ b,
         (normal(shape_a, 1), normal(shape_b, 2)))
        for shape_a, shape_b in [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)),
                                 ((2, 3, 4), (4, 2)), ((2, 1, 3, 4), (3, 4, 2)), ((3,), (2, 3, 2))]
    ]
    + [
        ("linear", lambda x, w, b: mg.nn.functional.linear(x, w, b), "linear",
         (normal((3, 4), 1), normal((2, 4), 2), normal((2,), 3))),
        ("linear-no-bias-3d", lambda x, w: mg.nn.functional.linear(x, w), "linear",
         (normal((2, 3, 4), 1), normal((2, 4), 2))),
        ("linear-1d", lambda x, w, b: mg.nn.functional.linear(x, w, b).tanh(), "linear-tanh",
         (normal((4,), 1), normal((3, 4), 2), normal((3,), 3))),
    ]
)
IDS = [case[0] for case in CASES]
SEVERAL_INPUTS = [case for case in CASES if len(case[3]) > 1]


def torch_function_for(name, torch_function):
    if torch_function == "linear":
        return torch.nn.functional.linear
    if torch_function == "linear-tanh":
        return lambda *inputs: torch.nn.functional.linear(*inputs).tanh()
    if torch_function == "negative-step":  # torch has no negative steps: flip, then a positive step
        return lambda x: torch.flip(x, (0,))[..., [4, 2]]
    if torch_function == "boolean-mask-2d":
        mask = torch.tensor(np.arange(12).reshape(4, 3) % 3 != 1)
        return lambda x: x[mask]
    return torch_function


def test_the_cases_cover_every_core_op():
    """Each op of the six core families is applied by some case (a typo would check another op)."""
    core = {"Add", "Sub", "Mul", "Div", "Neg", "Pow", "PowConstant", "Remainder", "Fmod", "Exp", "Log", "Sqrt",
            "Abs", "Relu", "Sigmoid", "Tanh", "Clamp", "Clone", "Cast", "Where", "Sum", "Mean", "Max", "Min",
            "Softmax", "LogSoftmax", "Reshape", "Permute", "GetItem", "ToDevice", "BroadcastTo", "ScatterAdd",
            "MatMul", "Linear", "Stack"}
    applied = set()
    original = mg.autograd.Function.apply.__func__

    def spying(cls, *inputs, **options):
        applied.add(cls.__name__)
        return original(cls, *inputs, **options)

    mg.autograd.Function.apply = classmethod(spying)
    try:
        for _, function, _, arrays in CASES:
            function(*tensors(*arrays))
    finally:
        mg.autograd.Function.apply = classmethod(original)
    assert core <= applied, f"no case applies {sorted(core - applied)}"


@pytest.mark.parametrize("name, mg_function, torch_function, arrays", CASES, ids=IDS)
def test_forward_mode_jacobian_equals_the_reverse_mode_one(name, mg_function, torch_function, arrays):
    inputs = tensors(*arrays)
    positions = tuple(range(len(inputs)))
    forward = mg.func.jacfwd(mg_function, argnums=positions)(*inputs)
    reverse = mg.func.jacrev(mg_function, argnums=positions)(*inputs)
    for position, (by_jvp, by_vjp) in enumerate(zip(forward, reverse)):
        assert by_jvp.shape == by_vjp.shape
        np.testing.assert_allclose(by_jvp.numpy(), by_vjp.numpy(), rtol=1e-12, atol=1e-12,
                                   err_msg=f"{name}: input {position}")


@pytest.mark.parametrize("name, mg_function, torch_function, arrays", SEVERAL_INPUTS,
                         ids=[case[0] for case in SEVERAL_INPUTS])
def test_forward_mode_jacobian_with_respect_to_each_input_alone(name, mg_function, torch_function, arrays):
    """One input with a tangent, the others with none: the jvp rules' None (zero) tangents."""
    inputs = tensors(*arrays)
    for position in range(len(inputs)):
        forward = mg.func.jacfwd(mg_function, argnums=position)(*inputs)
        reverse = mg.func.jacrev(mg_function, argnums=position)(*inputs)
        np.testing.assert_allclose(forward.numpy(), reverse.numpy(), rtol=1e-12, atol=1e-12,
                                   err_msg=f"{name}: input {position}")


@needs_torch
@pytest.mark.parametrize("name, mg_function, torch_function, arrays", CASES, ids=IDS)
def test_jvp_matches_torch_func_jvp(name, mg_function, torch_function, arrays):
    torch_function = torch_function_for(name, torch_function)
    if torch_function is None:
        pytest.skip("no simple torch twin (checked against the reverse-mode Jacobian only)")
    generator = np.random.default_rng(11)
    tangents = [generator.standard_normal(np.shape(array)) for array in arrays]
    mg_value, mg_tangent = mg.func.jvp(mg_function, tuple(tensors(*arrays)), tuple(tensors(*tangents)))
    torch_value, torch_tangent = torch.func.jvp(
        torch_function, tuple(torch.tensor(np.array(array, dtype=np.float64)) for array in arrays),
        tuple(torch.tensor(tangent) for tangent in tangents))
    np.testing.assert_allclose(mg_value.numpy(), torch_value.numpy(), rtol=1e-12, atol=1e-12)
    assert tuple(mg_tangent.shape) == tuple(torch_tangent.shape)
    np.testing.assert_allclose(mg_tangent.numpy(), torch_tangent.numpy(), rtol=1e-10, atol=1e-12)


# --- edge cases: the jvp keeps its backward's conventions -------------------------------------------

EDGES = [
    # ties: the tangent averaged over the tied elements (backward shares g among them), as torch's
    # forward AD for amax / amin and max()
    ("max-ties-all", lambda x: x.max(), lambda x: x.max(), np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])),
    ("max-ties-dim", lambda x: x.amax(dim=1), lambda x: x.amax(dim=1), np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])),
    ("min-ties-dim0", lambda x: x.amin(dim=0, keepdim=True), lambda x: x.amin(dim=0, keepdim=True),
     np.array([[1.0, 3.0, 0.0], [1.0, 2.0, 0.0]])),
    # subgradients at the kinks: 0 for relu and abs at 0; the bounds of clamp pass the tangent
    ("relu-at-0", lambda x: x.relu(), lambda x: x.relu(), np.array([-1.0, 0.0, -0.0, 2.0])),
    ("abs-at-0", lambda x: x.abs(), lambda x: x.abs(), np.array([-1.0, 0.0, -0.0, 2.0])),
    ("clamp-at-bounds", lambda x: x.clamp(0.0, 2.0), lambda x: x.clamp(0.0, 2.0),
     np.array([-1.0, 0.0, 1.0, 2.0, 3.0])),
]


@pytest.mark.parametrize("name, mg_function, torch_function, array", EDGES, ids=[edge[0] for edge in EDGES])
def test_edge_cases_agree_with_the_reverse_jacobian_and_torch(name, mg_function, torch_function, array):
    (x,) = tensors(array)
    forward = mg.func.jacfwd(mg_function)(x)
    reverse = mg.func.jacrev(mg_function)(x)
    np.testing.assert_array_equal(forward.numpy(), reverse.numpy())
    if torch is not None:
        tangent = np.arange(1.0, array.size + 1).reshape(array.shape) ** 2
        _, mine = mg.func.jvp(mg_function, (x,), tensors(tangent))
        _, theirs = torch.func.jvp(torch_function, (torch.tensor(array),), (torch.tensor(tangent),))
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_pow_at_zero_base_and_zero_exponent_as_backward():
    # a ** b at (0, 0), (0, 1.5), (2, 0): no tangent from a where b = 0, none from b where a = 0 and b >= 0
    a, b = tensors([0.0, 0.0, 2.0], [0.0, 1.5, 0.0])
    forward = mg.func.jacfwd(lambda a, b: a**b, argnums=(0, 1))(a, b)
    reverse = mg.func.jacrev(lambda a, b: a**b, argnums=(0, 1))(a, b)
    for by_jvp, by_vjp in zip(forward, reverse):
        np.testing.assert_array_equal(by_jvp.numpy(), by_vjp.numpy())
    _, derivative = mg.func.jvp(lambda a, b: a**b, (a, b), tuple(tensors(np.ones(3), np.ones(3))))
    np.testing.assert_allclose(derivative.numpy(), [0.0, 0.0, np.log(2.0)])


def test_max_over_all_elements_sends_the_tangent_of_a_nan_maximum():
    # as backward: the NaN elements are the maxima (torch's max() gradient goes to them too)
    x, tangent = tensors([1.0, np.nan, 3.0], [1.0, 10.0, 100.0])
    _, derivative = mg.func.jvp(lambda t: t.max(), (x,), (tangent,))
    assert derivative.item() == 10.0


def test_an_infinite_tangent_outside_a_selection_gives_zero_not_nan():
    # relu, clamp and max select (as their backward does): inf * 0 would be NaN
    x, tangent = tensors([-1.0, 2.0, 0.5], [np.inf, 1.0, 2.0])
    for function, expected in [(lambda t: t.relu(), [0.0, 1.0, 2.0]), (lambda t: t.clamp(0.0, 1.0), [0.0, 0.0, 2.0]),
                               (lambda t: t.amax(dim=0), 1.0)]:
        _, derivative = mg.func.jvp(function, (x,), (tangent,))
        np.testing.assert_array_equal(derivative.numpy(), expected)


def test_relu_jvp_on_the_parallel_kernel():
    # 2**16 elements and more go through the fused kernel (too many for a Jacobian): the closed form
    x, direction = tensors(away_from_zero((300, 250), 1), normal((300, 250), 2))
    _, derivative = mg.func.jvp(lambda t: t.relu(), (x,), (direction,))
    np.testing.assert_array_equal(derivative.numpy(), np.where(x.numpy() > 0, direction.numpy(), 0.0))
    transposed = mg.tensor(direction.numpy().T.copy().T, dtype=mg.float64)  # a non-contiguous tangent
    _, derivative = mg.func.jvp(lambda t: t.relu(), (x,), (transposed,))
    np.testing.assert_array_equal(derivative.numpy(), np.where(x.numpy() > 0, direction.numpy(), 0.0))


def test_pow_constant_zero_and_a_cast_to_integers_have_no_tangent():
    x = tensors([1.5, -2.0])[0]
    with forward_ad.dual_level():
        dual = forward_ad.make_dual(x, mg.ones(2, dtype=mg.float64))
        assert forward_ad.unpack_dual(dual**0).tangent is None
        assert forward_ad.unpack_dual(dual.to(mg.int64)).tangent is None
        rounded = forward_ad.unpack_dual(dual.to(mg.float32)).tangent
        assert rounded.dtype == mg.float32 and rounded.tolist() == [1.0, 1.0]


def test_floor_divide_refuses_forward_mode_as_backward():
    a = tensors([1.5, -2.5])[0]
    with pytest.raises(RuntimeError, match="floor_divide: not differentiable"):
        mg.func.jvp(lambda t: t // 0.7, (a,), (mg.ones(2, dtype=mg.float64),))
    # a divisor with a tangent too
    with pytest.raises(RuntimeError, match="floor_divide: not differentiable"):
        mg.func.jvp(lambda t: 3.0 // t, (a,), (mg.ones(2, dtype=mg.float64),))


def test_jvp_never_writes_into_a_tangent():
    """A tangent may be shared (the input's, or a view of it): rules must make new arrays."""
    x = tensors(normal((3, 4), 1))[0]
    tangent = mg.tensor(normal((3, 4), 2), dtype=mg.float64)
    before = tangent.numpy().copy()

    def many_ops(t):
        y = t.clone() + t[0] - (t * 2).relu() + t.reshape(4, 3).transpose(0, 1).abs()
        return (F_linear(y, t) @ t).softmax(-1).sum(dim=0) + t.clamp(-0.1, 0.1).max() + t.exp().mean()

    mg.func.jvp(many_ops, (x,), (tangent,))
    np.testing.assert_array_equal(tangent.numpy(), before)


def F_linear(x, weight):  # noqa: N802  (functional's linear, under a name that reads like F.linear)
    return mg.nn.functional.linear(x, weight)


# --- the forward_ad API, with one op ---------------------------------------------------------------

def test_make_dual_checks_the_tangent_against_the_primal():
    x = tensors(normal((2, 3), 1))[0]
    with forward_ad.dual_level():
        with pytest.raises(ValueError, match=r"make_dual: the tangent \(float64 \(3, 2\).*\(2, 3\)"):
            forward_ad.make_dual(x, mg.zeros(3, 2, dtype=mg.float64))
        with pytest.raises(ValueError, match="make_dual: the tangent.*float32.*float64"):
            forward_ad.make_dual(x, mg.zeros(2, 3, dtype=mg.float32))
        with pytest.raises(TypeError, match="make_dual: only floating point"):
            forward_ad.make_dual(mg.tensor([1, 2]), mg.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="no forward AD level is active"):
        forward_ad.make_dual(x, mg.zeros(2, 3, dtype=mg.float64))


def test_unpack_dual_and_the_end_of_the_level():
    x, direction = tensors(normal((2, 3), 1), normal((2, 3), 2))
    with forward_ad.dual_level():
        dual = forward_ad.make_dual(x, direction)
        y = dual.exp()
        primal, tangent = forward_ad.unpack_dual(y)
        np.testing.assert_allclose(primal.numpy(), np.exp(x.numpy()))
        np.testing.assert_allclose(tangent.numpy(), np.exp(x.numpy()) * direction.numpy())
        assert forward_ad.unpack_dual(primal).tangent is None  # the unpacked primal carries no tangent
        assert forward_ad.unpack_dual(x).tangent is None  # nor does a tensor that never had one
        assert forward_ad.unpack_dual(x.exp()).tangent is None  # nor an op's output from it
    assert forward_ad.unpack_dual(y).tangent is None  # the level is over: tangents are gone
    assert forward_ad.unpack_dual(dual).tangent is None
    with forward_ad.dual_level():  # a new level starts with none
        assert forward_ad.unpack_dual(y).tangent is None


def test_forward_mode_runs_under_no_grad_and_keeps_reverse_mode_working():
    x, direction = tensors(normal((3,), 1), normal((3,), 2))
    with mg.no_grad(), forward_ad.dual_level():
        dual = forward_ad.make_dual(x, direction)
        _, tangent = forward_ad.unpack_dual((dual * dual).sum())
    np.testing.assert_allclose(tangent.item(), 2 * (x.numpy() * direction.numpy()).sum())
    leaf = mg.tensor(x.numpy(), dtype=mg.float64, requires_grad=True)
    with forward_ad.dual_level():  # reverse mode through the dual's ops, inside the level
        dual = forward_ad.make_dual(leaf, direction)
        output = (dual * dual).sum()
        _, tangent = forward_ad.unpack_dual(output)
        output.backward()
    np.testing.assert_allclose(leaf.grad.numpy(), 2 * x.numpy())
    np.testing.assert_allclose(tangent.item(), 2 * (x.numpy() * direction.numpy()).sum())


def test_float32_tangents_stay_float32():
    x = mg.tensor(normal((2, 3), 1), dtype=mg.float32)
    direction = mg.tensor(normal((2, 3), 2), dtype=mg.float32)
    _, tangent = mg.func.jvp(lambda t: (t @ t.T).softmax(-1) * 2.0 + t.sum(), (x,), (direction,))
    assert tangent.dtype == mg.float32


@pytest.mark.skipif(not mg.cuda.is_available(), reason="no GPU")
def test_jvp_on_cuda_matches_the_cpu():
    arrays = (positive((3, 4), 0), positive((4,), 1))
    directions = (normal((3, 4), 2), normal((4,), 3))

    def function(x, w):
        return (((x / w) ** w).log().softmax(-1).amax(dim=1) + (x @ w).tanh() + x[[0, 2, 2], ::-1].abs().sum(dim=1)
                + mg.nn.functional.linear(x, w[None, :], w[:1]).relu().reshape(3) + (x % w).clamp(0.1, 0.5).mean(1))

    results = []
    for device in ("cpu", "cuda"):
        primals = tuple(mg.tensor(array, dtype=mg.float64, device=device) for array in arrays)
        tangents = tuple(mg.tensor(array, dtype=mg.float64, device=device) for array in directions)
        value, derivative = mg.func.jvp(function, primals, tangents)
        results.append((value.cpu().numpy(), derivative.cpu().numpy()))
        moved = mg.func.jvp(lambda x: x.to("cpu") * 2.0, primals[:1], tangents[:1])[1]
        np.testing.assert_allclose(moved.numpy(), 2 * directions[0])
    for on_cpu, on_cuda in zip(*results):
        np.testing.assert_allclose(on_cuda, on_cpu, rtol=1e-9, atol=1e-12)
