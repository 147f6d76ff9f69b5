"""CPU kernels: Numba ``prange`` loops compiled once and cached on disk."""
