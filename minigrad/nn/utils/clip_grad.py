"""Gradient clipping, as torch.nn.utils: scale every gradient so their total norm is at most ``max_norm``,
or clamp each gradient value into [-clip_value, clip_value].

Each gradient is handled whole by NumPy (a dot product for the 2-norm), never element by element in
Python, and scaled in place: the gradient tensors stay the same objects, as torch's foreach path.
"""
import math

import numpy as np

from ... import backend
from ...tensor import Tensor
from ..checks import describe


def _tensors(function, parameters):
    """``parameters`` (a Tensor or an iterable of them) as a list, each checked to be a Tensor."""
    tensors = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for position, tensor in enumerate(tensors):
        if not isinstance(tensor, Tensor):
            raise TypeError(f"{function}: parameters[{position}] is {describe(tensor)}, expected a Tensor")
    return tensors


def _gradients(function, parameters):
    return [tensor.grad for tensor in _tensors(function, parameters) if tensor.grad is not None]


def _vector_norm(array, norm_type):
    """The ``norm_type``-norm of all of ``array``'s values, as a NumPy scalar of its dtype."""
    if type(array) is np.ndarray:
        flat = array.reshape(-1)  # grads are contiguous, so a view
        if norm_type == 2.0:
            return np.sqrt(np.dot(flat, flat))  # BLAS, one pass, no temporary
        if norm_type == math.inf:
            return np.maximum(flat.max(), -flat.min()) if flat.size else array.dtype.type(0)
    magnitudes = np.abs(array)  # the general case (and a CUDA array, through NumPy's protocols)
    if norm_type == 2.0:
        return np.sqrt((magnitudes * magnitudes).sum())
    if norm_type == math.inf:
        return magnitudes.max() if array.size else array.dtype.type(0)
    if norm_type == -math.inf:
        return magnitudes.min()
    if norm_type == 0.0:
        return array.dtype.type((magnitudes != 0).sum())
    if norm_type == 1.0:
        return magnitudes.sum()
    return (magnitudes ** norm_type).sum() ** (1.0 / norm_type)


def _host_scalar(value, dtype):
    """A NumPy scalar of ``dtype`` from a 0-d result on either device."""
    return dtype.type(value if isinstance(value, np.generic) else backend.to_host(value))


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of the norms of ``tensors`` (the norm of all their values together), as a
    0-d tensor on the first tensor's device; tensor(0.) when there are none. ``foreach`` is accepted
    and ignored (each tensor is one vectorised NumPy call)."""
    tensors = [tensor.data for tensor in _tensors("get_total_norm", tensors)]
    norm_type = float(norm_type)
    if not tensors:
        return Tensor(np.float32(0.0))
    dtype = np.result_type(*(array.dtype for array in tensors))
    norms = np.array([_host_scalar(_vector_norm(array, norm_type), array.dtype) for array in tensors], dtype=dtype)
    total = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be "
            "clipped. To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    return Tensor(np.asarray(total, dtype=dtype), device=backend.device_of(tensors[0]))


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients of ``parameters`` in place by ``max_norm / (total_norm + 1e-6)`` when that is
    below 1 (as torch, the factor is computed in the total norm's dtype)."""
    gradients = _gradients("clip_grads_with_norm_", parameters)
    if not gradients:
        return
    total = total_norm.data if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    total = _host_scalar(total, np.dtype(total.dtype) if total.dtype.kind == "f" else np.dtype(np.float32))
    coefficient = total.dtype.type(float(max_norm)) / (total + total.dtype.type(1e-6))
    if coefficient >= 1.0:
        return  # torch multiplies by the factor clamped to 1: a no-op, exactly
    with np.errstate(invalid="ignore"):  # an infinite norm gives a factor 0, and inf * 0 is NaN, as in torch
        for gradient in gradients:
            gradient.data *= gradient.dtype.type(coefficient)  # in place; a NaN factor makes NaN, as torch
            gradient._version_counter.value += 1


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients of ``parameters`` in place so their total ``norm_type``-norm is at most
    ``max_norm``; returns the total norm before clipping, as a 0-d tensor.

    norm_type may be any p (2.0, 1.0, inf, -inf, 0.0 ...). With error_if_nonfinite, a NaN or infinite
    total norm raises RuntimeError instead of turning the gradients into NaN.
    """
    parameters = _tensors("clip_grad_norm_", parameters)
    gradients = [tensor.grad for tensor in parameters if tensor.grad is not None]
    total_norm = get_total_norm(gradients, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient value of ``parameters`` into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for gradient in _gradients("clip_grad_value_", parameters):
        if type(gradient.data) is np.ndarray:
            np.clip(gradient.data, -clip_value, clip_value, out=gradient.data)
        else:
            gradient.data = gradient.data.clip(-clip_value, clip_value)
        gradient._version_counter.value += 1
