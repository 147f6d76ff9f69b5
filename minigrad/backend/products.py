"""The matrix product on the blocked matmul kernels (kernels/cpu/matmul.py)."""
import numpy as np

from .routing import kernels, on_either_device


@on_either_device
def matmul(a, b, batch_shape):
    """a @ b for (..., M, K) and (..., K, N) arrays whose batch axes broadcast to ``batch_shape``."""
    if a.dtype != b.dtype or a.dtype.kind != "f":
        dtype = np.result_type(a, b)
        if dtype.kind != "f":
            return np.matmul(a, b)  # integer products: no gradient, no kernel
        a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    rows, inner, columns = a.shape[-2], a.shape[-1], b.shape[-1]
    matmul_kernels = kernels("matmul")
    if not batch_shape:
        out = np.empty((rows, columns), dtype=a.dtype)
        matmul_kernels.matmul(a, b, out)
        return out
    batch = int(np.prod(batch_shape))
    # broadcast_to gives stride-0 batch axes where an operand is shared: no copy is made
    a3 = np.broadcast_to(a, batch_shape + (rows, inner)).reshape(batch, rows, inner)
    b3 = np.broadcast_to(b, batch_shape + (inner, columns)).reshape(batch, inner, columns)
    out = np.empty((batch, rows, columns), dtype=a.dtype)
    matmul_kernels.batched_matmul(a3, b3, out)
    return out.reshape(batch_shape + (rows, columns))
