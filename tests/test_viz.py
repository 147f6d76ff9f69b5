"""mg.viz: the DOT text of a fixed small graph, line by line, and rendering with or without Graphviz."""
import shutil

import pytest

import minigrad as mg

pytestmark = pytest.mark.usefixtures("fresh_sequence_numbers")


HEADER = [
    "digraph minigrad {",
    "  rankdir=TB;",
    '  node [fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=9];',
]


def test_to_dot_of_a_small_graph_before_backward(small_graph):
    _, w, b, loss = small_graph
    assert mg.viz.to_dot(loss, names={"w": w, "b": b}).splitlines() == HEADER + [
        '  tensor0 [label="const\\n(1, 2)", shape=ellipse, style=dashed];',
        "  tensor0 -> op0;",
        '  tensor1 [label="w\\n(2, 2)", shape=ellipse, style=filled, fillcolor="#cfe2ff"];',
        "  tensor1 -> op0;",
        '  op0 [label="#0 MatMul\\nout (1, 2)\\nsaved 48 B", shape=box, style="rounded,filled", fillcolor="#fff3cd"];',
        "  op0 -> op1;",
        '  tensor2 [label="b\\n(2,)", shape=ellipse, style=filled, fillcolor="#cfe2ff"];',
        "  tensor2 -> op1;",
        '  op1 [label="#1 Add\\nout (1, 2)", shape=box, style="rounded,filled", fillcolor="#fff3cd"];',
        "  op1 -> op2;",
        '  op2 [label="#2 Relu\\nout (1, 2)\\nsaved 16 B", shape=box, style="rounded,filled", fillcolor="#fff3cd"];',
        "  op2 -> op3;",
        '  op3 [label="#3 Sum\\nout ()", shape=box, style="rounded,filled", fillcolor="#fff3cd"];',
        '  output0 [label="output\\n()", shape=doublecircle];',
        "  op3 -> output0;",
        "}",
    ]


def test_to_dot_after_backward_labels_each_edge_with_the_gradient_sent_back_along_it(small_graph):
    *_, loss = small_graph
    loss.backward()
    text = mg.viz.to_dot(loss).splitlines()
    assert "  tensor0 -> op0;" in text  # the constant gets no gradient
    assert '  tensor1 -> op0 [label="(2, 2) |g|=1.414"];' in text
    assert '  op2 -> op3 [label="(1, 2) |g|=1.414"];' in text
    assert '  op0 [label="#0 MatMul\\nout (1, 2)\\nsaved 48 B (freed)", shape=box, style="rounded,filled", fillcolor="#fff3cd"];' in text


def test_to_dot_of_a_gradient_tape_and_of_a_shared_input():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    with mg.GradientTape() as tape:
        (w * w).sum()
    text = mg.viz.to_dot(tape).splitlines()
    assert text.count('  tensor0 [label="leaf\\n(2,)", shape=ellipse, style=filled, fillcolor="#cfe2ff"];') == 1
    assert text.count("  tensor0 -> op0;") == 2  # one leaf, two edges: w * w
    assert not any("output" in line for line in text)  # a tape has no single output


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_draw_renders_a_png_and_an_svg(tmp_path, small_graph):
    *_, loss = small_graph
    png = mg.viz.draw(loss, tmp_path / "graph.png")
    assert (tmp_path / "graph.png").read_bytes().startswith(b"\x89PNG") and png == tmp_path / "graph.png"
    mg.viz.draw(loss, tmp_path / "graph.svg")
    assert "<svg" in (tmp_path / "graph.svg").read_text()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["graph.png", "graph.svg"]  # no temporaries left


def test_draw_without_graphviz_says_how_to_install_it_and_writes_nothing(tmp_path, monkeypatch, small_graph):
    *_, loss = small_graph
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt install graphviz") as error:
        mg.viz.draw(loss, tmp_path / "graph.png")
    assert "to_dot" in str(error.value) and "graph.png" in str(error.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_draw_with_an_unknown_format_reports_dots_error(tmp_path, small_graph):
    *_, loss = small_graph
    with pytest.raises(RuntimeError, match="dot -Tnotaformat failed"):
        mg.viz.draw(loss, tmp_path / "graph.notaformat")
    assert list(tmp_path.iterdir()) == []
