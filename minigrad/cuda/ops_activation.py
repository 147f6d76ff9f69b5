"""The activations' fused kernels on the GPU: the same functions as minigrad/backend/activation.py,
on CudaArrays, launching kernels/cuda/activation.py."""
from .array import CudaArray
from .ops import _flat
from .runtime import kernels


def _scalars(parameters, dtype):
    return [dtype.type(value) for value in parameters]


def activation_forward(x, kind, parameters):
    out = CudaArray.empty(x.shape, x.dtype)
    getattr(kernels("activation"), f"{kind}_forward")(_flat(x), *_scalars(parameters, x.dtype), _flat(out))
    return out


def activation_backward(x, grad_output, kind, parameters):
    if grad_output.shape != x.shape or grad_output.dtype != x.dtype:
        grad_output = grad_output.astype(x.dtype).broadcast_to(x.shape).copy()
    grad_input = CudaArray.empty(x.shape, x.dtype)
    getattr(kernels("activation"), f"{kind}_backward")(
        _flat(x), _flat(grad_output), *_scalars(parameters, x.dtype), _flat(grad_input))
    return grad_input
