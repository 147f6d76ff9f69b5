"""The tape: recording, backward order, accumulation, freeing, grad modes, versions, GradientTape."""
import gc

import numpy as np
import pytest

import minigrad as mg


def leaf(*shape, dtype=mg.float64, seed=0):
    values = np.random.default_rng(seed).standard_normal(shape)
    return mg.tensor(values, dtype=dtype, requires_grad=True)


# --- recording and backward -----------------------------------------------------------------------

def test_ops_on_grad_inputs_record_nodes_with_increasing_sequence_numbers():
    x = leaf(3)
    y = x.exp()
    z = (y * x).sum()
    assert x.is_leaf and x.grad_fn is None
    assert y.grad_fn.name == "Exp" and z.grad_fn.name == "Sum"
    assert y.grad_fn.sequence < z.grad_fn.inputs[0].grad_fn.sequence < z.grad_fn.sequence
    assert z.grad_fn.inputs[0].grad_fn.inputs == (y, x)


def test_ops_on_constants_record_nothing():
    x = mg.tensor([1.0, 2.0])
    y = (x * 3).exp()
    assert y.grad_fn is None and not y.requires_grad


def test_backward_of_a_diamond_sums_both_paths():
    x = leaf(4)
    a = x * 2
    b = x.exp()
    (a * b).sum().backward()
    expected = 2 * np.exp(x.data) + 2 * x.data * np.exp(x.data)
    np.testing.assert_allclose(x.grad.data, expected)


def test_a_tensor_used_twice_in_one_op_gets_both_contributions():
    x = leaf(3)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data)


def test_gradients_accumulate_across_backward_calls_until_zeroed():
    x = leaf(3)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full(3, 6.0))
    x.zero_grad()
    assert x.grad is None


def test_leaf_gradients_do_not_alias_each_other_or_the_upstream_buffer():
    a, b = leaf(3), leaf(3, seed=1)
    (a + b).sum().backward()
    a.grad.data[0] = 100.0
    assert b.grad.data[0] == 1.0


def test_non_leaf_tensors_keep_no_grad():
    x = leaf(3)
    y = x * 2
    y.sum().backward()
    assert y.grad is None and x.grad is not None


def test_backward_with_explicit_gradient_for_non_scalar():
    x = leaf(2, 3)
    y = x * 2
    weights = np.arange(6.0).reshape(2, 3)
    y.backward(gradient=mg.tensor(weights, dtype=mg.float64))
    np.testing.assert_allclose(x.grad.data, 2 * weights)


def test_backward_on_non_scalar_without_gradient_is_a_clear_error():
    y = leaf(3, 4) * 2
    with pytest.raises(RuntimeError, match=r"scalar.*\(3, 4\)"):
        y.backward()


def test_backward_with_gradient_of_the_wrong_shape_is_a_clear_error():
    y = leaf(3) * 2
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        y.backward(gradient=np.ones(2))


def test_backward_on_a_tensor_that_needs_no_grad_is_a_clear_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (mg.ones(3) * 2).sum().backward()


def test_gradient_dtype_follows_the_leaf():
    weight = mg.ones(3, requires_grad=True)  # float32
    (weight * mg.tensor(np.arange(3.0))).sum().backward()  # float64 product
    assert weight.grad.dtype == mg.float32


# --- freeing the graph ----------------------------------------------------------------------------

def test_second_backward_after_the_graph_was_freed_is_a_clear_error():
    x = leaf(3)
    loss = x.exp().sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf(3)
    loss = x.exp().sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.exp(x.data))


def test_backward_frees_saved_buffers():
    x = leaf(3)
    y = x.exp()
    loss = y.sum()
    assert len(y.grad_fn.saved) == 1
    loss.backward()
    assert y.grad_fn.saved == () and y.grad_fn.released


