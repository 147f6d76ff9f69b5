"""Second derivatives of the core ops (elementwise, reduction, shape, linalg): each op's
differentiable_backward, the form backward(create_graph=True) runs.

Every op goes through mg.gradgradcheck in float64 (inputs kept away from kinks and
discontinuities), which also checks that its differentiable backward gives the same first
derivative as its fused backward; where torch is installed, Hessian-vector products are compared
with PyTorch's; and the edge cases of the fused backward (ties, subgradients at kinks, NaN, 0 ** 0)
must come out the same with create_graph.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import ops
from smooth_values import away_from_zero, distinct, normal, positive, remainder_pair


def every_axis(x, axis):
    """torch's dim for a reduction over ``axis`` (None: all axes, which keepdim then keeps)."""
    return tuple(range(x.ndim)) if axis is None else axis


def tensors(*arrays):
    return [mg.tensor(np.array(array, dtype=np.float64), dtype=mg.float64, requires_grad=True) for array in arrays]


# --- the cases: name -> (minigrad function, torch function or None, input arrays) ----------------

def binary(name, mg_function, torch_function, make):
    return [(f"{name}-{shape_a}-{shape_b}", mg_function, torch_function, make(shape_a, shape_b))
            for shape_a, shape_b in [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((), (2, 3))]]


