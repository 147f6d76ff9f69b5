"""The tape as a picture: Graphviz DOT text of the graph behind a tensor, and a renderer for it.

``to_dot(loss)`` needs nothing installed: it returns the DOT text (paste it into any Graphviz
viewer). ``draw(loss, "graph.png")`` runs Graphviz's ``dot`` program to render it. Tensors are
ellipses (blue: leaves that need a gradient, white: constants), ops are boxes labelled with their
sequence number, output shape and saved bytes; after backward each edge carries the norm of the
gradient that flowed back along it.
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


def to_dot(target, names=None):
    """Graphviz DOT text of the graph behind ``target`` (a tensor, a list of tensors or a GradientTape).

    ``names`` labels leaf tensors: a dict name -> tensor, such as ``dict(model.named_parameters())``.
    """
    nodes = nodes_of(target)
    labels = tensor_names(names)
    lines = [
        "digraph minigrad {",
        "  rankdir=TB;",
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    tensor_ids = {}  # id(tensor) -> DOT name of a leaf or constant, in order of first use
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
                    lines.append(_tensor_statement(source, tensor, labels))
            lines.append(f"  {source} -> op{node.sequence}{_edge_label(node, position)};")
        lines.append(_op_statement(node))
    for index, root in enumerate(_roots(target, nodes)):
        lines.append(f'  output{index} [label="output\\n{shape_text(root.shape)}", shape=doublecircle];')
        lines.append(f"  op{root.grad_fn.sequence} -> output{index};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(target, path, names=None, format=None):
    """Render the graph behind ``target`` to ``path`` with Graphviz's ``dot``; returns ``path``.

    The format is the file's extension (png, svg, pdf, ...) unless given. The file is written
    whole or not at all.
    """
    dot_program = shutil.which("dot")
    if dot_program is None:
        raise RuntimeError(f"mg.viz.draw: Graphviz's `dot` program was not found on PATH, so {os.fspath(path)!r} "
                           f"cannot be rendered. {INSTALL_HINT}")
    format = format or os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "png"
    completed = subprocess.run([dot_program, f"-T{format}"], input=to_dot(target, names).encode(),
                               capture_output=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"mg.viz.draw: dot -T{format} failed: {completed.stderr.decode(errors='replace').strip()}")
    with atomic_write(path) as file:
        file.write(completed.stdout)
    return path


def _quote(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _tensor_statement(dot_name, tensor, labels):
    if id(tensor) in labels:
        name = labels[id(tensor)]
    else:
        name = "leaf" if tensor.requires_grad else "const"
    style = 'style=filled, fillcolor="#cfe2ff"' if tensor.requires_grad else 'style=dashed'
    return f'  {dot_name} [label="{_quote(name)}\\n{shape_text(tensor.shape)}", shape=ellipse, {style}];'


def _op_statement(node):
    saved = sum(nbytes for label, shape, dtype, nbytes, identity in saved_items(node))
    parts = [f"#{node.sequence} {node.name}", f"out {shape_text(node.output_shape)}"]
    if saved:
        parts.append(f"saved {format_bytes(saved)}" + (" (freed)" if node.released else ""))
    label = "\\n".join(_quote(part) for part in parts)
    return f'  op{node.sequence} [label="{label}", shape=box, style="rounded,filled", fillcolor="#fff3cd"];'


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
