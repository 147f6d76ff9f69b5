"""Devices and arrays: device names, moves between host and GPU, and arrays made on a given device."""
import numpy as np

from ..cuda import runtime as cuda_runtime
from ..cuda import transfer
from ..cuda.array import CudaArray
from ..device import CANONICAL, Device


def check_device(device):
    """The canonical device (``Device("cpu")`` or ``Device("cuda", 0)``, equal to "cpu" and "cuda") for a
    name or an ``mg.device``, or a clear error for a device minigrad cannot use."""
    written = str(device)  # as the caller wrote it, for the messages: "cuda:0" stays "cuda:0"
    if not isinstance(device, Device):
        if not isinstance(device, (str, int)) or isinstance(device, bool):
            raise TypeError(f"expected a device ('cpu', 'cuda', 'cuda:0' or an mg.device), got "
                            f"{type(device).__name__} {device!r}")
        device = Device(device)
    if device.index not in (None, 0):
        expected = "one GPU, 'cuda' (also written 'cuda:0')" if device.type == "cuda" else "one CPU device, 'cpu'"
        raise ValueError(f"device '{device}': minigrad uses {expected}")
    if device.type == "cuda":
        cuda_runtime.require_gpu(written)
    return CANONICAL[device]


def device_of(array):
    return "cuda" if type(array) is CudaArray else "cpu"


def to_device(array, device):
    """``array`` (NumPy or CudaArray) on ``device``: the same object if it is there already."""
    if device_of(array) == device:
        return array
    if device == "cpu":
        return array.get()
    return transfer.upload(np.asarray(array))


def to_host(array):
    """A NumPy copy of the array, wherever it lives (what state_dict() returns)."""
    return array.get() if type(array) is CudaArray else np.array(array, copy=True)


def copied(array, dtype):
    """A copy of ``array`` in ``dtype`` on its own device (the buffer is the caller's)."""
    if type(array) is CudaArray:
        return array.astype(dtype)
    return np.array(array, dtype=dtype, copy=True)


def contiguous(array):
    """``array`` itself if it is row-major without gaps, else a row-major copy (on its device)."""
    if type(array) is CudaArray:
        return array if array.is_contiguous else array.copy()
    return np.ascontiguousarray(array)


def as_array(value, dtype, like):
    """``value`` (a number or an array) as an array of ``dtype`` on the device of ``like``."""
    if type(like) is CudaArray:
        if type(value) is CudaArray:
            return value.astype(dtype, copy=False)
        return CudaArray.from_host(np.asarray(value, dtype=dtype))
    if type(value) is CudaArray:
        raise RuntimeError("expected an array on cpu, got one on cuda; move it with .cpu() first")
    return np.asarray(value, dtype=dtype)


def full(shape, value, dtype, device):
    if device == "cuda":
        return CudaArray.full(shape, value, dtype)
    return np.full(shape, value, dtype=dtype)


def full_like(array, value, dtype=None):
    return full(array.shape, value, array.dtype if dtype is None else dtype, device_of(array))


def move(tensor, device):
    """The tensor's array on ``device`` (already checked)."""
    return to_device(tensor.data, device)
