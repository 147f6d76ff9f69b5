"""tests/cuda/: the CUDA kernels against the CPU ones; they need a GPU or Numba's CUDA simulator.

The simulator must be switched on before Numba is imported, so the test session runs this folder
in a process of its own with NUMBA_ENABLE_CUDASIM=1, beside its other tests (tests/conftest.py
starts it, tests/test_cuda_kernels.py checks its result). In the main test process, on a machine
without a GPU, every test here is skipped.
"""
import os
import sys
import threading
import traceback

import numpy as np
import pytest
from numba import cuda

SIMULATED = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


def _patch_simulator_shared_arrays():
    """Make the simulator's cuda.shared.array safe for a block's threads (numba 0.68).

    The simulator runs each GPU thread as a Python thread, and its shared.array looks an array up
    by the calling line, creating it when missing, without a lock: two threads of one block can
    both create it and then work on different copies (reproduced: a wrong block in 3 of 20
    launches with a short thread switch interval). The lookup and creation run under a lock here.
    """
    from numba.core import types
    from numba.cuda.simulator import kernelapi
    from numba.np import numpy_support

    unlocked = kernelapi.FakeCUDAShared.array
    lock = threading.Lock()

    def array(self, shape, dtype):
        if shape == 0:  # dynamic shared memory: one preallocated buffer, no creation to race
            return unlocked(self, shape, dtype)
        if isinstance(dtype, types.Type):
            dtype = numpy_support.as_dtype(dtype)
        caller = tuple(traceback.extract_stack(sys._getframe(1), limit=1)[-1])[0:2]  # the kernel's line
        with lock:
            allocation = self._allocations.get(caller)
            if allocation is None:
                allocation = self._allocations[caller] = np.empty(shape, dtype)
        return allocation

    kernelapi.FakeCUDAShared.array = array


if SIMULATED:
    _patch_simulator_shared_arrays()
    # For kernels with barriers: the simulator's barrier busy-waits holding the GIL, and switching
    # threads more often lets the waiting threads arrive sooner (tree reductions 2.5x faster, the
    # quick GPU bench's 34 s 26 s; kernels without barriers measured the same).
    sys.setswitchinterval(2e-4)


@pytest.fixture(autouse=True)
def a_gpu_or_the_simulator():
    if not (SIMULATED or cuda.is_available()):
        pytest.skip("needs a GPU or NUMBA_ENABLE_CUDASIM=1 (tests/test_cuda_kernels.py runs these in the simulator)")