def test_a_100000_op_chain_runs_backward_without_recursion():
    x = mg.tensor([1.0], dtype=mg.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.data[0] == 1.0
    del y  # freeing the chain must not overflow the C stack either
    gc.collect()


# --- grad modes -----------------------------------------------------------------------------------

def test_no_grad_records_nothing_and_enable_grad_turns_it_back_on():
    x = leaf(3)
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = x * 2
        with mg.enable_grad():
            z = x * 2
    assert mg.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad
    assert z.grad_fn is not None


def test_no_grad_works_as_a_decorator_and_restores_the_mode_after_an_exception():
    @mg.no_grad()
    def double(t):
        return t * 2

    assert double(leaf(3)).grad_fn is None
    with pytest.raises(ValueError):
        with mg.no_grad():
            raise ValueError("raised inside no_grad")
    assert mg.is_grad_enabled()


def test_detach_cuts_the_graph_and_shares_the_buffer():
    x = leaf(3)
    y = (x * 2).detach()
    assert y.is_leaf and not y.requires_grad
    (x * y).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data)


# --- in-place updates and versions ----------------------------------------------------------------

def test_in_place_update_of_a_saved_input_is_caught_naming_the_op():
    weight = leaf(3)
    x = mg.tensor(np.arange(3.0), dtype=mg.float64)
    loss = (x * weight).sum()
    x += 1  # x was saved by Mul for weight's gradient
    with pytest.raises(RuntimeError, match=r"Mul \(sequence \d+\).*input 0.*modified in place"):
        loss.backward()


def test_in_place_update_of_a_saved_output_is_caught():
    x = leaf(3)
    y = x.exp()
    loss = y.sum()
    with mg.no_grad():
        y += 1
    with pytest.raises(RuntimeError, match=r"Exp .*output"):
        loss.backward()


def test_in_place_update_through_a_view_is_caught():
    weight = leaf(3, 2)
    x = leaf(4, 3, seed=1)
    loss = (x @ weight.T.T).sum()  # the saved operand is a view of weight
    with mg.no_grad():
        weight -= 0.1
    with pytest.raises(RuntimeError, match="MatMul"):
        loss.backward()


def test_modifying_a_clone_instead_leaves_the_saved_buffer_intact():
    x = leaf(3)
    y = x.exp()
    loss = y.sum()
    with mg.no_grad():
        copy = y.clone()
        copy += 1
    loss.backward()
    np.testing.assert_allclose(x.grad.data, np.exp(x.data))
    np.testing.assert_allclose(copy.data, np.exp(x.data) + 1)


def test_in_place_update_of_an_unsaved_input_is_allowed():
    x = leaf(3)
    y = mg.tensor(np.ones(3), dtype=mg.float64)
    loss = (x + y).sum()  # Add saves nothing
    y += 1
    loss.backward()
    np.testing.assert_allclose(x.grad.data, np.ones(3))


def test_optimizer_style_updates_under_no_grad_bump_the_version():
    weight = leaf(3)
    (weight * 2).sum().backward()
    before = weight._version
    with mg.no_grad():
        weight -= 0.1 * weight.grad
    assert weight._version == before + 1
    np.testing.assert_allclose(weight.data, leaf(3).data - 0.2)


def test_in_place_on_a_tensor_that_requires_grad_outside_no_grad_is_refused():
    weight = leaf(3)
    with pytest.raises(RuntimeError, match="no_grad"):
        weight += 1
    with pytest.raises(RuntimeError, match="zero_"):
        weight.zero_()


# --- GradientTape ---------------------------------------------------------------------------------

def test_tape_gradient_returns_gradients_and_leaves_grad_untouched():
    weight, bias = leaf(3), leaf(1, seed=1)
    x = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64)
    with mg.GradientTape() as tape:
        loss = ((x * weight + bias) ** 2).mean()
    grad_weight, grad_bias = tape.gradient(loss, [weight, bias])
    residual = x.data * weight.data + bias.data
    np.testing.assert_allclose(grad_weight.data, 2 * residual * x.data / 3)
    np.testing.assert_allclose(grad_bias.data, [2 * residual.sum() / 3])
    assert weight.grad is None and bias.grad is None


def test_tape_watches_constants_only_when_asked():
    x = mg.tensor([3.0], dtype=mg.float64)
    with mg.GradientTape() as tape:
        y = x * x
    assert tape.gradient(y, x) is None
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    np.testing.assert_allclose(tape.gradient(y, x).data, [6.0])
    assert tape.watched_tensors() == [x]


def test_tape_result_has_the_structure_of_sources():
    x = leaf(2)
    with mg.GradientTape(persistent=True) as tape:
        y = (x * 2).sum()
    assert isinstance(tape.gradient(y, x), mg.Tensor)
    assert isinstance(tape.gradient(y, [x]), list)
    assert isinstance(tape.gradient(y, (x,)), tuple)


