"""BatchNorm1d, BatchNorm2d and F.batch_norm: PyTorch's values, gradients, running statistics, state_dict,
arguments, refusals and repr; gradcheck; the kernels with bounds checks."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.kernels.cpu import batch_norm as kernels
from minigrad.kernels.cpu.preset import checked_twin

TOLERANCES = {np.float32: {"rtol": 1e-4, "atol": 2e-5}, np.float64: {"rtol": 1e-10, "atol": 1e-11}}
# (layer, input shape): odd channel counts and plane sizes that are multiples of nothing
LAYERS = [("BatchNorm1d", (5, 3)), ("BatchNorm1d", (4, 3, 7)), ("BatchNorm2d", (3, 3, 7, 5)),
          ("BatchNorm2d", (2, 4, 1, 3))]
# constructor options
SETTINGS = [{}, {"affine": False}, {"momentum": None}, {"track_running_stats": False}, {"eps": 1e-3, "momentum": 0.3},
            {"bias": False}]


def layer_pair(name, channels, dtype, **options):
    torch = pytest.importorskip("torch")
    mine = getattr(nn, name)(channels, dtype=getattr(mg, np.dtype(dtype).name), **options)
    theirs = getattr(torch.nn, name)(channels, dtype=getattr(torch, np.dtype(dtype).name), **options)
    rng = np.random.default_rng(7)
    if mine.weight is not None:  # not the ones and zeros they start at, so that the affine part is tested
        weight = rng.uniform(0.5, 1.5, channels).astype(dtype)
        mine.weight.data[...] = weight
        theirs.weight.data[...] = torch.tensor(weight)
    if mine.bias is not None:
        bias = rng.standard_normal(channels).astype(dtype)
        mine.bias.data[...] = bias
        theirs.bias.data[...] = torch.tensor(bias)
    return mine, theirs


def step_both(mine, theirs, shape, dtype, seed):
    """One forward and backward through both layers; (minigrad output, torch output, minigrad x, torch x)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3 + 2).astype(dtype)  # away from mean 0, variance 1
    upstream = rng.standard_normal(shape).astype(dtype)
    x_mine, x_theirs = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_mine, out_theirs = mine(x_mine), theirs(x_theirs)
    out_mine.backward(mg.tensor(upstream))
    out_theirs.backward(torch.tensor(upstream))
    return out_mine, out_theirs, x_mine, x_theirs


def assert_layers_agree(mine, theirs, dtype):
    tolerance = TOLERANCES[dtype]
    for name, buffer in theirs.named_buffers():
        assert getattr(mine, name).dtype == np.dtype(str(buffer.dtype).replace("torch.", "")), name
        np.testing.assert_allclose(getattr(mine, name).numpy(), buffer.numpy(), err_msg=name, **tolerance)
    for name, parameter in theirs.named_parameters():
        np.testing.assert_allclose(getattr(mine, name).grad.numpy(), parameter.grad.numpy(), err_msg=name, **tolerance)
        getattr(mine, name).grad, parameter.grad = None, None


# every setting on a 2-d layer, every layer with the default settings
CASES = [("BatchNorm2d", (3, 3, 7, 5), options) for options in SETTINGS] + [
    (name, shape, {}) for name, shape in LAYERS if shape != (3, 3, 7, 5)] + [
    ("BatchNorm1d", (4, 3, 7), {"momentum": None})]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, shape, options", CASES, ids=str)
def test_training_steps_then_eval_equal_pytorchs(name, shape, options, dtype):
    """Three training steps (outputs, every gradient, running statistics, num_batches_tracked), then eval."""
    mine, theirs = layer_pair(name, shape[1], dtype, **options)
    tolerance = TOLERANCES[dtype]
    for step in range(3):
        out_mine, out_theirs, x_mine, x_theirs = step_both(mine, theirs, shape, dtype, seed=step)
        assert out_mine.dtype == dtype and out_mine.shape == tuple(out_theirs.shape)
        np.testing.assert_allclose(out_mine.numpy(), out_theirs.detach().numpy(), **tolerance)
        np.testing.assert_allclose(x_mine.grad.numpy(), x_theirs.grad.numpy(), **tolerance)
        assert_layers_agree(mine, theirs, dtype)
    mine.eval()
    theirs.eval()
    eval_shape = (1,) + shape[1:]  # one sample is fine in eval (with running statistics)
    if mine.track_running_stats is False:
        eval_shape = shape  # batch statistics again
    out_mine, out_theirs, x_mine, x_theirs = step_both(mine, theirs, eval_shape, dtype, seed=5)
    np.testing.assert_allclose(out_mine.numpy(), out_theirs.detach().numpy(), **tolerance)
    np.testing.assert_allclose(x_mine.grad.numpy(), x_theirs.grad.numpy(), **tolerance)
    assert_layers_agree(mine, theirs, dtype)