CASES = (
    binary("add", lambda a, b: a + b, lambda a, b: a + b, lambda s, t: (normal(s, 1), normal(t, 2)))
    + binary("mul", lambda a, b: a * b, lambda a, b: a * b, lambda s, t: (normal(s, 1), normal(t, 2)))
    + binary("div", lambda a, b: a / b, lambda a, b: a / b, lambda s, t: (normal(s, 1), away_from_zero(t, 2)))
    + binary("pow", lambda a, b: a**b, lambda a, b: a**b, lambda s, t: (positive(s, 1), normal(t, 2)))
    + binary("remainder", lambda a, b: a % b, lambda a, b: a % b, lambda s, t: remainder_pair(s, t, 3))
    + binary("fmod", lambda a, b: a.fmod(b), lambda a, b: a.fmod(b), lambda s, t: remainder_pair(s, t, 4))
    + [
        ("pow-number-base", lambda b: 2.5**b, lambda b: 2.5**b, (normal((3, 4), 1),)),
        # torch's formula too: the gradient of a is 0 where b == 0 (a selection), so no central difference
        # in b there (test_hessian_vector_products_match_torch only)
        ("pow-zero-exponent-elements", lambda a, b: a**b, lambda a, b: a**b,
         (positive((2, 3), 1), np.array([0.0, 1.5, -2.0]))),
    ]
    + [(f"pow-constant-{p}", lambda x, p=p: x**p, lambda x, p=p: x**p, (positive((3, 4), 5),))
       for p in (2, 3, 0.5, -0.5, -1, -2, 2.5, 1)]
    + [
        ("neg", lambda x: -x, lambda x: -x, (normal((3, 4), 1),)),
        ("exp", lambda x: x.exp(), lambda x: x.exp(), (normal((3, 4), 1),)),
        ("log", lambda x: x.log(), lambda x: x.log(), (positive((3, 4), 1),)),
        ("sqrt", lambda x: x.sqrt(), lambda x: x.sqrt(), (positive((3, 4), 1),)),
        ("abs", lambda x: x.abs(), lambda x: x.abs(), (away_from_zero((3, 4), 1),)),
        ("abs-squared", lambda x: x.abs() * x.abs().sqrt(), lambda x: x.abs() * x.abs().sqrt(),
         (away_from_zero((3, 4), 1),)),
        ("relu", lambda x: x.relu(), lambda x: x.relu(), (away_from_zero((3, 4), 1),)),
        ("relu-squared", lambda x: x.relu() * x.relu(), lambda x: x.relu() * x.relu(), (away_from_zero((3, 4), 1),)),
        ("sigmoid", lambda x: x.sigmoid(), lambda x: x.sigmoid(), (normal((3, 4), 1) * 3,)),
        ("tanh", lambda x: x.tanh(), lambda x: x.tanh(), (normal((3, 4), 1),)),
        ("clamp", lambda x: x.clamp(-0.5, 0.6) ** 2, lambda x: x.clamp(-0.5, 0.6) ** 2,
         (away_from_zero((4, 5), 1) * np.where(np.arange(20).reshape(4, 5) % 2, 1, 0.3),)),
        ("clamp-min", lambda x: x.clamp(min=0.1) ** 3, lambda x: x.clamp(min=0.1) ** 3, (away_from_zero((3, 4), 2),)),
        ("clamp-max", lambda x: x.clamp(max=-0.1).exp(), lambda x: x.clamp(max=-0.1).exp(),
         (away_from_zero((3, 4), 3),)),
        ("clone", lambda x: x.clone() * x, lambda x: x.clone() * x, (normal((3, 4), 1),)),
        ("cast", lambda x: ops.Cast.apply(x, dtype=np.dtype(np.float64)) ** 3,
         lambda x: x.to(x.dtype) ** 3, (normal((3, 4), 1),)),
        ("to-device", lambda x: ops.ToDevice.apply(x, device="cpu") ** 3, lambda x: x.to("cpu") ** 3,
         (normal((3, 4), 1),)),
    ]
    + [
        (f"sum-{axis}-{keepdims}", lambda x, a=axis, k=keepdims: x.sum(dim=a, keepdim=k) ** 2,
         lambda x, a=axis, k=keepdims: x.sum(dim=every_axis(x, a), keepdim=k) ** 2, (normal((2, 3, 4), 1),))
        for axis, keepdims in [(None, False), (None, True), (1, False), (-1, True), ((0, 2), False), ((0, 2), True)]
    ]
    + [
        (f"mean-{axis}-{keepdims}", lambda x, a=axis, k=keepdims: x.mean(dim=a, keepdim=k) ** 2,
         lambda x, a=axis, k=keepdims: x.mean(dim=every_axis(x, a), keepdim=k) ** 2,
         (normal((2, 3, 4), 1),))
        for axis, keepdims in [(None, False), (None, True), (1, False), (-1, True), ((0, 2), False)]
    ]
    + [
        (f"{name}-{axis}-{keepdims}", lambda x, n=name, a=axis, k=keepdims: getattr(x, "a" + n)(dim=a, keepdim=k) ** 3,
         lambda x, n=name, a=axis, k=keepdims: getattr(x, "a" + n)(dim=every_axis(x, a), keepdim=k) ** 3,
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
        ("reshape", lambda x: x.reshape(4, 3) ** 3, lambda x: x.reshape(4, 3) ** 3, (normal((3, 4), 1),)),
        ("reshape-to-0d", lambda x: x.reshape(()) ** 3, lambda x: x.reshape(()) ** 3, (normal((1, 1), 1),)),
        ("flatten-unsqueeze", lambda x: x.flatten().unsqueeze(0) ** 3, lambda x: x.flatten().unsqueeze(0) ** 3,
         (normal((2, 3, 2), 1),)),
        ("permute", lambda x: x.permute(2, 0, 1) ** 3, lambda x: x.permute(2, 0, 1) ** 3, (normal((2, 3, 4), 1),)),
        ("transpose", lambda x: x.transpose(0, 1) ** 3, lambda x: x.transpose(0, 1) ** 3, (normal((3, 4), 1),)),
    ]
    + [
        (f"getitem-{label}", lambda x, i=index: x[i] ** 3,
         lambda x, i=torch_index: x[i] ** 3, (normal((4, 3, 5), 1),))
        for label, index, torch_index in [
            ("int", 1, 1),
            ("int-int", (1, 2), (1, 2)),
            ("element", (1, 2, 3), (1, 2, 3)),
            ("slice", (slice(1, 3), slice(None), slice(0, 5, 2)), (slice(1, 3), slice(None), slice(0, 5, 2))),
            ("negative-step", (slice(None, None, -1), Ellipsis, slice(4, 0, -2)), None),
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
        (f"matmul-{shape_a}-{shape_b}", lambda a, b: (a @ b) ** 2, lambda a, b: (a @ b) ** 2,
         (normal(shape_a, 1), normal(shape_b, 2)))
        for shape_a, shape_b in [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)),
                                 ((2, 3, 4), (4, 2)), ((2, 1, 3, 4), (3, 4, 2)), ((3,), (2, 3, 2))]
    ]
    + [
        ("linear", lambda x, w, b: mg.nn.functional.linear(x, w, b) ** 2, "linear",
         (normal((3, 4), 1), normal((2, 4), 2), normal((2,), 3))),
        ("linear-no-bias-3d", lambda x, w: mg.nn.functional.linear(x, w) ** 2, "linear",
         (normal((2, 3, 4), 1), normal((2, 4), 2))),
        ("linear-1d", lambda x, w, b: mg.nn.functional.linear(x, w, b).tanh(), "linear-tanh",
         (normal((4,), 1), normal((3, 4), 2), normal((3,), 3))),
    ]
)
IDS = [case[0] for case in CASES]
SMOOTH = [case for case in CASES if case[0] != "pow-zero-exponent-elements"]


