"""The tape as a picture: Graphviz DOT text of the graph behind a tensor, and a renderer for it.

``to_dot(loss)`` needs nothing installed: it returns the DOT text (paste it into any Graphviz
viewer). ``draw(loss, "graph.png", model=model)`` runs Graphviz's ``dot`` program to render it,
each parameter named by its path in the model ("0.weight"). Tensors are ellipses (blue, filled:
leaves that need a gradient; dashed: constants), ops are boxes labelled with their sequence
number, output shape and saved bytes, the output a double circle; after backward each edge
carries the shape and norm of the gradient that flowed back along it. A key in a dashed box
beside the graph shows each kind of node the graph uses (``key=False`` leaves it out).
"""
import os
import shutil
import subprocess

from .atomic_file import atomic_write
from .explain import (
    format_bytes,
    gradient_text,
    nodes_of,
    saved_items,
    shape_text,
    tensor_names,
)

INSTALL_HINT = (
    "Install Graphviz (Debian/Ubuntu: sudo apt install graphviz; macOS: brew install graphviz; "
    "conda: conda install graphviz; Windows: winget install graphviz), or write mg.viz.to_dot(...) "
    "to a .dot file and render it with any Graphviz viewer."
)


# One style per kind of node, shared by the graph and its key so the two cannot drift apart.
LEAF_STYLE = 'shape=ellipse, style=filled, fillcolor="#cfe2ff"'  # needs a gradient: a parameter
CONSTANT_STYLE = "shape=ellipse, style=dashed"  # an input that needs no gradient (the data)
OP_STYLE = 'shape=box, style="rounded,filled", fillcolor="#fff3cd"'
OUTPUT_STYLE = "shape=doublecircle"


