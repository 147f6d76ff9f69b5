"""The GPU wing, and ``mg.cuda``: is there a GPU, wait for it, and what its memory cache holds
(torch.cuda's names).

    device = "cuda" if mg.cuda.is_available() else "cpu"

Everything only the GPU path needs lives in this package; the engine reaches it through
minigrad/backend/ alone. From the bottom up:

    runtime.py    Numba's CUDA on first use, the simulator switch, the CUDA kernel modules, the GPU check
    layout.py     (offset, shape, element strides) arithmetic: views without moving data
    array.py      CudaArray: a device buffer seen through a layout, NumPy's protocols on it
    numpy_api.py  NumPy's ufuncs, reductions and array functions on CudaArrays (fills array.py's tables)
    ops.py        the heavy ops (matmul, conv, pools, the fused loss, optimizer updates) on the CUDA twins
    transfer.py   batches to the GPU through pinned buffers on a stream of their own
    memory.py     the caching allocator, a Numba memory-manager plugin

Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1, the tests) counts as a GPU here, as everywhere in
minigrad; it has no memory cache, so the memory figures are empty there. Numba is imported on the
first call, not by ``import minigrad``.
"""
from . import numpy_api  # noqa: F401  fills CudaArray's NumPy tables before any CudaArray is made
from .runtime import numba_cuda, require_gpu, simulated


def is_available():
    """True if minigrad can use a GPU: Numba finds a CUDA driver and device (or runs its simulator)."""
    return simulated() or numba_cuda().is_available()


def synchronize():
    """Wait until every kernel and copy queued so far has finished (for timing, as torch.cuda.synchronize)."""
    require_gpu()  # without a GPU: minigrad's "no GPU was found", not Numba's error
    numba_cuda().synchronize()


def memory_stats():
    """The caching allocator's figures: bytes_in_use, bytes_cached, device_allocations (calls that
    reached the driver) and reuses (requests served from the cache). Empty if the cache is not in use:
    under the simulator, when another manager was chosen with NUMBA_CUDA_MEMORY_MANAGER, or when
    Numba had made its CUDA context before minigrad's first use of the GPU."""
    manager = _manager()
    return manager.cache.stats() if manager is not None else {}


def memory_allocated():
    """Bytes of GPU memory held by arrays now (in blocks of the cache's size classes)."""
    return memory_stats().get("bytes_in_use", 0)


def memory_reserved():
    """Bytes of GPU memory the cache holds: in use plus cached for reuse."""
    stats = memory_stats()
    return stats.get("bytes_in_use", 0) + stats.get("bytes_cached", 0)


def empty_cache():
    """Give the cached, unused blocks back to the driver (arrays in use keep theirs); the bytes freed."""
    manager = _manager()
    return manager.empty_cache() if manager is not None else 0


def _manager():
    require_gpu()
    if simulated():
        return None
    from . import memory

    return memory.current_manager()


__all__ = ["is_available", "synchronize", "memory_stats", "memory_allocated", "memory_reserved", "empty_cache"]
