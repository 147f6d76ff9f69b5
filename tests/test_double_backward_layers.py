"""Second derivatives of the layer ops: conv2d, the pools, the losses, dropout.

Each op's ``differentiable_backward`` (what ``backward(create_graph=True)`` runs) is checked three
ways: its first derivatives equal the fused ``backward``'s; ``mg.gradgradcheck`` in float64
against central differences; and, where torch is installed, the Hessian-vector products
d<grad f, u>/d(inputs, v) of f = <op(inputs), v> against PyTorch's. The gradient ops that the
convolution and the pools record (Conv2dInputGradient, MaxPool2dBackward, ...) are gradchecked on
their own, and gradgradchecked, which exercises a third derivative of the layer.
Shapes are small: gradgradcheck evaluates the function twice per element of its inputs.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import ops

try:
    import torch
    import torch.nn.functional as torch_functional
except ImportError:  # the comparisons with PyTorch skip; everything else runs
    torch = torch_functional = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def random_array(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def leaves(arrays):
    return [mg.tensor(array, dtype=mg.float64, requires_grad=True) for array in arrays]


def first_derivatives_match_backward(function, arrays):
    """grad(..., create_graph=True) gives the same first derivatives as the fused backward."""
    inputs = leaves(arrays)
    out = function(*inputs)
    weight = mg.tensor(random_array(out.shape, 99))
    fused = mg.autograd.grad(out, inputs, weight, retain_graph=True)
    recorded = mg.autograd.grad(out, inputs, weight, create_graph=True)
    for index, (expected, actual) in enumerate(zip(fused, recorded)):
        assert actual.shape == expected.shape
        np.testing.assert_allclose(actual.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12,
                                   err_msg=f"first derivative of input {index}")


def hessian_vector_products_match_torch(mg_function, torch_function, arrays, seed=0):
    """f = <op(inputs), v>; the gradients of <grad f, u> with respect to the inputs and to v, both frameworks."""
    rng = np.random.default_rng(seed + 1000)
    mg_inputs = leaves(arrays)
    torch_inputs = [torch.tensor(array, dtype=torch.float64, requires_grad=True) for array in arrays]
    mg_out, torch_out = mg_function(*mg_inputs), torch_function(*torch_inputs)
    np.testing.assert_allclose(mg_out.numpy(), torch_out.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg="forward")
    v = rng.standard_normal(tuple(torch_out.shape))
    mg_v, torch_v = leaves([v])[0], torch.tensor(v, requires_grad=True)
    # v as grad_outputs: only the op under test runs its differentiable backward
    mg_first = mg.autograd.grad(mg_out, mg_inputs, mg_v, create_graph=True)
    torch_first = torch.autograd.grad(torch_out, torch_inputs, torch_v, create_graph=True)
    for index, (mine, theirs) in enumerate(zip(mg_first, torch_first)):
        np.testing.assert_allclose(mine.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=f"first derivative of input {index}")
    directions = [rng.standard_normal(array.shape) for array in arrays]
    mg_inner = sum((gradient * mg.tensor(u)).sum() for gradient, u in zip(mg_first, directions))
    torch_inner = sum((gradient * torch.tensor(u)).sum() for gradient, u in zip(torch_first, directions))
    mg_second = mg.autograd.grad(mg_inner, mg_inputs + [mg_v], allow_unused=True)
    torch_second = torch.autograd.grad(torch_inner, torch_inputs + [torch_v], allow_unused=True)
    names = [f"input {index}" for index in range(len(arrays))] + ["v"]
    for name, mine, theirs, array in zip(names, mg_second, torch_second, arrays + [v]):
        mine = np.zeros(array.shape) if mine is None else mine.numpy()
        theirs = np.zeros(array.shape) if theirs is None else theirs.numpy()
        np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-11, err_msg=f"second derivative, {name}")


# --- conv2d ---------------------------------------------------------------------------------------

# (input shape, weight shape, options): strides 1 and 2, padding 0 / 1 / "same" (with an even
# kernel, which pads one more after than before), non-square kernels, a dilation, an odd last row
# that no window reaches; channel counts of 2 and 3 (no multiple of any tile).
CONV_CASES = [
    ((2, 3, 5, 5), (2, 3, 3, 2), {}),
    ((2, 2, 6, 6), (3, 2, 3, 3), {"stride": 2, "padding": 1}),
    ((2, 3, 5, 5), (2, 3, 2, 3), {"padding": "same"}),
    ((2, 2, 6, 5), (3, 2, 3, 2), {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2)}),
    ((1, 3, 6, 6), (2, 3, 3, 3), {"stride": 2}),
]
CONV_IDS = ["stride1-pad0", "stride2-pad1", "same-even", "dilated", "stride2-odd-rows"]


def conv_arrays(case, bias, seed=0):
    input_shape, weight_shape, _ = case
    arrays = [random_array(input_shape, seed), random_array(weight_shape, seed + 1)]
    return arrays + [random_array(weight_shape[:1], seed + 2)] if bias else arrays


def conv_function(case, framework=F):
    options = case[2]
    return lambda x, weight, bias=None: framework.conv2d(x, weight, bias, **options)


@pytest.mark.parametrize("bias", [False, True], ids=["no-bias", "bias"])
@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv2d_second_derivatives(case, bias):
    arrays = conv_arrays(case, bias)
    first_derivatives_match_backward(conv_function(case), arrays)
    assert mg.gradgradcheck(conv_function(case), leaves(arrays))


@needs_torch
@pytest.mark.parametrize("bias", [False, True], ids=["no-bias", "bias"])
@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv2d_second_derivatives_match_torch(case, bias):
    hessian_vector_products_match_torch(conv_function(case), conv_function(case, torch_functional),
                                        conv_arrays(case, bias))


def conv_gradient_ops(case):
    """The input- and weight-gradient ops of one case as functions, with their geometry."""
    x, weight = leaves(conv_arrays(case, bias=False))
    out = conv_function(case)(x, weight)
    geometry = out.grad_fn.geometry
    grad_output = random_array(out.shape, 5)

    def input_gradient(g, w):
        return ops.Conv2dInputGradient.apply(g, w, geometry=geometry, input_shape=x.shape)

    def weight_gradient(x, g):
        return ops.Conv2dWeightGradient.apply(x, g, geometry=geometry, weight_shape=weight.shape)

    return (input_gradient, [grad_output, weight.numpy()]), (weight_gradient, [x.numpy(), grad_output])


@pytest.mark.parametrize("case", CONV_CASES, ids=CONV_IDS)
def test_conv2d_gradient_ops_are_differentiable_to_any_order(case):
    for function, arrays in conv_gradient_ops(case):
        assert mg.gradcheck(function, leaves(arrays))
        first_derivatives_match_backward(function, arrays)
        assert mg.gradgradcheck(function, leaves(arrays))  # a third derivative of conv2d


@pytest.mark.parametrize("case", CONV_CASES[:3], ids=CONV_IDS[:3])
def test_conv2d_gradient_ops_compute_conv2d_backward(case):
    """What the ops compute is exactly the fused backward's input and weight gradient."""
    x, weight = leaves(conv_arrays(case, bias=False))
    out = conv_function(case)(x, weight)
    grad_output = random_array(out.shape, 5)
    out.backward(mg.tensor(grad_output))
    (input_gradient, input_arrays), (weight_gradient, weight_arrays) = conv_gradient_ops(case)
    np.testing.assert_array_equal(input_gradient(*leaves(input_arrays)).numpy(), x.grad.numpy())
    np.testing.assert_array_equal(weight_gradient(*leaves(weight_arrays)).numpy(), weight.grad.numpy())


