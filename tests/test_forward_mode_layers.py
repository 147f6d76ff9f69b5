"""Forward mode through the layer ops (conv2d and its two gradient ops, the pools and theirs, the
losses, dropout): each op's jvp rule.

For every op and option, in float64 with small shapes: the forward-mode Jacobian (mg.func.jacfwd,
one jvp per input element) must equal the reverse-mode one (mg.func.jacrev, one backward per output
element) over every float argument; where torch is installed, mg.func.jvp must equal
torch.func.jvp for random tangents (dropout: t * mask * scale with our own mask). Then the jvp in
no_grad mode (forward saves what the rules read either way), max-pool's tie rule, and the
reference CNN's layers end to end against central differences of the loss.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import ops

try:
    import torch
    import torch.func
    import torch.nn.functional as torch_functional
except ImportError:  # the comparisons with PyTorch skip; everything else runs
    torch = torch_functional = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def normal(shape, seed):
    return np.asarray(np.random.default_rng(seed).standard_normal(shape))


def distinct(shape, seed):
    """Values at least 0.1 apart (no ties for max-pool), in a random order."""
    size = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(size) * 0.1 - size * 0.05).reshape(shape)


def tensors(arrays):
    return [mg.tensor(np.array(array, dtype=np.float64), dtype=mg.float64) for array in arrays]


def jacobians_agree(function, arrays):
    """jacfwd equals jacrev with respect to every argument (all float), to ~1e-12."""
    inputs = tensors(arrays)
    positions = tuple(range(len(inputs)))
    forward = mg.func.jacfwd(function, argnums=positions)(*inputs)
    reverse = mg.func.jacrev(function, argnums=positions)(*inputs)
    for position, (mine, expected) in enumerate(zip(forward, reverse)):
        assert mine.shape == expected.shape, f"argument {position}"
        np.testing.assert_allclose(mine.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12,
                                   err_msg=f"Jacobian with respect to argument {position}")


def jvp_matches_torch(mg_function, torch_function, arrays, seed=0):
    """mg.func.jvp equals torch.func.jvp (value and tangent) for random tangents of every argument."""
    tangents = [normal(np.shape(array), seed + 100 + index) for index, array in enumerate(arrays)]
    value, tangent = mg.func.jvp(mg_function, tensors(arrays), tensors(tangents))
    expected_value, expected_tangent = torch.func.jvp(
        torch_function, tuple(torch.tensor(np.asarray(a, dtype=np.float64)) for a in arrays),
        tuple(torch.tensor(t) for t in tangents))
    assert tuple(tangent.shape) == tuple(expected_tangent.shape)
    np.testing.assert_allclose(value.numpy(), expected_value.numpy(), rtol=1e-10, atol=1e-12, err_msg="value")
    np.testing.assert_allclose(tangent.numpy(), expected_tangent.numpy(), rtol=1e-10, atol=1e-12, err_msg="tangent")


# --- convolution ----------------------------------------------------------------------------------

CONV_CASES = [  # (label, input shape, weight shape, options)
    ("stride 1, no padding", (2, 2, 5, 5), (3, 2, 3, 3), {}),
    ("stride 2, padding 1", (2, 2, 6, 5), (3, 2, 3, 3), {"stride": 2, "padding": 1}),
    ("same padding", (1, 2, 5, 4), (2, 2, 3, 3), {"padding": "same"}),
    ("same padding, even kernel", (1, 2, 5, 5), (2, 2, 2, 4), {"padding": "same"}),
    ("dilation 2, padding 1", (2, 1, 6, 6), (2, 1, 3, 2), {"dilation": 2, "padding": 1}),
    ("stride (2, 1), dilation (1, 2)", (1, 2, 6, 7), (2, 2, 2, 3), {"stride": (2, 1), "dilation": (1, 2)}),
]


def conv_arrays(input_shape, weight_shape, bias, seed):
    arrays = [normal(input_shape, seed), normal(weight_shape, seed + 1)]
    return arrays + [normal(weight_shape[0], seed + 2)] if bias else arrays


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no bias"])
@pytest.mark.parametrize("label, input_shape, weight_shape, options", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv2d_jacfwd_equals_jacrev(label, input_shape, weight_shape, options, bias):
    jacobians_agree(lambda *inputs: F.conv2d(*inputs, **options), conv_arrays(input_shape, weight_shape, bias, 1))


@needs_torch
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no bias"])
@pytest.mark.parametrize("label, input_shape, weight_shape, options", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv2d_jvp_matches_torch(label, input_shape, weight_shape, options, bias):
    jvp_matches_torch(lambda *inputs: F.conv2d(*inputs, **options),
                      lambda *inputs: torch_functional.conv2d(*inputs, **options),
                      conv_arrays(input_shape, weight_shape, bias, 2), seed=3)


def test_conv2d_jvp_with_only_some_tangents():
    """A tangent on the bias alone (or the weight alone) gives the output's tangent all the same."""
    x, weight, bias = tensors(conv_arrays((2, 2, 4, 4), (3, 2, 3, 3), True, 4))
    bias_tangent = mg.tensor(normal(3, 5), dtype=mg.float64)
    with mg.autograd.forward_ad.dual_level():
        dual_bias = mg.autograd.forward_ad.make_dual(bias, bias_tangent)
        out = F.conv2d(x, weight, dual_bias, padding=1)
        tangent = mg.autograd.forward_ad.unpack_dual(out).tangent
    assert tangent.shape == out.shape
    np.testing.assert_array_equal(tangent.numpy(), np.broadcast_to(bias_tangent.numpy()[None, :, None, None], out.shape))


