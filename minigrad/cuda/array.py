"""CudaArray: a tensor's values in GPU memory, with NumPy's view model and NumPy's protocols.

A CudaArray is a one-dimensional device buffer (a whole allocation, shared by every view of it)
plus an element offset, a shape and element strides: exactly how NumPy describes an ndarray, so
reshape, transpose, slicing and broadcasting are arithmetic on those numbers (layout.py) and
never move data. The math is NumPy's interface on the GPU's kernels: ``np.exp(x)``, ``a + b``,
``x.sum(axis=1)``, ``np.where(...)`` on CudaArrays reach ``__array_ufunc__`` and
``__array_function__``, which look the call up in two tables that numpy_api.py fills (NumPy's
NEP 18 recipe): this file holds no math and imports none. That is why the ops in minigrad/ops/
have one forward and one backward per op for both devices.

Nothing converts to a NumPy array implicitly (``np.asarray(cuda_array)`` raises): a copy to the
host is always asked for, by ``.get()``, so no transfer hides in a training step. Numba is
imported on first use (runtime.py); ``import minigrad`` loads no Numba.
"""
import math

import numpy as np

from . import layout
from .runtime import kernels, numba_cuda, simulated

# NumPy's functions on CudaArrays, filled by numpy_api.py: ufunc method ("__call__", "at") ->
# implementation(ufunc, inputs, options), and numpy function -> implementation(*args, **kwargs).
UFUNC_METHODS = {}
FUNCTIONS = {}


