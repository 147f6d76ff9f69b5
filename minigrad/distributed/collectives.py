"""Collectives on raw arrays (NumPy, or minigrad's CudaArray), started non-blocking.

Each ``start_*`` function starts MPI's non-blocking collective on the array's memory and returns
a Work; ``Work.wait()`` ends it (with the fault timeout, work.py). The public tensor functions in
tensors.py and DistributedDataParallel's gradient buckets both come here. Arrays must be
contiguous (MPI sees memory, not views). Single-process (no communicator) every collective is the
identity and its Work is already complete.
"""
import numpy as np

from . import cuda_staging, launch, world
from .work import Work, progress

# minigrad's op names -> MPI's; "avg" is a sum divided by the world size afterwards (as torch's AVG).
MPI_OPS = {"sum": "SUM", "avg": "SUM", "product": "PROD", "min": "MIN", "max": "MAX",
           "band": "BAND", "bor": "BOR", "bxor": "BXOR"}


def check_array(array, function):
    """Refuse what MPI cannot use as a buffer in place: a non-array, a non-contiguous view."""
    if not (isinstance(array, np.ndarray) or cuda_staging.is_cuda(array)):
        raise TypeError(f"{function}: expected a tensor (a NumPy array or a CUDA array), got {type(array).__name__}")
    contiguous = array.flags.c_contiguous if isinstance(array, np.ndarray) else array.is_contiguous
    if not contiguous:
        raise ValueError(f"{function}: the tensor of shape {tuple(array.shape)} is not contiguous; "
                         "pass tensor.contiguous() (MPI works on the memory of a whole buffer)")
    if isinstance(array, np.ndarray) and not array.flags.writeable:
        raise ValueError(f"{function}: the array of shape {array.shape} is read-only")


def start_all_reduce(array, op="sum", name="all_reduce"):
    """Reduce ``array`` across ranks in place (MPI_Iallreduce with MPI_IN_PLACE); a Work."""
    op = str(op).lower()
    if op not in MPI_OPS:
        raise ValueError(f"{name}: unknown reduction {op!r}; expected one of {sorted(MPI_OPS)}")
    check_array(array, name)
    if op == "avg" and array.dtype.kind != "f":
        raise TypeError(f"{name}: AVG needs a floating-point tensor (the average of {array.dtype} "
                        "values is not one); use SUM and divide")
    communicator = world.communicator()
    if communicator is None:
        return Work(name)
    MPI = launch.mpi_module()
    size = world.world_size()
    buffer, copy_back = _buffer(array)

    def finish():
        if copy_back is not None:
            copy_back()
        if op == "avg":
            np.divide(array, size, out=array)  # CudaArray: the same ufunc through __array_ufunc__

    request = communicator.Iallreduce(MPI.IN_PLACE, buffer, op=getattr(MPI, MPI_OPS[op]))
    return Work(name, [request], finish)


def start_broadcast(array, src=0, name="broadcast"):
    """Copy rank ``src``'s ``array`` into every rank's ``array`` in place (MPI_Ibcast); a Work."""
    check_array(array, name)
    check_rank(src, name, "src")
    communicator = world.communicator()
    if communicator is None:
        return Work(name)
    buffer, copy_back = _buffer(array)
    request = communicator.Ibcast(buffer, root=src)
    return Work(name, [request], copy_back)


def start_all_gather(array, out, name="all_gather"):
    """Fill ``out`` (shape (world_size, *array.shape), same dtype) with every rank's ``array``."""
    check_array(array, name)
    check_array(out, name)
    if tuple(out.shape) != (world.world_size(),) + tuple(array.shape) or out.dtype != array.dtype:
        raise ValueError(f"{name}: the output must have shape {(world.world_size(),) + tuple(array.shape)} "
                         f"and dtype {array.dtype}, got {tuple(out.shape)} {out.dtype}")
    communicator = world.communicator()
    if communicator is None:
        out[0] = array
        return Work(name)
    send, release_send = _buffer(array, read_only=True)
    receive, copy_back = _buffer(out)

    def finish():
        if release_send is not None:
            release_send()
        if copy_back is not None:
            copy_back()

    request = communicator.Iallgather(send, receive)
    return Work(name, [request], finish)


def start_barrier(name="barrier"):
    """Wait for every rank to arrive (MPI_Ibarrier); a Work."""
    communicator = world.communicator()
    if communicator is None:
        return Work(name)
    return Work(name, [communicator.Ibarrier()])


def check_rank(value, function, argument):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < world.world_size():
        raise ValueError(f"{function}: {argument}={value!r} is not a rank of this job "
                         f"(ranks 0 to {world.world_size() - 1})")


def _buffer(array, read_only=False):
    """What MPI reads and writes for ``array``, and what to run once the collective is done.

    A NumPy array is its own buffer. A CudaArray is one too when the MPI is CUDA-aware; otherwise
    it is staged through a pinned host copy, copied back (or just released, if ``read_only``) after.
    """
    if isinstance(array, np.ndarray):
        return array, None
    if cuda_staging.cuda_aware():
        return cuda_staging.device_buffer(array), None
    host = cuda_staging.staged_copy(array)
    if read_only:
        return host, lambda: cuda_staging.give_back_host_buffer(host.reshape(-1).view("uint8"))
    return host, lambda: cuda_staging.copy_back(host, array)


__all__ = ["MPI_OPS", "Work", "check_array", "check_rank", "progress", "start_all_gather", "start_all_reduce",
           "start_barrier", "start_broadcast"]