GRADIENT_GEOMETRIES = [  # (label, input shape, weight shape, geometry) for the gradient ops
    ("stride 1, padding 1", (2, 2, 4, 4), (3, 2, 3, 3), (1, 1, 1, 1, 1, 1)),
    ("stride 2, dilation 2", (1, 2, 7, 6), (2, 2, 2, 2), (2, 2, 0, 1, 2, 2)),
]


def output_size_of(input_shape, weight_shape, geometry):
    stride_h, stride_w, top, left, dilation_h, dilation_w = geometry
    return ((input_shape[2] + 2 * top - dilation_h * (weight_shape[2] - 1) - 1) // stride_h + 1,
            (input_shape[3] + 2 * left - dilation_w * (weight_shape[3] - 1) - 1) // stride_w + 1)


def torch_conv(geometry):
    stride_h, stride_w, top, left, dilation_h, dilation_w = geometry
    return lambda x, w: torch_functional.conv2d(x, w, stride=(stride_h, stride_w), padding=(top, left),
                                                dilation=(dilation_h, dilation_w))


@pytest.mark.parametrize("label, input_shape, weight_shape, geometry", GRADIENT_GEOMETRIES,
                         ids=[c[0] for c in GRADIENT_GEOMETRIES])
def test_conv2d_gradient_ops_jacfwd_equals_jacrev(label, input_shape, weight_shape, geometry):
    grad_shape = input_shape[:1] + weight_shape[:1] + output_size_of(input_shape, weight_shape, geometry)
    jacobians_agree(lambda g, w: ops.Conv2dInputGradient.apply(g, w, geometry=geometry, input_shape=input_shape),
                    [normal(grad_shape, 6), normal(weight_shape, 7)])
    jacobians_agree(lambda x, g: ops.Conv2dWeightGradient.apply(x, g, geometry=geometry, weight_shape=weight_shape),
                    [normal(input_shape, 8), normal(grad_shape, 9)])


@needs_torch
@pytest.mark.parametrize("label, input_shape, weight_shape, geometry", GRADIENT_GEOMETRIES,
                         ids=[c[0] for c in GRADIENT_GEOMETRIES])
def test_conv2d_gradient_ops_jvp_matches_torch(label, input_shape, weight_shape, geometry):
    """torch's twins: the vjps of its conv2d with respect to the input and to the weight (bilinear in
    the cotangent and the other argument), differentiated forward over reverse by torch.func."""
    grad_shape = input_shape[:1] + weight_shape[:1] + output_size_of(input_shape, weight_shape, geometry)
    conv = torch_conv(geometry)

    def input_gradient(g, w):
        return torch.func.vjp(lambda x: conv(x, w), torch.zeros(input_shape, dtype=g.dtype))[1](g)[0]

    def weight_gradient(x, g):
        return torch.func.vjp(lambda w: conv(x, w), torch.zeros(weight_shape, dtype=g.dtype))[1](g)[0]

    jvp_matches_torch(lambda g, w: ops.Conv2dInputGradient.apply(g, w, geometry=geometry, input_shape=input_shape),
                      input_gradient, [normal(grad_shape, 10), normal(weight_shape, 11)], seed=12)
    jvp_matches_torch(lambda x, g: ops.Conv2dWeightGradient.apply(x, g, geometry=geometry, weight_shape=weight_shape),
                      weight_gradient, [normal(input_shape, 13), normal(grad_shape, 14)], seed=15)


# --- pooling --------------------------------------------------------------------------------------

POOL_CASES = [  # (label, input shape, kernel, stride, padding)
    ("2x2 stride 2", (2, 2, 4, 6), 2, None, 0),
    ("3x3 stride 2 padding 1, overlapping", (1, 2, 5, 5), 3, 2, 1),
    ("3x2 stride 1 padding (1, 0), overlapping", (1, 1, 4, 5), (3, 2), 1, (1, 0)),
]
POOL_IDS = [c[0] for c in POOL_CASES]


@pytest.mark.parametrize("label, shape, kernel, stride, padding", POOL_CASES, ids=POOL_IDS)
def test_max_pool2d_jacfwd_equals_jacrev(label, shape, kernel, stride, padding):
    jacobians_agree(lambda x: F.max_pool2d(x, kernel, stride, padding), [distinct(shape, 20)])


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("label, shape, kernel, stride, padding", POOL_CASES, ids=POOL_IDS)
def test_avg_pool2d_jacfwd_equals_jacrev(label, shape, kernel, stride, padding, count_include_pad):
    jacobians_agree(lambda x: F.avg_pool2d(x, kernel, stride, padding, count_include_pad), [normal(shape, 21)])


@needs_torch
@pytest.mark.parametrize("label, shape, kernel, stride, padding", POOL_CASES, ids=POOL_IDS)
def test_pools_jvp_match_torch(label, shape, kernel, stride, padding):
    jvp_matches_torch(lambda x: F.max_pool2d(x, kernel, stride, padding),
                      lambda x: torch_functional.max_pool2d(x, kernel, stride, padding), [distinct(shape, 22)], seed=23)
    for count_include_pad in (True, False):
        jvp_matches_torch(lambda x: F.avg_pool2d(x, kernel, stride, padding, count_include_pad),
                          lambda x: torch_functional.avg_pool2d(x, kernel, stride, padding,
                                                                count_include_pad=count_include_pad),
                          [normal(shape, 24)], seed=25)


def pool_gradient_ops(shape, kernel, stride, padding, count_include_pad=True):
    """(max-pool's indices, its output size, the avg-pool geometry) for applying the gradient ops directly."""
    x = mg.tensor(distinct(shape, 26), dtype=mg.float64, requires_grad=True)
    pooled = F.max_pool2d(x, kernel, stride, padding)
    return pooled.grad_fn.saved[0], tuple(pooled.shape[2:]), pooled.grad_fn.geometry


@pytest.mark.parametrize("label, shape, kernel, stride, padding", POOL_CASES, ids=POOL_IDS)
def test_pool_gradient_ops_jacfwd_equals_jacrev(label, shape, kernel, stride, padding):
    indices, output_size, geometry = pool_gradient_ops(shape, kernel, stride, padding)
    pooled_shape = shape[:2] + output_size
    jacobians_agree(lambda g: ops.MaxPool2dBackward.apply(g, indices=indices, input_shape=shape),
                    [normal(pooled_shape, 27)])
    jacobians_agree(lambda h: ops.MaxPool2dGather.apply(h, indices=indices, input_shape=shape), [normal(shape, 28)])
    for count_include_pad in (True, False):
        jacobians_agree(lambda g: ops.AvgPool2dBackward.apply(g, geometry=geometry, input_shape=shape,
                                                              count_include_pad=count_include_pad),
                        [normal(pooled_shape, 29)])


@needs_torch
@pytest.mark.parametrize("label, shape, kernel, stride, padding", POOL_CASES, ids=POOL_IDS)
def test_pool_gradient_ops_jvp_match_torch(label, shape, kernel, stride, padding):
    """torch's twins: the vjps of its pools (linear in the cotangent) for the backward ops, and the
    gather at the same flat in-plane positions for MaxPool2dGather."""
    indices, output_size, geometry = pool_gradient_ops(shape, kernel, stride, padding)
    pooled_shape = shape[:2] + output_size
    x = torch.tensor(distinct(shape, 26))

    def max_backward(g):
        return torch.func.vjp(lambda h: torch_functional.max_pool2d(h, kernel, stride, padding), x)[1](g)[0]

    def gather(h):
        return h.flatten(2).gather(2, torch.tensor(indices).flatten(2)).reshape(pooled_shape)

    jvp_matches_torch(lambda g: ops.MaxPool2dBackward.apply(g, indices=indices, input_shape=shape), max_backward,
                      [normal(pooled_shape, 30)], seed=31)
    jvp_matches_torch(lambda h: ops.MaxPool2dGather.apply(h, indices=indices, input_shape=shape), gather,
                      [normal(shape, 32)], seed=33)
    for count_include_pad in (True, False):
        def avg_backward(g):
            return torch.func.vjp(lambda h: torch_functional.avg_pool2d(h, kernel, stride, padding,
                                                                        count_include_pad=count_include_pad),
                                  torch.zeros(shape, dtype=g.dtype))[1](g)[0]

        jvp_matches_torch(lambda g: ops.AvgPool2dBackward.apply(g, geometry=geometry, input_shape=shape,
                                                                count_include_pad=count_include_pad),
                          avg_backward, [normal(pooled_shape, 34)], seed=35)


def test_max_pool2d_ties_follow_backward():
    """With tied maxima the tangent is taken at the one position backward routes the gradient to."""
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 2:, 2:] = 1.0  # every window a tie
    jacobians_agree(lambda x: F.max_pool2d(x, 2), [x])
    jacobians_agree(lambda x: F.max_pool2d(x, 3, 1, 1), [x])