class CudaArray:
    """``shape`` elements of ``dtype`` at ``buffer[offset + sum(index * element_strides)]``."""

    __slots__ = ("__weakref__", "_numba_view", "buffer", "dtype", "element_strides", "offset", "shape")
    __array_priority__ = 100  # below Tensor's 1000: Tensor <op> CudaArray is the Tensor's to answer
    device = "cuda"

    def __init__(self, buffer, offset, shape, element_strides, dtype):
        self.buffer, self.offset = buffer, offset
        self.shape, self.element_strides, self.dtype = tuple(shape), tuple(element_strides), np.dtype(dtype)
        self._numba_view = None  # made on first use; the numbers above never change

    # --- allocation and transfer -----------------------------------------------------------------

    @classmethod
    def empty(cls, shape, dtype):
        shape = tuple(int(size) for size in shape)
        buffer = numba_cuda().device_array(math.prod(shape), dtype=np.dtype(dtype))
        return cls(buffer, 0, shape, layout.contiguous_strides(shape), dtype)

    @classmethod
    def from_host(cls, array, dtype=None):
        """A device copy of a host array (synchronous; batches use transfer.upload instead)."""
        array = np.asarray(array, dtype=dtype, order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
        buffer = numba_cuda().to_device(array.reshape(-1))
        return cls(buffer, 0, array.shape, layout.contiguous_strides(array.shape), array.dtype)

    @classmethod
    def full(cls, shape, value, dtype):
        out = cls.empty(shape, dtype)
        out[...] = value
        return out

    def get(self):
        """A NumPy copy on the host (waits for the kernels that compute this array)."""
        source = self if self.is_contiguous else self.copy()
        if source.size == 0:
            return np.empty(self.shape, dtype=self.dtype)
        flat = source.buffer[source.offset : source.offset + source.size].copy_to_host()
        return flat.reshape(self.shape)

    def numba_array(self):
        """This view as a Numba device array, for the kernels that take N-d arrays (matmul, conv).

        Built in one step over the buffer's memory, as a Numba slice would be: slicing and then
        reshaping the buffer with Numba's own methods costs 40-60 us of Python per array, this
        5-8 us (measured with a fake allocation), and a step converts about a hundred arrays. It is
        kept, so a parameter or an optimizer's moment, converted each step, is made once.
        """
        if self._numba_view is None:
            self._numba_view = self._make_numba_view()
        return self._numba_view

    def _make_numba_view(self):
        itemsize = self.dtype.itemsize
        # Row-major strides when contiguous (whatever a size-1 axis says), so Numba types it 'C'.
        strides = layout.contiguous_strides(self.shape) if self.is_contiguous else self.element_strides
        byte_strides = tuple(stride * itemsize for stride in strides)
        if simulated():
            from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray

            start = self.buffer._ary[self.offset :]
            return FakeCUDAArray(np.lib.stride_tricks.as_strided(start, self.shape, byte_strides))
        from numba.cuda.cudadrv.devicearray import DeviceNDArray

        memory = self.buffer.gpu_data
        if self.offset:
            memory = memory.view(self.offset * itemsize)  # keeps the whole allocation alive, as a slice does
        return DeviceNDArray(self.shape, byte_strides, self.dtype, gpu_data=memory)

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "a CUDA array cannot become a NumPy array implicitly; copy it to the host with "
            "tensor.cpu() (or .get() on the array)"
        )

    # --- what it is ------------------------------------------------------------------------------

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))
    itemsize = property(lambda self: self.dtype.itemsize)
    nbytes = property(lambda self: self.size * self.dtype.itemsize)
    is_contiguous = property(lambda self: layout.is_contiguous(self.shape, self.element_strides))

    @property
    def flags(self):
        """The two ndarray flags the engine reads (an optimizer checks them before updating in place)."""
        from types import SimpleNamespace

        return SimpleNamespace(c_contiguous=self.is_contiguous, writeable=True)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d CUDA array")
        return self.shape[0]

    def __repr__(self):
        return f"CudaArray({np.array2string(self.get(), separator=', ')}, dtype={self.dtype})"

    def item(self):
        if self.size != 1:
            raise ValueError(f"item: only one-element arrays convert to a Python scalar, got shape {self.shape}")
        return self.get().item()

    def tolist(self):
        return self.get().tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        return bool(self.item())

    # --- views: new shape and strides, the same buffer ------------------------------------------

    def view_as(self, offset, shape, element_strides):
        return CudaArray(self.buffer, offset, shape, element_strides, self.dtype)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        shape = layout.resolved_shape(tuple(int(size) for size in shape), self.size, self.shape)
        source = self if self.is_contiguous else self.copy()  # as NumPy: a copy when no view can do it
        return source.view_as(source.offset, shape, layout.contiguous_strides(shape))

    def ravel(self):
        return self.reshape(-1)

    def transpose(self, *axes):
        if not axes or axes == (None,):
            axes = tuple(reversed(range(self.ndim)))
        elif len(axes) == 1 and isinstance(axes[0], (tuple, list, np.ndarray)):
            axes = tuple(axes[0])
        axes = tuple(int(axis) % max(self.ndim, 1) for axis in axes)
        if sorted(axes) != list(range(self.ndim)):
            raise ValueError(f"transpose: axes {axes} do not match an array of {self.ndim} dimensions")
        return self.view_as(self.offset, [self.shape[axis] for axis in axes],
                            [self.element_strides[axis] for axis in axes])

    T = property(lambda self: self.transpose())

    def swapaxes(self, first, second):
        axes = list(range(self.ndim))
        axes[first], axes[second] = axes[second], axes[first]
        return self.transpose(axes)

    def broadcast_to(self, shape):
        """A view of ``shape``: new leading axes and stretched size-1 axes get stride 0."""
        shape = tuple(int(size) for size in shape)
        return self.view_as(self.offset, shape, layout.broadcast_strides(self.shape, self.element_strides, shape))

    def expand_dims(self, axes):
        axes = (axes,) if isinstance(axes, int) else tuple(axes)
        ndim = self.ndim + len(axes)
        shape, strides = list(self.shape), list(self.element_strides)
        for axis in sorted(axis % ndim for axis in axes):
            shape.insert(axis, 1)
            strides.insert(axis, 0)
        return self.view_as(self.offset, shape, strides)

    def squeeze(self, axis=None):
        axes = range(self.ndim) if axis is None else [a % self.ndim for a in ((axis,) if isinstance(axis, int) else axis)]
        keep = [d for d in range(self.ndim) if not (d in axes and self.shape[d] == 1)]
        return self.view_as(self.offset, [self.shape[d] for d in keep], [self.element_strides[d] for d in keep])

    # --- copies ----------------------------------------------------------------------------------

    def copy(self):
        return self.astype(self.dtype)

    def astype(self, dtype, copy=True):
        dtype = np.dtype(dtype)
        if dtype == self.dtype and not copy:
            return self
        out = CudaArray.empty(self.shape, dtype)
        copy_into(out, self)
        return out

    def fill(self, value):
        self[...] = value

    # --- indexing --------------------------------------------------------------------------------

    def __getitem__(self, index):
        if layout.is_basic_index(index):
            return self.view_as(*layout.basic_index(self.offset, self.shape, self.element_strides, index))
        positions = self.positions()[_host_index(index)]
        out = CudaArray.empty(positions.shape, self.dtype)
        if out.size:
            kernels("gather").gather(self.buffer, numba_cuda().to_device(positions.reshape(-1)), out.buffer)
        return out

    def __setitem__(self, index, value):
        if layout.is_basic_index(index):
            copy_into(self.view_as(*layout.basic_index(self.offset, self.shape, self.element_strides, index)), value)
            return
        scatter(self, _host_index(index), value, accumulate=False)

    def positions(self):
        """The buffer position of every element, as a host int64 array of this shape.

        Advanced indexing (integer arrays, boolean masks) is resolved on the host by indexing this
        array with NumPy's own rules, so every one of those rules holds here too; the kernels then
        only gather or scatter at the positions found.
        """
        return layout.positions(self.offset, self.shape, self.element_strides)

    # --- NumPy's protocols: the tables numpy_api.py fills ---------------------------------------

    def __array_ufunc__(self, ufunc, method, *inputs, **options):
        implementation = UFUNC_METHODS.get(method)
        if implementation is None:
            raise TypeError(f"numpy.{ufunc.__name__}.{method} is not supported on CUDA arrays")
        return implementation(ufunc, inputs, options)

    def __array_function__(self, function, types, args, kwargs):
        implementation = FUNCTIONS.get(function)
        if implementation is None:
            raise TypeError(
                f"numpy.{function.__name__} is not supported on CUDA arrays; copy to the host with .cpu() first"
            )
        return implementation(*args, **kwargs)

    def sum(self, axis=None, dtype=None, keepdims=False):
        return np.sum(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, keepdims=False):
        return np.mean(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return np.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return np.min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False):
        return np.argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis=None, keepdims=False):
        return np.argmin(self, axis=axis, keepdims=keepdims)

    def all(self, axis=None, keepdims=False):
        return np.all(self, axis=axis, keepdims=keepdims)

    def any(self, axis=None, keepdims=False):
        return np.any(self, axis=axis, keepdims=keepdims)

    def clip(self, low=None, high=None):
        return np.clip(self, low, high)

    __hash__ = None  # == is elementwise, as for ndarray


