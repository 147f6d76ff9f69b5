"""backend.py: lazy kernels, device names, and the matmul dispatch around the kernel."""
import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend


def test_importing_minigrad_loads_no_numba_and_compiles_nothing():
    program = "import sys, minigrad; print('numba' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "False"


def test_kernel_modules_are_imported_once():
    assert backend.kernels("matmul") is backend.kernels("matmul")


@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_is_refused_clearly_until_the_backend_exists(device):
    with pytest.raises(RuntimeError, match="CUDA backend is not written yet"):
        backend.check_device(device)


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
