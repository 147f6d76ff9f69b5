"""explain() and print(tape): the recorded nodes as a table, compared line by line with expected text."""
import numpy as np
import pytest

import minigrad as mg

pytestmark = pytest.mark.usefixtures("fresh_sequence_numbers")


def lines(text):
    return str(text).splitlines()


def test_explain_before_backward_lists_nodes_inputs_outputs_and_saved_bytes(small_graph):
    _, w, b, loss = small_graph
    assert lines(mg.autograd.explain(loss, names={"w": w, "b": b})) == [
        "4 nodes in sequence order (backward runs them bottom to top)",
        "seq  op      inputs                  output  saved for backward",
        "0    MatMul  const (1, 2), w (2, 2)  (1, 2)  input 0 16 B, input 1 32 B",
        "1    Add     #0 (1, 2), b (2,)       (1, 2)  -",
        "2    Relu    #1 (1, 2)               (1, 2)  input 0 16 B",
        "3    Sum     #2 (1, 2)               ()      -",
        "saved for backward: 64 B",
    ]


def test_explain_after_backward_adds_gradient_shapes_and_norms(small_graph):
    # By hand: d sum = [1, 1] (norm sqrt 2); relu passes [1, 0] (norm 1) to the sum x @ w + b, which
    # sends it unchanged to both of its inputs; dw = x.T @ [[1, 0]] = [[1, 0], [-1, 0]] (norm sqrt 2).
    _, w, b, loss = small_graph
    loss.backward()
    assert lines(mg.autograd.explain(loss, names={"w": w, "b": b})) == [
        "4 nodes in sequence order (backward ran them bottom to top)",
        "seq  op      inputs                  output  saved for backward                 gradient in       gradients out",
        "0    MatMul  const (1, 2), w (2, 2)  (1, 2)  freed: input 0 16 B, input 1 32 B  (1, 2) |g|=1      -, (2, 2) |g|=1.414",
        "1    Add     #0 (1, 2), b (2,)       (1, 2)  -                                  (1, 2) |g|=1      (1, 2) |g|=1, (2,) |g|=1",
        "2    Relu    #1 (1, 2)               (1, 2)  freed: input 0 16 B                (1, 2) |g|=1.414  (1, 2) |g|=1",
        "3    Sum     #2 (1, 2)               ()      -                                  () |g|=1          (1, 2) |g|=1.414",
        "saved for backward: 64 B (freed after backward; retain_graph=True keeps it)",
    ]
    np.testing.assert_array_equal(w.grad.data, [[1.0, 0.0], [-1.0, 0.0]])


def test_retain_graph_keeps_the_saved_buffers_and_says_so(small_graph):
    *_, loss = small_graph
    loss.backward(retain_graph=True)
    text = lines(mg.autograd.explain(loss))
    assert text[2].split("  (1, 2)  ")[1].startswith("input 0 16 B, input 1 32 B")
    assert text[-1] == "saved for backward: 64 B"


def test_print_tape_shows_the_gradient_tape_nodes_before_and_after_gradient():
    w = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    with mg.GradientTape() as tape:
        y = (w * w).sum()
    assert lines(str(tape)) == [
        "2 nodes in sequence order (backward runs them bottom to top)",
        "seq  op   inputs                output  saved for backward",
        "0    Mul  leaf (2,), leaf (2,)  (2,)    input 0 16 B, input 1 16 B",
        "1    Sum  #0 (2,)               ()      -",
        "saved for backward: 16 B",
    ]
    # Sum sends [1, 1] (norm sqrt 2) to w * w, which sends [1, 1] * w = [1, 2] (norm sqrt 5) to each side.
    (gradient,) = tape.gradient(y, [w])
    np.testing.assert_array_equal(gradient.data, [2.0, 4.0])
    assert lines(str(tape))[1:4] == [
        "seq  op   inputs                output  saved for backward                 gradient in     gradients out",
        "0    Mul  leaf (2,), leaf (2,)  (2,)    freed: input 0 16 B, input 1 16 B  (2,) |g|=1.414  (2,) |g|=2.236, (2,) |g|=2.236",
        "1    Sum  #0 (2,)               ()      -                                  () |g|=1        (2,) |g|=1.414",
    ]
    assert w.grad is None  # the tape returns gradients; it never writes .grad


def test_buffers_of_their_own_are_named_with_shape_and_dtype_and_freed_by_backward():
    x = mg.tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True)
    pooled = mg.nn.functional.max_pool2d(x, 2)
    node = pooled.grad_fn
    assert lines(mg.autograd.explain(pooled))[2].endswith("indices (1, 1, 2, 2) int64 32 B")
    pooled.sum().backward()
    assert node.saved == ()  # released with the rest, not kept alive by the graph
    assert "freed: indices (1, 1, 2, 2) int64 32 B" in lines(mg.autograd.explain(pooled))[2]


def test_arrays_an_op_keeps_as_attributes_are_shown_as_held_after_backward():
    x = mg.tensor([[0.0, 1.0], [2.0, 3.0]], requires_grad=True)
    loss = mg.nn.functional.nll_loss(x, mg.tensor([1, 0]))
    loss.backward()
    assert "  held: targets (2,) int64 16 B, valid (2,) bool 2 B, rows (2,) int64 16 B" in lines(mg.autograd.explain(loss))[2]


def test_explain_of_a_tensor_with_no_graph_says_nothing_was_recorded():
    assert "nothing recorded" in str(mg.autograd.explain(mg.tensor([1.0])))


def test_explanation_shows_itself_as_is_at_a_prompt(small_graph):
    *_, loss = small_graph
    explanation = mg.autograd.explain(loss)
    assert repr(explanation) == str(explanation) and "\n" in repr(explanation)
