"""GPU arrays in collectives: handed to MPI directly when it is CUDA-aware, else staged on the host.

A CUDA-aware MPI (Open MPI or MPICH built with CUDA; mpi4py 4 asks it with Query_cuda_support)
reads and writes device memory itself, given the array's ``__cuda_array_interface__``. Any other
MPI gets a host copy: the array is copied into a page-locked (pinned) buffer, the fastest kind to
copy to and from, MPI works on that, and the result is copied back when the collective finishes.
Pinned buffers are slow to allocate, so they are kept in a pool by size: DistributedDataParallel's
buckets ask for the same few sizes every step.
"""
import os

from ..cuda.array import CudaArray
from ..cuda.runtime import numba_cuda, simulated
from . import launch

_free_buffers = {}  # nbytes -> list of pinned uint8 arrays not in use


def cuda_aware():
    """True if the MPI library reads device memory itself (never under Numba's CUDA simulator).

    MINIGRAD_MPI_CUDA_AWARE=1 or 0 overrides the library's answer (an MPI that is CUDA-aware but
    cannot say so, or one whose direct path is slower than staging)."""
    if simulated():
        return False
    forced = os.environ.get("MINIGRAD_MPI_CUDA_AWARE")
    if forced in ("0", "1"):
        return forced == "1"
    query = getattr(launch.mpi_module(), "Query_cuda_support", None)
    return bool(query()) if query is not None else False


def device_buffer(array):
    """An object MPI accepts as a buffer over the CudaArray's memory, once queued kernels are done."""
    numba_cuda().synchronize()  # MPI reads the memory outside any stream: the kernels writing it must be done
    return array.numba_array()


def borrow_host_buffer(nbytes):
    free = _free_buffers.get(nbytes)
    if free:
        return free.pop()
    return numba_cuda().pinned_array(max(nbytes, 1), dtype="uint8")[:nbytes]


def give_back_host_buffer(buffer):
    _free_buffers.setdefault(buffer.nbytes, []).append(buffer)


def staged_copy(array):
    """A pinned host copy of the contiguous CudaArray ``array`` (same shape and dtype), from the pool."""
    raw = borrow_host_buffer(array.nbytes)
    host = raw.view(array.dtype).reshape(array.shape)
    if array.size:
        array.numba_array().copy_to_host(host)
    return host


def copy_back(host, array, release=True):
    """Copy the host result into the CudaArray ``array``; the pinned buffer goes back to the pool."""
    if array.size:
        array.numba_array().copy_to_device(host)
    if release:
        give_back_host_buffer(host.reshape(-1).view("uint8"))


def is_cuda(array):
    return type(array) is CudaArray
