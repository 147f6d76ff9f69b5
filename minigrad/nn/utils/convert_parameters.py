"""parameters_to_vector / vector_to_parameters: every parameter as one flat vector, and back, as torch."""
from ... import ops
from ...tensor import Tensor
from ..checks import describe


def _parameter_list(function, parameters):
    tensors = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for position, tensor in enumerate(tensors):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"{function}: parameters[{position}] is {describe(tensor)}, expected a Tensor")
    devices = {tensor.device for tensor in tensors}
    if len(devices) > 1:
        raise TypeError(f"{function}: found parameters on different devices ({', '.join(sorted(devices))}); "
                        "this is not supported")
    return tensors


def parameters_to_vector(parameters):
    """One 1-D tensor of every parameter's values, flattened in order. Differentiable, as torch's (a
    concatenation of the parameters' views): a loss on the vector sends gradients to the parameters."""
    tensors = _parameter_list("parameters_to_vector", parameters)
    if not tensors:
        raise RuntimeError("parameters_to_vector: expected a non-empty list of parameters")
    return ops.Concatenate.apply(*(tensor.reshape(-1) for tensor in tensors), axis=0)


def vector_to_parameters(vec, parameters):
    """Give each parameter, in order, the next ``numel`` values of the 1-D tensor ``vec``.

    As torch, each parameter's ``.data`` becomes a view into ``vec`` (its dtype and device with it);
    the Parameter objects stay the same. A ``vec`` whose length is not the parameters' total is refused.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected a Tensor as vec, but got: {describe(vec)}")
    tensors = _parameter_list("vector_to_parameters", parameters)
    total = sum(tensor.data.size for tensor in tensors)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise RuntimeError(f"vector_to_parameters: vec has shape {tuple(vec.shape)}, expected ({total},): the "
                           f"{len(tensors)} parameters hold {total} values")
    start = 0
    for tensor in tensors:
        count = tensor.data.size
        tensor.data, tensor.device = vec.data[start:start + count].reshape(tensor.shape), vec.device
        tensor._version_counter.value += 1
        start += count
