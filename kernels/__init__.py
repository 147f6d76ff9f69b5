"""Pure Numba kernels on NumPy arrays, imported as ``minigrad.kernels``.

Nothing here knows about Tensor or the tape, and nothing imports minigrad: a kernel takes arrays,
writes its result into an ``out`` array where that saves an allocation, and returns.
"""
