"""PyTorch's answers at the edges, as cases that run on either device.

Each case takes a device ("cpu" or "cuda") and asserts the value PyTorch 2.13 gives (written out,
so the cases need no PyTorch). tests/test_edge_cases.py runs them on the CPU and
tests/cuda/test_cuda_edge_cases.py on the GPU (or Numba's CUDA simulator).
"""
import numpy as np
import pytest

import minigrad as mg

nan, inf = float("nan"), float("inf")


def leaf(values, device, dtype=mg.float64):
    return mg.tensor(values, dtype=dtype, device=device, requires_grad=True)


def host(tensor):
    return tensor.cpu().numpy()


def relu_and_clamp_pass_no_gradient_outside_even_an_infinite_one(device):
    for function in (lambda x: x.relu(), lambda x: x.clamp(0.0, None), lambda x: x.clamp(-5.0, 0.0)):
        x = leaf([-1.0, 4.0], device)
        function(x).abs().sqrt().sum().backward()  # d sqrt at 0 is inf, and reaches the masked element
        gradient = host(x.grad)
        assert not np.isnan(gradient).any(), gradient
    x = leaf([-1.0, 4.0], device)
    x.relu().sqrt().sum().backward()
    np.testing.assert_array_equal(host(x.grad), [0.0, 0.25])


def relu_passes_the_gradient_through_nan_and_clamp_does_not(device):
    x = leaf([nan, 0.0, -1.0, 2.0], device)
    x.relu().sum().backward()
    np.testing.assert_array_equal(host(x.grad), [1.0, 0.0, 0.0, 1.0])
    x = leaf([nan, 0.0, 1.0, 0.5, 2.0, -1.0], device)
    x.clamp(0.0, 1.0).sum().backward()
    np.testing.assert_array_equal(host(x.grad), [0.0, 1.0, 1.0, 1.0, 0.0, 0.0])


def relu_and_clamp_keep_the_sign_of_a_zero_as_pytorch_does(device):
    """x < 0 ? 0 : x: -0.0 stays -0.0 (its reciprocal -inf), on the CPU's NumPy path and its
    kernel (65,536 elements and up) alike, and in the GPU kernel (every size); found by the
    differential fuzzer (x / relu(x) at -0.0)."""
    for size in ((3, 70000) if device == "cpu" else (3,)):
        values = np.zeros(size)
        values[:3] = [-0.0, -2.0, nan]
        x = mg.tensor(values, device=device)
        # PyTorch 2.13's values, the sign of each zero included.
        for result, expected in [(x.relu(), [-0.0, 0.0, nan]), (x.clamp(0.0, None), [-0.0, 0.0, nan]),
                                 (x.clamp(-0.0, 1.0), [-0.0, -0.0, nan]),
                                 (x.clamp(None, -0.0), [-0.0, -2.0, nan])]:
            first = host(result)[:3]
            np.testing.assert_array_equal(first, expected)
            np.testing.assert_array_equal(np.signbit(first[:2]), np.signbit(expected[:2]))


def cross_entropy_with_every_target_ignored_has_a_nan_loss_and_no_gradient(device):
    for smoothing in (0.0, 0.1):
        logits = leaf(np.arange(6.0).reshape(2, 3), device)
        targets = mg.tensor([-100, -100], device=device)
        loss = mg.nn.functional.cross_entropy(logits, targets, label_smoothing=smoothing)
        loss.backward()
        assert np.isnan(loss.item())
        np.testing.assert_array_equal(host(logits.grad), np.zeros((2, 3)))


def integer_powers_with_negative_exponents(device):
    result = mg.tensor([3, -2, 1, -1, -1, 0], device=device) ** mg.tensor([3, -2, -5, -3, -2, -1], device=device)
    assert result.dtype == mg.int64
    np.testing.assert_array_equal(host(result), [27, 0, 1, -1, 1, 0])
    with pytest.raises(ValueError, match="negative integer powers"):
        mg.tensor([3, -2], device=device) ** -2
    with pytest.raises(TypeError, match="pow: not implemented for bool"):
        mg.tensor([True], device=device) ** mg.tensor([True], device=device)


def results_take_pytorchs_dtypes(device):
    integers = mg.tensor([1, 2], device=device)
    assert (integers / mg.tensor([2, 2], device=device)).dtype == mg.float32
    assert (mg.tensor([True], device=device) * 2.5).dtype == mg.float32
    assert (integers ** 0.5).dtype == mg.float32
    assert (mg.ones(2, device=device) + mg.tensor(1.0, dtype=mg.float64, device=device)).dtype == mg.float32
    assert (integers + mg.tensor(1.5, dtype=mg.float64, device=device)).dtype == mg.float64
    assert (mg.tensor([True], device=device) ** 2).dtype == mg.int64


def softmax_over_a_zero_length_dim_is_empty(device):
    for function in (lambda x: x.softmax(1), lambda x: x.log_softmax(1), lambda x: x.softmax(0)):
        x = leaf(np.zeros((2, 0)), device)
        out = function(x)
        assert out.shape == (2, 0)
        out.sum().backward()
        assert x.grad.shape == (2, 0)


def max_and_min_over_the_other_dims_of_an_empty_tensor(device):
    x = leaf(np.zeros((0, 3)), device)
    assert x.max(dim=1).values.shape == (0,) and x.min(dim=1).indices.shape == (0,)
    with pytest.raises(IndexError, match="dim 1 of shape"):
        leaf(np.zeros((2, 0)), device).max(dim=1)
    with pytest.raises(ValueError, match="without a dim"):
        x.max()


def power_gradients_at_zero_to_the_zero(device):
    a, b = leaf([0.0, 0.0, 2.0, 0.0], device), leaf([0.0, 1.0, 0.0, -1.0], device)
    (a**b).sum().backward()
    np.testing.assert_array_equal(host(a.grad), [0.0, 1.0, 0.0, -inf])
    np.testing.assert_allclose(host(b.grad), [0.0, 0.0, np.log(2.0), -inf])


def indexing_every_dim_with_an_integer_gives_a_view(device):
    x = mg.zeros(2, 3, device=device)
    element = x[0, 1]
    assert element.shape == ()
    element += 10
    np.testing.assert_array_equal(host(x), [[0.0, 10.0, 0.0], [0.0, 0.0, 0.0]])
    assert x._version == element._version == 1


def abs_at_nan_and_bool_arithmetic(device):
    x = leaf([nan, 0.0, -1.0, 2.0], device)
    x.abs().sum().backward()
    np.testing.assert_array_equal(host(x.grad), [0.0, 0.0, -1.0, 1.0])
    mask = mg.tensor([True, False], device=device)
    for refused in (lambda: mask - mg.tensor([1.0, 2.0], device=device), lambda: 1.0 - mask, lambda: -mask):
        with pytest.raises(TypeError, match="bool tensor is not supported"):
            refused()


CASES = [
    relu_and_clamp_pass_no_gradient_outside_even_an_infinite_one,
    relu_passes_the_gradient_through_nan_and_clamp_does_not,
    relu_and_clamp_keep_the_sign_of_a_zero_as_pytorch_does,
    cross_entropy_with_every_target_ignored_has_a_nan_loss_and_no_gradient,
    integer_powers_with_negative_exponents,
    results_take_pytorchs_dtypes,
    softmax_over_a_zero_length_dim_is_empty,
    max_and_min_over_the_other_dims_of_an_empty_tensor,
    power_gradients_at_zero_to_the_zero,
    indexing_every_dim_with_an_integer_gives_a_view,
    abs_at_nan_and_bool_arithmetic,
]
