"""Gather and scatter at element positions: advanced indexing (``x[rows, columns]``) on the GPU.

CudaArray resolves an advanced index on the host with NumPy's own rules into the buffer
position of every selected element (minigrad/cuda/array.py); these kernels then move the values.
``gather`` is one thread per selected element. ``scatter`` is one thread per distinct target
position: the host has grouped the values bound for each position (a stable sort), and the
thread adds them in their original order (``np.add.at``: repeated positions accumulate) or
keeps the last (``x[index] = values``: the last write wins, as in NumPy). No atomics, so the
sums are the same on every run. Both are bound by memory latency (scattered reads or writes);
they serve indexing in user code and the NLL loss, not the hot path of the reference models.
The CPU has no twin: NumPy's fancy indexing does this there.
"""
import math

from numba import boolean, cuda, float32, float64, int64

__all__ = ["gather", "scatter"]

THREADS_PER_BLOCK = 256
MAX_BLOCKS = 1024


def blocks_for(size):
    return min(math.ceil(size / THREADS_PER_BLOCK), MAX_BLOCKS)


@cuda.jit
def gather_kernel(source, positions, out):
    """out[i] = source[positions[i]]"""
    for index in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        out[index] = source[positions[index]]


@cuda.jit
def scatter_kernel(target, unique_positions, order, starts, values, accumulate):
    """target[p_k] (+)= values[order[j]] for j in starts[k]..starts[k+1]-1, in that order"""
    for group in range(cuda.grid(1), unique_positions.size, cuda.gridsize(1)):
        position = unique_positions[group]
        if accumulate:
            total = target[position]
            for j in range(starts[group], starts[group + 1]):
                total += values[order[j]]
            target[position] = total
        else:
            target[position] = values[order[starts[group + 1] - 1]]


def gather(source, positions, out):
    """out = source[positions] on flat device arrays (positions int64)."""
    if out.size:
        gather_kernel[blocks_for(out.size), THREADS_PER_BLOCK](source, positions, out)


def scatter(target, unique_positions, order, starts, values, accumulate):
    """target[unique_positions[k]] = (target +) the values of group k; see the module docstring."""
    if unique_positions.size:
        scatter_kernel[blocks_for(unique_positions.size), THREADS_PER_BLOCK](
            target, unique_positions, order, starts, values, accumulate)


PTX_SIGNATURES = {
    "gather_kernel": [(dtype[:], int64[:], dtype[:]) for dtype in (float32, float64, int64)],
    "scatter_kernel": [(dtype[:], int64[:], int64[:], int64[:], dtype[:], boolean) for dtype in (float32, float64)],
}
