"""Embedding on the GPU: the lookup (a gather), its scatter-add backward, the max_norm renormalisation.

The same contracts as kernels/cpu/embedding.py (flat int64 indices already checked to lie in
[0, rows)). No atomics on the gradient:

- ``gather_rows``: one thread per output element, numbered row-major (column fastest), so a warp
  reads 32 neighbouring values of one weight row and writes 32 neighbouring outputs.
- ``scatter_rows``: one thread per (weight-row block, column). The thread walks every position in
  order and adds the gradients of the positions that looked up a row of its block, in its column.
  Each weight element therefore has exactly one writer, and its sum is taken in position order as
  on the CPU (deterministic). Neighbouring threads take neighbouring columns of the same block,
  so a warp reads the same index (a broadcast) and 32 neighbouring gradient values per position.
  The row blocks multiply the threads: for a (10000, 128) table, 128 blocks of 79 rows give 16,384
  threads, each scanning the positions' indices (cached: every thread of the grid reads the
  same ones) and touching gradients only for its own rows.
- ``count_rows`` (scale_grad_by_freq): one thread per weight row counts the positions naming it.
- ``mark_rows`` then ``renorm_rows``: each position marks its row (threads that share a row all
  write the same 1, whatever their order), then one thread per marked row computes its norm and
  scales it, so a repeated index renormalises its row once, as PyTorch does.

Performance, expected rather than measured (no GPU here): the backward of a (64, 50) batch into
a (10000, 128) float32 table zeroes 5 MB (memory-bound, a few µs on an H100) and runs 16,384
threads through 3,200 cached index reads each: a few tens of µs, latency-bound, beside a
one-launch atomics version's few µs; the trade buys determinism and the one-writer rule.
"""
import math

from numba import cuda, float32, float64, int8, int64

# The entry points the backend calls: the same names and arguments as kernels/cpu/embedding.py.
__all__ = ["embedding_forward", "embedding_backward", "embedding_renorm"]

THREADS_PER_BLOCK = 256
TARGET_SCATTER_THREADS = 16384  # enough threads to fill a GPU's schedulers for the scatter


def blocks_for(size):
    return math.ceil(size / THREADS_PER_BLOCK)


@cuda.jit
def gather_rows(weight, indices, out):
    """out[p, j] = weight[indices[p], j]"""
    element = cuda.grid(1)
    width = out.shape[1]
    if element >= out.shape[0] * width:
        return
    p = element // width
    j = element % width
    out[p, j] = weight[indices[p], j]


@cuda.jit
def count_rows(indices, counts):
    """counts[r] = how many positions name row r"""
    row = cuda.grid(1)
    if row >= counts.shape[0]:
        return
    count = 0
    for p in range(indices.shape[0]):
        if indices[p] == row:
            count += 1
    counts[row] = count


@cuda.jit
def scatter_rows(grad_out, indices, padding_idx, counts, rows_per_block, grad_weight):
    """grad_weight[r, j] = sum over p with indices[p] == r != padding_idx of grad_out[p, j] (/ counts[r])"""
    element = cuda.grid(1)
    width = grad_weight.shape[1]
    rows = grad_weight.shape[0]
    block = element // width
    j = element % width
    first_row = block * rows_per_block
    if first_row >= rows:
        return
    stop_row = first_row + rows_per_block
    if stop_row > rows:  # not min(): on integers it asks the driver for the compute capability
        stop_row = rows
    for p in range(indices.shape[0]):
        row = indices[p]
        if row >= first_row and row < stop_row and row != padding_idx:
            grad_weight[row, j] += grad_out[p, j]
    if counts.shape[0] > 0:
        for row in range(first_row, stop_row):
            if counts[row] > 1:
                grad_weight[row, j] /= counts[row]


@cuda.jit
def mark_rows(indices, marks):
    """marks[indices[p]] = 1 (threads naming one row all write the same value)"""
    p = cuda.grid(1)
    if p < indices.shape[0]:
        marks[indices[p]] = 1


@cuda.jit
def renorm_rows(weight, max_norm, norm_type, marks):
    """A marked row whose norm exceeds max_norm is scaled by max_norm / (norm + 1e-7)"""
    row = cuda.grid(1)
    if row >= weight.shape[0] or marks[row] == 0:
        return
    width = weight.shape[1]
    norm = 0.0
    if norm_type == 2.0:
        for j in range(width):
            norm += weight[row, j] * weight[row, j]
        norm = math.sqrt(norm)
    elif norm_type == 1.0:
        for j in range(width):
            norm += abs(weight[row, j])
    elif norm_type == math.inf:
        for j in range(width):
            if abs(weight[row, j]) > norm:
                norm = abs(weight[row, j])
    else:
        for j in range(width):
            norm += math.pow(abs(weight[row, j]), norm_type)
        norm = math.pow(norm, 1.0 / norm_type)
    if norm > max_norm:
        scale = max_norm / (norm + 1e-7)
        for j in range(width):
            weight[row, j] *= scale


def embedding_forward(weight, indices, out):
    """out (P, D) = the weight rows named by indices (P,), on device arrays."""
    size = out.shape[0] * out.shape[1]
    if size:
        gather_rows[blocks_for(size), THREADS_PER_BLOCK](weight, indices, out)


def embedding_backward(grad_out, indices, padding_idx, scale_grad_by_freq, grad_weight):
    """grad_weight (rows, D), arriving zeroed, += grad_out (P, D) at rows indices (P,), skipping
    ``padding_idx`` (-1 for none); each row's sum divided by its frequency if ``scale_grad_by_freq``."""
    rows, width = grad_weight.shape
    if rows == 0 or width == 0 or indices.shape[0] == 0:
        return
    if scale_grad_by_freq:
        counts = cuda.device_array(rows, dtype="int64")
        count_rows[blocks_for(rows), THREADS_PER_BLOCK](indices, counts)
    else:
        counts = cuda.device_array(0, dtype="int64")
    row_blocks = max(1, min(rows, TARGET_SCATTER_THREADS // width))
    rows_per_block = math.ceil(rows / row_blocks)
    row_blocks = math.ceil(rows / rows_per_block)
    scatter_rows[blocks_for(row_blocks * width), THREADS_PER_BLOCK](
        grad_out, indices, int(padding_idx), counts, rows_per_block, grad_weight)


def embedding_renorm(weight, indices, max_norm, norm_type, marks):
    """Rows named in indices with a norm over max_norm scaled back to it, in place; marks (rows,) int8 zeroed."""
    if indices.shape[0] == 0 or weight.shape[0] == 0:
        return
    mark_rows[blocks_for(indices.shape[0]), THREADS_PER_BLOCK](indices, marks)
    renorm_rows[blocks_for(weight.shape[0]), THREADS_PER_BLOCK](weight, float(max_norm), float(norm_type), marks)


# The argument types tests/test_cuda_kernels.py compiles every kernel for (nothing compiles at import).
PTX_SIGNATURES = {
    "gather_rows": [(real[:, :], int64[:], real[:, :]) for real in (float32, float64)],
    "count_rows": [(int64[:], int64[:])],
    "scatter_rows": [(real[:, :], int64[:], int64, int64[:], int64, real[:, :]) for real in (float32, float64)],
    "mark_rows": [(int64[:], int8[:])],
    "renorm_rows": [(real[:, :], float64, float64, int8[:]) for real in (float32, float64)],
}
