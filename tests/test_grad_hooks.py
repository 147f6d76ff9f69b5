"""Post-accumulate-grad hooks and end-of-pass callbacks (minigrad/grad_hooks.py): when they fire, what they see."""
import gc

import numpy as np
import pytest

import minigrad as mg
from minigrad import grad_hooks


def two_layer_net():
    generator = np.random.default_rng(0)
    first = mg.tensor(generator.standard_normal((3, 4)), requires_grad=True)
    second = mg.tensor(generator.standard_normal((4, 2)), requires_grad=True)
    bias = mg.zeros(2, requires_grad=True)
    inputs = mg.tensor(generator.standard_normal((5, 3)))
    return first, second, bias, lambda: (((inputs @ first).relu() @ second + bias) ** 2).sum()


def recorder(seen, name):
    return lambda tensor: seen.append((name, tensor.grad.numpy().copy()))


def test_each_hook_fires_once_with_the_whole_gradient_in_backward_order():
    first, second, bias, loss = two_layer_net()
    seen = []
    handles = [leaf.register_post_accumulate_grad_hook(recorder(seen, name))
               for leaf, name in ((first, "first"), (second, "second"), (bias, "bias"))]
    loss().backward()
    # The last layer's parameters are final first: that is what lets DDP overlap communication.
    assert [name for name, _ in seen] == ["bias", "second", "first"]
    for (name, gradient), leaf in zip(seen, (bias, second, first)):
        np.testing.assert_array_equal(gradient, leaf.grad.numpy())
    for handle in handles:
        handle.remove()


def test_hooks_fire_in_pytorchs_order_with_pytorchs_gradients():
    torch = pytest.importorskip("torch")
    first, second, bias, loss = two_layer_net()
    twins = [torch.tensor(leaf.numpy(), requires_grad=True) for leaf in (first, second, bias)]
    seen, seen_torch = [], []
    for leaf, twin, name in zip((first, second, bias), twins, ("first", "second", "bias")):
        leaf.register_post_accumulate_grad_hook(recorder(seen, name))
        twin.register_post_accumulate_grad_hook(lambda tensor, name=name: seen_torch.append(
            (name, tensor.grad.numpy().copy())))
    inputs = mg.tensor(np.random.default_rng(0).standard_normal((7, 3)))
    (((inputs @ first).relu() @ second + bias) ** 2).sum().backward()
    torch_inputs = torch.tensor(inputs.numpy())
    (((torch_inputs @ twins[0]).relu() @ twins[1] + twins[2]) ** 2).sum().backward()
    assert [name for name, _ in seen] == [name for name, _ in seen_torch]
    for (_, ours), (_, theirs) in zip(seen, seen_torch):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_a_leaf_used_twice_fires_after_its_last_use_with_the_sum():
    weight = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    other = mg.tensor([0.5, 0.5, 0.5], requires_grad=True)
    seen = []
    weight.register_post_accumulate_grad_hook(recorder(seen, "weight"))
    other.register_post_accumulate_grad_hook(recorder(seen, "other"))
    # weight feeds the first op and the last one: its gradient is whole only at the end.
    ((weight * other).exp().sum() + (weight ** 2).sum()).backward()
    expected = np.exp(weight.numpy() * 0.5) * 0.5 + 2 * weight.numpy()
    assert [name for name, _ in seen].count("weight") == 1
    np.testing.assert_allclose(dict(seen)["weight"], expected, rtol=1e-6)


def test_the_hook_sees_the_gradient_accumulated_over_passes_and_removal_stops_it():
    weight = mg.tensor([1.0, -2.0], requires_grad=True)
    seen, hooked_before = [], grad_hooks.hooked_leaf_count
    handle = weight.register_post_accumulate_grad_hook(recorder(seen, "weight"))
    (weight * 3).sum().backward()
    (weight * 3).sum().backward()
    np.testing.assert_array_equal(seen[1][1], [6.0, 6.0])
    handle.remove()
    (weight * 3).sum().backward()
    assert len(seen) == 2 and grad_hooks.hooked_leaf_count == hooked_before


def test_a_hooked_leaf_that_dies_stops_counting():
    hooked_before = grad_hooks.hooked_leaf_count
    leaf = mg.ones(2, requires_grad=True)
    leaf.register_post_accumulate_grad_hook(lambda tensor: None)
    assert grad_hooks.hooked_leaf_count == hooked_before + 1
    del leaf
    gc.collect()
    assert grad_hooks.hooked_leaf_count == hooked_before  # passes without hooks skip the bookkeeping again


def test_an_unused_leaf_gets_no_call():
    used, unused = mg.ones(2, requires_grad=True), mg.ones(2, requires_grad=True)
    seen = []
    used.register_post_accumulate_grad_hook(recorder(seen, "used"))
    unused.register_post_accumulate_grad_hook(recorder(seen, "unused"))
    (used * 2).sum().backward()
    assert [name for name, _ in seen] == ["used"] and unused.grad is None


def test_a_root_leaf_fires_too():
    leaf = mg.ones(3, requires_grad=True)
    seen = []
    leaf.register_post_accumulate_grad_hook(recorder(seen, "leaf"))
    leaf.backward(mg.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(seen[0][1], [1.0, 2.0, 3.0])


def test_callbacks_run_after_every_grad_is_written_and_not_after_a_failed_pass():
    first, second, bias, loss = two_layer_net()
    written_at_end = []

    def queue_once(tensor):
        if tensor is bias:  # the first hook of the pass
            grad_hooks.call_after_backward(lambda: written_at_end.append(
                all(leaf.grad is not None for leaf in (first, second, bias))))

    for leaf in (first, second, bias):
        leaf.register_post_accumulate_grad_hook(queue_once)
    loss().backward()
    assert written_at_end == [True]

    def fail(tensor):
        raise ValueError("hook failed")

    second.register_post_accumulate_grad_hook(fail)
    with pytest.raises(ValueError, match="hook failed"):
        loss().backward()
    assert written_at_end == [True]  # the failed pass's callback was dropped
    with pytest.raises(RuntimeError, match="no backward pass is running"):
        grad_hooks.call_after_backward(lambda: None)


def test_create_graph_gradients_reach_the_hook_as_recorded_tensors():
    weight = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    seen = []
    weight.register_post_accumulate_grad_hook(lambda tensor: seen.append(tensor.grad))
    (weight ** 3).sum().backward(create_graph=True)
    assert seen[0].grad_fn is not None  # 3 w^2, differentiable again
    np.testing.assert_allclose(seen[0].numpy(), [3.0, 12.0])


def test_refusals_name_the_method():
    leaf = mg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (leaf * 2).register_post_accumulate_grad_hook(lambda tensor: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        mg.ones(2).register_post_accumulate_grad_hook(lambda tensor: None)
    with pytest.raises(TypeError, match="must be callable"):
        leaf.register_post_accumulate_grad_hook(3)