def to_dot(target, names=None, model=None, key=True):
    """Graphviz DOT text of the graph behind ``target`` (a tensor, a list of tensors or a GradientTape).

    ``model`` names each parameter by its path in the module (``"0.weight"``, from
    ``model.named_parameters()``); ``names`` labels leaf tensors directly: a dict name -> tensor,
    and wins where both name the same tensor. Unnamed tensors show as "leaf" (needs a gradient) or
    "const", each with its shape. ``key`` adds a legend: one sample of each kind of node drawn.
    """
    nodes = nodes_of(target)
    labels = tensor_names(names, model, "mg.viz.to_dot")
    lines = [
        "digraph minigrad {",
        "  rankdir=TB;",
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    tensor_ids = {}  # id(tensor) -> DOT name of a leaf or constant, in order of first use
    kinds = set()  # which kinds of node and edge were drawn, for the key
    recorded = {id(node) for node in nodes}
    for node in nodes:
        for position, tensor in enumerate(node.inputs):
            producer = tensor.grad_fn
            if producer is not None and id(producer) in recorded:
                source = f"op{producer.sequence}"
            else:
                source = tensor_ids.get(id(tensor))
                if source is None:
                    source = tensor_ids[id(tensor)] = f"tensor{len(tensor_ids)}"
                    lines.append(_tensor_statement(source, tensor, labels, kinds))
            edge_label = _edge_label(node, position)
            if edge_label:
                kinds.add("gradient")
            lines.append(f"  {source} -> op{node.sequence}{edge_label};")
        lines.append(_op_statement(node))
        kinds.add("op")
    for index, root in enumerate(_roots(target, nodes)):
        lines.append(f'  output{index} [label="output\\n{shape_text(root.shape)}", {OUTPUT_STYLE}];')
        lines.append(f"  op{root.grad_fn.sequence} -> output{index};")
        kinds.add("output")
    if key and kinds:
        lines.extend(_key_lines(kinds))
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(target, path, names=None, format=None, model=None, key=True):
    """Render the graph behind ``target`` to ``path`` with Graphviz's ``dot``; returns ``path``.

    ``names``, ``model`` and ``key`` as in ``to_dot``: ``draw(loss, "graph.png", model=model)``
    labels each parameter by its module path. The format is the file's extension (png, svg, pdf,
    ...) unless given. The file is written whole or not at all; a missing directory is created.
    """
    if os.fspath(path).endswith(("/", os.sep)) or os.path.isdir(path):
        raise ValueError(f"mg.viz.draw: {os.fspath(path)!r} is a directory; give a file name such as 'graph.png'")
    text = to_dot(target, names, model=model, key=key)  # bad names= or model= raise before looking for dot
    dot_program = shutil.which("dot")
    if dot_program is None:
        raise RuntimeError(f"mg.viz.draw: Graphviz's `dot` program was not found on PATH, so {os.fspath(path)!r} "
                           f"cannot be rendered. {INSTALL_HINT}")
    format = format or os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "png"
    completed = subprocess.run([dot_program, f"-T{format}"], input=text.encode(), capture_output=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"mg.viz.draw: dot -T{format} failed: {completed.stderr.decode(errors='replace').strip()}")
    with atomic_write(path) as file:
        file.write(completed.stdout)
    return path


def _key_lines(kinds):
    """A legend in a dashed box: one sample node per kind the graph uses, joined as the graph joins them.

    Its nodes are named key_*, so they never clash with the graph's tensorN / opN / outputN.
    """
    lines = [
        "  subgraph cluster_key {",
        '    label="key"; fontname="Helvetica"; fontsize=10; style="rounded,dashed"; color="#888888";',
        "    node [fontsize=9]; edge [fontsize=8];",
    ]
    sources = []
    if "leaf" in kinds or "named" in kinds:
        lines.append(f'    key_leaf [label="{_key_leaf_text(kinds)}", {LEAF_STYLE}];')
        sources.append("key_leaf")
    if "const" in kinds:
        lines.append(f'    key_const [label="constant input\\n(needs no gradient)", {CONSTANT_STYLE}];')
        sources.append("key_const")
    op_text = "#N op: N = order recorded\\nout: output shape\\nsaved: bytes kept for backward"
    lines.append(f'    key_op [label="{op_text}", {OP_STYLE}];')
    edge_text = "after backward: shape\\nand norm |g| of the\\ngradient sent back"
    for index, source in enumerate(sources):
        # The first arrow also says what an edge's label means, once backward has run.
        label = f' [label="{edge_text}"]' if index == 0 and "gradient" in kinds else ""
        lines.append(f"    {source} -> key_op{label};")
    if "output" in kinds:
        lines.append(f'    key_output [label="output:\\nbackward\\nstarts here", {OUTPUT_STYLE}];')
        lines.append("    key_op -> key_output;")
    lines.append("  }")
    return lines


def _key_leaf_text(kinds):
    if "leaf" not in kinds:
        return "parameter: name, shape\\n(needs a gradient)"
    # Some leaf went unnamed: say how to name it.
    return "leaf: needs a gradient\\n(name parameters with\\nmodel= or names=)"


def _quote(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _tensor_statement(dot_name, tensor, labels, kinds):
    if id(tensor) in labels:
        name = labels[id(tensor)]
        kinds.add("named" if tensor.requires_grad else "const")
    else:
        name = "leaf" if tensor.requires_grad else "const"
        kinds.add(name)
    style = LEAF_STYLE if tensor.requires_grad else CONSTANT_STYLE
    return f'  {dot_name} [label="{_quote(name)}\\n{shape_text(tensor.shape)}", {style}];'


def _op_statement(node):
    saved = sum(nbytes for label, shape, dtype, nbytes, identity in saved_items(node))
    parts = [f"#{node.sequence} {node.name}", f"out {shape_text(node.output_shape)}"]
    if hasattr(node, "backward_of"):  # recorded by a create_graph backward: part of a gradient's graph
        parts.insert(1, f"backward of #{node.backward_of}")
    if saved:
        parts.append(f"saved {format_bytes(saved)}" + (" (freed)" if node.released else ""))
    label = "\\n".join(_quote(part) for part in parts)
    return f'  op{node.sequence} [label="{label}", {OP_STYLE}];'


def _edge_label(node, position):
    """After backward: the gradient this node sent back along the edge from its input ``position``."""
    gradients = getattr(node, "input_gradients", None)
    if gradients is None or gradients[position] is None or not node.needs_input_grad[position]:
        return ""
    return f' [label="{_quote(gradient_text(gradients[position]))}"]'


def _roots(target, nodes):
    if not isinstance(target, (list, tuple)):
        target = [target] if hasattr(target, "grad_fn") else []
    return [tensor for tensor in target if tensor.grad_fn is not None and tensor.grad_fn in set(nodes)]
