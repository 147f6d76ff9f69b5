"""Embedding on the GPU: the same functions as minigrad/backend/embedding.py, on CudaArrays."""
import numpy as np

from .array import CudaArray
from .runtime import kernels


def _contiguous(array):
    return (array if array.is_contiguous else array.copy()).numba_array()


def embedding_forward(weight, indices):
    out = CudaArray.empty((indices.shape[0], weight.shape[1]), weight.dtype)
    if out.size:
        kernels("embedding").embedding_forward(_contiguous(weight), _contiguous(indices), out.numba_array())
    return out


def embedding_backward(grad_out, indices, rows, padding_idx, scale_grad_by_freq):
    grad_weight = CudaArray.full((rows, grad_out.shape[1]), 0, grad_out.dtype)
    if grad_out.size:
        kernels("embedding").embedding_backward(_contiguous(grad_out), _contiguous(indices), int(padding_idx),
                                                bool(scale_grad_by_freq), grad_weight.numba_array())
    return grad_weight


def embedding_renorm(weight, indices, max_norm, norm_type):
    marks = CudaArray.full((weight.shape[0],), 0, np.int8)
    kernels("embedding").embedding_renorm(weight.numba_array(), _contiguous(indices), float(max_norm),
                                          float(norm_type), marks.numba_array())
