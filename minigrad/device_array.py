"""CudaArray: a tensor's values in GPU memory, with NumPy's view model and NumPy's protocols.

A CudaArray is a one-dimensional device buffer (a whole allocation, shared by every view of it)
plus an element offset, a shape and element strides: exactly how NumPy describes an ndarray, so
reshape, transpose, slicing and broadcasting are arithmetic on those numbers, done here in Python,
and never move data. The math is NumPy's interface on the GPU's kernels: ``np.exp(x)``, ``a + b``,
``x.sum(axis=1)``, ``np.where(...)`` on CudaArrays reach ``__array_ufunc__`` and
``__array_function__`` (device_math.py), which launch the kernels of ``minigrad.kernels.cuda``.
That is why ops.py has one forward and one backward per op for both devices.

Strides here count elements, not bytes (``element_strides``), because kernels index the buffer
by element. Nothing converts to a NumPy array implicitly (``np.asarray(cuda_array)`` raises):
a copy to the host is always asked for, by ``.get()``, so no transfer hides in a training step.
Numba is imported on first use; ``import minigrad`` loads no Numba.
"""
import importlib
import math

import numpy as np


def numba_cuda():
    from numba import cuda

    return cuda


def simulated():
    """True under Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1): device arrays are NumPy inside."""
    from numba import config

    return bool(config.ENABLE_CUDASIM)


_kernel_modules = {}


def kernel_module(target, name):
    """The kernel module ``minigrad.kernels.<target>.<name>`` ("cpu" or "cuda"), imported once."""
    module = _kernel_modules.get((target, name))
    if module is None:
        module = _kernel_modules[target, name] = importlib.import_module(f"minigrad.kernels.{target}.{name}")
    return module


def cuda_kernels(name):
    return kernel_module("cuda", name)


def contiguous_strides(shape):
    """Row-major element strides: the last axis moves by one element."""
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


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
        return cls(buffer, 0, shape, contiguous_strides(shape), dtype)

    @classmethod
    def from_host(cls, array, dtype=None):
        """A device copy of a host array (synchronous; batches use transfer.upload instead)."""
        array = np.asarray(array, dtype=dtype, order="C")  # (ascontiguousarray would make 0-d arrays 1-d)
        buffer = numba_cuda().to_device(array.reshape(-1))
        return cls(buffer, 0, array.shape, contiguous_strides(array.shape), array.dtype)

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
        strides = contiguous_strides(self.shape) if self.is_contiguous else self.element_strides
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

    @property
    def is_contiguous(self):
        """Row-major without gaps (axes of size 1 may have any stride)."""
        expected = 1
        for size, stride in zip(reversed(self.shape), reversed(self.element_strides)):
            if size != 1 and stride != expected:
                return False
            expected *= size
        return True

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
        shape = _resolved_shape(tuple(int(size) for size in shape), self.size, self.shape)
        source = self if self.is_contiguous else self.copy()  # as NumPy: a copy when no view can do it
        return source.view_as(source.offset, shape, contiguous_strides(shape))

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
        added = len(shape) - self.ndim
        if added < 0 or any(size not in (1, target) for size, target in zip(self.shape, shape[added:])):
            raise ValueError(f"operands could not be broadcast together: {self.shape} to {shape}")
        strides = (0,) * added + tuple(
            stride if size == target else 0
            for size, target, stride in zip(self.shape, shape[added:], self.element_strides)
        )
        return self.view_as(self.offset, shape, strides)

    def expand_dims(self, axes):
        axes = (axes,) if isinstance(axes, int) else tuple(axes)
        ndim = self.ndim + len(axes)
        axes = sorted(axis % ndim for axis in axes)
        shape, strides = list(self.shape), list(self.element_strides)
        for axis in axes:
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
        basic = _basic_view(self, index)
        if basic is not None:
            return basic
        positions = self.positions()[_host_index(index)]
        out = CudaArray.empty(positions.shape, self.dtype)
        if out.size:
            cuda_kernels("gather").gather(self.buffer, numba_cuda().to_device(positions.reshape(-1)), out.buffer)
        return out

    def __setitem__(self, index, value):
        basic = _basic_view(self, index)
        if basic is not None:
            copy_into(basic, value)
            return
        scatter(self, _host_index(index), value, accumulate=False)

    def positions(self):
        """The buffer position of every element, as a host int64 array of this shape.

        Advanced indexing (integer arrays, boolean masks) is resolved on the host by indexing this
        array with NumPy's own rules, so every one of those rules holds here too; the kernels then
        only gather or scatter at the positions found.
        """
        positions = np.full(self.shape, self.offset, dtype=np.int64)
        for axis, (size, stride) in enumerate(zip(self.shape, self.element_strides)):
            along = np.arange(size, dtype=np.int64) * stride
            positions += along.reshape((size,) + (1,) * (self.ndim - axis - 1))
        return positions

    # --- NumPy's protocols and operators: device_math.py -----------------------------------------

    def __array_ufunc__(self, ufunc, method, *inputs, **options):
        from . import device_math

        return device_math.array_ufunc(ufunc, method, inputs, options)

    def __array_function__(self, function, types, args, kwargs):
        from . import device_math

        return device_math.array_function(function, args, kwargs)

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


