"""Separable resampling on the GPU: minigrad/backend/resample.py's function on CudaArrays.

The per-axis maps are small host arrays (a few entries per row or column); they go to the device
once per plan and dtype and stay cached on the plan, so a training loop that reuses a layer's plan
copies nothing but its activations.
"""
import numpy as np

from .array import CudaArray
from .runtime import kernels


def _contiguous(array):
    return (array if array.is_contiguous else array.copy()).numba_array()


def _device_maps(plan, dtype):
    """The plan's maps as Numba device arrays, uploaded on first use for this dtype."""
    key = ("cuda", np.dtype(dtype).str)
    maps = plan.device_arrays.get(key)
    if maps is None:
        arrays = []
        for axis in (plan.rows, plan.columns):
            arrays += [axis.pointer, axis.source, axis.weights(dtype)]
        maps = plan.device_arrays[key] = [CudaArray.from_host(np.ascontiguousarray(array)) for array in arrays]
    return [array.numba_array() for array in maps]


def resample2d(x, plan):
    out = CudaArray.empty((x.shape[0],) + plan.output_size, x.dtype)
    if out.size == 0:
        return out
    if x.size == 0:
        return CudaArray.full(out.shape, 0, x.dtype)
    row_pointer, row_source, row_weight, column_pointer, column_source, column_weight = _device_maps(plan, x.dtype)
    if plan.is_gather:
        kernels("resample").gather2d(_contiguous(x), row_source, column_source, out.numba_array())
    else:
        kernels("resample").resample2d(_contiguous(x), row_pointer, row_source, row_weight, column_pointer,
                                       column_source, column_weight, out.numba_array())
    return out
