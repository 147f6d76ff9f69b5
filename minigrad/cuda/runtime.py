"""Numba's CUDA for the GPU wing, imported on first use: the module, the simulator switch, the
CUDA kernel modules, and the check that a GPU is there before the first array goes to it.

``import minigrad`` imports no Numba; every function here imports it when first called.
"""
from .. import kernels as kernel_modules


def numba_cuda():
    from numba import cuda

    return cuda


def simulated():
    """True under Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1): device arrays are NumPy inside."""
    from numba import config

    return bool(config.ENABLE_CUDASIM)


def kernels(name):
    """The CUDA kernel module ``minigrad.kernels.cuda.<name>``, imported once."""
    return kernel_modules.load("cuda", name)


_gpu_checked = False


def require_gpu(name="cuda"):
    """Raise unless Numba finds a CUDA GPU (or runs its CUDA simulator, for the tests).

    On a real GPU, minigrad's caching allocator (memory.py) is installed first: Numba's CUDA
    context takes its memory manager when it is created, and this is called before minigrad's first one.
    """
    global _gpu_checked
    if _gpu_checked:
        return
    cuda = numba_cuda()
    if not simulated():
        from . import memory

        memory.install()
    if not simulated() and not cuda.is_available():
        try:
            cuda.current_context()
            reason = "Numba's CUDA driver reported no device"
        except Exception as error:  # noqa: BLE001  the driver's own words say why
            reason = str(error).strip().splitlines()[0].strip(" :") or type(error).__name__
        raise RuntimeError(
            f"device '{name}' is not available: no GPU was found ({reason}). minigrad's CUDA backend "
            "needs an NVIDIA GPU with its driver; use device='cpu'"
        )
    _gpu_checked = True