# --- helpers -------------------------------------------------------------------------------------

def _resolved_shape(shape, size, old_shape):
    unknown = [axis for axis, length in enumerate(shape) if length == -1]
    known = math.prod(length for length in shape if length != -1)
    if len(unknown) == 1 and known and size % known == 0:
        shape = shape[: unknown[0]] + (size // known,) + shape[unknown[0] + 1 :]
    if len(unknown) > 1 or math.prod(shape) != size or any(length < 0 for length in shape):
        raise ValueError(f"cannot reshape array of shape {old_shape} into shape {shape}")
    return shape


def _basic_view(array, index):
    """The view a basic index (ints, slices, None, Ellipsis) selects, or None for advanced indexing."""
    items = index if isinstance(index, tuple) else (index,)
    if not all(item is None or item is Ellipsis or isinstance(item, (int, np.integer, slice)) for item in items):
        return None
    if any(isinstance(item, bool) for item in items):
        return None  # x[True] is a mask, not the index 1
    used = sum(1 for item in items if item is not None and item is not Ellipsis)
    if used > array.ndim:
        raise IndexError(f"too many indices for an array of shape {array.shape}")
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items = items[:at] + (slice(None),) * (array.ndim - used) + items[at + 1 :]
    else:
        items = items + (slice(None),) * (array.ndim - used)
    offset, shape, strides, axis = array.offset, [], [], 0
    for item in items:
        if item is None:
            shape.append(1)
            strides.append(0)
            continue
        size, stride = array.shape[axis], array.element_strides[axis]
        if isinstance(item, slice):
            start, stop, step = item.indices(size)
            shape.append(len(range(start, stop, step)))
            strides.append(stride * step)
            offset += start * stride if shape[-1] else 0
        else:
            if not -size <= item < size:
                raise IndexError(f"index {item} is out of bounds for axis {axis} with size {size}")
            offset += (int(item) % size) * stride
        axis += 1
    return array.view_as(offset, shape, strides)


def _host_index(index):
    """An advanced index with its device parts copied to the host (NumPy resolves it there)."""
    if isinstance(index, tuple):
        return tuple(_host_index(item) for item in index)
    if isinstance(index, CudaArray):
        return index.get()
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _on_device(value, dtype):
    """A CudaArray as it is; a host number as a cached device constant of ``dtype``; a host array uploaded."""
    if isinstance(value, CudaArray):
        return value
    from . import device_math

    host = np.asarray(value)
    return device_math.constant(host.item(), dtype) if host.ndim == 0 else CudaArray.from_host(host)


def copy_into(target, value):
    """target[...] = value, broadcasting value (a CudaArray or a host scalar/array) to target's shape."""
    from . import device_math

    device_math.elementwise_into("copy", [_on_device(value, target.dtype)], target)


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
    cuda_kernels("gather").scatter(target.buffer, to_device(unique), to_device(order.astype(np.int64)),
                                   to_device(starts), values.buffer, accumulate)