@pytest.mark.parametrize("training", [True, False])
def test_functional_equals_pytorchs_with_and_without_running_statistics(training):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, weight, bias = rng.standard_normal((6, 3, 4)), rng.uniform(0.5, 2, 3), rng.standard_normal(3)
    running = [rng.standard_normal(3), rng.uniform(0.5, 2, 3)]
    outputs, updated = [], []
    for library, functional in ((mg, F), (torch, torch.nn.functional)):
        stats = [library.tensor(array.copy()) for array in running]
        out = functional.batch_norm(library.tensor(x), *stats, library.tensor(weight), library.tensor(bias),
                                    training=training, momentum=0.25, eps=1e-3)
        outputs.append(out.numpy())
        updated.append([stat.numpy() for stat in stats])
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.array(updated[0]), np.array(updated[1]), rtol=1e-10)
    if training:
        out = F.batch_norm(mg.tensor(x), None, None, training=True)  # no running statistics to update
        expected = torch.nn.functional.batch_norm(torch.tensor(x), None, None, training=True)
        np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-10, atol=1e-12)


def test_large_mean_keeps_its_variance():
    """Shifted sums: a float32 channel at mean 1000, std 0.1 normalizes as in float64 arithmetic."""
    x = (1000 + 0.1 * np.random.default_rng(0).standard_normal((64, 2, 9))).astype(np.float32)
    out = F.batch_norm(mg.tensor(x), None, None, training=True).numpy()
    exact = x.astype(np.float64)
    exact = (exact - exact.mean(axis=(0, 2), keepdims=True)) / np.sqrt(exact.var(axis=(0, 2), keepdims=True) + 1e-5)
    np.testing.assert_allclose(out, exact, atol=2e-3)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_and_gradgradcheck_in_float64(training, affine):
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.standard_normal((3, 2, 5)), dtype=mg.float64, requires_grad=True)
    parameters = [mg.tensor(rng.uniform(0.5, 1.5, 2), dtype=mg.float64, requires_grad=True),
                  mg.tensor(rng.standard_normal(2), dtype=mg.float64, requires_grad=True)] if affine else []
    running = [mg.tensor(rng.standard_normal(2), dtype=mg.float64), mg.tensor(rng.uniform(0.5, 2, 2), dtype=mg.float64)]

    def function(x, *parameters):
        return F.batch_norm(x, *running, *parameters, training=training, momentum=0.0)  # momentum 0: fixed stats

    assert mg.gradcheck(function, (x, *parameters))
    assert mg.gradgradcheck(function, (x, *parameters))
    positions = tuple(range(1 + len(parameters)))
    plain = (x.detach(), *(parameter.detach() for parameter in parameters))
    forward = mg.func.jacfwd(function, argnums=positions)(*plain)  # the jvp rule
    reverse = mg.func.jacrev(function, argnums=positions)(*plain)
    for by_jvp, by_vjp in zip(forward, reverse):
        np.testing.assert_allclose(by_jvp.data, by_vjp.data, rtol=1e-10, atol=1e-12)


