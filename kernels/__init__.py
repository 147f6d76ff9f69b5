"""Pure Numba kernels on NumPy arrays, imported as ``minigrad.kernels``.

Nothing here knows about Tensor or the tape, and nothing imports minigrad: a kernel takes arrays,
writes its result into an ``out`` array where that saves an allocation, and returns.
"""
import importlib

_modules = {}


def load(target, name):
    """The kernel module ``minigrad.kernels.<target>.<name>`` (target "cpu" or "cuda"), imported once.

    Modules are imported on first use, so a program compiles (or loads from the cache) only the
    kernels it runs; the dictionary saves the import machinery on every later call of a training step.
    """
    module = _modules.get((target, name))
    if module is None:
        module = _modules[target, name] = importlib.import_module(f"{__name__}.{target}.{name}")
    return module
