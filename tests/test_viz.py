"""mg.viz: the DOT text of a fixed small graph, line by line, its key, parameters named by module
path, and rendering with or without Graphviz."""
import shutil

import pytest

import minigrad as mg
from minigrad import nn

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
        # The key: a sample of each kind of node the graph used, in the same styles.
        "  subgraph cluster_key {",
        '    label="key"; fontname="Helvetica"; fontsize=10; style="rounded,dashed"; color="#888888";',
        "    node [fontsize=9]; edge [fontsize=8];",
        '    key_leaf [label="parameter: name, shape\\n(needs a gradient)", shape=ellipse, style=filled, fillcolor="#cfe2ff"];',
        '    key_const [label="constant input\\n(needs no gradient)", shape=ellipse, style=dashed];',
        '    key_op [label="#N op: N = order recorded\\nout: output shape\\nsaved: bytes kept for backward", shape=box, style="rounded,filled", fillcolor="#fff3cd"];',
        "    key_leaf -> key_op;",
        "    key_const -> key_op;",
        '    key_output [label="output:\\nbackward\\nstarts here", shape=doublecircle];',
        "    key_op -> key_output;",
        "  }",
        "}",
    ]


def key_of(text):
    """The lines of the key's cluster, without its braces."""
    lines = text.splitlines()
    start = lines.index("  subgraph cluster_key {")
    return lines[start + 1:lines.index("  }", start)]


def test_key_false_leaves_the_key_out(small_graph):
    _, w, b, loss = small_graph
    with_key = mg.viz.to_dot(loss, names={"w": w, "b": b}).splitlines()
    without_key = mg.viz.to_dot(loss, names={"w": w, "b": b}, key=False).splitlines()
    assert not any("key" in line for line in without_key)
    assert without_key[:-1] == with_key[:len(without_key) - 1] and without_key[-1] == "}"


def test_key_shows_only_the_kinds_the_graph_uses_and_how_to_name_unnamed_leaves():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    with mg.GradientTape() as tape:
        (w * w).sum()
    key = key_of(mg.viz.to_dot(tape))  # one unnamed leaf, no constant, no single output
    assert [line.split(" [")[0].strip() for line in key[2:]] == ["key_leaf", "key_op", "key_leaf -> key_op;"]
    assert '"leaf: needs a gradient\\n(name parameters with\\nmodel= or names=)"' in key[2]


def test_key_explains_the_gradient_on_the_edges_after_backward(small_graph):
    *_, loss = small_graph
    assert "    key_leaf -> key_op;" in key_of(mg.viz.to_dot(loss))
    loss.backward()
    key = key_of(mg.viz.to_dot(loss))
    assert '    key_leaf -> key_op [label="after backward: shape\\nand norm |g| of the\\ngradient sent back"];' in key
    assert "    key_const -> key_op;" in key  # said once, on the first arrow


def small_model_loss():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    return model, model(mg.randn(4, 3)).sum()


def test_model_names_each_parameter_by_its_module_path():
    model, loss = small_model_loss()
    text = mg.viz.to_dot(loss, model=model)
    for name, shape in [("0.weight", "(2, 3)"), ("0.bias", "(2,)"), ("2.weight", "(1, 2)"), ("2.bias", "(1,)")]:
        assert f'[label="{name}\\n{shape}", shape=ellipse, style=filled' in text
    assert 'label="leaf' not in text and "parameter: name, shape" in text
    assert text == mg.viz.to_dot(loss, names=dict(model.named_parameters()))  # the same as names= spelled out


def test_explicit_names_win_over_model_and_explain_names_the_same_way():
    model, loss = small_model_loss()
    text = mg.viz.to_dot(loss, model=model, names={"first layer's W": model[0].weight})
    assert '"first layer\'s W\\n(2, 3)"' in text and '"0.weight' not in text and '"0.bias\\n(2,)"' in text
    table = str(mg.autograd.explain(loss, model=model, names={"first layer's W": model[0].weight}))
    assert "first layer's W (2, 3)" in table and "0.bias (2,)" in table and "2.weight (1, 2)" in table


def test_without_names_leaves_show_their_shape():
    _, loss = small_model_loss()
    text = mg.viz.to_dot(loss)
    assert '[label="leaf\\n(2, 3)", shape=ellipse' in text and '[label="leaf\\n(1, 2)", shape=ellipse' in text


def test_model_that_is_not_a_module_is_refused():
    _, loss = small_model_loss()
    with pytest.raises(TypeError, match="model= must be a module with named_parameters"):
        mg.viz.to_dot(loss, model={"w": loss})


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
    assert not any("output0" in line or "key_output" in line for line in text)  # a tape has no single output


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_draw_renders_a_png_and_an_svg(tmp_path, small_graph):
    *_, loss = small_graph
    png = mg.viz.draw(loss, tmp_path / "graph.png")
    assert (tmp_path / "graph.png").read_bytes().startswith(b"\x89PNG") and png == tmp_path / "graph.png"
    mg.viz.draw(loss, tmp_path / "graph.svg")
    assert "<svg" in (tmp_path / "graph.svg").read_text()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["graph.png", "graph.svg"]  # no temporaries left


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_draw_with_a_model_renders_the_names_and_the_key_into_a_new_directory(tmp_path):
    model, loss = small_model_loss()
    loss.backward()
    path = f"{tmp_path}/figures/" + "/graph.svg"  # a directory given with a trailing slash
    assert mg.viz.draw(loss, path, model=model) == path
    svg = (tmp_path / "figures" / "graph.svg").read_text()
    assert "0.weight" in svg and "2.bias" in svg and ">key</text>" in svg and "starts here" in svg


def test_draw_without_graphviz_says_how_to_install_it_and_writes_nothing(tmp_path, monkeypatch, small_graph):
    *_, loss = small_graph
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt install graphviz") as error:
        mg.viz.draw(loss, tmp_path / "graph.png")
    assert "to_dot" in str(error.value) and "graph.png" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_draw_to_a_directory_says_to_give_a_file_name(tmp_path, small_graph):
    *_, loss = small_graph
    for path in (tmp_path, f"{tmp_path}/new/"):
        with pytest.raises(ValueError, match="is a directory; give a file name"):
            mg.viz.draw(loss, path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_draw_with_an_unknown_format_reports_dots_error(tmp_path, small_graph):
    *_, loss = small_graph
    with pytest.raises(RuntimeError, match="dot -Tnotaformat failed"):
        mg.viz.draw(loss, tmp_path / "graph.notaformat")
    assert list(tmp_path.iterdir()) == []