@pytest.mark.parametrize("name, mg_function, torch_function, arrays", SMOOTH, ids=[case[0] for case in SMOOTH])
def test_gradgradcheck(name, mg_function, torch_function, arrays):
    assert mg.gradgradcheck(mg_function, tensors(*arrays))


def test_linear_is_the_linear_op():
    # functional.linear must reach ops.Linear (its differentiable_backward), not matmul + add
    x, w, b = tensors(normal((3, 4), 1), normal((2, 4), 2), normal((2,), 3))
    assert isinstance(mg.nn.functional.linear(x, w, b).grad_fn, ops.Linear)


# --- against PyTorch: Hessian-vector products -----------------------------------------------------

def torch_function_for(name, torch_function):
    torch = pytest.importorskip("torch")
    if torch_function in ("linear", "linear-tanh"):
        return {
            "linear": lambda *inputs: torch.nn.functional.linear(*inputs) ** 2,
            "linear-tanh": lambda *inputs: torch.nn.functional.linear(*inputs).tanh(),
        }[torch_function]
    if name == "getitem-negative-step":  # torch has no negative steps: flip, then a positive step
        return lambda x: torch.flip(x, (0,))[..., [4, 2]] ** 3
    if name == "getitem-boolean-mask-2d":
        mask = torch.tensor(np.arange(12).reshape(4, 3) % 3 != 1)
        return lambda x: x[mask] ** 3
    return torch_function


@pytest.mark.parametrize("name, mg_function, torch_function, arrays", CASES, ids=IDS)
def test_hessian_vector_products_match_torch(name, mg_function, torch_function, arrays):
    torch = pytest.importorskip("torch")
    torch_function = torch_function_for(name, torch_function)
    mg_inputs = tensors(*arrays)
    torch_inputs = [torch.tensor(np.array(array, dtype=np.float64), requires_grad=True) for array in arrays]
    mg_out = mg_function(*mg_inputs)
    torch_out = torch_function(*torch_inputs)
    np.testing.assert_allclose(mg_out.numpy(), torch_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    generator = np.random.default_rng(7)
    weight = generator.standard_normal(tuple(torch_out.shape))
    directions = [generator.standard_normal(array.shape) for array in mg_inputs]

    mg_gradients = mg.autograd.grad((mg_out * mg.tensor(weight, dtype=mg.float64)).sum(), mg_inputs,
                                    create_graph=True)
    torch_gradients = torch.autograd.grad((torch_out * torch.tensor(weight)).sum(), torch_inputs, create_graph=True)
    for mine, theirs in zip(mg_gradients, torch_gradients):
        np.testing.assert_allclose(mine.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)

    # A first derivative that is constant in the inputs has no graph here (abs's sign(x), remainder's
    # floor(a / b) are constants); torch records them anyway, with derivative 0: count those as zeros.
    mg_products = [gradient * mg.tensor(direction, dtype=mg.float64)
                   for gradient, direction in zip(mg_gradients, directions) if gradient.requires_grad]
    torch_products = [gradient * torch.tensor(direction)
                      for gradient, direction in zip(torch_gradients, directions) if gradient.requires_grad]
    mg_second = (mg.autograd.grad(sum(product.sum() for product in mg_products), mg_inputs, allow_unused=True)
                 if mg_products else [None] * len(arrays))
    torch_second = (torch.autograd.grad(sum(product.sum() for product in torch_products), torch_inputs,
                                        allow_unused=True) if torch_products else [None] * len(arrays))
    for index, (mine, theirs) in enumerate(zip(mg_second, torch_second)):
        mine = np.zeros(arrays[index].shape) if mine is None else mine.numpy()
        theirs = np.zeros(arrays[index].shape) if theirs is None else theirs.numpy(force=True)  # a ZeroTensor too
        np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-11, err_msg=f"input {index}")


# --- backward(create_graph=True) leaves a differentiable .grad ------------------------------------

