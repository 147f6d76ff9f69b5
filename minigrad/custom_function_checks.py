"""What a custom Function's own code hands back, checked: forward's outputs, what it saves and marks
dirty, backward's gradients, jvp's tangents. Each error names the Function, and where a position
and shapes matter, the position and both shapes (custom_function.py calls these).
"""
from . import backend
from .ops.broadcasting import unbroadcast

_RETURN_TENSORS = "the PyTorch form works on Tensors: return a Tensor, or a tuple of them"


def savable(method, tensors):
    """``tensors`` as given to save_for_backward / save_for_forward: Tensors or None."""
    from .tensor import Tensor

    for position, tensor in enumerate(tensors):
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"{method} can only save Tensors (or None), but argument {position} is "
                            f"{type(tensor).__name__}; keep other values as attributes of ctx (ctx.value = ...)")
    return tensors


def forward_outputs(name, output):
    """(outputs as a list, whether forward returned one Tensor rather than a tuple)."""
    from .tensor import Tensor

    if isinstance(output, Tensor):
        return [output], True
    if not isinstance(output, tuple):
        hint = (" (an array: wrap it with mg.from_numpy, or write an instance-form op, forward(self, *arrays), "
                "which works on arrays)" if type(output) in backend.ARRAY_TYPES else "")
        raise TypeError(f"{name}.forward returned {type(output).__name__}, not a Tensor{hint}; {_RETURN_TENSORS}")
    for index, value in enumerate(output):
        if type(value) in backend.ARRAY_TYPES:
            raise TypeError(f"{name}.forward returned an array as output {index}, not a Tensor (wrap it with "
                            f"mg.from_numpy); {_RETURN_TENSORS}")
    if not any(isinstance(value, Tensor) for value in output):
        raise TypeError(f"{name}.forward returned a tuple with no Tensor in it "
                        f"({', '.join(type(value).__name__ for value in output) or 'empty'}); {_RETURN_TENSORS}")
    return list(output), False


def dirty_inputs(name, dirty, args, outputs):
    """The tensors given to ctx.mark_dirty, each an argument of forward that forward also returns."""
    for tensor in dirty:
        if not any(tensor is argument for argument in args):
            raise ValueError(f"{name}: ctx.mark_dirty was given a tensor of shape {tuple(tensor.shape)} that is not "
                             "an argument of forward; mark only the inputs that forward modified in place")
        if not any(tensor is output for output in outputs):
            raise ValueError(f"{name}: an input marked dirty (shape {tuple(tensor.shape)}) is not returned by forward; "
                             "an input modified in place must be returned as one of the outputs")
    return tuple(dirty)


def dirty_leaves(name, dirty):
    for tensor in dirty:
        if tensor.grad_fn is None and tensor._requires_grad:
            raise RuntimeError(f"{name}: forward modified in place (mark_dirty) a leaf tensor that requires grad, "
                               f"shape {tuple(tensor.shape)}; its gradient would be lost: pass a .clone() instead")


def input_gradients(node, returned):
    """What the user's backward returned, one gradient per argument of forward, as one Tensor (or None)
    per Tensor input of the node: counted, typed and shaped against the inputs, as PyTorch checks them."""
    from .tensor import Tensor

    name, count = node.name, len(node.argument_inputs)
    if returned is None or isinstance(returned, Tensor):
        returned = (returned,)
    elif not isinstance(returned, tuple):
        raise TypeError(f"{name}.backward returned {type(returned).__name__}; return a Tensor, None, or a tuple "
                        f"with one of them per argument of forward ({count})")
    if len(returned) < count or any(gradient is not None for gradient in returned[count:]):
        raise RuntimeError(f"{name}.backward returned {len(returned)} gradient{'s' * (len(returned) != 1)}, but "
                           f"forward took {count} argument{'s' * (count != 1)}: return one per argument of forward "
                           "(None for an argument that needs no gradient)")
    gradients = [None] * len(node.inputs)
    for position, (gradient, index) in enumerate(zip(returned, node.argument_inputs)):
        if gradient is None:
            continue
        if index is None:
            raise RuntimeError(f"{name}.backward returned a gradient for argument {position} of forward, which is "
                               "not a Tensor; return None for it")
        if node.needs_input_grad[index]:  # a gradient for an input that needs none is dropped, as in PyTorch
            gradients[index] = _gradient(name, position, gradient, node.inputs[index])
    return tuple(gradients)


def _gradient(name, position, gradient, tensor):
    """One returned gradient for input ``position``: summed back to the input's shape where it broadcasts
    (as PyTorch does), an error where it does not or is not a floating-point Tensor on the input's device."""
    from .tensor import Tensor

    if not isinstance(gradient, Tensor):
        raise TypeError(f"{name}.backward returned {type(gradient).__name__} as the gradient of input {position}; "
                        "return a Tensor (or None)")
    if gradient.dtype.kind != "f":
        raise TypeError(f"{name}.backward returned a {gradient.dtype} gradient for input {position} (shape "
                        f"{tuple(gradient.shape)}), whose dtype is {tensor.dtype}; a gradient is floating point")
    if gradient.device != tensor.device:
        raise RuntimeError(f"{name}.backward returned the gradient of input {position} on {gradient.device}, but "
                           f"the input is on {tensor.device}")
    if gradient.shape != tensor.shape:
        if not _broadcasts_to(tensor.shape, gradient.shape):
            raise ValueError(f"{name}.backward returned a gradient of shape {tuple(gradient.shape)} for input "
                             f"{position}, whose shape is {tuple(tensor.shape)}")
        gradient = unbroadcast(gradient, tensor.shape)
    return gradient


def _broadcasts_to(shape, target):
    if len(shape) > len(target):
        return False
    return all(size in (1, wanted) for size, wanted in zip(shape[::-1], target[::-1]))


def output_tangents(name, result, outputs, differentiable):
    """(output, tangent array) pairs from what the user's jvp returned: one tangent per output."""
    from .tensor import Tensor

    single = len(outputs) == 1
    tangents = (result,) if single and not isinstance(result, tuple) else result
    if not isinstance(tangents, tuple) or len(tangents) != len(outputs):
        got = len(tangents) if isinstance(tangents, tuple) else 1
        raise RuntimeError(f"{name}.jvp returned {got} tangent{'s' * (got != 1)} for {len(outputs)} outputs; "
                           "return one per output of forward (None for one without)")
    pairs = []
    for index, (output, tangent, checked) in enumerate(zip(outputs, tangents, differentiable)):
        if tangent is None or not checked:
            continue
        if not isinstance(tangent, Tensor):
            raise TypeError(f"{name}.jvp returned {type(tangent).__name__} as the tangent of output {index}; "
                            "return a Tensor (or None)")
        if tangent.shape != output.shape:
            raise ValueError(f"{name}.jvp returned a tangent of shape {tuple(tangent.shape)} for output {index}, "
                             f"whose shape is {tuple(output.shape)}")
        array = tangent.data
        pairs.append((output, array if array.dtype == output.dtype else array.astype(output.dtype)))
    return pairs
