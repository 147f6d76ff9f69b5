"""Embedding: the looked-up rows, the gradient of the table, and max_norm's in-place renormalisation."""
import numpy as np

from ..cuda import ops_embedding
from .routing import kernels, routed_to

on_either_device = routed_to(ops_embedding)

# Below this many gradient or output elements NumPy does the work: waking the kernels' thread pool costs
# more than the copy (milliseconds on a busy machine). NumPy adds in the same order, position by position.
PARALLEL_EMBEDDING_SIZE = 1 << 16


@on_either_device
def embedding_forward(weight, indices):
    """(P, D): the rows of weight (rows, D) named by the flat int64 indices (P,), already checked."""
    if indices.shape[0] * weight.shape[1] < PARALLEL_EMBEDDING_SIZE:
        return np.take(weight, indices, axis=0)
    out = np.empty((indices.shape[0], weight.shape[1]), dtype=weight.dtype)
    if out.size:
        kernels("embedding").embedding_forward(np.ascontiguousarray(weight), indices, out)
    return out


@on_either_device
def embedding_backward(grad_out, indices, rows, padding_idx, scale_grad_by_freq):
    """(rows, D): grad_out (P, D) added into the rows named by indices, none into ``padding_idx``
    (-1 for none), each row's sum divided by its frequency if ``scale_grad_by_freq``."""
    grad_weight = np.zeros((rows, grad_out.shape[1]), dtype=grad_out.dtype)
    if grad_out.size < PARALLEL_EMBEDDING_SIZE:
        kept = indices != padding_idx
        np.add.at(grad_weight, indices[kept], grad_out[kept])
        if scale_grad_by_freq:
            counts = np.bincount(indices, minlength=rows)
            grad_weight /= np.maximum(counts, 1)[:, None].astype(grad_out.dtype)
        return grad_weight
    if grad_out.size:
        kernels("embedding").embedding_backward(np.ascontiguousarray(grad_out), indices, int(padding_idx),
                                                bool(scale_grad_by_freq), grad_weight)
    return grad_weight


@on_either_device
def embedding_renorm(weight, indices, max_norm, norm_type):
    """Scale in place each row of weight (contiguous) named in indices whose norm exceeds max_norm."""
    marks = np.zeros(weight.shape[0], dtype=np.int8)
    kernels("embedding").embedding_renorm(weight, indices, float(max_norm), float(norm_type), marks)
