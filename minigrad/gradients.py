"""``mg.autograd.grad``: PyTorch's functional form of backward, returning the gradients instead of
accumulating them into ``.grad``; with ``create_graph=True`` the gradients are themselves recorded
on the tape, so they can be differentiated again (Hessian-vector products, gradient penalties).
"""
from . import autograd, backend


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """d(sum of outputs weighted by grad_outputs)/d(input) for each input, as a tuple of Tensors.

    As ``torch.autograd.grad``: ``outputs`` and ``inputs`` are a Tensor or a sequence of them;
    ``grad_outputs`` (default: ones, which only scalar outputs may omit) weights each output;
    ``retain_graph`` defaults to ``create_graph``; an input that the outputs do not depend on is an
    error unless ``allow_unused=True``, which gives None for it. ``.grad`` is left untouched.
    """
    from .tensor import Tensor

    outputs, inputs = _as_tuple("outputs", outputs), _as_tuple("inputs", inputs)
    if retain_graph is None:
        retain_graph = create_graph
    if create_graph and not autograd.is_grad_enabled():
        raise RuntimeError("grad: create_graph=True inside mg.no_grad() cannot record the gradient's graph; "
                           "call it outside no_grad (or inside mg.enable_grad())")
    for index, tensor in enumerate(outputs):
        if not tensor.requires_grad:
            raise RuntimeError(f"grad: output {index} (shape {tuple(tensor.shape)}) does not require grad and "
                               "has no grad_fn: no input that requires grad went into it")
    for index, tensor in enumerate(inputs):
        if not tensor.requires_grad:
            raise RuntimeError(f"grad: input {index} (shape {tuple(tensor.shape)}) does not require grad; "
                               "create it with requires_grad=True")
    seeds = _seeds(outputs, grad_outputs, create_graph, Tensor)
    gradients = autograd.run_backward(list(outputs), seeds, retain_graph, capture=list(inputs),
                                      create_graph=create_graph)
    results = []
    for index, tensor in enumerate(inputs):
        gradient = gradients.get(id(tensor))
        if gradient is None:
            if not allow_unused:
                raise RuntimeError(f"grad: input {index} (shape {tuple(tensor.shape)}) was not used to compute "
                                   "the outputs; pass allow_unused=True to get None for it")
            results.append(None)
        elif create_graph:
            results.append(gradient)
        else:
            results.append(tensor._wrap(backend.as_array(gradient, tensor.dtype, tensor.data), tensor.device))
    return tuple(results)


def _as_tuple(name, tensors):
    from .tensor import Tensor

    sequence = (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)
    for index, tensor in enumerate(sequence):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"grad: {name} must be Tensors, got {type(tensor).__name__} at position {index}")
    if not sequence:
        raise ValueError(f"grad: {name} is empty")
    return sequence


def _seeds(outputs, grad_outputs, create_graph, tensor_type):
    """The gradient each output starts with: ones for a scalar, else the given one (checked)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif isinstance(grad_outputs, tensor_type):
        grad_outputs = (grad_outputs,)
    grad_outputs = tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs given for {len(outputs)} outputs")
    seeds = []
    for index, (output, weight) in enumerate(zip(outputs, grad_outputs)):
        if weight is None:
            if output.data.size != 1:
                raise RuntimeError(f"grad: output {index} has shape {tuple(output.shape)}; a gradient can be "
                                   "implicitly created only for a scalar output, pass grad_outputs")
            seeds.append(backend.full(output.shape, 1, output.dtype, output.device))
            continue
        array = weight.data if isinstance(weight, tensor_type) else weight
        array = backend.as_array(array, output.dtype, output.data)
        if array.shape != output.shape:
            raise ValueError(f"grad: grad_outputs[{index}] has shape {array.shape}, output {index} has shape "
                             f"{tuple(output.shape)}")
        keeps_graph = create_graph and isinstance(weight, tensor_type) and weight.dtype == output.dtype
        seeds.append(weight if keeps_graph else array)
    return seeds
