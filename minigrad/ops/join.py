"""Joining tensors: stack along a new axis (also the rows of a Jacobian), concatenate along an
existing one. On the host NumPy's own stack and concatenate; on a CudaArray each input is written
into its place in one buffer with plain indexing. Each input's gradient is its slice of g (a view)."""
import numpy as np

from .. import backend
from ..autograd import Function


class Stack(Function):
    """stack(x_0, ..., x_n-1) along a new axis:  dx_i = g[..., i, ...] (i at that axis)"""

    def __init__(self, axis=0):
        self.axis = axis

    def place(self, index):
        """Where input ``index`` sits in the output (and its gradient in g)."""
        return (slice(None),) * self.axis + (index,)

    def forward(self, *arrays):
        first = arrays[0]
        for index, array in enumerate(arrays):
            if array.shape != first.shape or array.dtype != first.dtype:
                raise ValueError(f"stack: tensor {index} is {array.dtype} {array.shape}, tensor 0 is "
                                 f"{first.dtype} {first.shape}; all must match")
        if backend.device_of(first) == "cpu":
            return np.stack(arrays, axis=self.axis)
        shape = first.shape[: self.axis] + (len(arrays),) + first.shape[self.axis :]
        out = backend.full(shape, 0, first.dtype, backend.device_of(first))
        for index, array in enumerate(arrays):
            out[self.place(index)] = array
        return out

    def backward(self, g):
        return tuple(g[self.place(index)] for index in range(g.shape[self.axis]))

    def differentiable_backward(self, g):
        return tuple(g[self.place(index)] for index in range(len(self.inputs)))

    def jvp(self, *tangents):
        """dout = stack(dx_0, ..., dx_n-1)  (zeros for an input without tangent)"""
        output = self.primal_output
        out = backend.full(output.shape, 0, output.dtype, backend.device_of(output))
        for index, tangent in enumerate(tangents):
            if tangent is not None:
                out[self.place(index)] = tangent
        return out


class Concatenate(Function):
    """cat(x_0, ..., x_n-1) along axis:  dx_i = g[..., start_i:stop_i, ...] (x_i's rows at that axis)"""

    def __init__(self, axis=0):
        self.axis = axis

    def places(self, sizes):
        """The slice of the output each input fills."""
        start, found = 0, []
        for size in sizes:
            found.append((slice(None),) * self.axis + (slice(start, start + size),))
            start += size
        return found

    def forward(self, *arrays):
        first = arrays[0]
        self.sizes = [array.shape[self.axis] for array in arrays]
        if backend.device_of(first) == "cpu":
            return np.concatenate(arrays, axis=self.axis)
        shape = first.shape[: self.axis] + (sum(self.sizes),) + first.shape[self.axis + 1 :]
        out = backend.full(shape, 0, first.dtype, backend.device_of(first))
        for place, array in zip(self.places(self.sizes), arrays):
            out[place] = array
        return out

    def backward(self, g):
        return tuple(g[place] for place in self.places(self.sizes))

    differentiable_backward = backward  # basic slices of a Tensor: GetItem ops

    def jvp(self, *tangents):
        """dout = cat(dx_0, ..., dx_n-1)  (zeros for an input without tangent)"""
        output = self.primal_output
        out = backend.full(output.shape, 0, output.dtype, backend.device_of(output))
        for place, tangent in zip(self.places(self.sizes), tangents):
            if tangent is not None:
                out[place] = tangent
        return out
