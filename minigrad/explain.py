"""explain(): the tape as a table, one line per recorded node, to watch what backward works on.

Each line is one op application, in sequence order (the order forward recorded them; backward runs
them from the last line up): its sequence number, the op, where each input came from and its shape,
the output's shape, and what the node keeps for backward with its bytes. After backward, two more
columns show the gradient that reached the node and the gradients it sent to its inputs, each as
shape and norm. ``print(tape)`` shows a GradientTape's nodes the same way.
"""
import numpy as np

from . import autograd, backend


class Explanation(str):
    """The table as a string that also shows itself as-is at a Python prompt."""

    def __repr__(self):
        return str(self)


def explain(target, names=None, model=None):
    """The recorded nodes behind ``target`` (a tensor, a list of tensors, or a GradientTape).

    ``model`` names each parameter by its path in the module (``"0.weight"``, from
    ``model.named_parameters()``); ``names`` labels leaf tensors directly: a dict name -> tensor
    (or (name, tensor) pairs), and wins where both name the same tensor. Unnamed leaves show as
    "leaf" (needs a gradient) or "const", followed by their shape.
    """
    nodes = nodes_of(target)
    if not nodes:
        return Explanation("nothing recorded: no op on the tape (was grad mode on, and did an input require grad?)")
    labels = tensor_names(names, model, "mg.autograd.explain")
    rows = [_row(node, labels) for node in nodes]
    with_gradients = any(hasattr(node, "output_gradient") for node in nodes)
    header = ["seq", "op", "inputs", "output", "saved for backward"]
    if with_gradients:
        header += ["gradient in", "gradients out"]
    else:
        rows = [row[:5] for row in rows]
    order = "backward ran them bottom to top" if with_gradients else "backward runs them bottom to top"
    lines = [f"{len(nodes)} nodes in sequence order ({order})", *_aligned([header, *rows])]
    lines.append(f"saved for backward: {_saved_total(nodes)}")
    return Explanation("\n".join(lines))


# --- the graph --------------------------------------------------------------------------------------

def nodes_of(target):
    """The nodes recorded for a tensor (or list of tensors) or a GradientTape, in sequence order."""
    if isinstance(target, autograd.GradientTape):
        return list(target.nodes)
    roots = list(target) if isinstance(target, (list, tuple)) else [target]
    return list(reversed(autograd._reachable_nodes(roots)))


def tensor_names(names=None, model=None, function="explain"):
    """id(tensor) -> name: parameters by their module path in ``model``, then ``names`` (a dict
    name -> tensor or (name, tensor) pairs) on top, so an explicit name wins."""
    labels = {}
    if model is not None:
        if not hasattr(model, "named_parameters"):
            raise TypeError(f"{function}: model= must be a module with named_parameters() (an mg.nn.Module), "
                            f"got {type(model).__name__}; pass a dict name -> tensor as names= instead")
        labels.update((id(parameter), name) for name, parameter in model.named_parameters())
    if names is not None:
        pairs = names.items() if isinstance(names, dict) else names
        labels.update((id(tensor), name) for name, tensor in pairs)
    return labels


def source_label(tensor, labels):
    """Where an input came from: the node that made it ('#3'), its name, 'leaf' (needs grad) or 'const'."""
    if tensor.grad_fn is not None and hasattr(tensor.grad_fn, "sequence"):
        return f"#{tensor.grad_fn.sequence}"
    if id(tensor) in labels:
        return labels[id(tensor)]
    return "leaf" if tensor.requires_grad else "const"


def shape_text(shape):
    return str(tuple(int(size) for size in shape))


def norm(array):
    """The 2-norm, summed in float64."""
    values = np.asarray(backend.to_host(array) if backend.device_of(array) == "cuda" else array, dtype=np.float64)
    return float(np.sqrt(np.vdot(values, values)))


def format_bytes(count):
    if count < 1024:
        return f"{count} B"
    for unit in ("KiB", "MiB", "GiB"):
        count /= 1024
        if count < 1024 or unit == "GiB":
            return f"{count:.1f} {unit}"


def gradient_text(gradient):
    return f"{shape_text(np.shape(gradient))} |g|={norm(gradient):.4g}"


# --- one line per node ------------------------------------------------------------------------------

def saved_items(node):
    """(label, shape, dtype, bytes, id) of what the node keeps for backward (or kept, once freed)."""
    items = [(label, array.shape, array.dtype, array.nbytes, id(array)) for label, array in node.saved_arrays()]
    if node.released:  # the saved arrays are gone, their records stay; array attributes are still held
        items = [(node.saved_label(index, identity), shape, dtype, nbytes, identity)
                 for index, identity, shape, dtype, nbytes in getattr(node, "freed", [])] + items
    return items


def saved_text(node):
    items = saved_items(node)
    if not items:
        return "-"
    parts = []
    for label, shape, dtype, nbytes, _ in items:
        # An input's or the output's shape is in its own column; a buffer of its own says what it is.
        described = label if label.startswith(("input", "output")) else f"{label} {shape_text(shape)} {dtype}"
        parts.append(f"{described} {format_bytes(nbytes)}")
    if not node.released:
        return ", ".join(parts)
    # After backward: the saved buffers were freed; arrays an op keeps as attributes stay with the graph.
    freed = len(getattr(node, "freed", []))
    groups = [(prefix, parts[start:stop]) for prefix, start, stop in (("freed", 0, freed), ("held", freed, len(parts)))]
    return "; ".join(f"{prefix}: {', '.join(group)}" for prefix, group in groups if group)


def _row(node, labels):
    inputs = ", ".join(f"{source_label(tensor, labels)} {shape_text(tensor.shape)}" for tensor in node.inputs)
    gradient_in = gradient_text(node.output_gradient) if hasattr(node, "output_gradient") else "-"
    gradients_out = "-"
    if hasattr(node, "input_gradients"):
        gradients_out = ", ".join(
            gradient_text(gradient) if needed and gradient is not None else "-"
            for gradient, needed in zip(node.input_gradients, node.needs_input_grad)
        )
    name = node.name if not hasattr(node, "backward_of") else f"{node.name} (backward of #{node.backward_of})"
    return [str(node.sequence), name, inputs, shape_text(node.output_shape), saved_text(node),
            gradient_in, gradients_out]


def _aligned(rows):
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


def _saved_total(nodes):
    """Bytes kept for backward, each buffer counted once (a tensor saved by two nodes is one buffer)."""
    sizes = {identity: nbytes for node in nodes for label, shape, dtype, nbytes, identity in saved_items(node)}
    freed = all(node.released for node in nodes)
    return format_bytes(sum(sizes.values())) + (" (freed after backward; retain_graph=True keeps it)" if freed else "")
