"""Linear algebra: the matrix product and the linear layer, on the blocked matmul kernels (minigrad/backend/)."""
import numpy as np

from .. import backend
from ..autograd import Function
from .broadcasting import unbroadcast


class MatMul(Function):
    """a @ b:  da = g @ b.T,  db = a.T @ g  (batch axes broadcast and summed back, as NumPy)"""

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: both operands need at least one dimension, got shapes {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied")
        self.shapes = (a.shape, b.shape)
        # A vector is a one-row (left) or one-column (right) matrix for the duration of the product.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        try:
            self.batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        except ValueError:
            raise ValueError(f"matmul: batch shapes of {a.shape} and {b.shape} cannot be broadcast together") from None
        self.save_for_backward(a, b)
        self.matrix_shapes = (a2.shape, b2.shape)
        return self._product(a, b)

    def _product(self, a, b):
        """a @ b on the kernels, for arrays of the checked shapes (forward's operands, or tangents of them)."""
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        out = backend.matmul(a2, b2, self.batch)
        if a.ndim == 1:
            out = out[..., 0, :]
        if b.ndim == 1:
            out = out[..., 0]
        return out

    def backward(self, g):
        a, b = self.saved
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g.reshape(g.shape[:-1] + (1,) + g.shape[-1:]) if a.ndim == 1 else g
        g2 = g2[..., None] if b.ndim == 1 else g2
        batch = g2.shape[:-2]
        da = db = None
        if self.needs_input_grad[0]:
            da = unbroadcast(backend.matmul(g2, np.swapaxes(b2, -1, -2), batch), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            db = unbroadcast(backend.matmul(np.swapaxes(a2, -1, -2), g2, batch), b2.shape).reshape(b.shape)
        return da, db

    def differentiable_backward(self, g):
        a, b = self.inputs
        a2_shape, b2_shape = self.matrix_shapes
        a2 = a.reshape(a2_shape) if a.ndim == 1 else a
        b2 = b.reshape(b2_shape) if b.ndim == 1 else b
        g2_shape = g.shape[:-1] + (1,) + g.shape[-1:] if a.ndim == 1 else g.shape
        g2 = g.reshape(g2_shape + (1,) if b.ndim == 1 else g2_shape)
        da = db = None
        if self.needs_input_grad[0]:
            da = unbroadcast(g2 @ b2.transpose(-1, -2), a2_shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            db = unbroadcast(a2.transpose(-1, -2) @ g2, b2_shape).reshape(b.shape)
        return da, db

    def jvp(self, da, db):
        """dout = da @ b + a @ db"""
        a, b = self.saved
        from_a = None if da is None else self._product(da, b)
        from_b = None if db is None else self._product(a, db)
        if from_a is None or from_b is None:
            return from_b if from_a is None else from_a
        return from_a + from_b


class Linear(Function):
    """y = x @ w.T + b:  dx = g @ w,  dw = g.T @ x,  db = sum of g over rows

    One node instead of matmul + transpose + add: the layer's three gradients come from two matrix
    products on the kernels (the transposes are strided views the kernel packs without copying).
    Leading axes of x are flattened into rows for the duration.
    """

    def forward(self, x, weight, bias=None):
        self.save_for_backward(x, weight)
        self.has_bias = bias is not None
        return _linear(x, weight, bias)

    def backward(self, g):
        x, weight = self.saved
        g_rows = g.reshape(-1, g.shape[-1])
        dx = dw = db = None
        if self.needs_input_grad[0]:
            dx = backend.matmul(g_rows, weight, ()).reshape(x.shape)
        if self.needs_input_grad[1]:
            dw = backend.matmul(g_rows.T, x.reshape(-1, x.shape[-1]), ())
        if self.has_bias and self.needs_input_grad[2]:
            db = g_rows.sum(axis=0)
        return (dx, dw, db) if self.has_bias else (dx, dw)

    def differentiable_backward(self, g):
        x, weight = self.inputs[:2]
        g_rows = g.reshape(-1, g.shape[-1])
        dx = dw = db = None
        if self.needs_input_grad[0]:
            dx = (g_rows @ weight).reshape(x.shape)
        if self.needs_input_grad[1]:
            dw = g_rows.T @ x.reshape(-1, x.shape[-1])
        if self.has_bias and self.needs_input_grad[2]:
            db = g_rows.sum(axis=0)
        return (dx, dw, db) if self.has_bias else (dx, dw)

    def jvp(self, dx, dw, db=None):
        """dy = dx @ w.T + x @ dw.T + db"""
        x, weight = self.saved
        out = None if dx is None else _linear(dx, weight, db)
        if dw is not None:
            from_weight = _linear(x, dw, db if out is None else None)
            out = from_weight if out is None else out + from_weight
        if out is None:  # only the bias moves: its tangent on every row
            out = backend.copied(np.broadcast_to(db, self.primal_output.shape), db.dtype)
        return out


def _linear(x, weight, bias):
    """x @ weight.T + bias on the kernels, x's leading axes flattened into rows for the duration."""
    rows = x.reshape(-1, x.shape[-1])
    out = backend.matmul(rows, weight.T, ())
    if bias is not None:
        out += bias
    return out.reshape(x.shape[:-1] + (weight.shape[0],))
