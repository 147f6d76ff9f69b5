"""Host to GPU copies through pinned memory on a stream of their own: how batches go up.

A copy from ordinary (pageable) host memory makes the driver stage it through a pinned buffer of
its own and blocks the host until the copy is done. Here the batch is copied into one of two
pinned (page-locked) buffers that live for the whole run, and the GPU's copy engine reads it from
there asynchronously, on a dedicated stream: the host returns at once and goes on queueing the
step's kernels. Those kernels run on Numba's default stream, which (as CUDA's legacy default
stream) waits for the copy stream's earlier work, so no kernel reads a batch before it arrived.
Two buffers alternate, so the host can fill the next batch while the last one is still in
flight; before a buffer is refilled, the host waits for the copy that last read it (an event).

Arrays larger than ``STAGED_BYTES`` (whole weight matrices moved once by ``model.to("cuda")``)
go up synchronously without staging, so the pinned buffers stay batch-sized.
"""
import numpy as np

from .array import CudaArray
from .runtime import numba_cuda

STAGED_BYTES = 64 << 20  # a batch of 100 MNIST images is 314 KB; a 1024 x 3136 float32 weight 13 MB


class _Stager:
    def __init__(self):
        cuda = numba_cuda()
        self.stream = cuda.stream()
        self.buffers = [None, None]  # pinned uint8 arrays, grown on demand
        self.copied = [None, None]  # the event recorded after the last copy out of each buffer
        self.turn = 0

    def upload(self, array):
        cuda = numba_cuda()
        slot = self.turn
        self.turn = 1 - self.turn
        if self.copied[slot] is not None:
            self.copied[slot].synchronize()  # the copy that last read this buffer is done
        if self.buffers[slot] is None or self.buffers[slot].nbytes < array.nbytes:
            self.buffers[slot] = cuda.pinned_array(max(array.nbytes, 1), dtype=np.uint8)
        staged = self.buffers[slot][: array.nbytes].view(array.dtype)
        np.copyto(staged, array.reshape(-1))
        out = CudaArray.empty(array.shape, array.dtype)
        out.buffer.copy_to_device(staged, stream=self.stream)
        event = self.copied[slot] = cuda.event()
        event.record(self.stream)
        return out


_stager = None


def upload(array):
    """A CudaArray copy of the host array ``array`` (returns before the copy has finished)."""
    global _stager
    array = np.asarray(array, order="C")
    if array.size == 0:
        return CudaArray.empty(array.shape, array.dtype)
    if array.nbytes > STAGED_BYTES:
        return CudaArray.from_host(array)
    if _stager is None:
        _stager = _Stager()
    return _stager.upload(array)

