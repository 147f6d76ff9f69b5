"""Dropout masks on the GPU, bit for bit the masks of kernels/cpu/dropout.py.

Element i is kept when the top 24 bits of ``splitmix64(seed * GOLDEN_GAMMA + i)`` fall below
``round(keep_probability * 2**24)`` (see the CPU module: the hash, its constants and the threshold
are imported from there, so the two cannot drift apart). The hash depends on (seed, i) alone, so
one thread per element in a grid-stride loop (``THREADS_PER_BLOCK`` threads a block, at most
``MAX_BLOCKS`` blocks, as in elementwise.py) makes the same mask as the CPU's parallel loop, and a
model trains to the same losses on both devices.

All hash arithmetic is uint64 (modulo 2**64, which GPUs do natively as pairs of 32-bit
operations); every constant and operand is an np.uint64, since Numba turns uint64 mixed with int64
into float64.

Performance: a few dozen integer instructions per element and one store: the reference CNN's
dropout over 100 x 1024 float32 activations is 400 KB of writes, far below a launch's few µs on
an H100; a float32 mask of 10 M elements takes some 15-30 µs (40 MB of stores at 3 TB/s, and the
64-bit multiplies, which a GPU emulates with 32-bit ones).
"""
import math

import numpy as np
from numba import cuda, float32, float64, uint64

from ..cpu.dropout import (
    DECISION_SHIFT,
    GOLDEN_GAMMA,
    MIX_MULTIPLIER_1,
    MIX_MULTIPLIER_2,
    SHIFT_1,
    SHIFT_2,
    SHIFT_3,
    keep_threshold,
)

# The entry point the backend calls: the same name and arguments as kernels/cpu/dropout.py.
__all__ = ["dropout_mask"]

THREADS_PER_BLOCK = 256
# About what an H100 keeps resident at once (132 multiprocessors, 8 blocks of 256 threads each).
MAX_BLOCKS = 1024


def blocks_for(size):
    """Enough blocks for one thread per element, at most MAX_BLOCKS (the loops stride past that)."""
    return min(math.ceil(size / THREADS_PER_BLOCK), MAX_BLOCKS)


@cuda.jit
def dropout_mask_kernel(seed, threshold, scale, out):
    """out[i] = scale if splitmix64(seed * GOLDEN_GAMMA + i) >> 40 < threshold else 0"""
    start = seed * GOLDEN_GAMMA
    for index in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        z = start + np.uint64(index)
        z = (z ^ (z >> SHIFT_1)) * MIX_MULTIPLIER_1
        z = (z ^ (z >> SHIFT_2)) * MIX_MULTIPLIER_2
        z = z ^ (z >> SHIFT_3)
        if (z >> DECISION_SHIFT) < threshold:
            out[index] = scale
        else:
            out[index] = 0


def dropout_mask(seed, keep_probability, out):
    """Fill flat, contiguous device array ``out`` with 1 / keep_probability where kept, else 0.

    ``seed`` is a Python int in [0, 2**63); 0 < keep_probability <= 1 (1 keeps every element)."""
    threshold = keep_threshold(keep_probability)
    if out.size == 0:
        return  # a grid of zero blocks is an error, and there is nothing to do
    dropout_mask_kernel[blocks_for(out.size), THREADS_PER_BLOCK](np.uint64(seed), threshold, 1.0 / keep_probability,
                                                                 out)


# The argument types tests/test_cuda_kernels.py compiles every kernel for (nothing compiles at import).
PTX_SIGNATURES = {
    "dropout_mask_kernel": [(uint64, uint64, float64, float32[:]), (uint64, uint64, float64, float64[:])],
}
