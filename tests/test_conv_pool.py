"""F.conv2d, F.max_pool2d, F.avg_pool2d: gradients (float64 gradcheck), PyTorch parity, argument errors."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F


def leaf(shape, seed):
    return mg.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=mg.float64, requires_grad=True)


# (batch, in_channels, out_channels, height, width, kernel, stride, padding, dilation)
CONV_CASES = [
    (1, 1, 1, 5, 5, 3, 1, 0, 1),
    (3, 2, 3, 6, 7, 3, 1, 1, 1),
    (1, 3, 2, 7, 6, 2, 1, 0, 1),
    (3, 1, 2, 8, 8, 4, 2, 1, 1),
    (1, 2, 2, 9, 7, 3, 2, 2, 1),
    (1, 2, 1, 9, 9, 3, 1, 2, 2),
    (3, 3, 2, 7, 8, 2, 2, 0, 2),
    (1, 1, 2, 6, 6, 5, 1, "same", 1),
    (3, 2, 2, 6, 5, 4, 1, "same", 1),
    (1, 2, 3, 7, 7, 3, 1, "same", 2),
    (1, 2, 2, 5, 5, 3, 1, "valid", 1),
    (1, 1, 1, 4, 4, 4, 1, 0, 1),
    (1, 2, 2, 5, 6, (3, 2), (2, 1), (1, 0), (1, 2)),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
@pytest.mark.parametrize("with_bias", [True, False])
def test_conv2d_gradcheck(case, with_bias):
    batch, channels_in, channels_out, height, width, kernel, stride, padding, dilation = case
    kernel = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    x = leaf((batch, channels_in, height, width), 0)
    weight = leaf((channels_out, channels_in) + kernel, 1)
    inputs = (x, weight, leaf((channels_out,), 2)) if with_bias else (x, weight)
    assert mg.gradcheck(lambda *t: F.conv2d(*t, stride=stride, padding=padding, dilation=dilation), inputs)


def test_conv2d_same_padding_keeps_the_size():
    assert F.conv2d(mg.ones(2, 1, 28, 28), mg.ones(32, 1, 5, 5), padding="same").shape == (2, 32, 28, 28)
    assert F.conv2d(mg.ones(1, 1, 9, 9), mg.ones(1, 1, 4, 4), padding="same").shape == (1, 1, 9, 9)


# (batch, channels, height, width, kernel, stride, padding)
POOL_CASES = [
    (1, 1, 4, 4, 2, None, 0),
    (3, 2, 7, 6, 2, 2, 0),
    (1, 3, 7, 7, 3, 1, 1),
    (3, 1, 8, 5, 3, 2, 1),
    (1, 2, 9, 9, 2, 3, 0),
    (1, 2, 5, 6, (3, 2), (1, 2), (1, 1)),
    (1, 1, 3, 3, 3, 1, 0),
]


@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_max_pool2d_gradcheck(case):
    batch, channels, height, width, kernel, stride, padding = case
    # Distinct values: at a tie the maximum is not differentiable and central differences disagree.
    values = np.random.default_rng(3).permutation(batch * channels * height * width).reshape(batch, channels, height, width)
    x = mg.tensor(values / 7.0, dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(lambda t: F.max_pool2d(t, kernel, stride, padding), (x,))


@pytest.mark.parametrize("case", POOL_CASES, ids=str)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_gradcheck(case, count_include_pad):
    batch, channels, height, width, kernel, stride, padding = case
    x = leaf((batch, channels, height, width), 4)
    assert mg.gradcheck(lambda t: F.avg_pool2d(t, kernel, stride, padding, count_include_pad), (x,))


def test_max_pool_ties_send_the_gradient_to_one_element():
    x = mg.ones(1, 1, 2, 2, dtype=mg.float64, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad.data.sum() == 1.0 and np.count_nonzero(x.grad.data) == 1


# --- against PyTorch --------------------------------------------------------------------------------

REFERENCE_CNN_LAYERS = [((4, 1, 28, 28), (32, 1, 5, 5)), ((4, 32, 14, 14), (64, 32, 5, 5))]


@pytest.mark.parametrize("x_shape, w_shape", REFERENCE_CNN_LAYERS + [((2, 3, 11, 9), (4, 3, 3, 2))], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_matches_pytorch(x_shape, w_shape, dtype):
    torch = pytest.importorskip("torch")
    generator = np.random.default_rng(5)
    x_array, w_array = generator.standard_normal(x_shape).astype(dtype), generator.standard_normal(w_shape).astype(dtype)
    b_array = generator.standard_normal(w_shape[0]).astype(dtype)
    upstream = None
    results = []
    for library in (mg, torch):
        x, w, b = (library.tensor(a, requires_grad=True) for a in (x_array, w_array, b_array))
        out = library.nn.functional.conv2d(x, w, b, padding=2 if w_shape[2] == 5 else 1)
        if upstream is None:
            upstream = generator.standard_normal(out.shape).astype(dtype)
        (out * library.tensor(upstream)).sum().backward()
        results.append([np.asarray(t.detach().numpy() if library is torch else t.data) for t in (out, x.grad, w.grad, b.grad)])
    tolerance = {"rtol": 1e-4, "atol": 1e-3} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-10}
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, **tolerance)


@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 3, 0)])
@pytest.mark.parametrize("pool", ["max_pool2d", "avg_pool2d"])
def test_pools_match_pytorch(kernel, stride, padding, pool):
    torch = pytest.importorskip("torch")
    generator = np.random.default_rng(6)
    x_array = generator.standard_normal((3, 2, 9, 8)).astype(np.float32)
    results = []
    for library in (mg, torch):
        x = library.tensor(x_array, requires_grad=True)
        out = getattr(library.nn.functional, pool)(x, kernel, stride, padding)
        upstream = library.tensor(np.arange(np.prod(out.shape), dtype=np.float32).reshape(out.shape) / 10)
        (out * upstream).sum().backward()
        results.append([np.asarray(t.detach().numpy() if library is torch else t.data) for t in (out, x.grad)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


# --- errors -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, message", [
    (lambda: F.conv2d(mg.ones(16, 1, 28, 28), mg.ones(32, 3, 5, 5)), ValueError,
     r"conv2d: weight \(32, 3, 5, 5\) expects 3 input channels, input \(16, 1, 28, 28\) has 1"),
    (lambda: F.conv2d(mg.ones(1, 28, 28), mg.ones(32, 1, 5, 5)), ValueError, r"4-D input.*\(1, 28, 28\)"),
    (lambda: F.conv2d(mg.ones(1, 1, 28, 28), mg.ones(32, 5, 5)), ValueError, r"4-D weight.*\(32, 5, 5\)"),
    (lambda: F.conv2d(mg.ones(1, 1, 3, 3), mg.ones(2, 1, 5, 5)), ValueError, r"kernel height 5 is larger than the padded input height 3"),
    (lambda: F.conv2d(mg.ones(1, 1, 5, 5), mg.ones(2, 1, 3, 3), dilation=3), ValueError, r"dilated to 7"),
    (lambda: F.conv2d(mg.ones(1, 1, 5, 5), mg.ones(2, 1, 3, 3), stride=0), ValueError, r"stride must be at least 1"),
    (lambda: F.conv2d(mg.ones(1, 1, 5, 5), mg.ones(2, 1, 3, 3), stride=(1, -2)), ValueError, r"stride must be at least 1"),
    (lambda: F.conv2d(mg.ones(1, 1, 5, 5), mg.ones(2, 1, 3, 3), padding=-1), ValueError, r"padding must be at least 0"),
    (lambda: F.conv2d(mg.ones(1, 1, 5, 5), mg.ones(2, 1, 3, 3), padding="full"), ValueError, r"'same' or 'valid'"),
    (lambda: F.conv2d(mg.ones(1, 1, 8, 8), mg.ones(2, 1, 3, 3), stride=2, padding="same"), ValueError, r"'same' needs stride 1"),
    (lambda: F.conv2d(mg.ones(1, 1, 5, 5), mg.ones(2, 1, 3, 3), mg.ones(3)), ValueError, r"bias of shape \(3,\).*2 output channels"),
    (lambda: F.conv2d(mg.ones(1, 1, 5, 5), mg.ones(2, 1, 3, 3, dtype=mg.float64)), TypeError, r"input float32, weight float64"),
    (lambda: F.max_pool2d(mg.ones(1, 1, 3, 3), 4), ValueError, r"max_pool2d: kernel height 4 is larger"),
    (lambda: F.max_pool2d(mg.ones(1, 1, 6, 6), 2, padding=2), ValueError, r"at most half the kernel size"),
    (lambda: F.avg_pool2d(mg.ones(1, 6, 6), 2), ValueError, r"avg_pool2d: expected a 4-D input"),
    (lambda: F.avg_pool2d(mg.ones(1, 1, 6, 6), 2, stride=0), ValueError, r"avg_pool2d: stride must be at least 1"),
])
def test_bad_arguments_are_clear_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("in_channels, out_channels, size", [(1, 32, 28), (32, 64, 14), (3, 4, 6)])
def test_an_empty_batch_gives_empty_outputs_and_zero_parameter_gradients(in_channels, out_channels, size):
    x = mg.zeros(0, in_channels, size, size, requires_grad=True)
    weight = mg.randn(out_channels, in_channels, 5, 5, requires_grad=True)
    bias = mg.randn(out_channels, requires_grad=True)
    out = F.conv2d(x, weight, bias, padding="same")
    assert out.shape == (0, out_channels, size, size)
    (F.max_pool2d(out, 2).sum() + F.avg_pool2d(out, 2).sum()).backward()
    assert x.grad.shape == x.shape
    np.testing.assert_array_equal(weight.grad.numpy(), np.zeros(weight.shape))
    np.testing.assert_array_equal(bias.grad.numpy(), np.zeros(out_channels))
