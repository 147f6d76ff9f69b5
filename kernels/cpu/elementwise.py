"""Elementwise kernels for the large activations of a CNN, where NumPy's single thread is the bottleneck.

The arrays are flat and contiguous (the backend ravels them); each iteration writes one element.
NaN propagates as NumPy's ``maximum`` does in forward; backward is PyTorch's: 0 where x <= 0,
else the incoming gradient (so an infinite gradient does not become NaN at x < 0, and NaN in x
passes the gradient on). Both are selections, never a multiplication by a mask.
"""
from numba import prange

from .preset import cpu_kernel

# The entry points the backend calls; kernels/cuda/elementwise.py has the same names and arguments.
__all__ = ["relu_forward", "relu_backward"]


@cpu_kernel
def relu_forward(x, out):
    """out = x < 0 ? 0 : x (PyTorch's: -0.0 stays -0.0)"""
    for index in prange(x.size):
        value = x[index]
        out[index] = 0 if value < 0 else value  # NaN < 0 is false: NaN stays NaN


@cpu_kernel
def relu_backward(x, grad_output, grad_input):
    """grad_input = 0 where x <= 0, else grad_output"""
    for index in prange(x.size):
        grad_input[index] = 0 if x[index] <= 0 else grad_output[index]
