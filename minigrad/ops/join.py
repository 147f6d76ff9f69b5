"""Joining tensors: stack along a new first axis (the rows of a Jacobian)."""
from .. import backend
from ..autograd import Function


class Stack(Function):
    """stack(x_0, ..., x_n-1) along a new axis 0:  dx_i = g[i]"""

    def forward(self, *arrays):
        first = arrays[0]
        for index, array in enumerate(arrays):
            if array.shape != first.shape or array.dtype != first.dtype:
                raise ValueError(f"stack: tensor {index} is {array.dtype} {array.shape}, tensor 0 is "
                                 f"{first.dtype} {first.shape}; all must match")
        # Written row by row into one buffer: plain indexing, which a CudaArray supports as well.
        out = backend.full((len(arrays),) + first.shape, 0, first.dtype, backend.device_of(first))
        for index, array in enumerate(arrays):
            out[index] = array
        return out

    def backward(self, g):
        return tuple(g[index] for index in range(g.shape[0]))

    def differentiable_backward(self, g):
        return tuple(g[index] for index in range(len(self.inputs)))

    def jvp(self, *tangents):
        """dout = stack(dx_0, ..., dx_n-1)  (zeros for an input without tangent)"""
        output = self.primal_output
        out = backend.full(output.shape, 0, output.dtype, backend.device_of(output))
        for index, tangent in enumerate(tangents):
            if tangent is not None:
                out[index] = tangent
        return out
