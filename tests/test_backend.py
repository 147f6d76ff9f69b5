"""minigrad/backend/: lazy kernels, device names, and the matmul dispatch around the kernel."""
import os
import subprocess
import sys

import numpy as np
import pytest
from numba import cuda

import minigrad as mg
from minigrad import backend


def test_importing_minigrad_loads_no_numba_and_compiles_nothing():
    program = "import sys, minigrad; print('numba' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "False"


def test_kernel_modules_are_imported_once():
    assert backend.kernels("matmul") is backend.kernels("matmul")


needs_no_gpu = pytest.mark.skipif(
    cuda.is_available() or os.environ.get("NUMBA_ENABLE_CUDASIM") == "1",
    reason="this machine has a GPU (or runs the simulator): 'cuda' is available",
)


@needs_no_gpu
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_without_a_gpu_says_no_gpu_was_found(device):
    with pytest.raises(RuntimeError, match=rf"device '{device}' is not available: no GPU was found"):
        backend.check_device(device)


@needs_no_gpu
def test_every_way_to_ask_for_cuda_gives_the_same_error():
    for attempt in (lambda: mg.ones(2, device="cuda"), lambda: mg.tensor([1.0]).cuda(),
                    lambda: mg.tensor([1.0]).to("cuda"), lambda: mg.nn.Linear(2, 2).to("cuda"),
                    lambda: mg.nn.Linear(2, 2).cuda(), lambda: mg.tensor([1.0], device="cuda")):
        with pytest.raises(RuntimeError, match="no GPU was found"):
            attempt()


def test_only_one_gpu_is_addressed():
    with pytest.raises(ValueError, match="minigrad uses one GPU"):
        backend.check_device("cuda:1")


def test_unknown_device_is_a_value_error():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        backend.check_device("tpu")


def test_mixed_float_dtypes_are_promoted_before_the_kernel():
    a = np.ones((3, 4), dtype=np.float32)
    b = np.ones((4, 2), dtype=np.float64)
    out = backend.matmul(a, b, ())
    assert out.dtype == np.float64 and np.all(out == 4)


def test_integer_products_bypass_the_float_kernel():
    a = mg.tensor([[1, 2], [3, 4]])
    np.testing.assert_array_equal((a @ a).data, [[7, 10], [15, 22]])
    assert (a @ a).dtype == mg.int64


def test_an_operand_shared_across_the_batch_is_broadcast():
    shared = np.arange(12.0).reshape(3, 4)
    batch = np.random.default_rng(0).standard_normal((5, 4, 2))
    np.testing.assert_allclose(backend.matmul(shared, batch, (5,)), shared @ batch)