def _binary_operator(ufunc, reflected=False):
    if reflected:
        return lambda self, other: ufunc(other, self)
    return lambda self, other: ufunc(self, other)


def _in_place_operator(ufunc):
    def operator(self, other):
        ufunc(self, other, out=self)
        return self

    return operator


for _name, _ufunc in [("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("truediv", np.divide),
                      ("pow", np.power), ("and", np.logical_and), ("or", np.logical_or)]:
    setattr(CudaArray, f"__{_name}__", _binary_operator(_ufunc))
    setattr(CudaArray, f"__r{_name}__", _binary_operator(_ufunc, reflected=True))
    setattr(CudaArray, f"__i{_name}__", _in_place_operator(_ufunc))
for _name, _ufunc in [("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                      ("gt", np.greater), ("ge", np.greater_equal)]:
    setattr(CudaArray, f"__{_name}__", _binary_operator(_ufunc))
CudaArray.__neg__ = lambda self: np.negative(self)
CudaArray.__abs__ = lambda self: np.abs(self)
CudaArray.__invert__ = lambda self: np.logical_not(self)


# --- the launches every array needs: elementwise maps, constants, copies, scatters ---------------

def elementwise_into(operation, operands, out):
    """Run the kernel of ``operation`` (a kernels/cuda/ufunc.py code name) over ``operands`` broadcast to out."""
    if out.size == 0:
        return out
    views = [operand.broadcast_to(out.shape) for operand in operands] + [out]
    shape, strides = layout.collapse(out.shape, *[view.element_strides for view in views])
    ufunc_kernels = kernels("ufunc")
    arguments = []
    for view, view_strides in zip(views, strides):
        arguments += [view.buffer, view.offset, view_strides]
    if len(operands) == 1:
        ufunc_kernels.unary_map(getattr(ufunc_kernels, operation.upper()), *arguments, shape)
    elif len(operands) == 2:
        ufunc_kernels.binary_map(getattr(ufunc_kernels, operation.upper()), *arguments, shape)
    else:
        ufunc_kernels.where_map(*arguments, shape)
    return out


_constants = {}
_CONSTANT_CACHE_SIZE = 256


def constant(value, dtype):
    """A 0-d CudaArray holding ``value``; cached by (dtype, bytes), so each value is uploaded once."""
    host = np.asarray(value, dtype=dtype)
    key = (host.dtype.str, host.tobytes())
    array = _constants.get(key)
    if array is None:
        if len(_constants) >= _CONSTANT_CACHE_SIZE:
            _constants.clear()  # a loop making new values every step: keep the cache bounded
        array = _constants[key] = CudaArray.from_host(host)
    return array


def _on_device(value, dtype):
    """A CudaArray as it is; a host number as a cached device constant of ``dtype``; a host array uploaded."""
    if isinstance(value, CudaArray):
        return value
    host = np.asarray(value)
    return constant(host.item(), dtype) if host.ndim == 0 else CudaArray.from_host(host)


def copy_into(target, value):
    """target[...] = value, broadcasting value (a CudaArray or a host scalar/array) to target's shape."""
    elementwise_into("copy", [_on_device(value, target.dtype)], target)


def _host_index(index):
    """An advanced index with its device parts copied to the host (NumPy resolves it there)."""
    if isinstance(index, tuple):
        return tuple(_host_index(item) for item in index)
    if isinstance(index, CudaArray):
        return index.get()
    if isinstance(index, list):
        return np.asarray(index)
    return index


def scatter(target, index, values, accumulate):
    """target[index] = values, or += values (np.add.at: repeated positions add up), deterministically.

    The positions are known on the host, so they are grouped there (a stable sort), and one GPU
    thread owns each distinct position and adds (or takes the last of) its values in order: no atomics.
    """
    positions = target.positions()[index]
    flat_positions = positions.reshape(-1)
    values = _on_device(values, target.dtype).astype(target.dtype, copy=False).broadcast_to(positions.shape)
    values = values if values.is_contiguous and values.offset == 0 else values.copy()
    if flat_positions.size == 0:
        return
    order = np.argsort(flat_positions, kind="stable")
    unique, starts = np.unique(flat_positions[order], return_index=True)
    starts = np.append(starts, flat_positions.size).astype(np.int64)
    to_device = numba_cuda().to_device
    kernels("gather").scatter(target.buffer, to_device(unique), to_device(order.astype(np.int64)),
                              to_device(starts), values.buffer, accumulate)