# --- losses ---------------------------------------------------------------------------------------

REDUCTIONS = ["mean", "sum", "none"]
TARGETS = np.array([2, 0, 3, 1, 2])


@pytest.mark.parametrize("ignore_index", [-100, 2], ids=["no ignored row", "ignore_index"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.15])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_jacfwd_equals_jacrev(reduction, label_smoothing, ignore_index):
    jacobians_agree(lambda x: F.cross_entropy(x, TARGETS, reduction=reduction, label_smoothing=label_smoothing,
                                              ignore_index=ignore_index), [normal((5, 4), 40)])


@needs_torch
@pytest.mark.parametrize("ignore_index", [-100, 2], ids=["no ignored row", "ignore_index"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.15])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_jvp_matches_torch(reduction, label_smoothing, ignore_index):
    options = {"reduction": reduction, "label_smoothing": label_smoothing, "ignore_index": ignore_index}
    jvp_matches_torch(lambda x: F.cross_entropy(x, TARGETS, **options),
                      lambda x: torch_functional.cross_entropy(x, torch.tensor(TARGETS), **options),
                      [normal((5, 4), 41)], seed=42)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_every_target_ignored(reduction):
    """No target counted: the loss is NaN for "mean" (as PyTorch) and the derivative is zero, as backward."""
    targets = np.full(3, -100)
    jacobians_agree(lambda x: F.cross_entropy(x, targets, reduction=reduction), [normal((3, 4), 43)])
    jacobians_agree(lambda x: F.nll_loss(x, targets, reduction=reduction), [normal((3, 4), 44)])