NONLINEAR = {
    "div": lambda x: 1 / x, "pow": lambda x: x**x, "pow-constant": lambda x: x**3, "exp": lambda x: x.exp(),
    "log": lambda x: x.log(), "sqrt": lambda x: x.sqrt(), "sigmoid": lambda x: x.sigmoid(),
    "tanh": lambda x: x.tanh(), "softmax": lambda x: x.softmax(-1), "log_softmax": lambda x: x.log_softmax(0),
    "matmul": lambda x: x @ x.T, "remainder": lambda x: (x * x) % 1.7, "fmod": lambda x: (x * x).fmod(1.7),
}


@pytest.mark.parametrize("dtype", [mg.float32, mg.float64])
@pytest.mark.parametrize("name", sorted(NONLINEAR))
def test_backward_with_create_graph_leaves_a_grad_with_a_grad_fn(name, dtype):
    x = mg.tensor(positive((3, 3), 0), dtype=dtype, requires_grad=True)
    weight = mg.tensor(normal((3, 3), 1), dtype=dtype)
    y = (NONLINEAR[name](x) * weight).sum()
    y.backward(create_graph=True)
    assert x.grad.grad_fn is not None and x.grad.requires_grad
    assert x.grad.dtype == dtype and x.grad.shape == x.shape
    (second,) = mg.autograd.grad(x.grad.sum(), x, allow_unused=True)
    assert second is None or (second.dtype == dtype and second.shape == x.shape)


def test_backward_with_create_graph_through_shape_and_reduction_ops():
    x = tensors(distinct((2, 3, 4), 0))[0]
    y = (x.permute(1, 0, 2)[1:, :, ::2].reshape(-1, 2).amax(dim=0) ** 2).sum() + x.exp().mean(dim=(0, 1)).sum()
    y.backward(create_graph=True)
    assert x.grad.grad_fn is not None
    (second,) = mg.autograd.grad((x.grad * x.grad).sum(), x)
    assert second.shape == x.shape


def test_gradients_keep_the_input_dtype_with_create_graph():
    x = mg.tensor(positive((3, 4), 0), dtype=mg.float32, requires_grad=True)
    w = mg.tensor(positive((4,), 1), dtype=mg.float32, requires_grad=True)
    y = ((x / w) ** w).log().softmax(-1).amax(dim=1).sum() + (x @ w).sum() + x[[0, 2]].sum()
    gradients = mg.autograd.grad(y, [x, w], create_graph=True)
    assert [gradient.dtype for gradient in gradients] == [mg.float32, mg.float32]
    second = mg.autograd.grad(sum(gradient.sum() for gradient in gradients), [x, w])
    assert [gradient.dtype for gradient in second] == [mg.float32, mg.float32]


def test_cast_between_float32_and_float64():
    x = mg.tensor(normal((3,), 0), dtype=mg.float64, requires_grad=True)
    y = (x.float() ** 3).sum()
    (gradient,) = mg.autograd.grad(y, x, create_graph=True)
    assert gradient.dtype == mg.float64 and gradient.grad_fn is not None
    (second,) = mg.autograd.grad(gradient.sum(), x)
    np.testing.assert_allclose(second.numpy(), 6 * x.numpy(), rtol=1e-6)


# --- the fused backward's edge cases, the same with create_graph ----------------------------------

def first_derivatives_agree(function, *arrays, gradient=None):
    """The gradient backward gives and the one create_graph gives, equal to the bit (NaN where NaN)."""
    plain, recorded = tensors(*arrays), tensors(*arrays)
    out_plain, out_recorded = function(*plain), function(*recorded)
    seed = np.ones(out_plain.shape) if gradient is None else gradient
    fused = mg.autograd.grad(out_plain, plain, mg.tensor(seed, dtype=mg.float64), allow_unused=True)
    differentiable = mg.autograd.grad(out_recorded, recorded, mg.tensor(seed, dtype=mg.float64),
                                      create_graph=True, allow_unused=True)
    for mine, theirs in zip(fused, differentiable):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    return [gradient.numpy() for gradient in differentiable]


def test_max_and_min_share_the_gradient_between_ties():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    (full,) = first_derivatives_agree(lambda t: t.max(), x)
    np.testing.assert_array_equal(full, [[0, 0.5, 0.5], [0, 0, 0]])
    (rows,) = first_derivatives_agree(lambda t: t.amin(dim=1), x)
    np.testing.assert_array_equal(rows, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]])
    (kept,) = first_derivatives_agree(lambda t: t.amax(dim=0, keepdim=True), x)
    np.testing.assert_array_equal(kept, [[0, 1, 1], [1, 0, 0]])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaN's own: 0 / 0, 0 * inf
