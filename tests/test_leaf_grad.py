"""A leaf's first .grad: taken without a copy when only the backward pass holds the array, copied
whenever anything else could see it change (a later backward adds into .grad in place)."""
import numpy as np

import minigrad as mg
import minigrad.nn.functional as F


def test_a_fresh_gradient_becomes_grad_without_a_copy():
    x = mg.randn(100, requires_grad=True)
    relu = x.relu()
    relu.sum().backward()
    assert x.grad.data is relu.grad_fn.input_gradients[0]


def test_one_array_sent_to_two_leaves_is_copied_for_each():
    a, b = mg.randn(5, requires_grad=True), mg.randn(5, requires_grad=True)
    total = (a + b) * 2  # Mul's backward makes a fresh array; Add hands that one array to a and b
    total.sum().backward(retain_graph=True)
    assert total.grad_fn.inputs[0].grad_fn.input_gradients[0] is total.grad_fn.inputs[0].grad_fn.input_gradients[1]
    assert not np.shares_memory(a.grad.data, b.grad.data)
    total.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.full(5, 4.0))
    np.testing.assert_array_equal(b.grad.numpy(), np.full(5, 4.0))


def test_the_callers_gradient_array_is_never_taken():
    y = mg.randn(4, requires_grad=True)
    upstream = np.ones(4, dtype=np.float32)
    (y + 0).backward(upstream)
    y.backward(upstream)
    np.testing.assert_array_equal(upstream, np.ones(4))
    np.testing.assert_array_equal(y.grad.numpy(), np.full(4, 2.0))


def test_a_retained_graph_run_three_times_adds_three_gradients():
    logits = mg.randn(3, 4, requires_grad=True)
    loss = F.cross_entropy(logits, mg.tensor([0, 1, 2]))
    loss.backward(retain_graph=True)
    once = logits.grad.numpy().copy()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(logits.grad.numpy(), 3 * once, rtol=1e-6)


def test_anomaly_mode_keeps_copying():
    x = mg.randn(10, requires_grad=True)
    with mg.autograd.detect_anomaly():
        relu = x.relu()
        relu.sum().backward()
    assert x.grad.data is not relu.grad_fn.input_gradients[0]