@pytest.mark.parametrize("ignore_index", [-100, 2], ids=["no ignored row", "ignore_index"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_jacfwd_equals_jacrev(reduction, ignore_index):
    jacobians_agree(lambda x: F.nll_loss(x, TARGETS, reduction=reduction, ignore_index=ignore_index),
                    [normal((5, 4), 45)])


@needs_torch
@pytest.mark.parametrize("ignore_index", [-100, 2], ids=["no ignored row", "ignore_index"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_jvp_matches_torch(reduction, ignore_index):
    jvp_matches_torch(lambda x: F.nll_loss(x, TARGETS, reduction=reduction, ignore_index=ignore_index),
                      lambda x: torch_functional.nll_loss(x, torch.tensor(TARGETS), reduction=reduction,
                                                          ignore_index=ignore_index),
                      [normal((5, 4), 46)], seed=47)


BCE_SHAPE = (3, 4)
BCE_TARGETS = np.random.default_rng(50).uniform(0, 1, BCE_SHAPE)  # soft targets: the target terms matter
BCE_WEIGHTS = {  # label -> (weight, pos_weight)
    "plain": (None, None),
    "weight": (np.random.default_rng(51).uniform(0.5, 2, BCE_SHAPE), None),
    "pos_weight": (None, np.random.default_rng(52).uniform(0.5, 3, BCE_SHAPE[1])),
    "both, weight broadcast": (np.random.default_rng(53).uniform(0.5, 2, (1, BCE_SHAPE[1])),
                               np.random.default_rng(54).uniform(0.5, 3, BCE_SHAPE[1])),
}


def bce(weight, pos_weight, reduction):
    return lambda x: F.binary_cross_entropy_with_logits(x, BCE_TARGETS, weight=weight, reduction=reduction,
                                                        pos_weight=pos_weight)


@pytest.mark.parametrize("weights", list(BCE_WEIGHTS), ids=list(BCE_WEIGHTS))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_jacfwd_equals_jacrev(reduction, weights):
    weight, pos_weight = BCE_WEIGHTS[weights]
    logits = normal(BCE_SHAPE, 55) * 3
    logits[0, 0], logits[1, 1] = 40.0, -40.0  # the stable branches
    jacobians_agree(bce(weight, pos_weight, reduction), [logits])


@needs_torch
@pytest.mark.parametrize("weights", list(BCE_WEIGHTS), ids=list(BCE_WEIGHTS))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_jvp_matches_torch(reduction, weights):
    weight, pos_weight = BCE_WEIGHTS[weights]

    def torch_bce(x):
        return torch_functional.binary_cross_entropy_with_logits(
            x, torch.tensor(BCE_TARGETS), reduction=reduction,
            weight=None if weight is None else torch.tensor(weight),
            pos_weight=None if pos_weight is None else torch.tensor(pos_weight))

    jvp_matches_torch(bce(weight, pos_weight, reduction), torch_bce, [normal(BCE_SHAPE, 56) * 3], seed=57)


def test_bce_with_logits_target_is_a_constant():
    """As in backward (which gives the target no gradient), a tangent on the target is not carried:
    the op's only input is the logits. (PyTorch differentiates in the target too; minigrad does not.)"""
    logits, target = tensors([normal(BCE_SHAPE, 58), BCE_TARGETS])
    _, tangent = mg.func.jvp(lambda y: F.binary_cross_entropy_with_logits(logits, y), (target,),
                             (mg.tensor(normal(BCE_SHAPE, 59), dtype=mg.float64),))
    assert tangent.item() == 0.0


# --- dropout --------------------------------------------------------------------------------------

def seeded_dropout(x, p=0.4):
    mg.manual_seed(60)  # the same mask on every call, so that jacfwd's many forwards see one mask
    return F.dropout(x, p)


def test_dropout_jacfwd_equals_jacrev():
    jacobians_agree(seeded_dropout, [normal((3, 5), 61)])


def test_dropout_jvp_is_the_tangent_times_the_scaled_mask():
    x, t = tensors([normal((4, 6), 62), normal((4, 6), 63)])
    scaled_mask = seeded_dropout(mg.ones((4, 6), dtype=mg.float64)).numpy()
    assert set(np.unique(scaled_mask)) == {0.0, 1 / 0.6}
    value, tangent = mg.func.jvp(seeded_dropout, (x,), (t,))
    np.testing.assert_array_equal(value.numpy(), x.numpy() * scaled_mask)
    np.testing.assert_array_equal(tangent.numpy(), t.numpy() * scaled_mask)


# --- no_grad, and the reference CNN ---------------------------------------------------------------

def test_layer_jvps_in_no_grad_mode():
    """Forward keeps what the jvp rules read (argmax positions, the softmax rows, the mask) even when
    nothing will run backward."""
    x, weight, t_x = tensors([normal((2, 1, 6, 6), 70), normal((2, 1, 3, 3), 71), normal((2, 1, 6, 6), 72)])

    def layers(images):
        features = F.dropout(F.max_pool2d(F.conv2d(images, weight, padding=1), 2), 0.25)
        return F.cross_entropy(F.avg_pool2d(features, 3).reshape(2, 2), np.array([1, 0]))

    mg.manual_seed(73)
    expected = mg.func.jvp(layers, (x,), (t_x,))
    mg.manual_seed(73)
    with mg.no_grad():
        actual = mg.func.jvp(layers, (x,), (t_x,))
    for mine, reference in zip(actual, expected):
        np.testing.assert_array_equal(mine.numpy(), reference.numpy())


def reference_cnn(seed):
    """The reference CNN's layers at small widths: conv 5x5 same -> ReLU -> max-pool 2 -> conv 5x5 same
    -> ReLU -> max-pool 2 -> flatten -> linear, float64, for 8x8 images."""
    mg.manual_seed(seed)
    return mg.nn.Sequential(
        mg.nn.Conv2d(1, 4, 5, padding="same", dtype=mg.float64), mg.nn.ReLU(), mg.nn.MaxPool2d(2),
        mg.nn.Conv2d(4, 6, 5, padding="same", dtype=mg.float64), mg.nn.ReLU(), mg.nn.MaxPool2d(2),
        mg.nn.Flatten(), mg.nn.Linear(24, 10, dtype=mg.float64),
    )


def test_reference_cnn_jvp_matches_central_differences():
    model = reference_cnn(80)
    targets = np.array([3, 7, 0])
    images, direction = tensors([normal((3, 1, 8, 8), 81), normal((3, 1, 8, 8), 82)])

    def loss(x):
        return F.cross_entropy(model(x), targets)

    value, derivative = mg.func.jvp(loss, (images,), (direction,))
    step = 1e-6
    with mg.no_grad():
        ahead = loss(images + step * direction).item()
        behind = loss(images - step * direction).item()
        np.testing.assert_allclose(value.item(), loss(images).item(), rtol=1e-14)
    central = (ahead - behind) / (2 * step)
    np.testing.assert_allclose(derivative.item(), central, rtol=1e-6, atol=1e-9)
    # and the same directional derivative from reverse mode: <grad, direction>
    gradient = mg.func.grad(loss)(images)
    np.testing.assert_allclose(derivative.item(), float((gradient.numpy() * direction.numpy()).sum()),
                               rtol=1e-12, atol=1e-14)
