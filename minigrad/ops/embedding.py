"""Embedding lookup on the kernels of kernels/cpu/embedding.py and its CUDA twin, through minigrad/backend/.

The lookup gathers weight rows; its gradient scatter-adds the output gradient back into the rows
(EmbeddingBackward). Both are linear in what they move, so each one's gradient is the other:
the scatter's backward gathers the incoming gradient at the same indices (times the positions'
constant factors: 0 at padding_idx, 1 / frequency with scale_grad_by_freq), which keeps
``backward(create_graph=True)`` and forward mode on the same kernels.
"""
import numpy as np

from .. import backend
from ..autograd import Function


def position_factors(indices, rows, padding_idx, scale_grad_by_freq, dtype):
    """(P, 1) host array: how much of position p's gradient reaches its row (0 at padding, 1 / count
    with scale_grad_by_freq), or None when every factor is 1."""
    if padding_idx < 0 and not scale_grad_by_freq:
        return None
    host = backend.to_host(indices)
    factors = np.ones(host.shape[0], dtype=dtype)
    if scale_grad_by_freq:
        factors /= np.bincount(host, minlength=rows)[host]
    if padding_idx >= 0:
        factors[host == padding_idx] = 0
    return factors[:, None]


class Embedding(Function):
    """out[p] = weight[i_p]:  dweight[r] = sum of g[p] over i_p == r (none into padding_idx; / count(r) if scaled)"""

    def __init__(self, indices, padding_idx=-1, scale_grad_by_freq=False):
        self.indices = indices  # flat int64, checked to lie in [0, rows)
        self.padding_idx, self.scale_grad_by_freq = padding_idx, scale_grad_by_freq

    def forward(self, weight):
        self.rows = weight.shape[0]
        return backend.embedding_forward(weight, self.indices)

    def options(self):
        return dict(indices=self.indices, rows=self.rows, padding_idx=self.padding_idx,
                    scale_grad_by_freq=self.scale_grad_by_freq)

    def backward(self, g):
        return (backend.embedding_backward(g, self.indices, self.rows, self.padding_idx, self.scale_grad_by_freq),)

    def differentiable_backward(self, g):
        return (EmbeddingBackward.apply(g, **self.options()),)

    def jvp(self, dweight):
        """dout[p] = dweight[i_p]  (linear: the op itself on the tangent)"""
        return backend.embedding_forward(dweight, self.indices)


class EmbeddingBackward(Function):
    """dweight[r] = sum of g[p] f_p over i_p == r:  dg[p] = h[i_p] f_p  (f_p: 0 at padding_idx, 1 / count(i_p) if scaled)"""

    def __init__(self, indices, rows, padding_idx, scale_grad_by_freq):
        self.indices, self.rows = indices, rows
        self.padding_idx, self.scale_grad_by_freq = padding_idx, scale_grad_by_freq

    def forward(self, g):
        self.dtype = g.dtype
        return backend.embedding_backward(g, self.indices, self.rows, self.padding_idx, self.scale_grad_by_freq)

    def factors(self, like):
        factors = position_factors(self.indices, self.rows, self.padding_idx, self.scale_grad_by_freq, self.dtype)
        return None if factors is None else backend.to_device(factors, backend.device_of(like))

    def backward(self, h):
        gathered = backend.embedding_forward(h, self.indices)
        factors = self.factors(h)
        return (gathered if factors is None else gathered * factors,)

    def differentiable_backward(self, h):
        # The plain gather (no padding, no scaling) times the constant factors: its own backward is
        # then the plain scatter of g * factors, which is this op again.
        gathered = Embedding.apply(h, indices=self.indices)
        factors = self.factors(h.data)
        return (gathered if factors is None else gathered * self.constant(factors),)

    def jvp(self, dg):
        """dout = dg scattered as forward  (linear: the op itself on the tangent)"""
        return backend.embedding_backward(dg, self.indices, self.rows, self.padding_idx, self.scale_grad_by_freq)
