"""The CUDA kernels without a GPU: every CPU entry point has a CUDA twin, every CUDA kernel compiles to
PTX for sm_90 and sm_75 against the real toolkit, and tests/cuda/ passes under the simulator."""
import importlib
import inspect
import os
import pkgutil
import subprocess
import sys

import minigrad.kernels.cpu
import minigrad.kernels.cuda
import pytest
from numba import cuda

COMPUTE_CAPABILITIES = [(9, 0), (7, 5)]


def modules_with_entry_points(package):
    """Modules of ``package`` that declare entry points (``__all__``); the others are their helpers."""
    modules = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if hasattr(module, "__all__"):
            modules[info.name] = module
    return modules


CPU_MODULES = modules_with_entry_points(minigrad.kernels.cpu)


def arguments_of(function):
    return list(inspect.signature(getattr(function, "py_func", function)).parameters)


@pytest.mark.parametrize("name", sorted(CPU_MODULES))
def test_every_cpu_entry_point_has_a_cuda_twin_with_the_same_arguments(name):
    cpu_module = CPU_MODULES[name]
    try:
        cuda_module = importlib.import_module(f"minigrad.kernels.cuda.{name}")
    except ModuleNotFoundError:
        pytest.fail(f"kernels/cuda/{name}.py is missing: kernels/cpu/{name}.py has {cpu_module.__all__}")
    assert list(getattr(cuda_module, "__all__", [])) == list(cpu_module.__all__)
    for entry in cpu_module.__all__:
        assert hasattr(cuda_module, entry), f"kernels/cuda/{name}.py has no {entry}"
        assert arguments_of(getattr(cuda_module, entry)) == arguments_of(getattr(cpu_module, entry)), entry


def cuda_kernels(module):
    """The module's @cuda.jit kernels (dispatchers declared without signatures)."""
    return {name: value for name, value in vars(module).items()
            if type(value).__name__ == "CUDADispatcher" and value.py_func.__module__ == module.__name__}


def libnvvm_missing():
    try:
        cuda.compile_ptx(lambda a: None, "void(float32[:])", cc=(9, 0))
    except Exception as error:  # noqa: BLE001  NvvmSupportError, or no toolkit at all: either way, skip
        return str(error)
    return None


CUDA_MODULES = modules_with_entry_points(minigrad.kernels.cuda)


@pytest.mark.skipif(libnvvm_missing() is not None, reason="libNVVM (the CUDA toolkit) is not installed")
@pytest.mark.parametrize("name", sorted(CUDA_MODULES))
@pytest.mark.parametrize("capability", COMPUTE_CAPABILITIES, ids=lambda cc: f"sm_{cc[0]}{cc[1]}")
def test_every_cuda_kernel_compiles_to_ptx(name, capability):
    module = CUDA_MODULES[name]
    kernels = cuda_kernels(module)
    assert kernels, f"kernels/cuda/{name}.py declares no @cuda.jit kernel"
    signatures = module.PTX_SIGNATURES
    assert sorted(signatures) == sorted(kernels), "PTX_SIGNATURES must list every kernel of the module"
    for kernel_name, kernel_signatures in signatures.items():
        for signature in kernel_signatures:
            ptx, _ = cuda.compile_ptx(kernels[kernel_name].py_func, signature, cc=capability)
            assert f".target sm_{capability[0]}{capability[1]}" in ptx


def test_cuda_kernels_match_the_cpu_ones_under_the_simulator(simulator_suite):
    """tests/cuda/ in the simulator: started when this test was collected, beside the rest of the
    session, and collected here at its end (tests/conftest.py)."""
    returncode, output = simulator_suite
    assert returncode == 0, output[-9000:]
    assert " passed" in output and " skipped" not in output


def test_importing_minigrad_and_every_cuda_kernel_module_compiles_nothing():
    """@cuda.jit without signatures: importing needs no GPU and compiles no kernel."""
    program = (
        "import importlib, pkgutil, minigrad, minigrad.kernels.cuda as package\n"
        "compiled = []\n"
        "for info in pkgutil.iter_modules(package.__path__):\n"
        "    module = importlib.import_module(f'minigrad.kernels.cuda.{info.name}')\n"
        "    compiled += [name for name, value in vars(module).items()\n"
        "                 if type(value).__name__ == 'CUDADispatcher' and value.overloads]\n"
        "print(compiled)\n"
    )
    environment = {key: value for key, value in os.environ.items() if key != "NUMBA_ENABLE_CUDASIM"}
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=environment,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
