"""F.embedding: rows of a weight table looked up by integer indices of any shape, as PyTorch's."""
import math

import numpy as np

from ... import autograd, backend, ops
from ...tensor import Tensor
from .arguments import check_tensors, on_device_of


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,  # noqa: A002
              sparse=False):
    """weight[input]: an output of shape input.shape + (embedding_dim,).

    ``padding_idx`` (negative counts from the end) gets no gradient; ``max_norm`` first rescales, in
    place, every looked-up row whose ``norm_type``-norm exceeds it to that norm (PyTorch's
    embedding_renorm_); ``scale_grad_by_freq`` divides each row's gradient by how often the batch
    names it. Sparse gradients are not supported.
    """
    name = "embedding"
    check_tensors(name, ("weight", weight))
    if weight.ndim != 2:
        raise ValueError(f"{name}: weight must be 2-D (num_embeddings, embedding_dim), got shape {weight.shape}")
    if weight.dtype.kind != "f":
        raise TypeError(f"{name}: weight must be float32 or float64, got {weight.dtype}")
    if sparse:
        raise NotImplementedError(f"{name}: sparse=True (sparse gradients) is not supported; use sparse=False")
    rows = weight.shape[0]
    padding = normalized_padding_idx(name, padding_idx, rows, "weight.size(0)")
    indices = index_array(name, input, weight, rows)
    if max_norm is not None:
        renormalize_rows(weight, indices, max_norm, norm_type)
    looked_up = ops.Embedding.apply(weight, indices=indices, padding_idx=padding,
                                    scale_grad_by_freq=bool(scale_grad_by_freq))
    return looked_up.reshape(*index_shape(input), weight.shape[1])


def index_shape(input):  # noqa: A002
    return tuple(input.shape) if isinstance(input, Tensor) else np.shape(input)


def normalized_padding_idx(name, padding_idx, rows, bound_name):
    """padding_idx as a row in [0, rows), or -1 for none; out-of-range values refused as PyTorch does."""
    if padding_idx is None:
        return -1
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
        raise TypeError(f"{name}: padding_idx must be an int or None, got {padding_idx!r}")
    if not -rows <= padding_idx < rows:
        raise ValueError(f"{name}: padding_idx must be within {bound_name} ({rows}), got {padding_idx}")
    return int(padding_idx) % rows


def index_array(name, input, weight, rows):  # noqa: A002
    """The indices as a flat contiguous int64 array on the weight's device, each checked to lie in [0, rows)."""
    array = input.data if isinstance(input, Tensor) else np.asarray(input)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name}: indices must be an integer tensor (int64 or int32), got {array.dtype}")
    array = on_device_of(name, "indices", weight, array)
    flat = backend.contiguous(array.reshape(-1).astype(np.int64, copy=False))
    if flat.size:
        low, high = int(flat.min()), int(flat.max())
        if low < 0 or high >= rows:
            host = backend.to_host(flat)
            position = int(np.argmax((host < 0) | (host >= rows)))
            where = np.unravel_index(position, array.shape) if array.ndim else ()
            raise IndexError(f"{name}: index {int(host[position])} at position {tuple(int(i) for i in where)} is "
                             f"out of range for {rows} embeddings (valid: 0 to {rows - 1})")
    return flat


def renormalize_rows(weight, indices, max_norm, norm_type):
    """max_norm's in-place rescaling of the looked-up rows, outside the tape as PyTorch's (a new version of weight)."""
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not norm_type > 0 and not math.isinf(norm_type):
        raise ValueError(f"embedding: norm_type must be positive, got {norm_type}")
    with autograd.no_grad():
        data = weight.data
        if data.flags.c_contiguous:
            backend.embedding_renorm(data, indices, max_norm, norm_type)
        else:  # the kernel writes rows in place: work on a contiguous copy and write it back
            copy = backend.contiguous(data)
            backend.embedding_renorm(copy, indices, max_norm, norm_type)
            data[...] = copy
        weight._version_counter.value += 1
