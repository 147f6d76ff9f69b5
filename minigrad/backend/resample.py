"""Separable resampling of planes (interpolation, reflect and replicate padding): the output array,
then the kernels of kernels/cpu/resample.py that fill it."""
import numpy as np

from ..cuda import ops_resample
from .routing import kernels, routed_to


@routed_to(ops_resample)
def resample2d(x, plan):
    """(P, H, W) -> (P, OH, OW) through ``plan``'s row and column maps (minigrad/ops/resample.py's ResamplePlan)."""
    out = np.empty((x.shape[0],) + plan.output_size, dtype=x.dtype)
    if out.size == 0:
        return out
    if x.size == 0:  # nothing to read: only a transposed map of an empty axis gets here, and it sums nothing
        out[...] = 0
        return out
    if plan.is_gather:
        kernels("resample").gather2d(x, plan.rows.source, plan.columns.source, out)
    else:
        rows, columns = plan.rows, plan.columns
        kernels("resample").resample2d(x, rows.pointer, rows.source, rows.weights(x.dtype), columns.pointer,
                                       columns.source, columns.weights(x.dtype), out)
    return out