def test_max_with_nan_as_backward():
    x = np.array([1.0, np.nan, 3.0, np.nan])
    (full,) = first_derivatives_agree(lambda t: t.max(), x)
    np.testing.assert_array_equal(full, [0, 0.5, 0, 0.5])
    (axis,) = first_derivatives_agree(lambda t: t.amax(dim=0), x)
    assert np.isnan(axis).all()


def test_subgradients_at_the_kinks_as_backward():
    x = np.array([-1.0, -0.0, 0.0, 0.5, 1.0, np.nan])
    np.testing.assert_array_equal(first_derivatives_agree(lambda t: t.relu(), x)[0], [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(first_derivatives_agree(lambda t: t.abs(), x)[0][:5], [-1, 0, 0, 1, 1])
    np.testing.assert_array_equal(first_derivatives_agree(lambda t: t.clamp(0.0, 0.5), x)[0][:5], [0, 1, 1, 1, 0])
    # an infinite gradient outside clamp's range and below relu's kink is 0, not NaN (a selection)
    infinite = np.full(x.shape, np.inf)
    np.testing.assert_array_equal(first_derivatives_agree(lambda t: t.clamp(0.0, 0.5), x, gradient=infinite)[0][:5],
                                  [0, np.inf, np.inf, np.inf, 0])
    np.testing.assert_array_equal(first_derivatives_agree(lambda t: t.relu(), x, gradient=infinite)[0],
                                  [0, 0, 0, np.inf, np.inf, np.inf])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # 0 ** -1 in the forward
def test_pow_at_zero_exponents_and_zero_bases_as_backward():
    a = np.array([0.0, 0.0, 2.0, 0.0, -1.5])
    b = np.array([0.0, 2.0, 0.0, -1.0, 2.0])
    da, db = first_derivatives_agree(lambda x, y: x**y, a, b)
    np.testing.assert_array_equal(da, [0, 0, 0, -np.inf, -3])
    assert db[0] == 0 and db[1] == 0 and np.isnan(db[4])  # 0 ** b for b >= 0 is constant in b
    (dx,) = first_derivatives_agree(lambda x: x**0, a)
    np.testing.assert_array_equal(dx, np.zeros(5))


def test_floor_divide_raises_with_create_graph_as_without():
    a, b = tensors(positive((3,), 0), positive((3,), 1))
    with pytest.raises(RuntimeError, match="floor_divide: not differentiable") as plain:
        (a // b).sum().backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="floor_divide: not differentiable") as recorded:
        (a // b).sum().backward(create_graph=True)
    assert str(plain.value) == str(recorded.value)


def test_getitem_gradient_is_a_scatter_whose_gradient_is_a_gather():
    x = tensors(normal((4, 3), 0))[0]
    index = np.array([2, 0, 2])
    (gradient,) = mg.autograd.grad((x[index] ** 2).sum(), x, create_graph=True)
    expected = np.zeros((4, 3))
    np.add.at(expected, index, 2 * x.numpy()[index])
    np.testing.assert_allclose(gradient.numpy(), expected)
    assert any(isinstance(node, ops.ScatterAdd) for node in _nodes(gradient))


def _nodes(tensor):
    seen, stack = [], [tensor.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.append(node)
        stack.extend(item.grad_fn for item in node.inputs)
    return seen


@pytest.mark.skipif(not mg.cuda.is_available(), reason="no GPU")
def test_second_derivatives_on_cuda_match_the_cpu():
    arrays = (positive((3, 4), 0), positive((4,), 1))

    def function(x, w):
        return ((x / w) ** w).log().softmax(-1).amax(dim=1).sum() + (x @ w).tanh().sum() + x[[0, 2], ::-1].abs().sum()

    results = []
    for device in ("cpu", "cuda"):
        inputs = [mg.tensor(array, dtype=mg.float64, device=device, requires_grad=True) for array in arrays]
        gradients = mg.autograd.grad(function(*inputs), inputs, create_graph=True)
        second = mg.autograd.grad(sum((gradient * gradient).sum() for gradient in gradients), inputs)
        results.append([gradient.cpu().numpy() for gradient in gradients + second])
    for on_cpu, on_cuda in zip(*results):
        np.testing.assert_allclose(on_cuda, on_cpu, rtol=1e-9, atol=1e-12)
