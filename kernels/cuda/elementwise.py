"""Elementwise kernels on the GPU: ReLU forward and backward over flat, contiguous arrays.

Scheme: one thread per element in a grid-stride loop. A block holds ``THREADS_PER_BLOCK``
threads; the grid holds enough blocks to give every element its own thread, capped at
``MAX_BLOCKS``, beyond which each thread walks on by the grid's width (``cuda.gridsize(1)``), so
one launch covers any size. Neighbouring threads touch neighbouring elements, so a warp's loads
and stores coalesce into a few wide memory transactions; there is no shared memory and no
reduction. NaN behaves as in kernels/cpu/elementwise.py: forward keeps NaN (``NaN <= 0`` is
false), backward passes no gradient through it (``NaN > 0`` is false).

Performance: ReLU does one comparison per element moved, so it is bound by memory bandwidth. On an
H100 (about 3 TB/s) forward moves 8 bytes per float32 element, so the activations of the reference
CNN's first layer at batch 100 (100*32*28*28 = 2.5 M elements, 20 MB) should take under 10 µs, of
which the launch itself is a good part; NumPy's single CPU thread takes milliseconds.
"""
import math

from numba import cuda, float32, float64

# The entry points the backend calls: the same names and arguments as kernels/cpu/elementwise.py.
__all__ = ["relu_forward", "relu_backward"]  # noqa: RUF022 (the CPU module's order)

THREADS_PER_BLOCK = 256
# About what an H100 keeps resident at once (132 multiprocessors, 8 blocks of 256 threads each);
# past that, a thread taking a few elements costs less than a queue of blocks waiting for a slot.
MAX_BLOCKS = 1024


def blocks_for(size):
    """Enough blocks for one thread per element, at most MAX_BLOCKS (the loops stride past that)."""
    return min(math.ceil(size / THREADS_PER_BLOCK), MAX_BLOCKS)


@cuda.jit
def relu_forward_kernel(x, out):
    """out = x < 0 ? 0 : x (PyTorch's: -0.0 stays -0.0)"""
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        value = x[index]
        # Two stores rather than `0 if ... else value`, which would type the result as float64.
        if value < 0:  # NaN < 0 is false: NaN stays NaN
            out[index] = 0
        else:
            out[index] = value


@cuda.jit
def relu_backward_kernel(x, grad_output, grad_input):
    """grad_input = 0 where x <= 0, else grad_output"""
    for index in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        if x[index] <= 0:  # NaN <= 0 is false: the gradient passes through NaN, as in PyTorch
            grad_input[index] = 0
        else:
            grad_input[index] = grad_output[index]


def relu_forward(x, out):
    """out = max(x, 0) on flat device arrays."""
    if x.size == 0:
        return  # a grid of zero blocks is an error, and there is nothing to do
    relu_forward_kernel[blocks_for(x.size), THREADS_PER_BLOCK](x, out)


def relu_backward(x, grad_output, grad_input):
    """grad_input = 0 where x <= 0, else grad_output, on flat device arrays."""
    if x.size == 0:
        return
    relu_backward_kernel[blocks_for(x.size), THREADS_PER_BLOCK](x, grad_output, grad_input)


# The argument types tests/test_cuda_kernels.py compiles every kernel for (nothing compiles at import).
PTX_SIGNATURES = {
    "relu_forward_kernel": [(float32[:], float32[:]), (float64[:], float64[:])],
    "relu_backward_kernel": [(float32[:], float32[:], float32[:]), (float64[:], float64[:], float64[:])],
}
