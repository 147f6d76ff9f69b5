"""How a call reaches its kernels: the CPU kernel modules, imported on first use, and the route of a
call whose first array is on the GPU to the function of the same name in minigrad/cuda/."""
import functools

import numpy as np

from .. import kernels as kernel_modules
from ..cuda import ops as cuda_ops
from ..cuda.array import CudaArray

ARRAY_TYPES = (np.ndarray, CudaArray)  # what an op's forward may return, on either device


def kernels(name):
    """The CPU kernel module ``minigrad.kernels.cpu.<name>``, imported once."""
    return kernel_modules.load("cpu", name)


def routed_to(cuda_module):
    """A decorator: a call whose first argument is a CudaArray goes to ``cuda_module``'s function of the
    same name, any other call to the decorated CPU function."""

    def decorate(cpu_function):
        cuda_function = getattr(cuda_module, cpu_function.__name__)

        @functools.wraps(cpu_function)
        def function(first, *arguments, **options):
            if type(first) is CudaArray:
                return cuda_function(first, *arguments, **options)
            return cpu_function(first, *arguments, **options)

        return function

    return decorate


# The ops of minigrad/cuda/ops.py; a family with its own GPU file routes with routed_to(that module).
on_either_device = routed_to(cuda_ops)