def test_state_dict_round_trip_with_pytorchs_keys():
    torch = pytest.importorskip("torch")
    mine, theirs = layer_pair("BatchNorm2d", 3, np.float32)
    for step in range(2):
        step_both(mine, theirs, (2, 3, 4, 5), np.float32, seed=step)
    assert list(mine.state_dict()) == list(theirs.state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    state = mine.state_dict()
    assert state["num_batches_tracked"].dtype == np.int64 and state["num_batches_tracked"].shape == ()
    fresh_torch = torch.nn.BatchNorm2d(3)
    fresh_torch.load_state_dict({key: torch.tensor(value) for key, value in state.items()})
    fresh_mine = nn.BatchNorm2d(3)
    fresh_mine.load_state_dict({key: value.numpy() for key, value in theirs.state_dict().items()})
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(fresh_mine.state_dict()[key], value.numpy(), rtol=1e-6, err_msg=key)
        np.testing.assert_allclose(fresh_torch.state_dict()[key].numpy(), state[key], rtol=1e-6, err_msg=key)
    assert int(fresh_mine.num_batches_tracked.item()) == 2
    assert list(nn.BatchNorm1d(3, track_running_stats=False).state_dict()) == ["weight", "bias"]
    assert nn.BatchNorm2d(3).double().num_batches_tracked.dtype == np.int64  # a cast leaves the count alone


def test_constructor_buffers_and_repr_match_pytorchs():
    torch = pytest.importorskip("torch")
    for options in SETTINGS:
        for name in ("BatchNorm1d", "BatchNorm2d"):
            mine, theirs = getattr(nn, name)(4, **options), getattr(torch.nn, name)(4, **options)
            assert repr(mine) == repr(theirs)
            assert [key for key, _ in mine.named_parameters()] == [key for key, _ in theirs.named_parameters()]
            for key, value in theirs.named_parameters():
                np.testing.assert_array_equal(getattr(mine, key).numpy(), value.detach().numpy())
            assert list(mine._buffers) == list(theirs._buffers)
    layer = nn.BatchNorm2d(2)
    layer(mg.randn(3, 2, 2, 2))
    layer.reset_running_stats()
    np.testing.assert_array_equal(layer.running_var.numpy(), [1, 1])
    assert layer.num_batches_tracked.item() == 0


@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.BatchNorm2d(3)(mg.randn(2, 3, 4)), ValueError, r"BatchNorm2d: expected 4D input \(got 3D input\)"),
    (lambda: nn.BatchNorm1d(3)(mg.randn(2, 3, 4, 5)), ValueError, r"BatchNorm1d: expected 2D or 3D input \(got 4D"),
    (lambda: nn.BatchNorm1d(3)(mg.randn(3)), ValueError, r"expected 2D or 3D input \(got 1D"),
    (lambda: nn.BatchNorm2d(3)(mg.randn(2, 4, 2, 2)), RuntimeError,
     "BatchNorm2d: running_mean should contain 4 elements not 3"),
    (lambda: nn.BatchNorm1d(3, track_running_stats=False)(mg.randn(2, 4)), RuntimeError,
     "BatchNorm1d: weight should contain 4 elements not 3"),
    (lambda: nn.BatchNorm1d(3)(mg.randn(1, 3)), ValueError,
     r"BatchNorm1d: Expected more than 1 value per channel when training, got input size \(1, 3\)"),
    (lambda: nn.BatchNorm2d(3)(mg.randn(1, 3, 1, 1)), ValueError, "Expected more than 1 value per channel"),
    (lambda: nn.BatchNorm1d(3)(mg.randn(2, 3, dtype=mg.float64)), TypeError, "input float64, weight float32"),
    (lambda: nn.BatchNorm1d(3)("x"), TypeError, "BatchNorm1d"),
    (lambda: F.batch_norm(mg.randn(2, 3), None, None), RuntimeError,
     "batch_norm: running_mean must be defined in evaluation mode"),
    (lambda: F.batch_norm(mg.randn(2, 3), mg.zeros(3), mg.ones(3), mg.ones(2)), RuntimeError,
     "batch_norm: weight should contain 3 elements not 2"),
    (lambda: F.batch_norm(mg.randn(2, 3), None, None, training=True, eps=0), ValueError,
     "eps must be positive during training, but got 0"),
    (lambda: F.batch_norm(mg.randn(2, 3), mg.zeros(3), mg.ones(3), eps=-1), ValueError, "non-negative, but got -1"),
    (lambda: F.batch_norm(mg.randn(2), mg.zeros(2), mg.ones(2)), ValueError, "at least 2 dimensions, got 1D"),
    (lambda: F.batch_norm(mg.randn(2, 3), [0, 0, 0], mg.ones(3)), TypeError, "batch_norm"),
])
def test_bad_arguments_are_refused_with_the_layers_name(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_eval_with_one_sample_and_an_empty_batch():
    layer = nn.BatchNorm2d(3)
    layer(mg.randn(4, 3, 7, 5))
    layer.eval()
    x = mg.randn(1, 3, 7, 5)
    expected = (x.numpy() - layer.running_mean.numpy()[:, None, None]) / np.sqrt(
        layer.running_var.numpy()[:, None, None] + 1e-5)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    assert layer(mg.randn(0, 3, 7, 5)).shape == (0, 3, 7, 5)


def test_running_statistics_are_not_part_of_the_graph():
    layer = nn.BatchNorm1d(2)
    x = mg.randn(4, 2, requires_grad=True)
    layer(x).sum().backward()
    assert not layer.running_mean.requires_grad and layer.running_mean.grad is None
    assert layer.running_mean._version_counter.value > 0  # updated in place, as PyTorch counts it


@pytest.mark.parametrize("shape", [(3, 5, 7), (6, 70, 1)], ids=["channel kernels", "column kernels"])
def test_kernels_compiled_with_bounds_checks_match_the_parallel_ones(shape):
    """prange swallows index errors: the parallel kernels compiled serially with bounds checks run the same
    arrays and must agree with the entry points (which pick the serial siblings at these sizes). L = 1 runs
    the column kernels, 70 channels: a whole block of 64 and a part of one. float64 only: each twin
    compiles afresh, and the indexing is the same for both dtypes."""
    dtype = np.float64
    rng = np.random.default_rng(2)
    channels = shape[1]
    x, g = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    weight, bias = rng.uniform(0.5, 1.5, channels).astype(dtype), rng.standard_normal(channels).astype(dtype)
    prefix = "column" if shape[2] == 1 else "channel"
    entries = (kernels.batch_norm_forward_training, kernels.batch_norm_affine, kernels.batch_norm_backward)
    checked = tuple(checked_twin(kernel) for kernel in (getattr(kernels, f"{prefix}_forward_training"),
                                                        kernels.affine_rows, getattr(kernels, f"{prefix}_backward")))
    results = []
    for forward, affine, backward in (entries, checked):
        running_mean, running_var = np.zeros(channels, dtype), np.ones(channels, dtype)
        out, mean, invstd = np.empty_like(x), np.empty(channels, dtype), np.empty(channels, dtype)
        forward(x, weight, bias, 1e-5, 0.1, True, running_mean, running_var, out, mean, invstd)
        scaled = np.empty_like(x)
        affine(x, weight, bias, scaled)
        gradients = []
        for training in (True, False):
            grad_x, grad_weight, grad_bias = np.empty_like(x), np.empty(channels, dtype), np.empty(channels, dtype)
            backward(g, x, weight, mean, invstd, training, True, grad_x, grad_weight, grad_bias)
            gradients += [grad_x, grad_weight, grad_bias]
        results.append([out, mean, invstd, running_mean, running_var, scaled] + gradients)
    for label, (got, expected) in enumerate(zip(*results)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, err_msg=str(label))
    np.testing.assert_allclose(results[0][1], x.mean(axis=(0, 2)), rtol=1e-12)
    np.testing.assert_allclose(results[0][2], 1 / np.sqrt(x.var(axis=(0, 2)) + 1e-5), rtol=1e-12)


@pytest.mark.parametrize("shape", [(40, 3, 300), (600, 70, 1)], ids=["channel kernels", "column kernels"])
def test_parallel_kernels_equal_their_serial_siblings(shape):
    """Arrays past SERIAL_BELOW run the prange kernels: the same values as the small-array path."""
    assert np.prod(shape) >= kernels.SERIAL_BELOW
    rng = np.random.default_rng(5)
    x, g = rng.standard_normal(shape).astype(np.float32), rng.standard_normal(shape).astype(np.float32)
    weight, bias = np.full(shape[1], 1.5, np.float32), np.full(shape[1], 0.5, np.float32)
    prefix = "column" if shape[2] == 1 else "channel"
    results = []
    for suffix in ("", "_serial"):
        out, mean, invstd = np.empty_like(x), np.empty(shape[1], np.float32), np.empty(shape[1], np.float32)
        getattr(kernels, f"{prefix}_forward_training{suffix}")(x, weight, bias, 1e-5, 0.1, False, mean, mean, out,
                                                                mean, invstd)
        grad_x, grad_weight, grad_bias = np.empty_like(x), np.empty_like(weight), np.empty_like(weight)
        getattr(kernels, f"{prefix}_backward{suffix}")(g, x, weight, mean, invstd, True, True, grad_x, grad_weight,
                                                       grad_bias)
        scaled = np.empty_like(x)
        (kernels.affine_rows if suffix == "" else kernels.affine_serial)(x, weight, bias, scaled)
        results.append([out, mean, invstd, grad_x, grad_weight, grad_bias, scaled])
    for got, expected in zip(*results):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
