"""Embedding: the looked-up rows, the gradient of the table, and max_norm's in-place renormalisation."""
import numpy as np

from ..cuda import ops_embedding
from .routing import kernels, routed_to

on_either_device = routed_to(ops_embedding)


@on_either_device
def embedding_forward(weight, indices):
    """(P, D): the rows of weight (rows, D) named by the flat int64 indices (P,), already checked."""
    out = np.empty((indices.shape[0], weight.shape[1]), dtype=weight.dtype)
    if out.size:
        kernels("embedding").embedding_forward(np.ascontiguousarray(weight), indices, out)
    return out


@on_either_device
def embedding_backward(grad_out, indices, rows, padding_idx, scale_grad_by_freq):
    """(rows, D): grad_out (P, D) added into the rows named by indices, none into ``padding_idx``
    (-1 for none), each row's sum divided by its frequency if ``scale_grad_by_freq``."""
    grad_weight = np.zeros((rows, grad_out.shape[1]), dtype=grad_out.dtype)
    if grad_out.size:
        kernels("embedding").embedding_backward(np.ascontiguousarray(grad_out), indices, int(padding_idx),
                                                bool(scale_grad_by_freq), grad_weight)
    return grad_weight


@on_either_device
def embedding_renorm(weight, indices, max_norm, norm_type):
    """Scale in place each row of weight (contiguous) named in indices whose norm exceeds max_norm."""
    marks = np.zeros(weight.shape[0], dtype=np.int8)
    kernels("embedding").embedding_renorm(weight, indices, float(max_norm), float(norm_type), marks)
