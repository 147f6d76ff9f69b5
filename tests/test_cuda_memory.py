"""The GPU caching allocator, without a GPU: its bookkeeping, and its Numba plugin driven by Numba's
own pointer and array classes over a fake driver allocation (nothing here calls the driver)."""
import gc
import logging
import os

import numpy as np
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
    pytest.skip("the plugin is not used by the simulator", allow_module_level=True)

from numba.cuda.cudadrv import driver as numba_driver
from numba.cuda.cudadrv import drvapi
from numba.cuda.cudadrv.devicearray import DeviceNDArray

from minigrad.cuda import memory
from minigrad.cuda.memory import BlockCache, CachingMemoryManager, block_size

# --- the bookkeeping ------------------------------------------------------------------------------

@pytest.mark.parametrize(("size", "expected"), [
    (1, 512), (512, 512), (513, 1024), (1000, 1024), (1 << 20, 1 << 20),
    ((1 << 20) + 1, 2 << 20), (5 << 20, 6 << 20), (6 << 20, 6 << 20),
])
def test_sizes_round_to_their_class(size, expected):
    assert block_size(size) == expected


def test_a_freed_block_serves_the_next_request_of_its_class():
    made = []
    cache = BlockCache(lambda size: made.append(size) or f"block{len(made)}")
    size_class, first = cache.take(1000)
    assert (size_class, first, made) == (1024, "block1", [1024])
    cache.give_back(size_class, first)
    assert cache.stats() == {"bytes_in_use": 0, "bytes_cached": 1024, "device_allocations": 1, "reuses": 0}
    assert cache.take(600) == (1024, "block1")  # same class: no new allocation
    assert cache.take(600) == (1024, "block2")  # the only free block is lent out now
    assert cache.take(100) == (512, "block3")  # another class
    assert made == [1024, 1024, 512]
    assert cache.stats() == {"bytes_in_use": 2560, "bytes_cached": 0, "device_allocations": 3, "reuses": 1}


def test_release_forgets_only_the_free_blocks():
    cache = BlockCache(lambda size: object())
    lent = cache.take(100)
    cache.give_back(*cache.take(5000))
    assert cache.release() == 5120
    assert cache.stats()["bytes_cached"] == 0 and cache.stats()["bytes_in_use"] == 512
    cache.give_back(*lent)
    assert cache.take(100)[1] is lent[1]


# --- the Numba plugin over a fake driver ----------------------------------------------------------

class FakeContext:
    """What the plugin keeps of a context: a weak reference."""


class FakeDriver:
    """Stands in for cuMemAlloc/cuMemFree under Numba's own manager (NumbaCUDAMemoryManager.memalloc)."""

    def __init__(self, monkeypatch, capacity=1 << 30):
        # Numba makes its driver's logger when the driver initializes, which needs a GPU.
        monkeypatch.setattr(numba_driver, "_logger", logging.getLogger("numba.cuda.cudadrv.driver"), raising=False)
        self.capacity, self.used, self.next_address = capacity, 0, 1 << 32
        self.allocated, self.freed = [], []
        monkeypatch.setattr(numba_driver.NumbaCUDAMemoryManager, "memalloc",
                            lambda manager, size: self.memalloc(manager, size))

    def memalloc(self, manager, size):
        if self.used + size > self.capacity:
            manager.deallocations.clear()  # what Numba's manager does before its second try
            if self.used + size > self.capacity:
                raise numba_driver.CudaAPIError(numba_driver.enums.CUDA_ERROR_OUT_OF_MEMORY, "out of memory")
        address, self.next_address = self.next_address, self.next_address + size
        self.used += size
        self.allocated.append((address, size))

        allocations, deallocations = manager.allocations, manager.deallocations

        def free():  # as Numba's finalizer: forget the allocation, queue the cuMemFree
            del allocations[address]
            deallocations.add_item(self.free, address, size)

        pointer = numba_driver.AutoFreePointer(FakeContext(), drvapi.cu_device_ptr(address), size, finalizer=free)
        manager.allocations[address] = pointer
        return pointer.own()

    def free(self, address):
        size = dict(self.allocated)[address]
        self.used -= size
        self.freed.append(address)


