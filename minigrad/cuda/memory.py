"""A caching allocator for GPU memory: the blocks one training step frees serve the next.

Every op on the GPU allocates its output. Asking the driver each time is slow twice over:
``cuMemAlloc`` costs microseconds, and ``cuMemFree`` waits until the GPU is idle (Numba queues
frees and releases them ten at a time, so a training step would stall the host several times,
and the GPU would wait for the host's next launches). PyTorch keeps freed blocks in a cache and
hands them out again; so does this module. A step allocates the same sizes as the step before, so
after the first step nothing reaches the driver.

Numba lets a program replace how device memory is allocated (its External Memory Management
plugin interface): ``CachingMemoryManager`` is such a plugin, installed by ``install()`` before
the first CUDA context exists, so every device array (minigrad's and the kernels' scratch arrays)
comes from the cache. ``BlockCache`` is the bookkeeping alone, with no CUDA in it.

Why a block can be handed out again as soon as its last array is dropped, without events: every
kernel and copy runs on CUDA's legacy default stream or on a blocking stream (transfer.py), and
such work waits for all default-stream work queued before it. The kernels that still read a freed
block were queued before the work that writes its next contents, so they finish first.

Numba's driver is imported here at module level: this module is imported on first use of a real
GPU only (never under the CUDA simulator, which has no memory managers). ``mg.cuda`` reports the
cache's figures and empties it.
"""
import weakref

from numba.cuda.cudadrv import driver as numba_driver

SMALL_LIMIT = 1 << 20  # up to 1 MiB, sizes are rounded to 512 bytes; above, to 2 MiB
SMALL_ROUNDING = 512
LARGE_ROUNDING = 2 << 20


def block_size(size):
    """The size class of a request: blocks of one class serve any request that rounds to it."""
    rounding = SMALL_ROUNDING if size <= SMALL_LIMIT else LARGE_ROUNDING
    return max(1, -(-size // rounding)) * rounding


class BlockCache:
    """Free blocks by size class. ``allocate(size)`` makes a new block when none of that class is free."""

    def __init__(self, allocate):
        self.allocate = allocate
        self.free_blocks = {}  # size class -> blocks not lent out
        self.allocations = self.reuses = self.bytes_lent = self.bytes_cached = 0

    def take(self, size):
        """(size class, block) for a request of ``size`` bytes: a cached block if one is free."""
        size_class = block_size(size)
        free = self.free_blocks.get(size_class)
        if free:
            block = free.pop()
            self.reuses += 1
            self.bytes_cached -= size_class
        else:
            block = self.allocate(size_class)
            self.allocations += 1
        self.bytes_lent += size_class
        return size_class, block

    def give_back(self, size_class, block):
        self.free_blocks.setdefault(size_class, []).append(block)
        self.bytes_lent -= size_class
        self.bytes_cached += size_class

    def release(self):
        """Forget every free block (their owners free them); the number of bytes released."""
        released, self.bytes_cached = self.bytes_cached, 0
        self.free_blocks = {}
        return released

    def stats(self):
        return {
            "bytes_in_use": self.bytes_lent,
            "bytes_cached": self.bytes_cached,
            "device_allocations": self.allocations,
            "reuses": self.reuses,
        }


def _out_of_memory(error):
    if numba_driver.USE_NV_BINDING:
        return error.code == numba_driver.binding.CUresult.CUDA_ERROR_OUT_OF_MEMORY
    return error.code == numba_driver.enums.CUDA_ERROR_OUT_OF_MEMORY


class CachingMemoryManager(numba_driver.NumbaCUDAMemoryManager):
    """Numba's own memory manager with a BlockCache in front of its device allocations.

    A block (an allocation from Numba's manager, kept alive by the cache) is lent out wrapped in a
    pointer of its own whose finalizer gives the block back; Numba calls that finalizer when the
    last array or view using the pointer is gone, as it would call cuMemFree for its own.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cache = BlockCache(self._allocate_block)
        self.lent = {}  # address -> lent pointer (alive until its finalizer runs, as Numba's allocations)

    def memalloc(self, size):
        size_class, block = self.cache.take(size)
        address = block.device_pointer_value
        lent, cache = self.lent, self.cache

        def give_back():
            del lent[address]
            cache.give_back(size_class, block)

        pointer = numba_driver.AutoFreePointer(weakref.proxy(self.context), block.device_pointer, size,
                                               finalizer=give_back)
        lent[address] = pointer
        return pointer.own()

    def _allocate_block(self, size):
        try:
            return super().memalloc(size)  # Numba's manager already retries once after its pending frees
        except numba_driver.CudaAPIError as error:
            if not _out_of_memory(error):
                raise
            self.empty_cache()
            return super().memalloc(size)

    def empty_cache(self):
        """Free the cached blocks now (those still lent stay); the number of bytes freed."""
        released = self.cache.release()
        self.deallocations.clear()
        return released

    def reset(self):
        self.cache.release()
        self.lent.clear()
        super().reset()


def install():
    """Make Numba allocate through the cache, unless the user chose another memory manager.

    Takes effect for CUDA contexts created afterwards, so minigrad calls it before its first one.
    """
    from numba.core import config

    if config.CUDA_MEMORY_MANAGER == "default":
        numba_driver.set_memory_manager(CachingMemoryManager)


def current_manager():
    """The current CUDA context's CachingMemoryManager, or None if Numba allocates otherwise."""
    from numba import cuda

    manager = cuda.current_context().memory_manager
    return manager if isinstance(manager, CachingMemoryManager) else None