def test_tape_gradient_with_respect_to_an_intermediate_tensor():
    x = leaf(3)
    with mg.GradientTape() as tape:
        hidden = x * 2
        y = (hidden * hidden).sum()
    np.testing.assert_allclose(tape.gradient(y, hidden).data, 2 * hidden.data)


def test_tape_ignores_ops_recorded_before_it_started():
    weight = leaf(3)
    hidden = weight * 2  # computed outside the tape: a constant to it
    with mg.GradientTape() as tape:
        y = (hidden * 3).sum()
    assert tape.gradient(y, weight) is None


def test_tape_sums_a_non_scalar_target_and_accepts_output_gradients():
    x = leaf(3)
    with mg.GradientTape(persistent=True) as tape:
        y = x * 2
    np.testing.assert_allclose(tape.gradient(y, x).data, np.full(3, 2.0))
    weights = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(tape.gradient(y, x, output_gradients=weights).data, 2 * weights)


def test_non_persistent_tape_computes_once():
    x = leaf(3)
    with mg.GradientTape() as tape:
        y = x.exp().sum()
    tape.gradient(y, x)
    with pytest.raises(RuntimeError, match="persistent=True"):
        tape.gradient(y, x)


def test_persistent_tape_computes_many_times():
    x = leaf(3)
    with mg.GradientTape(persistent=True) as tape:
        y = x.exp().sum()
        z = (x * x).sum()
    np.testing.assert_allclose(tape.gradient(y, x).data, np.exp(x.data))
    np.testing.assert_allclose(tape.gradient(z, x).data, 2 * x.data)
    np.testing.assert_allclose(tape.gradient(y, x).data, np.exp(x.data))


def test_tape_records_the_nodes_made_inside_it_in_order():
    x = leaf(3)
    with mg.GradientTape() as tape:
        y = x.exp()
        z = y.sum()
    assert [node.name for node in tape.nodes] == ["Exp", "Sum"]
    assert z.grad_fn is tape.nodes[-1]


def test_tape_and_backward_agree():
    x = leaf(4, 3)
    with mg.GradientTape() as tape:
        loss = (x.tanh() * x.sigmoid()).mean()
    from_tape = tape.gradient(loss, x)
    loss2 = (x.tanh() * x.sigmoid()).mean()
    loss2.backward()
    np.testing.assert_allclose(from_tape.data, x.grad.data)


# --- memory ---------------------------------------------------------------------------------------

def _resident_bytes():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/statm"), reason="needs /proc")
def test_ten_thousand_training_like_iterations_keep_memory_flat():
    """A softmax-regression-shaped loop: forward, fused loss, backward, in-place update."""
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((32, 50)), dtype=mg.float32)
    labels = mg.tensor(rng.integers(0, 10, 32))
    weight = mg.zeros(50, 10, requires_grad=True)
    bias = mg.zeros(10, requires_grad=True)

    def step():
        loss = mg.nn.functional.cross_entropy(x @ weight + bias, labels)
        loss.backward()
        with mg.no_grad():
            weight.sub_(0.1 * weight.grad)
            bias.sub_(0.1 * bias.grad)
        weight.zero_grad()
        bias.zero_grad()
        return loss

    for _ in range(1_000):  # warm up: compile kernels, let allocator pools settle
        step()
    gc.collect()
    tensors_before = sum(type(obj) is mg.Tensor for obj in gc.get_objects())
    memory_before = _resident_bytes()
    for _ in range(10_000):
        step()
    gc.collect()
    tensors_after = sum(type(obj) is mg.Tensor for obj in gc.get_objects())
    assert tensors_after <= tensors_before + 2
    assert _resident_bytes() - memory_before < 8 * 2**20


def test_mixing_devices_in_one_op_names_both_devices():
    # Only the CPU backend exists, so label a tensor as living elsewhere by hand.
    elsewhere = mg.Tensor._wrap(np.ones(3), "cuda:0")
    with pytest.raises(RuntimeError, match=r"Add: expected all tensors on one device, got cpu and cuda:0"):
        mg.ones(3, dtype=mg.float64) + elsewhere