@pytest.fixture
def make_manager(monkeypatch):
    """A CachingMemoryManager over a FakeDriver; dropped (and its blocks freed) before the fakes go."""
    made = []

    def make(**options):
        fake = FakeDriver(monkeypatch, **options)
        context = FakeContext()
        manager = CachingMemoryManager(context=context)
        manager._keep_context_alive = context  # the plugin holds only a weak proxy
        made.append(manager)
        return manager, fake

    yield make
    made.clear()
    gc.collect()  # the manager and its cache form a cycle: collect it while the fake driver stands


def device_array(manager, count):
    return DeviceNDArray((count,), (4,), np.float32, gpu_data=manager.memalloc(4 * count))


def address_of(array):
    return array.gpu_data.device_pointer_value


def test_numba_accepts_the_plugin():
    numba_driver.set_memory_manager(CachingMemoryManager)
    numba_driver.set_memory_manager(numba_driver.NumbaCUDAMemoryManager)


def test_dropping_an_array_gives_its_block_back_for_the_next_one(make_manager):
    manager, fake = make_manager()
    first = device_array(manager, 250)  # 1000 bytes: the 1024 class
    address = address_of(first)
    assert manager.cache.stats()["bytes_in_use"] == 1024
    del first
    gc.collect()
    assert manager.cache.stats() == {"bytes_in_use": 0, "bytes_cached": 1024, "device_allocations": 1, "reuses": 0}
    second = device_array(manager, 200)
    assert address_of(second) == address and len(fake.allocated) == 1
    assert second.gpu_data.size == 800  # the pointer lent out has the size asked for
    assert fake.freed == [] and not manager.lent.keys() - {address}


def test_a_view_keeps_the_block_lent(make_manager):
    manager, _ = make_manager()
    array = device_array(manager, 256)
    address = address_of(array)
    tail = array.gpu_data.view(400)  # what slicing the array does (slicing itself needs a context)
    del array
    gc.collect()
    assert manager.cache.stats()["bytes_in_use"] == 1024
    assert address_of(device_array(manager, 256)) != address  # still lent: a new block
    del tail
    gc.collect()
    assert address_of(device_array(manager, 256)) == address


def test_out_of_memory_frees_the_cache_and_tries_again(make_manager):
    manager, fake = make_manager(capacity=5 << 20)
    cached = device_array(manager, 512 << 10)  # 2 MiB, the 2 MiB class
    del cached
    gc.collect()
    assert manager.cache.stats()["bytes_cached"] == 2 << 20
    bigger = device_array(manager, 1 << 20)  # 4 MiB: fits only once the cached block is freed
    assert fake.freed == [address_of_allocation(fake, 0)] and fake.used == 4 << 20
    assert manager.cache.stats() == {"bytes_in_use": 4 << 20, "bytes_cached": 0, "device_allocations": 2,
                                     "reuses": 0}
    del bigger


def test_empty_cache_returns_free_blocks_to_the_driver(make_manager):
    manager, fake = make_manager()
    kept, dropped = device_array(manager, 10), device_array(manager, 1000)
    del dropped
    gc.collect()
    assert manager.empty_cache() == 4096
    assert fake.freed == [address_of_allocation(fake, 1)]
    assert manager.cache.stats()["bytes_in_use"] == 512
    del kept


def address_of_allocation(fake, index):
    return fake.allocated[index][0]


def test_mg_cuda_says_no_gpu_was_found():
    from numba import cuda

    import minigrad as mg

    if cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="no GPU was found"):
        mg.cuda.memory_stats()
    with pytest.raises(RuntimeError, match="no GPU was found"):
        mg.cuda.empty_cache()
    with pytest.raises(RuntimeError, match="no GPU was found"):
        mg.cuda.synchronize()
    assert mg.cuda.is_available() is False


def test_asking_for_cuda_installs_the_cache_before_numba_makes_a_context(monkeypatch):
    from numba import cuda

    import minigrad as mg

    if cuda.is_available():
        pytest.skip("a GPU is present: its context may exist already")
    monkeypatch.setattr(numba_driver, "_memory_manager", None)
    with pytest.raises(RuntimeError, match="no GPU was found"):
        mg.zeros(2, device="cuda")
    assert numba_driver._memory_manager is CachingMemoryManager


def test_a_memory_manager_the_user_chose_is_kept(monkeypatch):
    from numba.core import config

    monkeypatch.setattr(config, "CUDA_MEMORY_MANAGER", "rmm_numba_plugin")
    monkeypatch.setattr(numba_driver, "_memory_manager", None)
    memory.install()
    assert numba_driver._memory_manager is None  # Numba imports the user's plugin itself