def test_second_derivatives_through_a_small_network():
    """conv -> max-pool -> conv -> binary cross-entropy: every parameter's second derivatives at once."""
    x = mg.tensor(random_array((2, 2, 6, 6), 0), dtype=mg.float64)
    targets = mg.tensor(np.random.default_rng(4).uniform(size=(2, 2, 1, 1)), dtype=mg.float64)

    def network(w1, w2, b2):
        hidden = F.max_pool2d(F.conv2d(x, w1, stride=2, padding=1), 2)
        return F.binary_cross_entropy_with_logits(F.conv2d(hidden, w2, b2, padding="same"), targets)

    assert mg.gradgradcheck(network, leaves([random_array((3, 2, 3, 3), 1), random_array((2, 3, 2, 2), 2),
                                             random_array((2,), 3)]))


# --- pools ----------------------------------------------------------------------------------------

MAX_POOL_CASES = [
    ((2, 2, 5, 5), {"kernel_size": 2}),  # the unrolled 2x2 kernel; the odd last row and column in no window
    ((2, 2, 5, 5), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ((1, 3, 4, 5), {"kernel_size": (2, 3), "stride": 1}),  # overlapping windows: a cell can win twice
]
AVG_POOL_CASES = MAX_POOL_CASES + [
    ((2, 2, 5, 5), {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
    ((1, 3, 5, 6), {"kernel_size": (3, 2), "stride": (1, 2), "padding": (1, 0)}),
]
MAX_POOL_IDS = ["2x2", "3x3-stride2-pad1", "2x3-overlapping"]
AVG_POOL_IDS = MAX_POOL_IDS + ["3x3-pad1-exclude-pad", "3x2-pad-rows"]


def pool_function(name, options, framework=F):
    return lambda x: getattr(framework, name)(x, **options)


@pytest.mark.parametrize("case", MAX_POOL_CASES, ids=MAX_POOL_IDS)
def test_max_pool2d_second_derivatives(case):
    shape, options = case
    arrays = [random_array(shape, 0)]
    first_derivatives_match_backward(pool_function("max_pool2d", options), arrays)
    assert mg.gradgradcheck(pool_function("max_pool2d", options), leaves(arrays))


@pytest.mark.parametrize("case", AVG_POOL_CASES, ids=AVG_POOL_IDS)
def test_avg_pool2d_second_derivatives(case):
    shape, options = case
    arrays = [random_array(shape, 0)]
    first_derivatives_match_backward(pool_function("avg_pool2d", options), arrays)
    assert mg.gradgradcheck(pool_function("avg_pool2d", options), leaves(arrays))


@needs_torch
@pytest.mark.parametrize("case", MAX_POOL_CASES, ids=MAX_POOL_IDS)
def test_max_pool2d_second_derivatives_match_torch(case):
    shape, options = case
    hessian_vector_products_match_torch(pool_function("max_pool2d", options),
                                        pool_function("max_pool2d", options, torch_functional),
                                        [random_array(shape, 0)])


@needs_torch
@pytest.mark.parametrize("case", AVG_POOL_CASES, ids=AVG_POOL_IDS)
def test_avg_pool2d_second_derivatives_match_torch(case):
    shape, options = case
    hessian_vector_products_match_torch(pool_function("avg_pool2d", options),
                                        pool_function("avg_pool2d", options, torch_functional),
                                        [random_array(shape, 0)])


@pytest.mark.parametrize("case", MAX_POOL_CASES, ids=MAX_POOL_IDS)
def test_max_pool2d_scatter_and_gather_ops_are_each_others_gradient(case):
    shape, options = case
    out = pool_function("max_pool2d", options)(leaves([random_array(shape, 0)])[0])
    indices = out.grad_fn.saved[0]

    def scatter(g):
        return ops.MaxPool2dBackward.apply(g, indices=indices, input_shape=shape)

    def gather(h):
        return ops.MaxPool2dGather.apply(h, indices=indices, input_shape=shape)

    for function, array in ((scatter, random_array(out.shape, 1)), (gather, random_array(shape, 2))):
        assert mg.gradcheck(function, leaves([array]))
        first_derivatives_match_backward(function, [array])
        assert mg.gradgradcheck(function, leaves([array]))


@pytest.mark.parametrize("case", AVG_POOL_CASES, ids=AVG_POOL_IDS)
def test_avg_pool2d_backward_op_is_differentiable(case):
    shape, options = case
    out = pool_function("avg_pool2d", options)(leaves([random_array(shape, 0)])[0])
    node = out.grad_fn

    def spread(g):
        return ops.AvgPool2dBackward.apply(g, geometry=node.geometry, input_shape=shape,
                                           count_include_pad=node.count_include_pad)

    array = random_array(out.shape, 1)
    assert mg.gradcheck(spread, leaves([array]))
    first_derivatives_match_backward(spread, [array])
    assert mg.gradgradcheck(spread, leaves([array]))


# --- losses ---------------------------------------------------------------------------------------

TARGETS = np.array([1, 4, 0, 2])
TARGETS_WITH_IGNORED = np.array([1, -100, 3, -100])
CROSS_ENTROPY_CASES = [
    {"reduction": "mean"},
    {"reduction": "sum"},
    {"reduction": "none"},
    {"reduction": "mean", "label_smoothing": 0.2},
    {"reduction": "none", "label_smoothing": 0.1},
]


def cross_entropy_cases():
    for options in CROSS_ENTROPY_CASES:
        for targets in (TARGETS, TARGETS_WITH_IGNORED):
            yield pytest.param(options, targets, id=f"{options}-{'ignored' if (targets < 0).any() else 'all'}")


@pytest.mark.parametrize("options, targets", list(cross_entropy_cases()))
def test_cross_entropy_second_derivatives(options, targets):
    function = lambda x: F.cross_entropy(x, mg.tensor(targets), **options)  # noqa: E731
    arrays = [random_array((4, 5), 0)]
    first_derivatives_match_backward(function, arrays)
    assert mg.gradgradcheck(function, leaves(arrays))


@needs_torch
@pytest.mark.parametrize("options, targets", list(cross_entropy_cases()))
def test_cross_entropy_second_derivatives_match_torch(options, targets):
    hessian_vector_products_match_torch(lambda x: F.cross_entropy(x, mg.tensor(targets), **options),
                                        lambda x: torch_functional.cross_entropy(x, torch.tensor(targets), **options),
                                        [random_array((4, 5), 0)])


def test_cross_entropy_with_every_target_ignored_has_a_zero_second_derivative():
    x = leaves([random_array((3, 4), 0)])[0]
    (first,) = mg.autograd.grad(F.cross_entropy(x, mg.tensor(np.full(3, -100))), x, create_graph=True)
    np.testing.assert_array_equal(first.numpy(), np.zeros((3, 4)))
    (second,) = mg.autograd.grad((first * mg.tensor(random_array((3, 4), 1))).sum(), x)
    np.testing.assert_array_equal(second.numpy(), np.zeros((3, 4)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("targets", [TARGETS, TARGETS_WITH_IGNORED], ids=["all", "ignored"])
def test_nll_loss_second_derivatives(reduction, targets):
    function = lambda x: F.nll_loss(x, mg.tensor(targets), reduction=reduction)  # noqa: E731
    arrays = [random_array((4, 5), 0)]
    first_derivatives_match_backward(function, arrays)
    assert mg.gradgradcheck(function, leaves(arrays))
    if torch is not None:
        hessian_vector_products_match_torch(
            function, lambda x: torch_functional.nll_loss(x, torch.tensor(targets), reduction=reduction), arrays)


BCE_OPTIONS = [
    {"reduction": "mean"},
    {"reduction": "sum", "pos_weight": np.array([0.5, 2.0, 1.0, 3.0])},
    {"reduction": "none", "weight": np.array([1.5, 0.5, 2.0, 1.0])},
    {"reduction": "mean", "weight": np.array([[2.0], [0.5], [1.0]]), "pos_weight": np.array([2.0, 1.0, 0.5, 4.0])},
]
BCE_IDS = ["mean", "sum-pos-weight", "none-weight", "mean-both"]


def bce_function(options, framework=F, tensor=mg.tensor):
    targets = np.random.default_rng(7).uniform(size=(3, 4))  # soft targets, as PyTorch allows
    converted = {key: tensor(value) if isinstance(value, np.ndarray) else value for key, value in options.items()}
    name = "binary_cross_entropy_with_logits"
    return lambda x: getattr(framework, name)(x, tensor(targets), **converted)


@pytest.mark.parametrize("options", BCE_OPTIONS, ids=BCE_IDS)
def test_binary_cross_entropy_with_logits_second_derivatives(options):
    arrays = [3 * random_array((3, 4), 0)]
    first_derivatives_match_backward(bce_function(options), arrays)
    assert mg.gradgradcheck(bce_function(options), leaves(arrays))


@needs_torch
@pytest.mark.parametrize("options", BCE_OPTIONS, ids=BCE_IDS)
def test_binary_cross_entropy_with_logits_second_derivatives_match_torch(options):
    hessian_vector_products_match_torch(bce_function(options), bce_function(options, torch_functional, torch.tensor),
                                        [3 * random_array((3, 4), 0)])


# --- dropout --------------------------------------------------------------------------------------

def seeded_dropout(x):
    mg.manual_seed(3)  # the same mask at every evaluation of the central differences
    return F.dropout(x, 0.4)


def test_dropout_second_derivatives():
    arrays = [random_array((3, 5), 0)]
    first_derivatives_match_backward(seeded_dropout, arrays)
    assert mg.gradgradcheck(seeded_dropout, leaves(arrays))


@needs_torch
def test_dropout_second_derivatives_match_torch_with_the_same_mask():
    x = random_array((3, 5), 0)
    mask = seeded_dropout(mg.tensor(np.ones((3, 5)), dtype=mg.float64)).numpy()  # 0 or 1 / (1 - p)
    assert set(np.unique(mask)) <= {0.0, 1 / 0.6}
    hessian_vector_products_match_torch(seeded_dropout, lambda x: x * torch.tensor(mask), [x])


# --- without create_graph nothing changes ---------------------------------------------------------

def test_plain_backward_records_no_gradient_ops():
    """backward() keeps the fused array path: the gradients it leaves carry no graph."""
    x, weight = leaves([random_array((2, 2, 6, 6), 0), random_array((3, 2, 3, 3), 1)])
    loss = F.cross_entropy(F.max_pool2d(F.dropout(F.conv2d(x, weight, padding=1), 0.2), 2).reshape(2, -1),
                           mg.tensor(np.array([1, 5])))
    loss.backward()
    assert x.grad.grad_fn is None and weight.grad.grad_fn is None
    assert not x.grad.requires_grad and not weight.grad.requires_grad


# --- on the GPU: the same second derivatives as on the CPU -----------------------------------------

def device_cases():
    rng = np.random.default_rng(0)
    targets, soft_targets = np.array([1, -100, 3, 0]), rng.uniform(size=(3, 4))

    def constant(array, x, dtype=None):
        return mg.tensor(array, dtype=dtype, device=x.device)

    return {
        "conv2d": (lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
                   [rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((2, 3, 3, 2)), rng.standard_normal(2)]),
        "conv2d-same": (lambda x, w: F.conv2d(x, w, padding="same"),
                        [rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 2, 3))]),
        "max_pool2d": (lambda x: F.max_pool2d(x, 3, 2, 1), [rng.standard_normal((2, 2, 5, 5))]),
        "max_pool2d-2x2": (lambda x: F.max_pool2d(x, 2), [rng.standard_normal((2, 2, 5, 5))]),
        "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), [rng.standard_normal((2, 2, 5, 5))]),
        "cross_entropy": (lambda x: F.cross_entropy(x, constant(targets, x), label_smoothing=0.1),
                          [rng.standard_normal((4, 5))]),
        "nll_loss": (lambda x: F.nll_loss(x, constant(targets, x), reduction="none"), [rng.standard_normal((4, 5))]),
        "bce": (lambda x: F.binary_cross_entropy_with_logits(
            x, constant(soft_targets, x, mg.float64), weight=constant([1.0, 2.0, 0.5, 1.0], x, mg.float64),
            pos_weight=constant([2.0, 1.0, 0.5, 3.0], x, mg.float64)), [rng.standard_normal((3, 4))]),
        "dropout": (seeded_dropout, [rng.standard_normal((3, 5))]),
    }


def first_and_second_derivatives(function, arrays, device):
    rng = np.random.default_rng(1)
    inputs = [mg.tensor(array, dtype=mg.float64, device=device, requires_grad=True) for array in arrays]
    out = function(*inputs)
    v = mg.tensor(rng.standard_normal(out.shape), dtype=mg.float64, device=device, requires_grad=True)
    first = mg.autograd.grad(out, inputs, v, create_graph=True)
    inner = sum((gradient * mg.tensor(rng.standard_normal(array.shape), dtype=mg.float64, device=device)).sum()
                for gradient, array in zip(first, arrays))
    second = mg.autograd.grad(inner, inputs + [v], allow_unused=True)
    return [None if gradient is None else gradient.cpu().numpy() for gradient in first + second]


@pytest.mark.skipif(not mg.cuda.is_available(), reason="no GPU")
@pytest.mark.parametrize("name", list(device_cases()))
def test_second_derivatives_on_the_gpu_match_the_cpu(name):
    function, arrays = device_cases()[name]
    on_cpu = first_and_second_derivatives(function, arrays, "cpu")
    on_gpu = first_and_second_derivatives(function, arrays, "cuda")
    for index, (expected, actual) in enumerate(zip(on_cpu, on_gpu)):
        assert (expected is None) == (actual is None), f"derivative {index}"
        if expected is not None:
            np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-11, err_msg=f"derivative {index}")
