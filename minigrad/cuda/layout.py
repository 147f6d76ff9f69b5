"""Strided layouts: the arithmetic of (offset, shape, element strides) that makes views free.

A CudaArray (array.py) finds element ``index`` at ``buffer[offset + sum(index * strides)]``, exactly
as NumPy describes an ndarray, but with strides counted in elements, since kernels index the
buffer by element. Reshaping a contiguous array, transposing, basic slicing and broadcasting
only compute new numbers here; no data moves. These functions take and return plain tuples and
know nothing of devices, so they are the part of the GPU wing that can be read (and tested)
without a GPU or Numba.
"""
import math

import numpy as np


def contiguous_strides(shape):
    """Row-major element strides: the last axis moves by one element."""
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def is_contiguous(shape, strides):
    """Row-major without gaps (axes of size 1 may have any stride)."""
    expected = 1
    for size, stride in zip(reversed(shape), reversed(strides)):
        if size != 1 and stride != expected:
            return False
        expected *= size
    return True


def resolved_shape(shape, size, old_shape):
    """``shape`` with its one -1 (if any) filled in so that it holds ``size`` elements, or NumPy's error."""
    unknown = [axis for axis, length in enumerate(shape) if length == -1]
    known = math.prod(length for length in shape if length != -1)
    if len(unknown) == 1 and known and size % known == 0:
        shape = shape[: unknown[0]] + (size // known,) + shape[unknown[0] + 1 :]
    if len(unknown) > 1 or math.prod(shape) != size or any(length < 0 for length in shape):
        raise ValueError(f"cannot reshape array of shape {old_shape} into shape {shape}")
    return shape


def broadcast_strides(shape, strides, target):
    """The strides of a view of ``target`` shape: new leading axes and stretched size-1 axes step by 0."""
    added = len(target) - len(shape)
    if added < 0 or any(size not in (1, wanted) for size, wanted in zip(shape, target[added:])):
        raise ValueError(f"operands could not be broadcast together: {shape} to {target}")
    return (0,) * added + tuple(
        stride if size == wanted else 0 for size, wanted, stride in zip(shape, target[added:], strides)
    )


def is_basic_index(index):
    """True for ints, slices, None and Ellipsis only: an index that selects a view."""
    items = index if isinstance(index, tuple) else (index,)
    if any(isinstance(item, bool) for item in items):
        return False  # x[True] is a mask, not the index 1
    return all(item is None or item is Ellipsis or isinstance(item, (int, np.integer, slice)) for item in items)


def basic_index(offset, shape, strides, index):
    """(offset, shape, strides) of the view a basic index selects (see is_basic_index)."""
    items = index if isinstance(index, tuple) else (index,)
    ndim = len(shape)
    used = sum(1 for item in items if item is not None and item is not Ellipsis)
    if used > ndim:
        raise IndexError(f"too many indices for an array of shape {shape}")
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items = items[:at] + (slice(None),) * (ndim - used) + items[at + 1 :]
    else:
        items = items + (slice(None),) * (ndim - used)
    view_shape, view_strides, axis = [], [], 0
    for item in items:
        if item is None:
            view_shape.append(1)
            view_strides.append(0)
            continue
        size, stride = shape[axis], strides[axis]
        if isinstance(item, slice):
            start, stop, step = item.indices(size)
            view_shape.append(len(range(start, stop, step)))
            view_strides.append(stride * step)
            offset += start * stride if view_shape[-1] else 0
        else:
            if not -size <= item < size:
                raise IndexError(f"index {item} is out of bounds for axis {axis} with size {size}")
            offset += (int(item) % size) * stride
        axis += 1
    return offset, tuple(view_shape), tuple(view_strides)


def positions(offset, shape, strides):
    """The buffer position of every element, as a host int64 array of ``shape``."""
    found = np.full(shape, offset, dtype=np.int64)
    for axis, (size, stride) in enumerate(zip(shape, strides)):
        along = np.arange(size, dtype=np.int64) * stride
        found += along.reshape((size,) + (1,) * (len(shape) - axis - 1))
    return found


def collapse(shape, *stride_tuples):
    """Fewer, longer axes describing the same walk: size-1 axes dropped, and neighbouring axes
    merged where every operand steps across them as across one axis. Contiguous operands of one
    shape become a single axis, so the kernel's index arithmetic is one division, not one per axis."""
    axes = [axis for axis, size in enumerate(shape) if size != 1]
    merged_shape, merged = [], [[] for _ in stride_tuples]
    for axis in axes:
        if merged_shape and all(strides[axis] * shape[axis] == columns[-1] for strides, columns in
                                zip(stride_tuples, merged)):
            merged_shape[-1] *= shape[axis]
            for strides, columns in zip(stride_tuples, merged):
                columns[-1] = strides[axis]
            continue
        merged_shape.append(shape[axis])
        for strides, columns in zip(stride_tuples, merged):
            columns.append(strides[axis])
    if not merged_shape:
        return (1,), [(0,) for _ in stride_tuples]
    return tuple(merged_shape), [tuple(columns) for columns in merged]
