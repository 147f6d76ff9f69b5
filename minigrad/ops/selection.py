"""Selection along one axis by an index tensor: gather (``x.gather(dim, index)``) and its
transpose, the scatter-add of ``x.scatter_add(dim, index, src)``. Each is the other's gradient.

Both index with an open grid: ``index`` itself along the axis, a broadcast ``arange`` along every
other axis, so ``x[grid]`` is ``out[i][j] = x[i][index[i][j]]`` (for axis 1). On the host the grid
becomes flat positions in ``x.ravel()`` (np.take and np.add.at on 1-d arrays are NumPy's fast
paths); on a CudaArray the grid is the advanced index (its positions resolved on the host, see
cuda/array.py).
"""
import numpy as np

from .. import backend
from ..autograd import Function


def index_grid(index, axis):
    """The advanced index that selects ``x[..., index[...], ...]`` along ``axis`` (index's shape out)."""
    if backend.device_of(index) == "cuda":
        index = index.get()  # the positions are resolved on the host on either device
    ndim = index.ndim
    grid = []
    for dimension, size in enumerate(index.shape):
        if dimension == axis:
            grid.append(index)
        else:
            shape = [1] * ndim
            shape[dimension] = size
            grid.append(np.arange(size, dtype=np.int64).reshape(shape))
    return tuple(grid)


def flat_positions(index, axis, shape):
    """Where ``x[i][index[i][j]]`` (for axis 1) sits in ``x.ravel()``, for a C-ordered x of ``shape``."""
    strides = np.cumprod((tuple(shape[1:]) + (1,))[::-1])[::-1]
    return sum(item * int(stride) for item, stride in zip(index_grid(index, axis), strides))


def gather_along(array, axis, index):
    """``out[i][j] = array[i][index[i][j]]`` (for axis 1): on the host one np.take at flat positions
    (about 5x faster than the grid's advanced index), on a CudaArray the grid."""
    if backend.device_of(array) == "cuda":
        return array[index_grid(index, axis)]
    return np.take(np.ascontiguousarray(array).ravel(), flat_positions(index, axis, array.shape))


def scatter_add_along(values, axis, index, shape):
    """zeros(shape) with ``values[i][j]`` added at ``[i][index[i][j]]`` (for axis 1): repeated
    positions add up. On the host np.add.at on flat positions (NumPy's fast 1-d path)."""
    device = backend.device_of(values)
    if device == "cuda":
        out = backend.full(shape, 0, values.dtype, device)
        if values.size:
            np.add.at(out, index_grid(index, axis), values)
        return out
    out = np.zeros(int(np.prod(shape)), dtype=values.dtype)
    if values.size:
        np.add.at(out, flat_positions(index, axis, shape).ravel(), np.ravel(values))
    return out.reshape(shape)


class Gather(Function):
    """out[i][j] = x[i][index[i][j]] (axis 1; index a constant):  dx = g scatter-added at index"""

    def __init__(self, axis, index):
        self.axis, self.index = axis, index

    def forward(self, x):
        self.input_shape = x.shape
        return gather_along(x, self.axis, self.index)

    def backward(self, g):
        return (scatter_add_along(g, self.axis, self.index, self.input_shape),)

    def differentiable_backward(self, g):
        return (ScatterAddAlongDim.apply(g, axis=self.axis, index=self.index, shape=self.input_shape),)

    def jvp(self, dx):
        """dout = dx gathered at index"""
        return gather_along(dx, self.axis, self.index)


class ScatterAddAlongDim(Function):
    """zeros(shape) with x[i][j] added at [i][index[i][j]] (axis 1; index a constant):  dx = g gathered at index

    The scatter of ``scatter_add``, and Gather's gradient as an op (so it can be differentiated again).
    """

    def __init__(self, axis, index, shape):
        self.axis, self.index, self.shape = axis, index, tuple(shape)

    def forward(self, x):
        return scatter_add_along(x, self.axis, self.index, self.shape)

    def backward(self, g):
        return (gather_along(g, self.axis, self.index),)

    def differentiable_backward(self, g):
        return (Gather.apply(g, axis=self.axis, index=self.index),)

    def jvp(self, dx):
        """dout = zeros(shape) with dx added at index"""
        return scatter_add_along(dx, self.axis, self.index, self.shape)


def sort_indices(array, axis, descending):
    """The positions that sort ``array`` along ``axis``, stable (equal values keep their order,
    descending too) with NaN counted largest, as torch.sort(stable=True). On a CudaArray the sort
    runs on the host, and the indices go back to the device (no GPU sort kernel yet)."""
    device = backend.device_of(array)
    host = array.get() if device == "cuda" else array
    if not descending:
        order = np.argsort(host, axis=axis, kind="stable")
    else:
        # Reversed, sorted stably, reversed again: largest first, and equal values in their first order.
        reverse = (slice(None),) * axis + (slice(None, None, -1),)
        order = (host.shape[axis] - 1) - np.argsort(host[reverse], axis=axis, kind="stable")[reverse]
    return backend.to_device(np.ascontiguousarray(order, dtype=np.int64), device)


def top_indices(array, k, axis, largest):
    """The positions of the ``k`` largest (or smallest) along ``axis``, in order: the first ``k`` of
    ``sort_indices`` (ties in their first order, NaN largest). For a small ``k`` a partition finds
    them in linear time (then only they are sorted); on a CudaArray it runs on the host."""
    device = backend.device_of(array)
    host = array.get() if device == "cuda" else array
    length = host.shape[axis]
    if k == 0 or 8 * k > length:
        order = sort_indices(host, axis, largest)
        return backend.to_device(np.ascontiguousarray(order[(slice(None),) * axis + (slice(0, k),)]), device)
    # The k-th value from the end that counts (NaN is largest, as np.partition sorts it last).
    position = length - k if largest else k - 1
    threshold = np.take(np.partition(host, position, axis=axis), [position], axis=axis)
    nan, threshold_nan = np.isnan(host), np.isnan(threshold)
    if largest:
        beyond = (host > threshold) | (nan & ~threshold_nan)
    else:
        beyond = (host < threshold) | (~nan & threshold_nan)
    tied = (host == threshold) | (nan & threshold_nan)
    # All values beyond the threshold, then the first of those equal to it until there are k.
    wanted = k - beyond.sum(axis=axis, keepdims=True)
    chosen = beyond | (tied & (np.cumsum(tied, axis=axis) <= wanted))
    candidates = np.argsort(~chosen, axis=axis, kind="stable")[(slice(None),) * axis + (slice(0, k),)]
    order = sort_indices(np.take_along_axis(host, candidates, axis=axis), axis, largest)
    return backend.to_device(np.ascontiguousarray(np.take_along_axis(candidates, order, axis=axis)), device)
