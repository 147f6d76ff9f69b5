"""Embedding lookup (a gather of weight rows), its scatter-add backward, and the max_norm renormalisation.

The indices arrive flat (one per looked-up position) and already checked to lie in [0, rows):
``prange`` would swallow an out-of-range access, so the functional layer refuses those first
(tests run the serial, bounds-checked twin of every kernel).

Backward adds the gradient of every position into the weight row it looked up, and one row may
be looked up many times (repeated tokens), so parallel positions would race on a row. Instead
each ``prange`` iteration owns a range of weight rows and walks every position in order, adding
the whole gradient row (contiguous, vectorised) of the positions that name one of its rows: no
two threads ever write the same row, and each sum is taken in position order, so results are
deterministic whatever the thread count. Every task reads all the indices (8 bytes a position,
against 4 x width bytes of gradient): a few ranges per thread balance batches that name few rows.
(A first version gave each thread a block of 16 columns instead: 8 strided passes over the
positions for a width of 128, about 4x slower: 0.54 ms against 0.13 ms for a (64, 50) batch into a
(10000, 128) float32 table, one thread, kernel alone, Zen 3.)
"""
import math

import numpy as np
from numba import prange

from .preset import cpu_kernel
from .simd import thread_count

# The entry points the backend calls; kernels/cuda/embedding.py has the same names and arguments.
__all__ = ["embedding_forward", "embedding_backward", "embedding_renorm"]

TASKS_PER_THREAD = 4  # row ranges per thread: a batch that names few rows still spreads over the threads


@cpu_kernel
def embedding_forward(weight, indices, out):
    """out[p, :] = weight[indices[p], :]"""
    width = weight.shape[1]
    for p in prange(indices.shape[0]):
        row = indices[p]
        for j in range(width):
            out[p, j] = weight[row, j]


@cpu_kernel
def embedding_backward(grad_out, indices, padding_idx, scale_grad_by_freq, grad_weight):
    """grad_weight[r, :] = sum of grad_out[p, :] over positions p with indices[p] == r != padding_idx
    (divided by the count of such p if ``scale_grad_by_freq``); grad_weight must arrive zeroed.
    ``padding_idx`` is -1 for none."""
    positions, width = grad_out.shape
    rows = grad_weight.shape[0]
    counts = np.zeros(rows if scale_grad_by_freq else 0, dtype=np.int64)
    if scale_grad_by_freq:
        for p in range(positions):
            counts[indices[p]] += 1
    tasks = min(rows, TASKS_PER_THREAD * thread_count())
    rows_per_task = (rows + tasks - 1) // tasks
    for task in prange(tasks):
        first_row = task * rows_per_task
        stop_row = min(first_row + rows_per_task, rows)
        for p in range(positions):
            row = indices[p]
            if first_row <= row < stop_row and row != padding_idx:
                for j in range(width):
                    grad_weight[row, j] += grad_out[p, j]
        if scale_grad_by_freq:
            # Each sum divided once by its row's frequency (PyTorch scales each term: the same to rounding).
            for row in range(first_row, stop_row):
                if counts[row] > 1:
                    for j in range(width):
                        grad_weight[row, j] /= counts[row]


@cpu_kernel
def embedding_renorm(weight, indices, max_norm, norm_type, marks):
    """Every row named in ``indices`` whose ``norm_type``-norm exceeds ``max_norm`` is scaled in place by
    max_norm / (norm + 1e-7), as PyTorch's embedding_renorm_; ``marks`` (one zeroed int8 per row)
    records which rows are named, so a repeated index renormalises its row once."""
    for p in range(indices.shape[0]):
        marks[indices[p]] = 1
    width = weight.shape[1]
    for row in prange(weight.shape[0]):
        if marks[row] == 0:
            continue
        norm = 0.0
        if norm_type == 2.0:
            for j in range(width):
                norm += weight[row, j] * weight[row, j]
            norm = norm ** 0.5
        elif norm_type == 1.0:
            for j in range(width):
                norm += abs(weight[row, j])
        elif norm_type == math.inf:
            for j in range(width):
                norm = max(norm, abs(weight[row, j]))
        else:
            for j in range(width):
                norm += abs(weight[row, j]) ** norm_type
            norm = norm ** (1.0 / norm_type)
        if norm > max_norm:
            scale = max_norm / (norm + 1e-7)
            for j in range(width):
                weight[row, j] *= scale
