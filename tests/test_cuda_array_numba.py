"""CudaArray.numba_array on the real-GPU path (not the simulator's), over a fake device allocation:
the Numba array handed to a kernel must start at the view's first element, with the view's shape
and byte strides, and keep the allocation alive. Nothing here calls the CUDA driver."""
import os

import numpy as np
import pytest

if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
    pytest.skip("the simulator takes the other branch (tests/cuda covers it)", allow_module_level=True)

from numba.cuda.cudadrv import driver as numba_driver
from numba.cuda.cudadrv import drvapi
from numba.cuda.cudadrv.devicearray import DeviceNDArray

from minigrad.cuda.array import CudaArray
from minigrad.cuda.layout import contiguous_strides

BASE_ADDRESS = 1 << 32


class FakeContext:
    pass


def fake_buffer():
    """A 1-D float32 device array of 120 elements over a fake allocation, and a list that gets an
    entry when the allocation is freed (when the last array or view using it is gone, as in Numba)."""
    freed = []
    memory = numba_driver.AutoFreePointer(FakeContext(), drvapi.cu_device_ptr(BASE_ADDRESS), 480,
                                          finalizer=lambda: freed.append(True))
    _allocations.append(memory)  # Numba's memory manager holds its allocations the same way
    return DeviceNDArray((120,), (4,), np.float32, gpu_data=memory.own()), freed


_allocations = []


def wrap(buffer, shape):
    return CudaArray(buffer, 0, shape, contiguous_strides(shape), np.float32)


def described(numba_array):
    return numba_array.shape, numba_array.strides, numba_array.gpu_data.device_pointer_value


def test_a_whole_contiguous_array():
    buffer, _ = fake_buffer()
    array = wrap(buffer, (2, 3, 20))
    assert described(array.numba_array()) == ((2, 3, 20), (240, 80, 4), BASE_ADDRESS)
    assert array.numba_array().is_c_contiguous()


def test_a_slice_starts_at_its_first_element():
    buffer, _ = fake_buffer()
    view = wrap(buffer, (6, 20))[2:5, 4:]
    assert (view.offset, view.shape) == (44, (3, 16))
    assert described(view.numba_array()) == ((3, 16), (80, 4), BASE_ADDRESS + 44 * 4)
    row = wrap(buffer, (6, 20))[5]  # contiguous, at an offset
    assert described(row.numba_array()) == ((20,), (4,), BASE_ADDRESS + 100 * 4)


def test_transposed_and_broadcast_views_keep_their_strides():
    buffer, _ = fake_buffer()
    transposed = wrap(buffer, (6, 20)).transpose((1, 0))
    assert described(transposed.numba_array()) == ((20, 6), (4, 80), BASE_ADDRESS)
    assert not transposed.numba_array().is_c_contiguous()
    broadcast = wrap(buffer, (20,))[None, :].broadcast_to((5, 20))
    assert described(broadcast.numba_array()) == ((5, 20), (0, 4), BASE_ADDRESS)


def test_a_size_one_axis_with_any_stride_is_still_row_major():
    buffer, _ = fake_buffer()
    odd = CudaArray(buffer, 20, (1, 10), (999, 1), np.float32)
    assert odd.is_contiguous
    assert described(odd.numba_array()) == ((1, 10), (40, 4), BASE_ADDRESS + 80)
    assert odd.numba_array().is_c_contiguous()


def test_the_numba_array_keeps_the_allocation_alive():
    buffer, freed = fake_buffer()
    view = wrap(buffer, (6, 20))[3:].numba_array()
    del buffer
    assert not freed
    del view
    assert freed == [True]


def test_the_numba_array_is_made_once_per_cuda_array():
    buffer, _ = fake_buffer()
    array = wrap(buffer, (6, 20))
    assert array.numba_array() is array.numba_array()
    assert array[1:].numba_array() is not array.numba_array()  # another view, another array
