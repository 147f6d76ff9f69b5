"""Dropout masks from a counter-based hash: element i of a mask depends on (seed, i) only.

``out[i] = 1 / keep_probability`` where element i is kept, else 0. Element i is kept when the
top 24 bits of ``splitmix64(seed * GOLDEN_GAMMA + i)`` fall below ``round(keep_probability *
2**24)``: the splitmix64 finalizer (Steele, Lea and Flood's SplittableRandom; Vigna's
splitmix64.c) spreads every input bit over all 64 output bits, so consecutive counters give
independent-looking bits. No generator state and no order: any thread can make any element, so
kernels/cuda/dropout.py makes the same mask bit for bit, and a model trains to the same losses on
the CPU and on a GPU. The threshold is an integer computed once on the host, so the decision is
an integer comparison, the same whatever the output's dtype; the scale is rounded to the
output's dtype once, on store.

All hash arithmetic is uint64 modulo 2**64. In Numba, uint64 mixed with int64 gives float64, so
every constant and operand is made an np.uint64 explicitly (the loop index included).
"""
import numpy as np
from numba import prange

from .preset import cpu_kernel

# The entry point the backend calls; kernels/cuda/dropout.py has the same name and arguments.
__all__ = ["dropout_mask"]

# 2**64 / golden ratio, odd: seed * GOLDEN_GAMMA spreads neighbouring seeds far apart.
GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
# The splitmix64 finalizer's multipliers (Stafford's Mix13) and shifts.
MIX_MULTIPLIER_1 = np.uint64(0xBF58476D1CE4E5B9)
MIX_MULTIPLIER_2 = np.uint64(0x94D049BB133111EB)
SHIFT_1 = np.uint64(30)
SHIFT_2 = np.uint64(27)
SHIFT_3 = np.uint64(31)
# The decision uses the top 24 bits: keep_probability in steps of 2**-24, exact in float32 too.
DECISION_BITS = 24
DECISION_SHIFT = np.uint64(64 - DECISION_BITS)


def keep_threshold(keep_probability):
    """The integer the top bits are compared with: round(keep_probability * 2**24), as an np.uint64."""
    if not 0 < keep_probability <= 1:
        raise ValueError(f"dropout_mask: keep_probability must be in (0, 1], got {keep_probability}")
    return np.uint64(round(keep_probability * 2**DECISION_BITS))


@cpu_kernel
def dropout_mask_kernel(seed, threshold, scale, out):
    """out[i] = scale if splitmix64(seed * GOLDEN_GAMMA + i) >> 40 < threshold else 0"""
    start = np.uint64(seed) * GOLDEN_GAMMA
    for index in prange(out.size):
        z = start + np.uint64(index)
        z = (z ^ (z >> SHIFT_1)) * MIX_MULTIPLIER_1
        z = (z ^ (z >> SHIFT_2)) * MIX_MULTIPLIER_2
        z = z ^ (z >> SHIFT_3)
        if (z >> DECISION_SHIFT) < threshold:
            out[index] = scale
        else:
            out[index] = 0


def dropout_mask(seed, keep_probability, out):
    """Fill flat, contiguous ``out`` (float32 / float64) with 1 / keep_probability where kept, else 0.

    ``seed`` is a Python int in [0, 2**63); 0 < keep_probability <= 1 (1 keeps every element)."""
    dropout_mask_kernel(np.uint64(seed), keep_threshold(keep_probability), 1.0 / keep_probability, out)
